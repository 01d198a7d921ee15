import { type ChildProcess, spawn } from 'node:child_process';
import { SingleBar } from 'cli-progress';
import { bestFirst, createStrategy } from '../search';
import { rereadTrials } from '../study/history';
import { openStudy } from '../study/open';
import { prepareStudy } from '../study/prepare';
import type { BackendName } from '../trials/backend-names';
import type { LinearBaseline } from '../trials/linear';
import { openStorage, redactUrl } from '../trials/storage';
import type { Storage, TrialRecord } from '../trials/storage/types';
import { vsLinear, vsLinearLine } from './baseline';
import { num } from './format';
import { EXIT_INTERRUPTED } from './exit';

export interface WorkersArgs {
  readonly file: string;
  readonly storage: string;
  readonly workers: number;
  readonly maxTrials?: number;
  readonly backend?: BackendName;
  readonly overwrite?: boolean;
  readonly retryFailed?: boolean;
}

/** How often the coordinating process reads the storage to show progress. */
const POLL_MS = 1000;

/**
 * `tune run FILE --workers N`: N worker processes on this machine claim
 * trials from the same storage, exactly as `tune worker` processes started by
 * hand would; this process only prepares the study, starts them, shows one
 * display for the whole study by reading the storage, and waits.
 */
export async function runWorkers(args: WorkersArgs): Promise<number> {
  const prepared = prepareStudy(args.file);
  const storage = await openStorage(args.storage);
  const children: ChildProcess[] = [];
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    // Ctrl-C reaches the children too (same process group); SIGTERM may not.
    for (const child of children) child.kill(signals > 1 ? 'SIGKILL' : signal);
    if (signals > 1) process.exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const study = await openStudy(prepared, storage, args.overwrite ?? false);
    const before = await storage.getTrials(study.id);
    const { config } = prepared;
    const spec =
      args.maxTrials !== undefined && config.strategy.kind !== 'hyperband'
        ? { ...config.strategy, max_trials: args.maxTrials }
        : config.strategy;
    const planned = createStrategy(config.space, spec, config.seed, config.objective.direction).plannedTrials;
    const workerArgs = [
      'worker',
      args.file,
      '--quiet',
      '--storage',
      args.storage,
      ...(args.maxTrials !== undefined ? ['--max-trials', String(args.maxTrials)] : []),
      ...(args.backend ? ['--backend', args.backend] : []),
      ...(args.retryFailed ? ['--retry-failed-before', String(before.length)] : []),
    ];
    const exits: Promise<number>[] = [];
    for (let i = 0; i < args.workers; i++) {
      const child = spawn(process.execPath, [process.argv[1]!, ...workerArgs], {
        // One compute thread each, so N workers use N cores (tfjs-node reads these; wasm in Node has one).
        env: { ...process.env, TUNE_THREADS: '1', TF_NUM_INTRAOP_THREADS: '1', TF_NUM_INTEROP_THREADS: '1', OMP_NUM_THREADS: '1' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(child);
      exits.push(new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? EXIT_INTERRUPTED : 1)))));
    }
    const display = new WorkersDisplay(
      study.name,
      config.objective.metric,
      config.objective.direction,
      prepared.baseline,
      planned,
      before,
      args.workers,
    );
    let running = true;
    const all = Promise.all(exits).finally(() => (running = false));
    while (running) {
      await Promise.race([all, new Promise((r) => setTimeout(r, POLL_MS))]);
      await display.update(storage, study.id);
    }
    const codes = await all;
    display.stop();
    const trials = await storage.getTrials(study.id);
    const [best] = bestFirst(trials, config.objective.direction);
    const ran = trials.filter((t) => t.state !== 'running').length - before.filter((t) => t.state !== 'running').length;
    const code = codes.includes(EXIT_INTERRUPTED) ? EXIT_INTERRUPTED : codes.find((c) => c !== 0) ?? 0;
    const bestText = best ? `best trial #${best.number}: ${config.objective.metric}=${num(best.value)}` : 'no complete trial';
    const out = code === 0 ? process.stdout : process.stderr;
    out.write(
      `study ${study.name}: ${args.workers} workers ${code === 0 ? 'done' : `ended (exit ${code})`}; ${ran} trials run now; ${bestText}; storage ${redactUrl(args.storage)}\n`,
    );
    const vs = code === 0 ? vsLinearLine(prepared.baseline, best, config.objective.metric) : undefined;
    if (vs) out.write(`${vs}\n`);
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await storage.close();
  }
}

/** One view of a study that several workers run: done/total, each worker's trial, best so far. */
class WorkersDisplay {
  private readonly printed = new Set<number>();
  private readonly bar: SingleBar | undefined;
  private done: number;
  /** The study's trials as last read; finished ones never change, so only the rest is read again. */
  private trials: TrialRecord[];
  private best: TrialRecord | undefined;

  constructor(
    name: string,
    private readonly metric: string,
    private readonly direction: 'min' | 'max',
    private readonly baseline: LinearBaseline | undefined,
    private readonly planned: number | undefined,
    before: readonly TrialRecord[],
    workers: number,
  ) {
    this.trials = [...before];
    for (const t of before) {
      if (t.state !== 'running') this.printed.add(t.number);
      this.consider(t);
    }
    this.done = this.printed.size;
    const live = Boolean(process.stderr.isTTY) && !process.env.CI;
    const header = `study ${name}: ${planned ?? '?'} trials planned, ${this.done} done, ${workers} workers\n`;
    if (live) {
      process.stderr.write(header);
      this.bar = new SingleBar({
        format: 'trials {value}/{total} |{bar}| best {best}  running {running}  ETA {eta_formatted}',
        barsize: 20,
        hideCursor: true,
        stream: process.stderr,
        etaBuffer: 20,
      });
      this.bar.start(Math.max(planned ?? 1, 1), this.done, { best: '–', running: '' });
    } else {
      process.stdout.write(header);
    }
  }

  private consider(t: TrialRecord): void {
    if (t.state !== 'complete' || t.value === undefined) return;
    const b = this.best;
    if (b === undefined || (this.direction === 'min' ? t.value < b.value! : t.value > b.value!)) this.best = t;
  }

  async update(storage: Storage, studyId: number): Promise<void> {
    this.trials = await rereadTrials(storage, studyId, this.trials);
    const trials = this.trials;
    const finished = trials.filter((t) => t.state !== 'running' && !this.printed.has(t.number));
    for (const t of finished) this.consider(t);
    const best = this.best;
    for (const t of finished) {
      this.printed.add(t.number);
      this.done++;
      if (!this.bar) {
        const result = t.state === 'complete' ? `${this.metric}=${num(t.value)}` : `${t.state}: ${t.error ?? ''}`;
        process.stdout.write(`trial ${this.done}${this.planned ? `/${this.planned}` : ''} #${t.number} (pid ${t.worker.pid})  ${result}  epochs=${t.epochs ?? 0}\n`);
      }
    }
    if (this.bar) {
      const running = await Promise.all(
        trials
          .filter((t) => t.state === 'running')
          .map(async (t) => `#${t.number} e${t.initialEpoch + (await storage.getHistory(t.id)).filter((h) => h.epoch >= t.initialEpoch).length}`),
      );
      const vs = best && vsLinear(this.baseline, best.metrics, this.metric);
      const bestText = best ? `#${best.number} ${num(best.value)}${vs ? ` (${vs.ratio.toFixed(2)}× linear)` : ''}` : '–';
      this.bar.update(this.done, { best: bestText, running: running.join(', ') });
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}
