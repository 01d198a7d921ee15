/**
 * Reading a stored study defensively: `definition` is JSON written by
 * whichever tune version ran the study, so every field is checked before use
 * and anything odd reads as "absent", never as an exception.
 */
import { bestFirst } from '../search/rank';
import type { ParamValue } from '../space/types';
import { KNOBS } from '../trials/knobs';
import type { EpochLog } from '../trials/storage/types';
import type { DoctorInput, DoctorTrial } from './types';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** The study file's `space` mapping (study-file spelling), or an empty one. */
export function spaceOf(input: DoctorInput): Json {
  const def = input.study.definition;
  return isObject(def) && isObject(def['space']) ? def['space'] : {};
}

export interface EarlyStoppingSpec {
  /** Position in the study's `callbacks` list. */
  readonly index: number;
  readonly monitor: string;
  readonly min_delta: number;
  readonly patience: number;
  readonly restore_best_weights: boolean;
  /** The arguments as stored, for replaying the callback. */
  readonly args: Json;
}

export interface ReduceLrSpec {
  readonly index: number;
  readonly monitor: string;
  readonly factor: number;
  readonly patience: number;
  readonly min_lr: number;
}

export interface CallbackEntry {
  readonly index: number;
  readonly kind: string;
  readonly args: Json;
}

/** The study's `callbacks` list, each entry as kind + arguments (unknown kinds kept, malformed ones dropped). */
export function callbacksOf(input: DoctorInput): CallbackEntry[] {
  const def = input.study.definition;
  const list = isObject(def) && Array.isArray(def['callbacks']) ? (def['callbacks'] as unknown[]) : [];
  const out: CallbackEntry[] = [];
  list.forEach((entry, index) => {
    if (!isObject(entry)) return;
    const keys = Object.keys(entry);
    if (keys.length !== 1) return;
    const kind = keys[0]!;
    const args = entry[kind];
    out.push({ index, kind, args: isObject(args) ? args : {} });
  });
  return out;
}

/** `early_stopping` entries, with Keras's defaults for what the stored definition lacks. */
export function earlyStoppingsOf(input: DoctorInput): EarlyStoppingSpec[] {
  return callbacksOf(input)
    .filter((c) => c.kind === 'early_stopping')
    .map((c) => ({
      index: c.index,
      monitor: typeof c.args['monitor'] === 'string' ? c.args['monitor'] : 'val_loss',
      min_delta: finite(c.args['min_delta']) ? Math.abs(c.args['min_delta']) : 0,
      patience: finite(c.args['patience']) ? c.args['patience'] : 0,
      restore_best_weights: c.args['restore_best_weights'] === true,
      args: c.args,
    }));
}

export function reduceLrsOf(input: DoctorInput): ReduceLrSpec[] {
  return callbacksOf(input)
    .filter((c) => c.kind === 'reduce_lr_on_plateau')
    .map((c) => ({
      index: c.index,
      monitor: typeof c.args['monitor'] === 'string' ? c.args['monitor'] : 'val_loss',
      factor: finite(c.args['factor']) ? c.args['factor'] : 0.1,
      patience: finite(c.args['patience']) ? c.args['patience'] : 10,
      min_lr: finite(c.args['min_lr']) ? c.args['min_lr'] : 0,
    }));
}

/** Whether a callback monitors a training metric (`loss`, `mae`, `mse`) rather than a validation one. */
export function isTrainingMetric(monitor: string): boolean {
  return !monitor.startsWith('val_');
}

/** A trial's parameter, or the model's default when the trial does not have it (e.g. not in the space). */
export function param(trial: DoctorTrial, name: string): ParamValue | undefined {
  const v = trial.params[name];
  if (v !== undefined) return v;
  return Object.prototype.hasOwnProperty.call(KNOBS, name) ? KNOBS[name]!.default : undefined;
}

export function numberParam(trial: DoctorTrial, name: string): number | undefined {
  const v = param(trial, name);
  return finite(v) ? v : undefined;
}

/** The epochs a trial was allowed: its Hyperband budget, else its `epochs` parameter (default 100). */
export function maxEpochs(trial: DoctorTrial): number | undefined {
  return trial.budget ?? numberParam(trial, 'epochs');
}

/** The epoch a trial reached (1-based count from the start of its parent chain). */
export function epochsReached(trial: DoctorTrial): number {
  if (finite(trial.epochs)) return trial.epochs;
  const last = trial.history[trial.history.length - 1];
  return last ? last.epoch + 1 : trial.initialEpoch;
}

/** A short description of a trial's optimizer: `sgd, lr 0.01`. */
export function optimizerText(trial: DoctorTrial): string {
  const opt = param(trial, 'optimizer');
  const lr = numberParam(trial, 'learning_rate');
  return `${String(opt ?? '?')}, lr ${lr === undefined ? '?' : fmtLr(lr)}`;
}

function fmtLr(v: number): string {
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(2)));
}

/** A history metric as a series: one value per epoch where it is a finite number. */
export function series(history: readonly EpochLog[], metric: string): number[] {
  const out: number[] = [];
  for (const h of history) {
    const v = (h as unknown as Json)[metric];
    if (finite(v)) out.push(v);
  }
  return out;
}

/**
 * The validation metric the doctor reads curves by: the objective when it is
 * a validation metric the histories have, else val_mae, else val_loss;
 * undefined when no trial logged validation metrics.
 */
export function validationMetric(input: DoctorInput): string | undefined {
  const candidates = [input.study.metric, 'val_mae', 'val_loss'].filter((m) => m.startsWith('val_'));
  return candidates.find((m) => input.trials.some((t) => t.history.some((h) => finite((h as unknown as Json)[m]))));
}

/** Complete trials with a finite objective value. */
export function completeTrials(input: DoctorInput): DoctorTrial[] {
  return input.trials.filter((t) => t.state === 'complete' && finite(t.value));
}

/** Trials that ran to an end (complete or failed), the population rules count in. */
export function finishedTrials(input: DoctorInput): DoctorTrial[] {
  return input.trials.filter((t) => t.state === 'complete' || t.state === 'failed');
}

/** Complete trials, best first by the study's direction (ties: lower number first). */
export function rankedTrials(input: DoctorInput): DoctorTrial[] {
  return bestFirst(input.trials, input.study.direction);
}

/**
 * Least-squares slope of `values` against their index, relative to their
 * mean: the fraction by which the series changes per step (negative: falling).
 */
export function relativeSlope(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = values.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  values.forEach((v, i) => {
    sxy += (i - mx) * (v - my);
    sxx += (i - mx) * (i - mx);
  });
  const slope = sxy / sxx;
  return my === 0 ? 0 : slope / Math.abs(my);
}

/** Numeric parameters that differ between trials, with their range: `layers 1–3, units 16–128`. */
export function varyingRanges(trials: readonly DoctorTrial[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of names) {
    const values = trials.map((t) => t.params[name]).filter(finite);
    if (values.length < 2) continue;
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    if (lo !== hi) out.push(`${name} ${fmtRange(lo, hi)}`);
  }
  return out;
}

function fmtRange(lo: number, hi: number): string {
  const f = (v: number): string => (Number.isInteger(v) ? String(v) : fmtLr(v));
  return `${f(lo)}–${f(hi)}`;
}

export { fmtLr };
