import { hostname } from 'node:os';
import { bestFirst, createStrategy, withRetries } from '../search';
import type { Strategy, TrialPlan } from '../search/types';
import { initBackend, type BackendName } from '../trials/backend';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from '../trials/checkpoint';
import { resolveModelConfig } from '../trials/knobs';
import type { LinearBaseline } from '../trials/linear';
import { faultPoint } from '../trials/storage/fault';
import {
  type EpochLog,
  TrialNotRunningError,
  type StudyRecord,
  type Storage,
  type TrialOutcome,
  type TrialRecord,
  type WorkerId,
} from '../trials/storage/types';
import { trainModel, TrainingInterrupted } from '../trials/train';
import { rereadTrials } from './history';
import { openStudy } from './open';
import type { PreparedStudy } from './prepare';

/** What a run tells whoever displays it. All optional: the library runs silently. */
export interface RunObserver {
  studyStarted?(info: {
    study: StudyRecord;
    backend: BackendName;
    planned?: number;
    done: number;
    resumed: boolean;
    /** Trials found `running` from a process that died, now marked interrupted. */
    orphans: number;
  }): void;
  trialStarted?(info: { trial: TrialRecord; epochs: number }): void;
  epochEnded?(info: { number: number; log: EpochLog; epochs: number }): void;
  trialFinished?(info: { trial: TrialRecord; best?: TrialRecord }): void;
  /** Something worth telling that does not stop the run. */
  warning?(message: string): void;
  studyFinished?(summary: RunSummary): void;
}

export interface RunOptions {
  /** Overrides the study file's `max_trials` (the study's total, not this run's). */
  readonly maxTrials?: number;
  readonly backend?: BackendName;
  /** Replace an existing study of the same name whose definition differs. */
  readonly overwrite?: boolean;
  /** Run failed parameter sets again (once each in this run). */
  readonly retryFailed?: boolean;
  /** Stop after this many consecutive failed trials; default: the study file's `max_failures`. */
  readonly maxFailures?: number;
  /** Aborting it (Ctrl-C) marks the running trial interrupted and ends the run. */
  readonly signal?: AbortSignal;
  /**
   * Seconds between lease renewals of the running trial; a running trial
   * whose lease is older than `graceSeconds` (default 3× this) is taken to
   * belong to a dead worker, marked interrupted and run again.
   */
  readonly heartbeatSeconds?: number;
  readonly graceSeconds?: number;
  /** Re-run failed trials numbered below this (set by `--workers` for its children); overrides `retryFailed`. */
  readonly retryFailedBefore?: number;
  readonly observer?: RunObserver;
}

export type RunEnd = 'finished' | 'interrupted' | 'failures';

export interface RunSummary {
  readonly study: StudyRecord;
  readonly backend: BackendName;
  /** Trials this run finished. */
  readonly ran: number;
  readonly end: RunEnd;
  /** Why the run ended, in words. */
  readonly reason: string;
  readonly best?: TrialRecord;
}

/** Complete trials whose checkpoints are kept for export, besides those a strategy still needs. */
const KEEP_BEST_CHECKPOINTS = 3;
/** How often to look again when the strategy waits for trials other processes run. */
const WAIT_POLL_MS = 1000;
const DEFAULT_HEARTBEAT_S = 10;

/**
 * The study loop: ask the strategy → create the trial → train → tell storage.
 * Strategy, trainer and storage know nothing of each other; this is where
 * they meet. Everything a study is lives in its storage, so re-running the
 * same command continues it: trials left `running` by a dead process are
 * marked `interrupted` and their plans run again, and the strategy picks up
 * where the history ends.
 */
export async function runStudy(prepared: PreparedStudy, storage: Storage, options: RunOptions = {}): Promise<RunSummary> {
  const { config } = prepared;
  const observer = options.observer ?? {};
  const backend = (await initBackend(options.backend)).name;
  const opened = await openStudy(prepared, storage, options.overwrite ?? false);
  // Before the first trial: every trial is compared with it. Deterministic from
  // the data, so a worker that joins (or a study stored before baselines) writes the same.
  const study = opened.baseline ? opened : await storeBaseline(storage, opened, prepared.baseline);
  const worker: WorkerId = { host: hostname(), pid: process.pid };

  const heartbeatSeconds = options.heartbeatSeconds ?? DEFAULT_HEARTBEAT_S;
  const graceSeconds = options.graceSeconds ?? 3 * heartbeatSeconds;
  let trials = await storage.getTrials(study.id);
  const retryFailedBefore = options.retryFailedBefore ?? (options.retryFailed ? trials.length : undefined);
  const readHistory = async (): Promise<void> => {
    trials = await rereadTrials(storage, study.id, trials);
  };
  /** Re-reads the history after marking trials of dead workers interrupted; returns how many it marked. */
  const refresh = async (): Promise<number> => {
    const stale = await storage.interruptStale(study.id, graceSeconds, `no heartbeat for ${graceSeconds}s: its worker is gone`);
    await readHistory();
    const orphans = await interruptOrphans(storage, trials, worker.host);
    if (orphans > 0) await readHistory();
    return stale.length + orphans;
  };
  const orphans = await refresh();

  const strategySpec =
    options.maxTrials !== undefined && config.strategy.kind !== 'hyperband'
      ? { ...config.strategy, max_trials: options.maxTrials }
      : config.strategy;
  const strategy: Strategy = withRetries(
    createStrategy(config.space, strategySpec, config.seed, config.objective.direction),
    retryFailedBefore !== undefined ? { retryFailedBefore } : {},
  );
  const { metric, direction } = config.objective;
  const better = (a: TrialRecord, b: TrialRecord | undefined): boolean =>
    b === undefined || (direction === 'min' ? a.value! < b.value! : a.value! > b.value!);
  let best: TrialRecord | undefined = bestFirst(trials, direction)[0];

  observer.studyStarted?.({
    study,
    backend,
    ...(strategy.plannedTrials !== undefined ? { planned: strategy.plannedTrials } : {}),
    done: trials.filter((t) => t.state === 'complete' || t.state === 'failed').length,
    resumed: trials.length > 0,
    orphans,
  });

  const maxFailures = options.maxFailures ?? config.maxFailures;
  let failuresInARow = 0;
  let ran = 0;
  let end: RunEnd = 'finished';
  let reason = '';
  for (;;) {
    if (options.signal?.aborted) {
      end = 'interrupted';
      reason = 'interrupted between trials';
      break;
    }
    const decision = strategy.next(trials);
    if (decision.kind === 'stop') {
      // Trials still running elsewhere may yet fail or go stale and need a re-run:
      // the study is over when they are, so a dead worker's trial is never left behind.
      if (trials.some((t) => t.state === 'running')) {
        await sleep(WAIT_POLL_MS, options.signal);
        await refresh();
        continue;
      }
      reason = decision.reason;
      break;
    }
    if (decision.kind === 'wait') {
      // Other processes are running trials this strategy waits for.
      if (!trials.some((t) => t.state === 'running')) {
        reason = 'the strategy waits, but no trial is running';
        break;
      }
      await sleep(WAIT_POLL_MS, options.signal);
      await refresh();
      continue;
    }

    const result = await runTrial(decision.trial);
    if (result.kind === 'lost') {
      // Another worker claimed this plan first: look at the history again.
      await refresh();
      continue;
    }
    if (result.kind === 'interrupted') {
      end = 'interrupted';
      reason = `trial ${result.trial.number} interrupted`;
      break;
    }
    const finished = result.trial;
    faultPoint('between-trials');
    ran++;
    await refresh();
    if (finished.state === 'complete' && better(finished, best)) best = finished;
    observer.trialFinished?.({ trial: finished, ...(best ? { best } : {}) });
    await pruneCheckpoints(storage, study.id, strategy, trials, direction);

    failuresInARow = finished.state === 'failed' ? failuresInARow + 1 : 0;
    if (failuresInARow >= maxFailures) {
      end = 'failures';
      reason = `${failuresInARow} trials failed in a row (max_failures: ${maxFailures}); the last: ${finished.error ?? 'unknown error'}`;
      break;
    }
  }
  const summary: RunSummary = { study, backend, ran, end, reason, ...(best ? { best } : {}) };
  observer.studyFinished?.(summary);
  return summary;

  async function runTrial(
    plan: TrialPlan,
  ): Promise<{ kind: 'finished' | 'interrupted'; trial: TrialRecord } | { kind: 'lost' }> {
    const modelConfig = resolveModelConfig(plan.params);
    const resume = plan.parent !== undefined ? await parentCheckpoint(plan.parent) : undefined;
    const trial = await storage.createTrial(study.id, {
      ...plan,
      backend,
      worker,
      initialEpoch: resume?.epoch ?? 0,
    });
    if (!trial) return { kind: 'lost' };
    const lease = setInterval(() => {
      storage.heartbeat(trial.id).catch((err: unknown) => observer.warning?.(`heartbeat failed: ${String(err)}`));
    }, heartbeatSeconds * 1000);
    try {
      return await train(trial, plan, modelConfig, resume);
    } finally {
      clearInterval(lease);
    }
  }

  async function train(
    trial: TrialRecord,
    plan: TrialPlan,
    modelConfig: ReturnType<typeof resolveModelConfig>,
    resume: Checkpoint | undefined,
  ): Promise<{ kind: 'finished' | 'interrupted'; trial: TrialRecord }> {
    const epochs = plan.budget ?? modelConfig.epochs;
    observer.trialStarted?.({ trial, epochs });
    const started = performance.now();
    let outcome: TrialOutcome;
    let checkpoint: Checkpoint | undefined;
    try {
      const result = await trainModel({
        config: modelConfig,
        data: prepared.dataset,
        callbacks: config.callbacks,
        // By slot, not number: a re-run of an interrupted trial is the same computation.
        seed: `${config.seed}:${plan.slot}`,
        linear: prepared.baseline,
        epochs,
        ...(resume ? { resume } : {}),
        checkpoint: true,
        ...(options.signal ? { signal: options.signal } : {}),
        onEpoch: async (log) => {
          await storage.reportEpoch(trial.id, log);
          faultPoint('epoch-end');
          observer.epochEnded?.({ number: trial.number, log, epochs });
        },
      });
      const value = result.metrics[metric];
      const failed = result.error !== undefined || value === undefined || !Number.isFinite(value);
      checkpoint = failed ? undefined : result.checkpoint;
      outcome = {
        state: failed ? 'failed' : 'complete',
        metrics: result.metrics,
        ...(failed ? {} : { value }),
        epochs: result.epochs,
        stopReason: result.stopReason,
        ...(failed ? { error: result.error ?? `objective ${metric} is ${value}` } : {}),
        durationS: (performance.now() - started) / 1000,
        diagnostics: result.diagnostics,
      };
    } catch (err) {
      if (err instanceof TrainingInterrupted) {
        return { kind: 'interrupted', trial: await storage.interruptTrial(trial.id, 'interrupted by a signal') };
      }
      outcome = {
        state: 'failed',
        metrics: {},
        epochs: trial.initialEpoch,
        stopReason: 'error',
        error: err instanceof Error ? err.message : String(err),
        durationS: (performance.now() - started) / 1000,
      };
    }
    const encoded = checkpoint && encodeCheckpoint(checkpoint);
    return { kind: 'finished', trial: await storage.finishTrial(trial.id, outcome, encoded) };
  }

  /** The parent's saved state; without it (deleted, or written by an older tune) the trial starts afresh. */
  async function parentCheckpoint(parentNumber: number): Promise<Checkpoint | undefined> {
    const parent = trials.find((t) => t.number === parentNumber);
    const bytes = parent && (await storage.getCheckpoint(parent.id));
    if (!bytes) {
      observer.warning?.(`trial ${parentNumber} has no checkpoint; its promotion trains from scratch`);
      return undefined;
    }
    return decodeCheckpoint(bytes);
  }
}

async function storeBaseline(storage: Storage, study: StudyRecord, baseline: LinearBaseline): Promise<StudyRecord> {
  await storage.setBaseline(study.id, baseline);
  return { ...study, baseline };
}

/**
 * Trials `running` on this host whose process is gone were cut short by a
 * crash or `kill -9`: mark them interrupted so their plans run again. Trials
 * of live processes (another `tune run` on the same storage) are left alone.
 */
async function interruptOrphans(storage: Storage, trials: readonly TrialRecord[], host: string): Promise<number> {
  let count = 0;
  for (const t of trials) {
    if (t.state !== 'running' || t.worker.host !== host || isAlive(t.worker.pid)) continue;
    try {
      await storage.interruptTrial(t.id, `its process (pid ${t.worker.pid}) ended while it ran`);
      count++;
    } catch (err) {
      // It finished after we looked, or another worker marked it first: fine either way.
      if (!(err instanceof TrialNotRunningError)) throw err;
    }
  }
  return count;
}

function isAlive(pid: number): boolean {
  if (pid <= 0 || pid === process.pid) return pid === process.pid;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Keeps the checkpoints the strategy may continue from and those of the best few trials; deletes the rest. */
async function pruneCheckpoints(
  storage: Storage,
  studyId: number,
  strategy: Strategy,
  trials: readonly TrialRecord[],
  direction: 'min' | 'max',
): Promise<void> {
  const keep = new Set<number>(strategy.checkpointsNeeded?.(trials) ?? []);
  for (const t of bestFirst(trials, direction).slice(0, KEEP_BEST_CHECKPOINTS)) keep.add(t.number);
  const byId = new Map(trials.map((t) => [t.id, t]));
  const stale = (await storage.listCheckpoints(studyId))
    .filter((c) => !keep.has(byId.get(c.trialId)?.number ?? -1))
    .map((c) => c.trialId);
  if (stale.length) await storage.deleteCheckpoints(stale);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
