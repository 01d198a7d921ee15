/**
 * Rows → records, shared by the storage engines. Both select the same
 * columns under the same names; what differs is how some values arrive,
 * which each engine says with a `RowDecoder`:
 *
 * - a measurement (REAL / double precision): SQLite has no NaN and stores it
 *   as the TEXT tag 'NaN' (./sqlite.ts); PostgreSQL returns native doubles;
 * - a JSON column: SQLite returns its text, pg returns it parsed (`json`).
 *
 * Ids, numbers and counts arrive as numbers from both (pg's int8 parser in
 * ./postgres.ts refuses what would not fit), timestamps as ISO-8601 UTC
 * strings (SQLite stores them so, PostgreSQL formats them in its SELECT), so
 * they need no decoding.
 *
 * Optional fields are left out (not set to undefined) when NULL.
 */
import type { Params } from '../../space/types';
import type { TrialState } from '../../search/types';
import type { LinearBaseline } from '../linear';
import type {
  Direction,
  EpochLog,
  Metrics,
  StopReason,
  StudyRecord,
  StudySummary,
  TrialDiagnostics,
  TrialDump,
  TrialRecord,
} from './types';

/** How one engine's values become record values: `R` is a measurement column's non-NULL value, `J` a JSON column's. */
export interface RowDecoder<R, J> {
  /** A measurement; undefined for NULL (absent). */
  real(v: R | null): number | undefined;
  /** A JSON column's data, a fresh copy on every read. */
  json(v: J): unknown;
}

export interface StudyRow<J> {
  id: number;
  name: string;
  metric: string;
  direction: Direction;
  definition_json: J;
  definition_hash: string;
  created_at: string;
  baseline_json: J | null;
}

export interface StudySummaryRow<R, J> extends StudyRow<J> {
  running: number;
  complete: number;
  failed: number;
  interrupted: number;
  best: R | null;
}

export interface TrialRow<R, J> {
  id: number;
  study_id: number;
  number: number;
  slot: string;
  retry_of: number | null;
  state: TrialState;
  params_json: J;
  backend: string;
  worker_host: string;
  worker_pid: number;
  budget: number | null;
  rung_iteration: number | null;
  rung_bracket: number | null;
  rung_round: number | null;
  parent: number | null;
  initial_epoch: number;
  value: R | null;
  epochs: number | null;
  stop_reason: StopReason | null;
  error: string | null;
  duration_s: R | null;
  diagnostics_json: J | null;
  started_at: string;
  finished_at: string | null;
}

export interface EpochRow<R> {
  epoch: number;
  loss: R;
  val_loss: R | null;
  mae: R;
  val_mae: R | null;
  mse: R;
  val_mse: R | null;
  lr: R;
  seconds: R;
  grad_norm: R | null;
}

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A measurement of a NOT NULL column. */
export function required<R>(v: R | null, d: RowDecoder<R, unknown>): number {
  const x = d.real(v);
  if (x === undefined) throw new Error('corrupt tune storage: NULL in a required numeric column');
  return x;
}

export function toStudy<J>(row: StudyRow<J>, d: RowDecoder<unknown, J>): StudyRecord {
  const study: Mutable<StudyRecord> = {
    id: row.id,
    name: row.name,
    metric: row.metric,
    direction: row.direction,
    definition: d.json(row.definition_json),
    definitionHash: row.definition_hash,
    createdAt: row.created_at,
  };
  if (row.baseline_json !== null) study.baseline = d.json(row.baseline_json) as LinearBaseline;
  return study;
}

export function toSummary<R, J>(row: StudySummaryRow<R, J>, d: RowDecoder<R, J>): StudySummary {
  const summary: Mutable<StudySummary> = {
    study: toStudy(row, d),
    counts: { running: row.running, complete: row.complete, failed: row.failed, interrupted: row.interrupted },
  };
  const best = d.real(row.best);
  if (best !== undefined) summary.best = best;
  return summary;
}

/** `metrics` are the trial's, read by the engine its own way. */
export function toTrial<R, J>(row: TrialRow<R, J>, metrics: Metrics, d: RowDecoder<R, J>): TrialRecord {
  const trial: Mutable<TrialRecord> = {
    id: row.id,
    studyId: row.study_id,
    number: row.number,
    slot: row.slot,
    state: row.state,
    params: d.json(row.params_json) as Params,
    backend: row.backend,
    worker: { host: row.worker_host, pid: row.worker_pid },
    metrics,
    initialEpoch: row.initial_epoch,
    startedAt: row.started_at,
  };
  if (row.retry_of !== null) trial.retryOf = row.retry_of;
  if (row.budget !== null) trial.budget = row.budget;
  if (row.rung_iteration !== null) trial.rung = { iteration: row.rung_iteration, bracket: row.rung_bracket!, round: row.rung_round! };
  if (row.parent !== null) trial.parent = row.parent;
  const value = d.real(row.value);
  if (value !== undefined) trial.value = value;
  if (row.epochs !== null) trial.epochs = row.epochs;
  if (row.stop_reason !== null) trial.stopReason = row.stop_reason;
  if (row.error !== null) trial.error = row.error;
  const durationS = d.real(row.duration_s);
  if (durationS !== undefined) trial.durationS = durationS;
  if (row.diagnostics_json !== null) trial.diagnostics = d.json(row.diagnostics_json) as TrialDiagnostics;
  if (row.finished_at !== null) trial.finishedAt = row.finished_at;
  return trial;
}

export function toEpoch<R>(row: EpochRow<R>, d: RowDecoder<R, unknown>): EpochLog {
  const log: Mutable<EpochLog> = {
    epoch: row.epoch,
    loss: required(row.loss, d),
    mae: required(row.mae, d),
    mse: required(row.mse, d),
    lr: required(row.lr, d),
    seconds: required(row.seconds, d),
  };
  const valLoss = d.real(row.val_loss);
  if (valLoss !== undefined) log.val_loss = valLoss;
  const valMae = d.real(row.val_mae);
  if (valMae !== undefined) log.val_mae = valMae;
  const valMse = d.real(row.val_mse);
  if (valMse !== undefined) log.val_mse = valMse;
  const gradNorm = d.real(row.grad_norm);
  if (gradNorm !== undefined) log.grad_norm = gradNorm;
  return log;
}

/** Epoch rows of several trials (ordered by trial, then epoch) as each trial's history. */
export function groupHistory<R>(rows: readonly (EpochRow<R> & { trial_id: number })[], d: RowDecoder<R, unknown>): Map<number, EpochLog[]> {
  const history = new Map<number, EpochLog[]>();
  for (const row of rows) {
    let list = history.get(row.trial_id);
    if (!list) history.set(row.trial_id, (list = []));
    list.push(toEpoch(row, d));
  }
  return history;
}

/** A trial as a dump holds it: without id and studyId, with its history and a copy of its checkpoint. */
export function toDumpTrial(trial: TrialRecord, history: EpochLog[], checkpoint: Uint8Array | undefined): TrialDump {
  const { id: _id, studyId: _studyId, ...rest } = trial;
  const dump: Mutable<TrialDump> = { ...rest, history };
  if (checkpoint !== undefined) dump.checkpoint = new Uint8Array(checkpoint);
  return dump;
}
