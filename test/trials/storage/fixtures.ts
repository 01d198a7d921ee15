/**
 * Shared fixtures for the storage tests: temp files, a study, a trial plan,
 * outcomes, raw access to a file behind the engine's back, and child
 * processes that use the storage (this file runs from dist/test/trials/storage/).
 */
import { after } from 'node:test';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStorage } from '../../../src/trials/storage/sqlite';
import type { LinearBaseline } from '../../../src/trials/linear';
import type {
  EpochLog,
  NewTrial,
  Storage,
  StudyDump,
  StudyInput,
  StudyRecord,
  TrialDiagnostics,
  TrialOutcome,
  TrialRecord,
} from '../../../src/trials/storage/types';

/** The compiled storage module, for child processes. */
export const STORAGE_MODULE = path.resolve(__dirname, '..', '..', '..', 'src', 'trials', 'storage', 'sqlite.js');

/** A temp directory removed after the calling test file; `next()` names a fresh file in it. */
export function tempFiles(prefix: string): { dir: string; next(): string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  let count = 0;
  return { dir, next: () => path.join(dir, `s${count++}.db`) };
}

export function study(name: string, overrides: Partial<StudyInput> = {}): StudyInput {
  return {
    name,
    metric: 'val_loss',
    direction: 'min',
    definition: { space: { units: { kind: 'int', min: 8, max: 64 } }, data: { train: 'train.csv' } },
    definitionHash: 'abc123',
    ...overrides,
  };
}

let slotCount = 0;

/** A plan for a plain trial: a fresh random-strategy slot, cpu, worker h:1, from epoch 0. */
export function plan(overrides: Partial<NewTrial> = {}): NewTrial {
  return { slot: `r:${slotCount++}`, params: {}, backend: 'cpu', worker: { host: 'h', pid: 1 }, initialEpoch: 0, ...overrides };
}

/** createTrial for a plan that no one else can hold: a lost claim here is a test failure. */
export async function create(s: Storage, studyId: number, trial: NewTrial = plan()): Promise<TrialRecord> {
  const t = await s.createTrial(studyId, trial);
  if (t === undefined) throw new Error(`unexpectedly lost the claim on slot "${trial.slot}"${trial.retryOf === undefined ? '' : ` (retry of ${trial.retryOf})`}`);
  return t;
}

export function complete(value: number, extra: Record<string, number> = {}): TrialOutcome {
  return { state: 'complete', value, metrics: { val_loss: value, ...extra }, epochs: 10, stopReason: 'max_epochs', durationS: 1.5 };
}

export function failed(error = 'boom'): TrialOutcome {
  return { state: 'failed', metrics: {}, epochs: 1, stopReason: 'error', error, durationS: 0 };
}

export function epoch(n: number, loss = 1): EpochLog {
  return { epoch: n, loss, mae: 1, mse: 1, lr: 0.1, seconds: 0.1 };
}

/** A study's linear baseline as fitLinearBaseline makes one: two features, one target; `scale` makes others. */
export function baseline(scale = 1): LinearBaseline {
  return {
    kind: 'least_squares',
    ridge: 1e-6 * 120,
    features: ['x1', 'x2'],
    targets: ['y'],
    xScaler: { mean: [0.5, -3], std: [1.25, 0.001] },
    yScaler: { mean: [10], std: [2] },
    coef: [[0.25 * scale], [-1.5e-17 * scale]],
    intercept: [0.1 + 0.2],
    metrics: { mae: 0.5 * scale, mse: 0.3 * scale, val_mae: 0.625, val_mse: 0.4 },
  };
}

/** Diagnostics of a trial that early stopping ended, with dead ReLUs in its first layer. */
export function diagnostics(): TrialDiagnostics {
  return {
    stoppedBy: { callback: 'early_stopping', index: 1, monitor: 'val_loss' },
    deadReluStart: [0, 0.125],
    deadReluEnd: [0.5, 0],
    trainValGap: -0.03125,
    restoredEpoch: 7,
  };
}

/**
 * A study with every kind of trial: complete with NaN/±Infinity metrics,
 * history with NaN and absent values and a checkpoint; failed (with an empty
 * checkpoint); interrupted and its retry; a Hyperband child of a parent; one
 * still running. Its dump's trials are numbered 0 to 4 in that order.
 */
export async function richStudy(s: Storage, name: string): Promise<StudyRecord> {
  const st = await s.createStudy(study(name, { direction: 'max', metric: 'r2', definition: { space: { lr: { kind: 'float', log: true } }, nested: [1, 'two', null] } }));
  const rung = { iteration: 0, bracket: 2, round: 0 };
  const a = await create(s, st.id, plan({ slot: 'h:0.2.0.0', params: { lr: 0.01, opt: 'adam', bn: true }, budget: 1, rung, backend: 'wasm', worker: { host: 'gpu-1', pid: 11 } }));
  await s.reportEpoch(a.id, { epoch: 0, loss: 1, val_loss: NaN, mae: Infinity, mse: -Infinity, lr: 0.01, seconds: 0.5 });
  await s.reportEpoch(a.id, { epoch: 1, loss: 0.5, val_loss: 0.6, mae: 0.4, val_mae: 0.45, mse: 0.3, val_mse: 0.35, lr: 0.005, seconds: 0.25 });
  await s.finishTrial(a.id, { state: 'complete', value: 0.8, metrics: { r2: 0.8, val_loss: NaN, up: Infinity, down: -Infinity }, epochs: 2, stopReason: 'early_stopping', durationS: NaN },
    new Uint8Array([0, 1, 2, 253, 254, 255]));
  const b = await create(s, st.id, plan({ slot: 'h:0.2.0.1', params: { lr: 10 }, budget: 1, rung }));
  await s.finishTrial(b.id, { state: 'failed', metrics: { loss: NaN }, epochs: 1, stopReason: 'nan', error: 'loss became NaN\n  at epoch 1', durationS: 0.1 }, new Uint8Array(0));
  const c = await create(s, st.id, plan({ slot: 'h:0.2.0.2', params: { lr: 0.1 }, budget: 1, rung }));
  await s.interruptTrial(c.id, 'worker died');
  const c2 = await create(s, st.id, plan({ slot: 'h:0.2.0.2', params: { lr: 0.1 }, budget: 1, rung, retryOf: c.number }));
  await s.finishTrial(c2.id, complete(0.7, { r2: 0.7 }), new Uint8Array(5000).fill(7));
  const child = await create(s, st.id, plan({ slot: 'h:0.2.1.0', params: { lr: 0.01, opt: 'adam', bn: true }, budget: 3, rung: { ...rung, round: 1 }, parent: a.number, initialEpoch: 2 }));
  await s.reportEpoch(child.id, epoch(2, 0.3));
  return st;
}

/**
 * Dumps an import must refuse whole, made from a `richStudy` dump, each under
 * its own new name: [what, dump, the refusal]. Two epochs with one number
 * break the engine's primary key, so the message is the engine's.
 */
export function badDumps(dump: StudyDump): [string, StudyDump, RegExp][] {
  const named = (name: string, trials: StudyDump['trials']): StudyDump => ({ study: { ...dump.study, name }, trials });
  const t = dump.trials;
  return [
    ['two trials with one number', named('b1', [t[0]!, { ...t[1]!, number: 0 }]), /two trials number 0/],
    ['a retry of a missing trial', named('b2', [t[3]!]), /retryOf 2 is not in the dump/],
    ['a missing parent', named('b3', [t[4]!]), /parent 0 is not in the dump/],
    ['two first attempts at a slot', named('b4', [t[0]!, { ...t[1]!, slot: t[0]!.slot }]), /two first attempts at slot "h:0.2.0.0"/],
    ['an unknown state', named('b5', [{ ...t[0]!, state: 'paused' as never }]), /unknown state paused/],
    ['a NaN parameter', named('b6', [{ ...t[0]!, params: { lr: NaN } }]), /parameter "lr" is NaN/],
    ['a bad epoch', named('b7', [{ ...t[0]!, history: [{ ...t[0]!.history[0]!, epoch: -1 }] }]), /epoch must be a non-negative integer/],
    ['two epochs with one number', named('b8', [{ ...t[0]!, history: [t[0]!.history[0]!, t[0]!.history[0]!] }]),
      /UNIQUE constraint failed: trial_epochs|duplicate key value violates unique constraint "trial_epochs_pkey"/],
  ];
}

export const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Opens a storage, runs `fn`, closes it. */
export async function withStorage<T>(file: string, fn: (s: SqliteStorage) => Promise<T>): Promise<T> {
  const s = SqliteStorage.open(file);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** Reads or writes the file behind the engine's back (better-sqlite3 enforces foreign keys by default). */
export function raw<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export function count(db: Database.Database, table: string): number {
  return db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `body` (CommonJS, async allowed) in a fresh node process where
 * `SqliteStorage` is in scope; resolves when it exits.
 */
export function runChild(body: string, env: Record<string, string> = {}): Promise<ChildResult> {
  const script = `const { SqliteStorage } = require(${JSON.stringify(STORAGE_MODULE)});
(async () => { ${body} })().catch((e) => { console.error(e); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * Runs `body` in `n` child processes at once (see runChild), each with `s`,
 * a SqliteStorage open on `file`, and WORKER set to its index 0 … n-1. Their
 * bodies start together, a second from now: after node's startup.
 */
export function runWorkers(file: string, body: string, n = 4): Promise<ChildResult[]> {
  const startAt = Date.now() + 1000;
  const script = `const s = SqliteStorage.open(process.env.FILE);
while (Date.now() < Number(process.env.START_AT)) {}
${body}`;
  return Promise.all(Array.from({ length: n }, (_, w) => runChild(script, { FILE: file, START_AT: String(startAt), WORKER: String(w) })));
}
