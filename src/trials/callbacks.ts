import { UserError } from '../errors';
import { CosineDecay, type CosineDecayArgs, Warmup, type WarmupArgs } from './schedules';

/**
 * Training callbacks for the trainer's own epoch loop: Keras 3's
 * `EarlyStopping` and `ReduceLROnPlateau`, with Keras's argument names,
 * defaults and decisions.
 *
 * Ported by reading (not copying) keras-team/keras:
 * - `keras/src/callbacks/early_stopping.py` (the version whose
 *   `on_train_begin` resets `best` to `None`, the fix for keras#20256);
 * - `keras/src/callbacks/reduce_lr_on_plateau.py` (the version built on
 *   `MonitorCallback`, whose `on_train_begin` resets `best`, `wait` and
 *   `cooldown_counter`, as `reduce_lr_on_plateau_test.py` checks);
 * - `keras/src/callbacks/monitor_callback.py` for the `mode`, `min_delta`
 *   and improvement rules both share;
 * - `keras/src/metrics/*.py` for each metric's `_direction`, which is what
 *   `mode: 'auto'` goes by.
 *
 * Where this differs from Keras, on purpose:
 * - bad arguments throw a `UserError` in the constructor. Keras only throws
 *   for `factor >= 1`. It falls back to `auto` for an unknown `mode`, and it
 *   finds out that `auto` cannot be resolved only at the first epoch end;
 * - `auto` cannot ask a compiled model for its metrics' directions. It looks
 *   the name up in a table taken from the Keras (and tfjs) metric classes
 *   instead (see `inferMonitorMode`);
 * - Keras prints a Python warning when the monitored value is missing from
 *   the logs. Here the message goes to `warnings` and to `onWarning`, once
 *   per distinct message, like Python's default warning filter.
 */

/** What a callback may do to the training run; the trainer implements it over a tfjs model. W is an opaque weight snapshot. */
export interface TrainingControl<W = unknown> {
  stopTraining: boolean;
  getLearningRate(): number;
  setLearningRate(lr: number): void;
  /** A copy of the current weights. The caller owns it until it passes it to `releaseWeights`. */
  snapshotWeights(): W;
  /** Put a snapshot's values back into the model. Copies them: the snapshot stays valid and is still the caller's to release. */
  restoreWeights(w: W): void;
  /** Free a snapshot no longer needed (tensors must be disposed). */
  releaseWeights(w: W): void;
}

/** One epoch's logs: loss, val_loss, mae, val_mae, mse, val_mse, lr … A key that is absent or `undefined` is "not available". */
export type EpochLogs = Readonly<Record<string, number | undefined>>;

export interface Callback {
  onTrainBegin?(control: TrainingControl): void;
  /** Before the epoch's first batch (learning-rate schedules). */
  onEpochBegin?(epoch: number, control: TrainingControl): void;
  /** `epoch` is 0-based, as in Keras. */
  onEpochEnd(epoch: number, logs: EpochLogs, control: TrainingControl): void;
  onTrainEnd?(control: TrainingControl): void;
  /**
   * Free whatever the callback still holds (weight snapshots) without touching
   * the model. For a run that ends abnormally, without `onTrainEnd`: call it in
   * a `finally`. Safe to call more than once and after `onTrainEnd`.
   */
  dispose?(): void;
  /**
   * The state to carry into a continued trial (a Hyperband promotion resumes
   * its parent): counters and best values, JSON-able. Weights are not part of
   * it: the continued model starts from the parent's returned weights.
   */
  saveState?(): CallbackState;
  /** Restores `saveState`'s result after `onTrainBegin`, instead of starting afresh. */
  loadState?(state: CallbackState, control: TrainingControl): void;
}

export type CallbackState = Readonly<Record<string, number | boolean | null>>;

export type Mode = 'auto' | 'min' | 'max';

export interface EarlyStoppingArgs {
  monitor?: string;
  min_delta?: number;
  patience?: number;
  mode?: Mode;
  baseline?: number | null;
  restore_best_weights?: boolean;
  start_from_epoch?: number;
}

export interface ReduceLROnPlateauArgs {
  monitor?: string;
  factor?: number;
  patience?: number;
  mode?: Mode;
  min_delta?: number;
  cooldown?: number;
  min_lr?: number;
}

export type CallbackSpec =
  | { early_stopping: EarlyStoppingArgs }
  | { reduce_lr_on_plateau: ReduceLROnPlateauArgs }
  | { warmup: WarmupArgs }
  | { cosine_decay: CosineDecayArgs };

const CALLBACK_KINDS = ['early_stopping', 'reduce_lr_on_plateau', 'warmup', 'cosine_decay'] as const;

export interface CallbackOptions {
  /** Called once for each distinct warning, e.g. a monitored metric missing from the logs. */
  onWarning?: (message: string) => void;
  /** The trial's `epochs`: what `cosine_decay` decays over unless it says otherwise. */
  epochs?: number;
}

// ---------------------------------------------------------------------------
// Monitor direction (`mode`)

/**
 * Which way each metric tune logs should go. Keras 3's `auto` reads the
 * `_direction` of the compiled metric of that name; tune's epoch logs hold
 * errors only (all "down"), plus the learning rate, which has no direction.
 */
const METRIC_DIRECTIONS: ReadonlyMap<string, 'min' | 'max'> = new Map<string, 'min' | 'max'>([
  ['mae', 'min'],
  ['mse', 'min'],
]);

/**
 * Resolves `mode` to a direction, following Keras 3's
 * `MonitorCallback._set_monitor_op` (`keras/src/callbacks/monitor_callback.py`,
 * and the same code in `early_stopping.py`). `min` and `max` are taken as
 * given. For `auto`, one leading `val_` is dropped; `loss` is minimised;
 * otherwise the metric's declared direction decides. A name with no known
 * direction is an error. (Keras 3 has no "contains 'acc'" rule: that was
 * tf.keras's and Keras 2's ReduceLROnPlateau.)
 */
export function inferMonitorMode(monitor: string, mode: Mode = 'auto'): 'min' | 'max' {
  if (mode === 'min' || mode === 'max') return mode;
  const name = monitor.startsWith('val_') ? monitor.slice('val_'.length) : monitor;
  if (name === 'loss') return 'min';
  const direction = METRIC_DIRECTIONS.get(name);
  if (direction) return direction;
  throw new UserError(
    'mode',
    `cannot tell whether \`${monitor}\` should be maximized or minimized`,
    "set mode: 'max' to keep the highest value or mode: 'min' to keep the lowest",
  );
}

// ---------------------------------------------------------------------------
// Argument checks

function checkKeys(callback: string, args: object, allowed: readonly string[]): void {
  for (const key of Object.keys(args)) {
    if (!allowed.includes(key)) {
      throw new UserError(`${callback}.${key}`, `unknown argument \`${key}\``, `use one of: ${allowed.join(', ')}`);
    }
  }
}

function checkMonitor(callback: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new UserError(`${callback}.monitor`, `monitor must be a metric name, got ${show(value)}`, 'name a logged metric, e.g. val_loss');
  }
  return value;
}

function checkMode(callback: string, value: unknown): Mode {
  if (value !== 'auto' && value !== 'min' && value !== 'max') {
    throw new UserError(`${callback}.mode`, `mode must be auto, min or max, got ${show(value)}`, 'use auto, min or max');
  }
  return value;
}

function checkCount(callback: string, key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new UserError(`${callback}.${key}`, `${key} must be an integer >= 0, got ${show(value)}`, `set ${key} to 0 or more`);
  }
  return value;
}

function checkFinite(callback: string, key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new UserError(`${callback}.${key}`, `${key} must be a finite number, got ${show(value)}`, `set ${key} to a number`);
  }
  return value;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return typeof value;
  }
}

/** Keras's `_is_improvement`: `monitor_op(value - min_delta, reference)`, with `min_delta` negated in `min` mode; no reference yet means improvement. */
function isImprovement(direction: 'min' | 'max', minDelta: number, value: number, reference: number | null): boolean {
  if (reference === null) return true;
  return direction === 'min' ? value + minDelta < reference : value - minDelta > reference;
}

/** Records each distinct warning once, like Python's default `warnings` filter. */
class Warnings {
  readonly list: string[] = [];
  constructor(private readonly hook: ((message: string) => void) | undefined) {}
  emit(message: string): void {
    if (this.list.includes(message)) return;
    this.list.push(message);
    this.hook?.(message);
  }
}

function availableKeys(logs: EpochLogs): string {
  return Object.keys(logs)
    .filter((k) => logs[k] !== undefined && logs[k] !== null)
    .join(',');
}

/** The monitored value, or undefined when it is not in the logs (`null` from JSON counts as missing too). */
function lookUp(logs: EpochLogs, key: string): number | undefined {
  const value = logs[key];
  return value === undefined || value === null ? undefined : value;
}

// ---------------------------------------------------------------------------
// EarlyStopping

interface HeldSnapshot {
  readonly control: TrainingControl;
  readonly weights: unknown;
}

/**
 * Stops training when the monitored quantity stops improving. Keras 3's
 * `keras.callbacks.EarlyStopping` (`keras/src/callbacks/early_stopping.py`):
 *
 * - an epoch earlier than `start_from_epoch`, or one whose logs lack `monitor`,
 *   is skipped: no counting, no snapshot;
 * - every monitored epoch first adds one to `wait`. An improvement
 *   (`value ∓ min_delta` beats `best`; the first monitored epoch always does)
 *   sets `best`/`bestEpoch` and takes a weight snapshot if
 *   `restore_best_weights`. It sets `wait` back to 0 only if the value also
 *   beats `baseline` (with the same `min_delta`);
 * - otherwise, once `wait >= patience` and `epoch > 0`, it sets
 *   `control.stopTraining` and records `stoppedEpoch`;
 * - at train end, with `restore_best_weights`, it restores the best snapshot.
 *   This happens whether or not this callback stopped the run (max epochs
 *   reached, another callback stopped it…), as in Keras 3. tf.keras 2
 *   restored only when it stopped the run itself.
 *
 * Snapshots: one is held at most. It is released when a better one replaces
 * it, at train end (after restoring), by `dispose()`, and at the next
 * `onTrainBegin` if a run ended without `onTrainEnd`.
 */
export class EarlyStopping implements Callback {
  readonly monitor: string;
  readonly min_delta: number;
  readonly patience: number;
  readonly mode: Mode;
  readonly baseline: number | null;
  readonly restore_best_weights: boolean;
  readonly start_from_epoch: number;
  /** The resolved direction of `mode`. */
  readonly direction: 'min' | 'max';

  private _wait = 0;
  private _stoppedEpoch = 0;
  private _bestEpoch = 0;
  private _best: number | null = null;
  private _stopped = false;
  private snapshot: HeldSnapshot | null = null;
  private readonly _warnings: Warnings;

  constructor(args: EarlyStoppingArgs = {}, options: CallbackOptions = {}) {
    const a = (args ?? {}) as Record<string, unknown>;
    const cb = 'early_stopping';
    checkKeys(cb, a, ['monitor', 'min_delta', 'patience', 'mode', 'baseline', 'restore_best_weights', 'start_from_epoch']);
    this.monitor = checkMonitor(cb, a['monitor'] ?? 'val_loss');
    // Keras stores abs(min_delta) and gives it the sign of the direction.
    this.min_delta = Math.abs(checkFinite(cb, 'min_delta', a['min_delta'] ?? 0));
    this.patience = checkCount(cb, 'patience', a['patience'] ?? 0);
    this.mode = checkMode(cb, a['mode'] ?? 'auto');
    const baseline = a['baseline'] ?? null;
    this.baseline = baseline === null ? null : checkFinite(cb, 'baseline', baseline);
    const restore = a['restore_best_weights'] ?? false;
    if (typeof restore !== 'boolean') {
      throw new UserError(`${cb}.restore_best_weights`, `restore_best_weights must be true or false, got ${show(restore)}`, 'use true or false');
    }
    this.restore_best_weights = restore;
    this.start_from_epoch = checkCount(cb, 'start_from_epoch', a['start_from_epoch'] ?? 0);
    this.direction = directionOf(cb, this.monitor, this.mode);
    this._warnings = new Warnings(options.onWarning);
  }

  /** Monitored epochs since the last improvement that also beat the baseline. */
  get wait(): number {
    return this._wait;
  }
  /** The epoch at which this callback stopped training; 0 when it has not (Keras's `stopped_epoch`). */
  get stoppedEpoch(): number {
    return this._stoppedEpoch;
  }
  /** The epoch of `best` (Keras's `best_epoch`); 0 before any monitored epoch. */
  get bestEpoch(): number {
    return this._bestEpoch;
  }
  /** The best monitored value so far; null before any monitored epoch. */
  get best(): number | null {
    return this._best;
  }
  /** True once it stopped training. */
  get stopped(): boolean {
    return this._stopped;
  }
  /** Distinct warnings so far, e.g. the monitored metric missing from the logs. */
  get warnings(): readonly string[] {
    return this._warnings.list;
  }

  onTrainBegin(_control: TrainingControl): void {
    // Allow re-use, as Keras does.
    this.releaseSnapshot();
    this._wait = 0;
    this._stoppedEpoch = 0;
    this._stopped = false;
    this._best = null;
    this._bestEpoch = 0;
  }

  onEpochEnd(epoch: number, logs: EpochLogs, control: TrainingControl): void {
    const current = lookUp(logs, this.monitor);
    if (current === undefined) {
      this._warnings.emit(
        `Early stopping conditioned on metric \`${this.monitor}\` which is not available. Available metrics are: ${availableKeys(logs)}`,
      );
      return;
    }
    if (epoch < this.start_from_epoch) return;

    // Keras also takes a snapshot when `best_weights` is still None. Since `best`
    // is then None as well, this epoch is an improvement and gets the snapshot
    // below anyway, so one snapshot is enough.
    this._wait += 1;
    if (isImprovement(this.direction, this.min_delta, current, this._best)) {
      this._best = current;
      this._bestEpoch = epoch;
      if (this.restore_best_weights) this.replaceSnapshot(control);
      // Only a value that beats both the previous best and the baseline restarts the count.
      if (this.baseline === null || isImprovement(this.direction, this.min_delta, current, this.baseline)) {
        this._wait = 0;
      }
      return;
    }

    if (this._wait >= this.patience && epoch > 0) {
      this._stoppedEpoch = epoch;
      this._stopped = true;
      control.stopTraining = true;
    }
  }

  onTrainEnd(control: TrainingControl): void {
    const held = this.snapshot;
    if (!held) return;
    try {
      if (this.restore_best_weights) control.restoreWeights(held.weights);
    } finally {
      this.releaseSnapshot();
    }
  }

  dispose(): void {
    this.releaseSnapshot();
  }

  saveState(): CallbackState {
    return { wait: this._wait, best: this._best, bestEpoch: this._bestEpoch, stoppedEpoch: this._stoppedEpoch };
  }

  /**
   * The parent's model was returned with its best weights restored (when
   * asked), so those are what the continued trial starts from: they become
   * its best snapshot again, paired with the restored `best`.
   */
  loadState(state: CallbackState, control: TrainingControl): void {
    this._wait = numberOr(state['wait'], 0);
    this._best = typeof state['best'] === 'number' ? state['best'] : null;
    this._bestEpoch = numberOr(state['bestEpoch'], 0);
    this._stoppedEpoch = numberOr(state['stoppedEpoch'], 0);
    this._stopped = false;
    if (this.restore_best_weights && this._best !== null) this.replaceSnapshot(control);
  }

  private replaceSnapshot(control: TrainingControl): void {
    const weights = control.snapshotWeights();
    this.releaseSnapshot();
    this.snapshot = { control, weights };
  }

  private releaseSnapshot(): void {
    const held = this.snapshot;
    if (!held) return;
    this.snapshot = null;
    held.control.releaseWeights(held.weights);
  }
}

// ---------------------------------------------------------------------------
// ReduceLROnPlateau

/** One learning-rate reduction, for the trainer to log (what Keras prints with `verbose=1`). */
export interface LrReduction {
  readonly epoch: number;
  readonly from: number;
  readonly to: number;
}

/**
 * Multiplies the learning rate by `factor` when the monitored quantity stops
 * improving. Keras 3's `keras.callbacks.ReduceLROnPlateau`
 * (`keras/src/callbacks/reduce_lr_on_plateau.py`). At each epoch end that has
 * the monitored value:
 *
 * 1. during cooldown (`cooldownCounter > 0`) the counter drops by one and
 *    `wait` goes back to 0;
 * 2. an improvement (`value ∓ min_delta` beats `best`; the first epoch always
 *    does) sets `best` and `wait = 0`;
 * 3. otherwise, if no longer in cooldown (checked after step 1), `wait += 1`.
 *    When `wait >= patience` and the current rate is above `min_lr` (both
 *    compared as float32, as Keras compares its float32 variable with
 *    `np.float32(min_lr)`), the rate becomes `max(lr * factor, min_lr)`,
 *    `cooldownCounter = cooldown` and `wait = 0`. At `min_lr` nothing is
 *    reduced and `wait` keeps counting, as in Keras.
 *
 * Besides the logs, `monitor: 'learning_rate'` reads the current rate, since
 * Keras adds `learning_rate` to the logs before looking.
 */
export class ReduceLROnPlateau implements Callback {
  readonly monitor: string;
  readonly factor: number;
  readonly patience: number;
  readonly mode: Mode;
  readonly min_delta: number;
  readonly cooldown: number;
  readonly min_lr: number;
  /** The resolved direction of `mode`. */
  readonly direction: 'min' | 'max';

  private _wait = 0;
  private _cooldownCounter = 0;
  private _best: number | null = null;
  private readonly _reductions: LrReduction[] = [];
  private readonly _warnings: Warnings;

  constructor(args: ReduceLROnPlateauArgs = {}, options: CallbackOptions = {}) {
    const a = (args ?? {}) as Record<string, unknown>;
    const cb = 'reduce_lr_on_plateau';
    checkKeys(cb, a, ['monitor', 'factor', 'patience', 'mode', 'min_delta', 'cooldown', 'min_lr']);
    this.monitor = checkMonitor(cb, a['monitor'] ?? 'val_loss');
    const factor = checkFinite(cb, 'factor', a['factor'] ?? 0.1);
    if (factor >= 1.0) {
      // Keras: "ReduceLROnPlateau does not support a factor >= 1.0."
      throw new UserError(`${cb}.factor`, `ReduceLROnPlateau does not support a factor >= 1.0, got ${factor}`, 'use a factor below 1, e.g. 0.1 or 0.5');
    }
    if (factor < 0) {
      throw new UserError(`${cb}.factor`, `factor must not be negative, got ${factor}`, 'use a factor in [0, 1), e.g. 0.1 or 0.5');
    }
    this.factor = factor;
    this.patience = checkCount(cb, 'patience', a['patience'] ?? 10);
    this.mode = checkMode(cb, a['mode'] ?? 'auto');
    this.min_delta = Math.abs(checkFinite(cb, 'min_delta', a['min_delta'] ?? 1e-4));
    this.cooldown = checkCount(cb, 'cooldown', a['cooldown'] ?? 0);
    const minLr = checkFinite(cb, 'min_lr', a['min_lr'] ?? 0.0);
    if (minLr < 0) {
      throw new UserError(`${cb}.min_lr`, `min_lr must not be negative, got ${minLr}`, 'set min_lr to 0 or more');
    }
    this.min_lr = minLr;
    this.direction = directionOf(cb, this.monitor, this.mode);
    this._warnings = new Warnings(options.onWarning);
  }

  get wait(): number {
    return this._wait;
  }
  get cooldownCounter(): number {
    return this._cooldownCounter;
  }
  /** The best monitored value so far; null before any monitored epoch. */
  get best(): number | null {
    return this._best;
  }
  inCooldown(): boolean {
    return this._cooldownCounter > 0;
  }
  /** The reductions made since the last `onTrainBegin`, in order. */
  get reductions(): readonly LrReduction[] {
    return this._reductions;
  }
  /** Distinct warnings so far, e.g. the monitored metric missing from the logs. */
  get warnings(): readonly string[] {
    return this._warnings.list;
  }

  onTrainBegin(_control: TrainingControl): void {
    this._cooldownCounter = 0;
    this._wait = 0;
    this._best = null;
    this._reductions.length = 0;
  }

  saveState(): CallbackState {
    return { wait: this._wait, cooldownCounter: this._cooldownCounter, best: this._best };
  }

  loadState(state: CallbackState, _control: TrainingControl): void {
    this._wait = numberOr(state['wait'], 0);
    this._cooldownCounter = numberOr(state['cooldownCounter'], 0);
    this._best = typeof state['best'] === 'number' ? state['best'] : null;
  }

  onEpochEnd(epoch: number, logs: EpochLogs, control: TrainingControl): void {
    const current =
      this.monitor === 'learning_rate' ? control.getLearningRate() : lookUp(logs, this.monitor);
    if (current === undefined) {
      const keys = [availableKeys(logs), 'learning_rate'].filter((s) => s).join(',');
      this._warnings.emit(
        `Learning rate reduction is conditioned on metric \`${this.monitor}\` which is not available. Available metrics are: ${keys}.`,
      );
      return;
    }

    if (this.inCooldown()) {
      this._cooldownCounter -= 1;
      this._wait = 0;
    }

    if (isImprovement(this.direction, this.min_delta, current, this._best)) {
      this._best = current;
      this._wait = 0;
    } else if (!this.inCooldown()) {
      this._wait += 1;
      if (this._wait >= this.patience) {
        const oldLr = control.getLearningRate();
        if (Math.fround(oldLr) > Math.fround(this.min_lr)) {
          const newLr = Math.max(oldLr * this.factor, this.min_lr);
          control.setLearningRate(newLr);
          this._reductions.push({ epoch, from: oldLr, to: newLr });
          this._cooldownCounter = this.cooldown;
          this._wait = 0;
        }
      }
    }
  }
}

/** `inferMonitorMode`, with its error attributed to the callback. */
function directionOf(cb: string, monitor: string, mode: Mode): 'min' | 'max' {
  try {
    return inferMonitorMode(monitor, mode);
  } catch (e) {
    throw e instanceof UserError ? e.within(undefined, cb) : e;
  }
}

function numberOr(v: unknown, fallback: number): number {
  return typeof v === 'number' ? v : fallback;
}

// ---------------------------------------------------------------------------

/**
 * Builds fresh callbacks from their specs, one instance per spec and call, so
 * no state carries over between trials (Keras Tuner deep-copies callbacks per
 * trial). Throws a `UserError` for a malformed spec or a bad argument.
 */
export function createCallbacks(specs: readonly CallbackSpec[], options: CallbackOptions = {}): Callback[] {
  return specs.map((spec, i) => {
    const keys = spec !== null && typeof spec === 'object' ? Object.keys(spec) : [];
    const key = keys[0];
    if (keys.length !== 1 || !(CALLBACK_KINDS as readonly string[]).includes(key!)) {
      throw new UserError(
        `callbacks.${i}`,
        `a callback is an object with exactly one key, one of ${CALLBACK_KINDS.join(', ')}; got ${show(spec)}`,
        'write e.g. { early_stopping: { patience: 3 } }',
      );
    }
    try {
      if ('early_stopping' in spec) return new EarlyStopping(spec.early_stopping ?? {}, options);
      if ('warmup' in spec) return new Warmup(spec.warmup ?? {});
      if ('cosine_decay' in spec) return new CosineDecay(spec.cosine_decay ?? {}, options.epochs);
      return new ReduceLROnPlateau(spec.reduce_lr_on_plateau ?? {}, options);
    } catch (e) {
      throw e instanceof UserError ? e.within(undefined, `callbacks.${i}`) : e;
    }
  });
}
