/**
 * Builders for the doctor's tests: a stored study with callbacks and space,
 * trials with histories, a linear baseline. Histories that involve early
 * stopping are produced by running tune's own EarlyStopping over generated
 * epochs, so the stored stop is exactly where the trainer would have stopped.
 */
import { EarlyStopping, type EarlyStoppingArgs, type TrainingControl } from '../../src/trials/callbacks';
import type { LinearBaseline } from '../../src/trials/linear';
import type { EpochLog, StopReason, StudyRecord, TrialDiagnostics } from '../../src/trials/storage/types';
import type { DoctorTrial } from '../../src/doctor/types';
import { epoch as storageEpoch, study as storageStudy } from '../trials/storage/fixtures';

export interface StudyOptions {
  readonly metric?: string;
  readonly callbacks?: unknown[];
  readonly space?: Record<string, unknown>;
  readonly baseline?: Partial<Record<string, number>>;
}

export function studyRecord(options: StudyOptions = {}): StudyRecord {
  const base = storageStudy('doc', { metric: options.metric ?? 'val_mae' });
  return {
    ...base,
    id: 1,
    createdAt: '2024-01-01T00:00:00.000Z',
    definition: {
      seed: 1,
      data: { train: { file: 'train.csv' }, targets: ['y'], standardize: true },
      objective: { metric: options.metric ?? 'val_mae', direction: 'min' },
      strategy: { kind: 'random' },
      space: options.space ?? {},
      callbacks: options.callbacks ?? [],
    },
    ...(options.baseline ? { baseline: linearBaseline(options.baseline) } : {}),
  };
}

export function linearBaseline(metrics: Partial<Record<string, number>>): LinearBaseline {
  return {
    kind: 'least_squares',
    ridge: 1e-6,
    features: ['x0', 'x1'],
    targets: ['y'],
    xScaler: { mean: [0, 0], std: [1, 1] },
    yScaler: { mean: [0], std: [1] },
    coef: [[1], [-0.5]],
    intercept: [0],
    metrics: Object.fromEntries(Object.entries(metrics).filter((e): e is [string, number] => e[1] !== undefined)),
  } as LinearBaseline;
}

/** One epoch: the storage fixture's row with the given fields. */
export function epoch(n: number, fields: Partial<EpochLog> = {}): EpochLog {
  return { ...storageEpoch(n), lr: 0.01, ...fields, epoch: n };
}

/** `n` epochs from a generator. */
export function curve(n: number, gen: (i: number) => Partial<EpochLog>): EpochLog[] {
  return Array.from({ length: n }, (_, i) => epoch(i, gen(i)));
}

export interface TrialOptions {
  readonly state?: DoctorTrial['state'];
  readonly params?: Record<string, number | string | boolean>;
  readonly value?: number;
  readonly metrics?: Record<string, number>;
  readonly history?: readonly EpochLog[];
  readonly stopReason?: StopReason;
  readonly epochs?: number;
  readonly diagnostics?: TrialDiagnostics;
  readonly error?: string;
}

/** A trial; `value` defaults to the last epoch's val_mae, metrics to the last epoch's. */
export function trial(number: number, o: TrialOptions = {}): DoctorTrial {
  const history = o.history ?? [];
  const last = history[history.length - 1];
  const fromLast: Record<string, number> = {};
  if (last) for (const k of ['loss', 'mae', 'mse', 'val_loss', 'val_mae', 'val_mse'] as const) if (last[k] !== undefined) fromLast[k] = last[k]!;
  const metrics = o.metrics ?? fromLast;
  const state = o.state ?? 'complete';
  const value = o.value ?? (state === 'complete' ? metrics['val_mae'] : undefined);
  return {
    id: number + 100,
    studyId: 1,
    number,
    state,
    params: o.params ?? {},
    ...(value !== undefined ? { value } : {}),
    slot: `r:${number}`,
    backend: 'cpu',
    worker: { host: 'h', pid: 1 },
    metrics,
    initialEpoch: 0,
    epochs: o.epochs ?? history.length,
    stopReason: o.stopReason ?? 'max_epochs',
    ...(o.error ? { error: o.error } : {}),
    ...(o.diagnostics ? { diagnostics: o.diagnostics } : {}),
    startedAt: '2024-01-01T00:00:00.000Z',
    history,
  };
}

class Control implements TrainingControl<null> {
  stopTraining = false;
  getLearningRate(): number {
    return 0.01;
  }
  setLearningRate(): void {}
  snapshotWeights(): null {
    return null;
  }
  restoreWeights(): void {}
  releaseWeights(): void {}
}

/**
 * Epochs from `gen` until one of the early_stopping callbacks (study-file
 * spelling) stops the run or `max` epochs pass, as the trainer does.
 */
export function trainLike(
  callbacks: readonly unknown[],
  max: number,
  gen: (i: number) => Partial<EpochLog>,
): { history: EpochLog[]; stopReason: StopReason; epochs: number } {
  const stoppers = callbacks
    .filter((c): c is { early_stopping: EarlyStoppingArgs } => typeof c === 'object' && c !== null && 'early_stopping' in c)
    .map((c) => new EarlyStopping(c.early_stopping));
  const control = new Control();
  for (const s of stoppers) s.onTrainBegin(control);
  const history: EpochLog[] = [];
  for (let i = 0; i < max; i++) {
    const log = epoch(i, gen(i));
    history.push(log);
    for (const s of stoppers) s.onEpochEnd(i, { ...log, learning_rate: log.lr } as Record<string, number | undefined>, control);
    if (control.stopTraining) return { history, stopReason: 'early_stopping', epochs: history.length };
  }
  return { history, stopReason: 'max_epochs', epochs: history.length };
}

/** A deterministic wiggle in [-1, 1] for noise. */
export function wiggle(i: number, seed = 0): number {
  return Math.sin(i * 12.9898 + seed * 78.233) ;
}
