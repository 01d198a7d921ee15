import type { Params } from '../../space/types';
import type { Direction, EpochLog, NewTrial, RankOptions, StopReason, StudyDump, StudyInput, TrialDump, TrialOutcome, WorkerId } from './types';
import type { TrialState } from '../../search/types';

/** Checks and encodings of inputs shared by the storage engines: the same input is refused the same way on SQLite and PostgreSQL. */

/** The columns of a new trial, validated. */
export interface NewTrialRow {
  slot: string;
  retryOf: number | null;
  paramsJson: string;
  backend: string;
  workerHost: string;
  workerPid: number;
  budget: number | null;
  rungIteration: number | null;
  rungBracket: number | null;
  rungRound: number | null;
  parent: number | null;
  initialEpoch: number;
}

export function checkTrialId(id: number): void {
  if (!Number.isSafeInteger(id)) throw new TypeError(`a trial id must be an integer, got ${String(id)}`);
}

export function checkDirection(direction: Direction): void {
  if (direction !== 'min' && direction !== 'max') throw new TypeError(`direction must be "min" or "max", got ${String(direction)}`);
}

/** Checks a new study; returns its definition as JSON text. */
export function checkStudyInput(input: StudyInput): string {
  if (typeof input.name !== 'string' || input.name === '') throw new TypeError('a study name must be a non-empty string');
  checkDirection(input.direction);
  const definitionJson = JSON.stringify(input.definition) as string | undefined;
  if (definitionJson === undefined) throw new TypeError('a study definition must be JSON-able data');
  return definitionJson;
}

export function checkRankOptions(options: RankOptions): void {
  checkDirection(options.direction);
  if (options.limit !== undefined) checkInteger(options.limit, 'a rank limit');
}

/** The arguments of `interruptStale`. */
export function checkStaleSweep(graceSeconds: number, reason: string): void {
  if (typeof graceSeconds !== 'number' || !(graceSeconds >= 0) || graceSeconds === Infinity) {
    throw new RangeError(`a grace period must be a finite number of seconds ≥ 0, got ${String(graceSeconds)}`);
  }
  if (typeof reason !== 'string') throw new TypeError('an interruption reason must be a string');
}

/** What `finishTrial` checks of an outcome before encoding its values (each engine encodes measurements its own way). */
export function checkOutcome(trialId: number, outcome: TrialOutcome): void {
  if (outcome.state !== 'complete' && outcome.state !== 'failed') {
    throw new TypeError(`a trial finishes "complete" or "failed", not ${String(outcome.state)}`);
  }
  if (outcome.state === 'complete' && typeof outcome.value !== 'number') {
    throw new TypeError(`trial ${trialId}: a complete trial needs its objective value`);
  }
  if (!STOP_REASONS.includes(outcome.stopReason)) throw new TypeError(`unknown stop reason ${String(outcome.stopReason)}`);
  checkInteger(outcome.epochs, 'epochs');
}

/** A checkpoint as a Buffer sharing its memory (no copy), which both drivers bind as binary. */
export function checkpointBuffer(checkpoint: Uint8Array): Buffer {
  if (!(checkpoint instanceof Uint8Array)) throw new TypeError('a checkpoint must be a Uint8Array');
  return Buffer.from(checkpoint.buffer, checkpoint.byteOffset, checkpoint.byteLength);
}

/** The values of one epoch row in column order (epoch, loss, val_loss, mae, val_mae, mse, val_mse, lr, seconds, grad_norm). */
export type EpochValues<R> = readonly [number, R, R, R, R, R, R, R, R, R];

/** One epoch's values, each measurement encoded by `real` (the engine's: SQLite tags NaN, PostgreSQL keeps it). */
export function encodeEpoch<R>(log: EpochLog, real: (x: number | undefined, what: string) => R): EpochValues<R> {
  checkInteger(log.epoch, 'an epoch');
  return [
    log.epoch,
    real(log.loss, 'loss'),
    real(log.val_loss, 'val_loss'),
    real(log.mae, 'mae'),
    real(log.val_mae, 'val_mae'),
    real(log.mse, 'mse'),
    real(log.val_mse, 'val_mse'),
    real(log.lr, 'lr'),
    real(log.seconds, 'seconds'),
    real(log.grad_norm, 'grad_norm'),
  ];
}

/** The first checks of a dump to import: it has a study with its createdAt. */
export function checkDumpStudy(dump: StudyDump): void {
  if (typeof dump !== 'object' || dump === null || typeof dump.study !== 'object' || dump.study === null) {
    throw new TypeError('a study dump needs its study');
  }
  if (typeof dump.study.createdAt !== 'string') throw new TypeError('a study dump needs the study\'s createdAt');
}

export function checkInteger(x: number, what: string): void {
  if (!Number.isSafeInteger(x) || x < 0) throw new RangeError(`${what} must be a non-negative integer, got ${x}`);
}

export function optionalInteger(x: number | undefined, what: string): number | null {
  if (x === undefined) return null;
  checkInteger(x, what);
  return x;
}

/** A measurement (NaN and ±Infinity included) or null when absent; each engine then stores NaN its own way. */
export function checkReal(x: number | undefined, what: string): number | null {
  if (x === undefined) return null;
  if (typeof x !== 'number') throw new TypeError(`${what} must be a number, got ${typeof x}`);
  return x;
}

/**
 * A JSON-able object (a study's baseline, a trial's diagnostics) as the text
 * its column stores. Refused unless JSON gives it back exactly, so that both
 * engines and `tune copy` keep it as it was: JSON.stringify would quietly
 * turn NaN or ±Infinity into null, a hole or undefined in an array into
 * null, and a Date or Map into something else. A property whose value is
 * undefined is left out, as absent.
 */
export function encodeJson(value: object, what: string): string {
  if (!isPlainObject(value)) throw new TypeError(`${what} must be a plain object of JSON data`);
  checkJsonable(value, what, []);
  return JSON.stringify(value);
}

/** `encodeJson`, or null when absent. */
export function optionalJson(value: object | undefined, what: string): string | null {
  return value === undefined ? null : encodeJson(value, what);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Throws unless `value` is JSON data that round-trips exactly; `where` names it in the message. */
function checkJsonable(value: unknown, where: string, parents: readonly object[]): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${where} is ${value}: JSON has no NaN or Infinity`);
    return;
  }
  if (typeof value !== 'object') throw new TypeError(`${where} is ${typeof value}: only JSON data can be stored`);
  if (parents.includes(value)) throw new TypeError(`${where} refers to itself`);
  const inside = [...parents, value];
  if (Array.isArray(value)) {
    // An index loop, not forEach: a hole must be seen (JSON would make it null).
    for (let i = 0; i < value.length; i++) checkJsonable(value[i], `${where}[${i}]`, inside);
  } else if (isPlainObject(value)) {
    for (const [key, v] of Object.entries(value)) if (v !== undefined) checkJsonable(v, `${where}.${key}`, inside);
  } else {
    throw new TypeError(`${where} is a ${(value as object).constructor?.name ?? 'object'}: only plain objects and arrays can be stored`);
  }
}

export function encodeParams(params: Params): string {
  for (const [name, v] of Object.entries(params)) {
    const ok = typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
    if (!ok) throw new TypeError(`parameter "${name}" is ${String(v)}: parameters must be finite numbers, strings or booleans`);
  }
  return JSON.stringify(params);
}

export function encodeNewTrial(trial: NewTrial): NewTrialRow {
  if (typeof trial.slot !== 'string' || trial.slot === '') throw new TypeError('a trial slot must be a non-empty string');
  if (typeof trial.backend !== 'string') throw new TypeError('a trial backend must be a string');
  const worker = trial.worker as WorkerId | undefined;
  if (!worker || typeof worker.host !== 'string') throw new TypeError('a trial needs its worker { host, pid }');
  checkInteger(worker.pid, 'a worker pid');
  checkInteger(trial.initialEpoch, 'initialEpoch');
  const budget = optionalInteger(trial.budget, 'a budget');
  if (budget === 0) throw new RangeError('a budget must be at least 1 epoch');
  const rung = trial.rung;
  if (rung !== undefined) {
    checkInteger(rung.iteration, 'a rung iteration');
    checkInteger(rung.bracket, 'a rung bracket');
    checkInteger(rung.round, 'a rung round');
  }
  return {
    slot: trial.slot,
    retryOf: optionalInteger(trial.retryOf, 'retryOf'),
    paramsJson: encodeParams(trial.params),
    backend: trial.backend,
    workerHost: worker.host,
    workerPid: worker.pid,
    budget,
    rungIteration: rung?.iteration ?? null,
    rungBracket: rung?.bracket ?? null,
    rungRound: rung?.round ?? null,
    parent: optionalInteger(trial.parent, 'parent'),
    initialEpoch: trial.initialEpoch,
  };
}

/**
 * The links inside a dump must hold as createTrial keeps them in a storage:
 * numbers unique, parent and retried attempt present, a retry on its
 * attempt's slot, one first attempt per slot, one retry per attempt.
 */
export function checkDumpLinks(rows: readonly (Pick<NewTrialRow, 'slot' | 'retryOf' | 'parent'> & { readonly number: number })[]): void {
  const byNumber = new Map<number, Pick<NewTrialRow, 'slot'>>();
  for (const row of rows) {
    if (byNumber.has(row.number)) throw new Error(`the dump has two trials number ${row.number}`);
    byNumber.set(row.number, row);
  }
  const firstAttempts = new Set<string>();
  const retried = new Set<number>();
  for (const row of rows) {
    if (row.parent !== null && !byNumber.has(row.parent)) throw new Error(`trial ${row.number}: parent ${row.parent} is not in the dump`);
    if (row.retryOf === null) {
      if (firstAttempts.has(row.slot)) throw new Error(`the dump has two first attempts at slot "${row.slot}"`);
      firstAttempts.add(row.slot);
    } else {
      const attempt = byNumber.get(row.retryOf);
      if (!attempt) throw new Error(`trial ${row.number}: retryOf ${row.retryOf} is not in the dump`);
      if (attempt.slot !== row.slot) throw new Error(`trial ${row.number} retries trial ${row.retryOf} of another slot`);
      if (retried.has(row.retryOf)) throw new Error(`the dump has two retries of trial ${row.retryOf}`);
      retried.add(row.retryOf);
    }
  }
}

export const TRIAL_STATES: readonly TrialState[] = ['running', 'complete', 'failed', 'interrupted'];
export const STOP_REASONS: readonly StopReason[] = ['max_epochs', 'early_stopping', 'nan', 'error'];

/** The checks of one dumped trial every engine makes before encoding it; returns how to name it in messages. */
export function checkDumpTrial(t: TrialDump): string {
  const what = `trial ${String(t.number)}`;
  checkInteger(t.number, 'a trial number');
  if (!TRIAL_STATES.includes(t.state)) throw new TypeError(`${what}: unknown state ${String(t.state)}`);
  if (t.stopReason !== undefined && !STOP_REASONS.includes(t.stopReason)) {
    throw new TypeError(`${what}: unknown stop reason ${String(t.stopReason)}`);
  }
  for (const [key, v] of [['startedAt', t.startedAt], ['finishedAt', t.finishedAt ?? ''], ['error', t.error ?? '']] as const) {
    if (typeof v !== 'string') throw new TypeError(`${what}: ${key} must be a string`);
  }
  if (!Array.isArray(t.history)) throw new TypeError(`${what}: history must be an array`);
  return what;
}
