/**
 * The search-space language: what a parameter can be, and what a sampled
 * parameter set looks like. Pure data, no I/O and no tfjs.
 */

/** A single parameter value as it appears in a study file and in storage. */
export type ParamValue = number | string | boolean;

/**
 * A sampled parameter set: only *active* parameters are present (an inactive
 * conditional parameter is absent, never null), so code cannot rely on it.
 */
export type Params = Readonly<Record<string, ParamValue>>;

/**
 * `when: { optimizer: [momentum] }` — the parameter exists only when every
 * named parent is active and has one of the listed values.
 */
export type Condition = Readonly<Record<string, readonly ParamValue[]>>;

export type Sampling = 'linear' | 'log';

interface Base {
  readonly when?: Condition;
}

/**
 * `step` is additive for linear sampling and a multiplicative factor (> 1)
 * for log sampling, as in Keras Tuner (`Int(32, 512, step=2, sampling="log")`
 * gives 32, 64, …, 512).
 */
export interface IntSpec extends Base {
  readonly kind: 'int';
  readonly min: number;
  readonly max: number;
  readonly step?: number;
  readonly sampling: Sampling;
}

export interface FloatSpec extends Base {
  readonly kind: 'float';
  readonly min: number;
  readonly max: number;
  readonly step?: number;
  readonly sampling: Sampling;
}

export interface ChoiceSpec extends Base {
  readonly kind: 'choice';
  readonly values: readonly ParamValue[];
}

export interface BoolSpec extends Base {
  readonly kind: 'bool';
}

export interface FixedSpec extends Base {
  readonly kind: 'fixed';
  readonly value: ParamValue;
}

export type ParamSpec = IntSpec | FloatSpec | ChoiceSpec | BoolSpec | FixedSpec;

/** A uniform random source in [0, 1); strategies pass a seeded one. */
export type Rng = () => number;

/** A parameter kind, as written after `type:` in a study file. */
export type ParamKind = ParamSpec['kind'];

/**
 * The serialised form of one parameter: the study-file spelling (`type`, not
 * `kind`), so `Space.parse(space.toJSON())` gives the same space back.
 */
export type ParamJSON = (
  | { type: 'int' | 'float'; min: number; max: number; step?: number; sampling: Sampling }
  | { type: 'choice'; values: ParamValue[] }
  | { type: 'bool' }
  | { type: 'fixed'; value: ParamValue }
) & { when?: Record<string, ParamValue[]> };

/** A whole space, serialised: parameter name to spec, in declaration order. */
export type SpaceJSON = Record<string, ParamJSON>;
