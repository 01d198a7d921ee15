/**
 * Shared helpers for end-to-end tests that run the `tune` CLI as a real
 * process: temp dirs, tiny CSVs and study files, running `bin/tune.js`, and
 * hashing files to prove storage was not touched.
 *
 * Typical use:
 *
 *     const dir = tempDir();
 *     writeCsv(dir, 'train.csv', tinyRows());
 *     writeStudy(dir, 'study.yaml', tinyStudy());
 *     const r = runTune(['run', 'study.yaml', '--storage', 'tune.db'], dir);
 *     removeDir(dir);
 *
 * The CLI must have been built first (`npx tsc -p tsconfig.json`): bin/tune.js
 * loads dist/bin/tune.js.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import seedrandom from 'seedrandom';
import { stringify } from 'yaml';

/** The project root (this file runs from dist/test/helpers/). */
export const ROOT = resolve(__dirname, '..', '..', '..');

/** Absolute path of the CLI entry point, `bin/tune.js`. */
export const BIN = join(ROOT, 'bin', 'tune.js');

/** What a finished `tune` process left: exit status (null if killed), stdout, stderr. */
export interface TuneResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The signal that ended it, if one did (e.g. SIGKILL). */
  readonly signal: NodeJS.Signals | null;
}

/**
 * Runs `node bin/tune.js ...args` synchronously, with `CI=1` (no progress
 * bars) and a 60 s timeout. `cwd` defaults to this process' working
 * directory; relative paths in `args` resolve against it, and so do the
 * paths tune prints, so running in the temp dir gives stable messages.
 */
export function runTune(args: readonly string[], cwd?: string, env: NodeJS.ProcessEnv = {}): TuneResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: '1', ...env },
    timeout: 60_000,
    ...(cwd !== undefined ? { cwd } : {}),
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

/**
 * Starts `node bin/tune.js ...args` without waiting, for tests that signal or
 * kill it mid-run. `done` resolves when it exits, however it ends.
 */
export function spawnTune(
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; done: Promise<TuneResult> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: '1', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<TuneResult>((resolve) =>
    child.on('close', (status, signal) => resolve({ status, stdout, stderr, signal })),
  );
  return { child, done };
}

/** A fresh empty directory under the OS temp dir; remove it with `removeDir`. */
export function tempDir(prefix = 'tune-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Deletes a directory made by `tempDir` (recursively; a missing one is fine). */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A CSV row: cells written as given (strings are not quoted, so no commas in them). */
export type Row = readonly (string | number)[];

/**
 * Writes `rows` (the first one is the header) as `dir/name`, one line each,
 * and returns the file's absolute path.
 */
export function writeCsv(dir: string, name: string, rows: readonly Row[]): string {
  const path = join(dir, name);
  writeFileSync(path, rows.map((row) => row.join(',')).join('\n') + '\n');
  return path;
}

/**
 * A tiny deterministic regression table: header `x1,x2,x3,target`, then `n`
 * rows of 3 features and a target that depends on them. Line k of the file
 * (1-based) holds row k - 2 (line 1 is the header).
 */
export function tinyRows(n = 40): Row[] {
  const rows: Row[] = [['x1', 'x2', 'x3', 'target']];
  for (let i = 0; i < n; i++) {
    const x1 = Math.sin(i * 0.7);
    const x2 = Math.cos(i * 1.3);
    const x3 = (i % 7) / 7;
    const y = 2 * x1 - x2 + 0.5 * x3 * x3;
    rows.push([x1, x2, x3, y].map((v) => v.toFixed(4)));
  }
  return rows;
}

/**
 * `n` seeded rows of a small regression that is mostly linear with a
 * nonlinear part, like the example data: y = offset + x0 − 0.5·x1 +
 * 0.3·sin(2·x2), each x uniform in [−1, 1]. `columns` names x0, x1, x2 and y
 * in that order, or picks a subset of them by those names.
 */
export function mostlyLinearRows(
  n: number,
  seed: string,
  options: { readonly names?: readonly [string, string, string, string]; readonly columns?: readonly string[]; readonly offset?: number } = {},
): Row[] {
  const rng = seedrandom(seed);
  const names = options.names ?? ['x0', 'x1', 'x2', 'y'];
  const columns = options.columns ?? names;
  const table: Row[] = [columns];
  for (let i = 0; i < n; i++) {
    const x = [rng() * 2 - 1, rng() * 2 - 1, rng() * 2 - 1] as const;
    const values = [...x, (options.offset ?? 0) + x[0] - 0.5 * x[1] + 0.3 * Math.sin(2 * x[2])];
    const byName = new Map(names.map((name, k) => [name, values[k]!]));
    table.push(columns.map((c) => byName.get(c)!.toFixed(5)));
  }
  return table;
}

/**
 * Writes a study file as `dir/name` and returns its absolute path: a string
 * is written verbatim (for malformed YAML), anything else as YAML.
 */
export function writeStudy(dir: string, name: string, study: string | object): string {
  const path = join(dir, name);
  writeFileSync(path, typeof study === 'string' ? study : stringify(study));
  return path;
}

/**
 * A valid study that trains in well under a second: `train.csv` (write it
 * with `writeCsv(dir, 'train.csv', tinyRows())` next to the study file),
 * training metrics only, 1 random trial, 1 hidden layer of 4 units, 2
 * epochs. A fresh object each call, so callers may change it freely.
 */
export function tinyStudy(name = 'tiny'): Record<string, any> {
  return {
    name,
    seed: 1,
    data: { train: 'train.csv', targets: ['target'] },
    objective: { metric: 'mae', direction: 'min' },
    strategy: { kind: 'random', max_trials: 1 },
    space: {
      layers: 1,
      units: 4,
      epochs: 2,
      batch_size: 16,
      learning_rate: { type: 'float', min: 0.001, max: 0.01, sampling: 'log' },
    },
  };
}

/** The SHA-256 of a file's bytes, in hex. */
export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** SQLite's side files of `dbPath` (`-wal`, `-shm`, `-journal`) that exist now. */
export function sqliteSideFiles(dbPath: string): string[] {
  return ['-wal', '-shm', '-journal'].map((s) => dbPath + s).filter((p) => existsSync(p));
}
