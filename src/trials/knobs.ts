import type { ParamValue, Params } from '../space/types';

/**
 * The model knobs a study's `space` may set, their domains and defaults.
 * Each maps to what a user would write by hand in Keras: a Dense stack,
 * optional BatchNormalization before the activation, Dropout after it, L2 on
 * kernels, a linear output layer with one unit per target.
 */
export const ACTIVATIONS = ['relu', 'elu', 'selu', 'tanh', 'sigmoid', 'leaky_relu', 'swish', 'gelu', 'linear'] as const;
export const INITIALIZERS = [
  'he_normal',
  'he_uniform',
  'glorot_normal',
  'glorot_uniform',
  'lecun_normal',
  'lecun_uniform',
] as const;
export const OPTIMIZERS = ['sgd', 'momentum', 'nesterov', 'adam', 'rmsprop'] as const;
export const LOSSES = ['mae', 'mse', 'huber'] as const;

export type Activation = (typeof ACTIVATIONS)[number];
export type Initializer = (typeof INITIALIZERS)[number];
export type OptimizerName = (typeof OPTIMIZERS)[number];
export type LossName = (typeof LOSSES)[number];

/** A fully resolved model configuration: every knob has a value. */
export interface ModelConfig {
  readonly layers: number;
  /** One width per hidden layer. */
  readonly units: readonly number[];
  readonly activation: Activation;
  readonly initializer: Initializer;
  readonly batchNorm: boolean;
  readonly dropout: number;
  readonly l2: number;
  readonly optimizer: OptimizerName;
  /** Used by `momentum` and `nesterov` only. */
  readonly momentum: number;
  readonly learningRate: number;
  readonly loss: LossName;
  readonly batchSize: number;
  readonly epochs: number;
  /** The network learns the residual of the study's linear baseline: prediction = linear (frozen) + network. */
  readonly residualOfLinear: boolean;
  /** A trainable linear path from the inputs added to the network's output (wide & deep). */
  readonly linearSkip: boolean;
}

type Check = (v: ParamValue) => string | undefined;

interface Knob {
  readonly default: ParamValue;
  /** Returns what is wrong with a value, or undefined when it is fine. */
  readonly check: Check;
  readonly help: string;
}

const oneOf =
  (values: readonly string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? undefined : `must be one of ${values.join(', ')}`;
const intAtLeast =
  (min: number): Check =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min ? undefined : `must be an integer ≥ ${min}`;
const numberIn =
  (lo: number, hi: number, hiOpen: boolean, loOpen = false): Check =>
  (v) =>
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (loOpen ? v > lo : v >= lo) &&
    (hiOpen ? v < hi : v <= hi)
      ? undefined
      : `must be a number in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}`;
const isBool: Check = (v) => (typeof v === 'boolean' ? undefined : 'must be true or false');

export const KNOBS: Readonly<Record<string, Knob>> = {
  layers: { default: 2, check: intAtLeast(0), help: 'hidden layers (0 = a linear model)' },
  units: { default: 64, check: intAtLeast(1), help: 'width of every hidden layer' },
  activation: { default: 'relu', check: oneOf(ACTIVATIONS), help: 'hidden activation' },
  initializer: { default: 'glorot_uniform', check: oneOf(INITIALIZERS), help: 'hidden kernel initializer' },
  batch_norm: { default: false, check: isBool, help: 'BatchNormalization before each activation' },
  dropout: { default: 0, check: numberIn(0, 1, true), help: 'Dropout rate after each activation' },
  l2: { default: 0, check: numberIn(0, Infinity, true), help: 'L2 penalty on hidden and output kernels' },
  optimizer: { default: 'adam', check: oneOf(OPTIMIZERS), help: 'optimizer' },
  momentum: { default: 0.9, check: numberIn(0, 1, true), help: 'momentum for momentum/nesterov' },
  learning_rate: { default: 0.001, check: numberIn(0, Infinity, true, true), help: 'initial learning rate' },
  loss: { default: 'mse', check: oneOf(LOSSES), help: 'training loss' },
  batch_size: { default: 32, check: intAtLeast(1), help: 'mini-batch size' },
  epochs: { default: 100, check: intAtLeast(1), help: 'maximum epochs' },
  residual_of_linear: {
    default: false,
    check: isBool,
    help: "learn the residual of the study's linear baseline (prediction = linear + network)",
  },
  linear_skip: { default: false, check: isBool, help: 'add a trainable linear path from inputs to output' },
};

/** `units_1`, `units_2`, … override `units` for one hidden layer (1-based). */
const PER_LAYER_UNITS = /^units_([1-9][0-9]*)$/;

/** The knob that governs a parameter name, or undefined for an unknown name. */
export function knobFor(name: string): Knob | undefined {
  if (Object.prototype.hasOwnProperty.call(KNOBS, name)) return KNOBS[name];
  return PER_LAYER_UNITS.test(name) ? KNOBS.units : undefined;
}

export const KNOB_NAMES: readonly string[] = Object.keys(KNOBS);

/** Resolves a sampled parameter set (only active params present) into a model config. */
export function resolveModelConfig(params: Params): ModelConfig {
  const get = (name: string): ParamValue => params[name] ?? KNOBS[name]!.default;
  const layers = get('layers') as number;
  const units: number[] = [];
  for (let i = 1; i <= layers; i++) units.push((params[`units_${i}`] ?? get('units')) as number);
  return {
    layers,
    units,
    activation: get('activation') as Activation,
    initializer: get('initializer') as Initializer,
    batchNorm: get('batch_norm') as boolean,
    dropout: get('dropout') as number,
    l2: get('l2') as number,
    optimizer: get('optimizer') as OptimizerName,
    momentum: get('momentum') as number,
    learningRate: get('learning_rate') as number,
    loss: get('loss') as LossName,
    batchSize: get('batch_size') as number,
    epochs: get('epochs') as number,
    residualOfLinear: get('residual_of_linear') as boolean,
    linearSkip: get('linear_skip') as boolean,
  };
}
