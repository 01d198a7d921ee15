/**
 * `npm run bench:storage [-- --json] [--trials N] [--optuna-trials M]`
 *
 * What a trial's bookkeeping costs without training, on a fresh storage:
 * claim (createTrial with 10 parameters), 50 epoch-history rows, metrics,
 * complete. The same workload through Optuna's SQLite storage in the same run
 * (Debian's python3-optuna, RandomSampler, 10 suggest_*, 50 report), and on
 * PostgreSQL when its binaries are here. Also the wall time of
 * `tune top --json` on a storage holding 100,000 complete trials.
 *
 * Optuna runs fewer trials by default: its cost per trial grows with the
 * study's size (it reloads every trial), so a shorter run flatters it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import seedrandom from 'seedrandom';
import { createStrategy } from '../src/search';
import { Space } from '../src/space';
import { openStorage } from '../src/trials/storage';
import { findPostgresBin, startPostgres } from '../test/helpers/postgres';
import type { EpochLog, Storage, StudyDump, TrialDump } from '../src/trials/storage/types';

const ROOT = resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const TRIALS = flag('--trials', 2000);
const OPTUNA_TRIALS = flag('--optuna-trials', 200);
const TOP_TRIALS = flag('--top-trials', 100_000);
const json = args.includes('--json');
const dir = mkdtempSync(join(tmpdir(), 'tune-bench-storage-'));

const PARAMS = {
  layers: 3, units: 300, activation: 'relu', initializer: 'he_normal', batch_norm: false,
  dropout: 0.1, l2: 1e-5, optimizer: 'adam', learning_rate: 0.001, batch_size: 32,
};

function epoch(e: number): EpochLog {
  return { epoch: e, loss: 1 / (e + 1), val_loss: 1.1 / (e + 1), mae: 0.5, val_mae: 0.6, mse: 0.3, val_mse: 0.4, lr: 0.001, seconds: 0.1 };
}

/** Full per-trial bookkeeping through the Storage interface, in ms per trial. */
async function perTrial(storage: Storage, trials: number): Promise<number> {
  const study = await storage.createStudy({ name: 'bench', metric: 'val_mae', direction: 'min', definition: {}, definitionHash: 'bench' });
  const worker = { host: 'bench', pid: process.pid };
  const started = performance.now();
  for (let k = 0; k < trials; k++) {
    const trial = await storage.createTrial(study.id, { slot: `r:${k}`, params: PARAMS, backend: 'wasm', worker, initialEpoch: 0 });
    if (!trial) throw new Error('claim lost in a single-process benchmark');
    for (let e = 0; e < 50; e++) await storage.reportEpoch(trial.id, epoch(e));
    const metrics = { loss: 0.1, mae: 0.2, mse: 0.05, val_loss: 0.11, val_mae: 0.21 + k * 1e-6, val_mse: 0.06, test_mae: 0.22, test_mse: 0.07 };
    await storage.finishTrial(trial.id, { state: 'complete', metrics, value: metrics.val_mae, epochs: 50, stopReason: 'max_epochs', durationS: 1 });
  }
  return (performance.now() - started) / trials;
}

/** The same workload on a throwaway local PostgreSQL server, when its binaries are here. */
async function pgPerTrial(): Promise<number | null> {
  try {
    findPostgresBin();
  } catch {
    return null;
  }
  const cluster = await startPostgres();
  try {
    const storage = await openStorage(await cluster.createDatabase('bench'));
    try {
      return await perTrial(storage, TRIALS);
    } finally {
      await storage.close();
    }
  } finally {
    await cluster.stop();
  }
}

function optunaPerTrial(trials: number): number | null {
  const python = '/usr/bin/python3';
  if (!existsSync(python)) return null;
  const probe = spawnSync(python, ['-c', 'import optuna'], { encoding: 'utf8' });
  if (probe.status !== 0) return null;
  const r = spawnSync(python, [join(ROOT, 'bench', 'optuna_storage.py'), join(dir, 'optuna.db'), String(trials)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`optuna benchmark failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { ms_per_trial: number }).ms_per_trial;
}

/** A study of `n` complete trials, written in one import (the fast path `tune copy` uses). */
function bigDump(n: number): StudyDump {
  const trials: TrialDump[] = [];
  for (let k = 0; k < n; k++) {
    trials.push({
      number: k, slot: `r:${k}`, state: 'complete', params: { ...PARAMS, units: 100 + (k % 500) }, value: 0.1 + ((k * 7919) % n) / n,
      backend: 'wasm', worker: { host: 'bench', pid: 1 }, initialEpoch: 0, epochs: 50, stopReason: 'max_epochs', durationS: 1,
      metrics: { val_mae: 0.1 + ((k * 7919) % n) / n, mae: 0.2, val_mse: 0.05, test_mae: 0.3 },
      startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z', history: [],
    });
  }
  return { study: { name: 'big', metric: 'val_mae', direction: 'min', definition: {}, definitionHash: 'big', createdAt: '2026-01-01T00:00:00.000Z' }, trials };
}

async function topWallTime(n: number): Promise<number> {
  const path = join(dir, 'top.db');
  const storage = await openStorage(path);
  await storage.importStudy(bigDump(n));
  await storage.close();
  const started = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'tune.js'), 'top', '--json', '--storage', path], { encoding: 'utf8' });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`tune top failed: ${r.stderr}`);
  return seconds;
}

/**
 * What a random strategy's decision costs with `n` trials in the history (it
 * deduplicates against all of them), in ms: the first call, which works out
 * each trial's key, and the median of later ones, which reuse them, as a run
 * does with the finished trials it keeps between decisions.
 */
function strategyDecisionMs(n: number): { first: number; next: number } {
  const space = Space.parse({
    layers: { type: 'int', min: 1, max: 4 },
    units: { type: 'int', min: 16, max: 512 },
    activation: { type: 'choice', values: ['relu', 'elu', 'tanh'] },
    optimizer: { type: 'choice', values: ['sgd', 'momentum', 'adam'] },
    momentum: { type: 'float', min: 0.5, max: 0.99, when: { optimizer: ['momentum'] } },
    learning_rate: { type: 'float', min: 1e-4, max: 1e-1, sampling: 'log' },
  });
  const rng = seedrandom('bench');
  const history = Array.from({ length: n }, (_, i) => ({
    number: i,
    state: 'complete' as const,
    params: space.sample(rng),
    value: rng(),
    slot: `r:${i}`,
  }));
  const strategy = createStrategy(space, { kind: 'random', max_trials: n + 1000 }, 42, 'min');
  const time = (): number => {
    const started = performance.now();
    strategy.next(history);
    return performance.now() - started;
  };
  const first = time();
  const later = [time(), time(), time(), time(), time()].sort((a, b) => a - b);
  return { first, next: later[2]! };
}

async function main(): Promise<void> {
  const sqlite = await openStorage(join(dir, 'tune.db'));
  const tuneSqlite = await perTrial(sqlite, TRIALS);
  await sqlite.close();
  const pg = await pgPerTrial();
  const optuna = optunaPerTrial(OPTUNA_TRIALS);
  const top = await topWallTime(TOP_TRIALS);
  const decision = strategyDecisionMs(TOP_TRIALS);
  const result = {
    trials: TRIALS,
    tune_sqlite_ms_per_trial: round(tuneSqlite),
    optuna_trials: OPTUNA_TRIALS,
    optuna_sqlite_ms_per_trial: optuna === null ? null : round(optuna),
    optuna_over_tune: optuna === null ? null : round(optuna / tuneSqlite),
    ...(pg === null ? {} : { tune_pg_ms_per_trial: round(pg) }),
    top_100k_s: round(top),
    top_trials: TOP_TRIALS,
    strategy_first_decision_ms: round(decision.first),
    strategy_decision_ms: round(decision.next),
  };
  rmSync(dir, { recursive: true, force: true });
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(
    [
      `tune, SQLite:    ${result.tune_sqlite_ms_per_trial} ms per trial (${TRIALS} trials: claim, 10 params, 50 epochs, 8 metrics, complete)`,
      `tune, PostgreSQL: ${pg === null ? 'n/a (no PostgreSQL binaries)' : `${round(pg)} ms per trial`}`,
      `Optuna, SQLite:  ${result.optuna_sqlite_ms_per_trial ?? 'n/a (no /usr/bin/python3 with optuna)'} ms per trial (${OPTUNA_TRIALS} trials)`,
      `ratio:           ${result.optuna_over_tune ?? 'n/a'}× cheaper`,
      `tune top --json: ${result.top_100k_s} s on ${TOP_TRIALS} complete trials`,
      `random strategy: ${result.strategy_decision_ms} ms a decision with ${TOP_TRIALS} trials in the history (the first: ${result.strategy_first_decision_ms} ms)`,
      '',
    ].join('\n'),
  );
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

main().catch((err: unknown) => {
  rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`bench:storage failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
