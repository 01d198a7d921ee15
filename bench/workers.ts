/**
 * `npm run bench:workers [-- --json] [--study FILE]`
 *
 * Wall time of `tune run studies/seed-mlp.yaml` with one worker and with two,
 * in this same script, each into a fresh SQLite file, alternating and
 * repeated (`--repeats`, default 2; medians); their ratio; and a check that no
 * run ran a parameter set twice and all ran the same ones.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openStorage } from '../src/trials/storage';

const ROOT = resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const at = args.indexOf('--study');
const STUDY = at >= 0 ? resolve(args[at + 1]!) : join(ROOT, 'studies', 'seed-mlp.yaml');
const json = args.includes('--json');
const at2 = args.indexOf('--repeats');
/** Runs alternate 1, 2, 1, 2, …: this machine's speed drifts between runs by more than the effect. */
const REPEATS = at2 >= 0 ? Number(args[at2 + 1]) : 2;
const dir = mkdtempSync(join(tmpdir(), 'tune-bench-workers-'));

interface Run {
  readonly workers: number;
  readonly seconds: number;
  readonly trials: number;
  readonly duplicates: number;
  readonly paramSets: string[];
}

async function run(workers: number, repeat: number): Promise<Run> {
  const db = join(dir, `w${workers}-${repeat}.db`);
  const started = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'tune.js'), 'run', STUDY, '--storage', db, '--workers', String(workers)], {
    encoding: 'utf8',
    env: { ...process.env, CI: '1' },
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`--workers ${workers} failed (${r.status}): ${r.stderr}`);
  const storage = await openStorage(db);
  try {
    const study = (await storage.listStudies())[0]!.study;
    const trials = (await storage.getTrials(study.id)).filter((t) => t.state === 'complete');
    const keys = trials.map((t) => JSON.stringify(t.params));
    return { workers, seconds, trials: trials.length, duplicates: keys.length - new Set(keys).size, paramSets: keys.sort() };
  } finally {
    await storage.close();
  }
}

async function main(): Promise<void> {
  const ones: Run[] = [];
  const twos: Run[] = [];
  for (let r = 0; r < REPEATS; r++) {
    ones.push(await run(1, r));
    twos.push(await run(2, r));
  }
  rmSync(dir, { recursive: true, force: true });
  const one = median(ones);
  const two = median(twos);
  const result = {
    study: STUDY,
    cores: cpus().length,
    workers_1_s: round(one.seconds),
    workers_2_s: round(two.seconds),
    speedup: round(one.seconds / two.seconds),
    trials: [one.trials, two.trials],
    runs_s: { workers_1: ones.map((r) => round(r.seconds)), workers_2: twos.map((r) => round(r.seconds)) },
    duplicates: [...ones, ...twos].reduce((n, r) => n + r.duplicates, 0),
    same_parameter_sets: [...ones, ...twos].every((r) => JSON.stringify(r.paramSets) === JSON.stringify(one.paramSets)),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    process.stdout.write(
      `${STUDY} on ${result.cores} cores: 1 worker ${result.workers_1_s} s, 2 workers ${result.workers_2_s} s → ${result.speedup}× ` +
        `(${result.trials.join('/')} trials, ${result.duplicates} duplicates, same parameter sets: ${result.same_parameter_sets})\n`,
    );
  }
  if (result.duplicates > 0 || !result.same_parameter_sets) process.exitCode = 1;
}

/** The run with the median wall time (the lower middle one for an even count). */
function median(runs: readonly Run[]): Run {
  return [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor((runs.length - 1) / 2)]!;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

main().catch((err: unknown) => {
  rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`bench:workers failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
