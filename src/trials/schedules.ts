import { UserError } from '../errors';
import type { Callback, CallbackState, EpochLogs, TrainingControl } from './callbacks';

/**
 * Learning-rate schedules as callbacks, in the manner of Keras'
 * `LearningRateScheduler`: at the start of each epoch the rate is set from
 * the epoch number. Per epoch rather than per step, like the rest of tune's
 * callbacks, so a schedule is the same whatever the batch size.
 *
 * A schedule multiplies the trial's initial rate by its factor for the
 * epoch. Changes other callbacks make in between (ReduceLROnPlateau) are
 * kept: the rate a schedule finds differs from the one it last set, and it
 * carries that ratio forward. So `warmup`, `cosine_decay` and a plateau
 * reduction compose into a product, whatever their order in the list.
 */
abstract class EpochSchedule implements Callback {
  private initial = Number.NaN;
  private lastSet = Number.NaN;
  /** Product of the changes others made to the rate since the schedule started. */
  private carried = 1;

  /** The multiplier of the initial rate for a 0-based epoch. */
  abstract factor(epoch: number): number;

  onTrainBegin(control: TrainingControl): void {
    this.initial = control.getLearningRate();
    this.lastSet = this.initial;
    this.carried = 1;
  }

  onEpochBegin(epoch: number, control: TrainingControl): void {
    const current = control.getLearningRate();
    if (this.lastSet > 0 && current !== this.lastSet) this.carried *= current / this.lastSet;
    const lr = this.initial * this.carried * this.factor(epoch);
    control.setLearningRate(lr);
    this.lastSet = lr;
  }

  onEpochEnd(_epoch: number, _logs: EpochLogs, _control: TrainingControl): void {}

  saveState(): CallbackState {
    return { initial: this.initial, last_set: this.lastSet, carried: this.carried };
  }

  loadState(state: CallbackState): void {
    this.initial = Number(state['initial']);
    this.lastSet = Number(state['last_set']);
    this.carried = Number(state['carried']);
  }
}

export interface WarmupArgs {
  /** Epochs to reach the full rate (PyTorch's LinearLR `total_iters`). */
  epochs?: number;
  /** The fraction of the rate at epoch 0. */
  start_factor?: number;
}

/** Linear warm-up: epoch e < epochs runs at start_factor + (1 − start_factor)·e/epochs of the rate, then the full rate. */
export class Warmup extends EpochSchedule {
  readonly epochs: number;
  readonly start_factor: number;

  constructor(args: WarmupArgs = {}) {
    super();
    checkArgs('warmup', args, ['epochs', 'start_factor']);
    this.epochs = positiveInt('warmup', 'epochs', args.epochs ?? 5);
    const start = args.start_factor ?? 0.1;
    if (typeof start !== 'number' || !(start > 0 && start <= 1)) {
      throw new UserError('warmup.start_factor', `start_factor must be in (0, 1], got ${String(start)}`, 'use e.g. 0.1');
    }
    this.start_factor = start;
  }

  factor(epoch: number): number {
    return epoch >= this.epochs ? 1 : this.start_factor + ((1 - this.start_factor) * epoch) / this.epochs;
  }
}

export interface CosineDecayArgs {
  /** Epochs over which the rate decays (Keras' `decay_steps`, in epochs); default: the trial's `epochs`. */
  epochs?: number;
  /** The fraction of the rate left at the end (Keras' `alpha`). */
  alpha?: number;
}

/**
 * Keras' `CosineDecay`, per epoch: alpha + (1 − alpha)·½(1 + cos(π·e/epochs)),
 * and alpha from `epochs` on. Epoch 0 runs at the full rate.
 */
export class CosineDecay extends EpochSchedule {
  readonly epochs: number;
  readonly alpha: number;

  constructor(args: CosineDecayArgs = {}, defaultEpochs = 100) {
    super();
    checkArgs('cosine_decay', args, ['epochs', 'alpha']);
    this.epochs = positiveInt('cosine_decay', 'epochs', args.epochs ?? defaultEpochs);
    const alpha = args.alpha ?? 0;
    if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) {
      throw new UserError('cosine_decay.alpha', `alpha must be in [0, 1], got ${String(alpha)}`, 'use e.g. 0 or 0.01');
    }
    this.alpha = alpha;
  }

  factor(epoch: number): number {
    const progress = Math.min(epoch, this.epochs) / this.epochs;
    return this.alpha + ((1 - this.alpha) * (1 + Math.cos(Math.PI * progress))) / 2;
  }
}

function checkArgs(callback: string, args: object, allowed: readonly string[]): void {
  for (const key of Object.keys(args ?? {})) {
    if (!allowed.includes(key)) {
      throw new UserError(`${callback}.${key}`, `unknown argument ${key}`, `use ${allowed.join(', ')}`);
    }
  }
}

function positiveInt(callback: string, key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new UserError(`${callback}.${key}`, `${key} must be an integer ≥ 1, got ${String(v)}`, 'use e.g. 5');
  }
  return v;
}
