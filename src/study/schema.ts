import { z } from 'zod';

/**
 * The study file's shape (zod). Semantics that need more than one field
 * (metric vs. data, grid vs. space) are checked in `config.ts`; the search
 * space itself is parsed by `src/space`.
 */
export const METRICS = ['loss', 'mae', 'mse', 'val_loss', 'val_mae', 'val_mse'] as const;
export type MetricName = (typeof METRICS)[number];

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must start with a letter or digit and hold only letters, digits, ".", "_" and "-"');

const fraction = z.number().gt(0).lt(1);
const mode = z.enum(['auto', 'min', 'max']);
const nonNegInt = z.number().int().min(0);

export const DataSchema = z.strictObject({
  train: z.string().min(1),
  validation: z.string().min(1).optional(),
  split: fraction.optional(),
  test: z.string().min(1).optional(),
  targets: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  features: z.array(z.string().min(1)).min(1).optional(),
  standardize: z.boolean().default(true),
});

export const ObjectiveSchema = z.strictObject({
  metric: z.enum(METRICS),
  direction: z.enum(['min', 'max']).default('min'),
});

export const StrategySchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('random'), max_trials: z.number().int().min(1) }),
  z.strictObject({ kind: z.literal('grid'), max_trials: z.number().int().min(1).optional() }),
  z.strictObject({
    kind: z.literal('hyperband'),
    max_epochs: z.number().int().min(1),
    factor: z.number().int().min(2).default(3),
    iterations: z.number().int().min(1).default(1),
  }),
]);

export const EarlyStoppingSchema = z.strictObject({
  monitor: z.string().default('val_loss'),
  min_delta: z.number().min(0).default(0),
  patience: nonNegInt.default(0),
  mode: mode.default('auto'),
  baseline: z.number().nullable().default(null),
  restore_best_weights: z.boolean().default(false),
  start_from_epoch: nonNegInt.default(0),
});

export const ReduceLROnPlateauSchema = z.strictObject({
  monitor: z.string().default('val_loss'),
  factor: z.number().gt(0).lt(1).default(0.1),
  patience: nonNegInt.default(10),
  mode: mode.default('auto'),
  min_delta: z.number().min(0).default(1e-4),
  cooldown: nonNegInt.default(0),
  min_lr: z.number().min(0).default(0),
});

/** Linear learning-rate warm-up (PyTorch's LinearLR), per epoch. */
export const WarmupSchema = z.strictObject({
  epochs: z.number().int().min(1).default(5),
  start_factor: z.number().gt(0).max(1).default(0.1),
});

/** Keras' CosineDecay, per epoch; `epochs` defaults to the trial's `epochs`. */
export const CosineDecaySchema = z.strictObject({
  epochs: z.number().int().min(1).optional(),
  alpha: z.number().min(0).max(1).default(0),
});

export const CallbackSchema = z.union([
  z.strictObject({ early_stopping: EarlyStoppingSchema }),
  z.strictObject({ reduce_lr_on_plateau: ReduceLROnPlateauSchema }),
  z.strictObject({ warmup: WarmupSchema }),
  z.strictObject({ cosine_decay: CosineDecaySchema }),
]);

export const StudySchema = z.strictObject({
  name,
  seed: z.number().int().default(0),
  data: DataSchema,
  objective: ObjectiveSchema.optional(),
  strategy: StrategySchema,
  space: z.record(z.string(), z.unknown()),
  callbacks: z.array(CallbackSchema).default([]),
  /** Consecutive failed trials that stop the study (Keras Tuner's max_consecutive_failed_trials). */
  max_failures: z.number().int().min(1).default(3),
});

export type StudyFile = z.infer<typeof StudySchema>;

/**
 * The keys each mapping may hold, by path pattern (`*` = a list index), so an
 * unknown key can be answered with the closest valid one.
 */
export const KNOWN_KEYS: Readonly<Record<string, readonly string[]>> = {
  '': Object.keys(StudySchema.shape),
  data: Object.keys(DataSchema.shape),
  objective: Object.keys(ObjectiveSchema.shape),
  strategy: ['kind', 'max_trials', 'max_epochs', 'factor', 'iterations'],
  'callbacks.*': ['early_stopping', 'reduce_lr_on_plateau', 'warmup', 'cosine_decay'],
  'callbacks.*.early_stopping': Object.keys(EarlyStoppingSchema.shape),
  'callbacks.*.reduce_lr_on_plateau': Object.keys(ReduceLROnPlateauSchema.shape),
  'callbacks.*.warmup': Object.keys(WarmupSchema.shape),
  'callbacks.*.cosine_decay': Object.keys(CosineDecaySchema.shape),
};
