/**
 * Per-parameter value math: each parameter maps a number u in [0, 1) to a
 * value (Keras Tuner's prob_to_value) and back (value_to_prob), and, when its
 * set of values is finite, exposes that set as an indexable lattice. Sampling
 * and grid search are built on these two views only, so log scales and steps
 * are handled once, here.
 */
import type { FloatSpec, IntSpec, ParamSpec, ParamValue } from './types';
import { show } from './suggest';

/** The largest double below 1: u never reaches 1, so index `floor(u * n)` stays < n. */
const BELOW_ONE = 1 - 2 ** -53;

/** Slack for "is (max - min) / step a whole number", which floating point rarely hits exactly. */
const EPS = 1e-9;

/**
 * A finite, ordered set of values, computed on demand rather than stored, so
 * `int 0..1e9` costs nothing until someone asks for all of it.
 */
export interface Lattice {
  readonly count: number;
  /** The k-th value, 0 <= k < count, in ascending (or declared) order. */
  at(k: number): ParamValue;
  /** The position of `value`, or -1 when it is not one of the values. */
  indexOf(value: ParamValue): number;
}

function clampUnit(u: number): number {
  if (!(u > 0)) return 0; // also catches NaN
  return u < BELOW_ONE ? u : BELOW_ONE;
}

function listLattice(values: readonly ParamValue[]): Lattice {
  return {
    count: values.length,
    at: (k) => values[k] as ParamValue,
    indexOf: (value) => values.indexOf(value),
  };
}

/**
 * Decimal places that keep ~12 significant digits at the scale of the range:
 * `min + k * step` drifts (0.1 * 3 = 0.30000000000000004, and -0.3 + 3 * 0.1
 * is 5.5e-17, not 0), and rounding at a fixed number of *decimals* rather
 * than significant digits brings values near zero back to exactly zero. The
 * step term keeps very fine steps from collapsing.
 */
function linearDecimals(min: number, max: number, step: number): number {
  const scale = Math.max(Math.abs(min), Math.abs(max));
  const byScale = scale > 0 ? 11 - Math.floor(Math.log10(scale)) : 0;
  const byStep = 6 - Math.floor(Math.log10(step));
  return Math.min(100, Math.max(0, byScale, byStep));
}

/** `min, min + step, … <= max` for ints: exact integer arithmetic, no rounding needed. */
function intLinearLattice(min: number, max: number, step: number): Lattice {
  const count = Math.floor((max - min) / step) + 1;
  return {
    count,
    at: (k) => min + k * step,
    indexOf: (value) => {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) return -1;
      return (value - min) % step === 0 ? (value - min) / step : -1;
    },
  };
}

/**
 * `min, min * f, min * f^2, … <= max` for ints (Keras Tuner's log step). The
 * factor is a whole number >= 2 and min a whole number, so the products are
 * exact and few (at most ~53): a list is simplest.
 */
function intLogLattice(min: number, max: number, factor: number): Lattice {
  const values: number[] = [];
  for (let v = min; v <= max; v *= factor) values.push(v);
  return listLattice(values);
}

function floatLinearLattice(min: number, max: number, step: number): Lattice {
  const count = Math.floor((max - min) / step + EPS) + 1;
  const decimals = linearDecimals(min, max, step);
  const at = (k: number): number => {
    if (k === 0) return min; // min itself must be a value, however many digits it has
    return Math.min(max, Number((min + k * step).toFixed(decimals)));
  };
  return {
    count,
    at,
    indexOf: (value) => {
      if (typeof value !== 'number') return -1;
      const k = Math.round((value - min) / step);
      return k >= 0 && k < count && Math.abs(at(k) - value) <= EPS * step ? k : -1;
    },
  };
}

function floatLogLattice(min: number, max: number, factor: number): Lattice {
  const count = Math.floor(Math.log(max / min) / Math.log(factor) + EPS) + 1;
  const at = (k: number): number => {
    if (k === 0) return min;
    // Relative rounding suits a geometric series: 1e-4 * 10^1 is 0.0010000000000000002.
    return Math.min(max, Number((min * factor ** k).toPrecision(12)));
  };
  return {
    count,
    at,
    indexOf: (value) => {
      if (typeof value !== 'number' || !(value > 0)) return -1;
      const k = Math.round(Math.log(value / min) / Math.log(factor));
      return k >= 0 && k < count && Math.abs(at(k) - value) <= EPS * value ? k : -1;
    },
  };
}

function numericLattice(spec: IntSpec | FloatSpec): Lattice | undefined {
  const { min, max, step, sampling } = spec;
  if (spec.kind === 'int') {
    if (sampling === 'log' && step !== undefined) return intLogLattice(min, max, step);
    // An int without step is still finite: every integer in range (log only changes the odds).
    return intLinearLattice(min, max, sampling === 'log' ? 1 : step ?? 1);
  }
  if (step === undefined) return undefined;
  return sampling === 'log' ? floatLogLattice(min, max, step) : floatLinearLattice(min, max, step);
}

/** The finite set of values a parameter can take, or undefined for a float without step. */
export function lattice(spec: ParamSpec): Lattice | undefined {
  switch (spec.kind) {
    case 'int':
    case 'float':
      return numericLattice(spec);
    case 'choice':
      return listLattice(spec.values);
    case 'bool':
      return listLattice([false, true]);
    case 'fixed':
      return listLattice([spec.value]);
  }
}

/** Every value of a finite lattice, in order. */
export function latticeValues(l: Lattice): ParamValue[] {
  const out: ParamValue[] = [];
  for (let k = 0; k < l.count; k++) out.push(l.at(k));
  return out;
}

/**
 * Integers sampled on a log scale without a step: log-uniform over
 * [min - 0.5, max + 0.5], then rounded (Optuna's way), so each integer gets
 * the share of log-space that rounds to it and the endpoints are not starved.
 */
function intLogBounds(spec: IntSpec): [number, number] {
  return [Math.log(spec.min - 0.5), Math.log(spec.max + 0.5)];
}

/** prob_to_value: the parameter's value at position u in [0, 1). */
export function fromUnit(spec: ParamSpec, u: number): ParamValue {
  const p = clampUnit(u);
  if (spec.kind === 'float' && spec.step === undefined) {
    const { min, max } = spec;
    if (spec.sampling === 'log') {
      const lo = Math.log(min);
      const v = Math.exp(lo + p * (Math.log(max) - lo));
      return Math.min(max, Math.max(min, v)); // exp(log(x)) can overshoot by an ulp
    }
    return Math.min(max, min + p * (max - min));
  }
  if (spec.kind === 'int' && spec.sampling === 'log' && spec.step === undefined) {
    const [lo, hi] = intLogBounds(spec);
    const v = Math.round(Math.exp(lo + p * (hi - lo)));
    return Math.min(spec.max, Math.max(spec.min, v));
  }
  const l = lattice(spec) as Lattice; // every other case is finite
  return l.at(Math.min(l.count - 1, Math.floor(p * l.count)));
}

/**
 * value_to_prob: a position u in [0, 1) with fromUnit(spec, u) === value, or
 * undefined when the value is not in the parameter's domain. Lattice values
 * map to the middle of their cell, so small perturbations of u keep them.
 */
export function toUnit(spec: ParamSpec, value: ParamValue): number | undefined {
  if (!inDomain(spec, value)) return undefined;
  const v = value as number; // numeric whenever the numeric branches below apply
  if (spec.kind === 'float' && spec.step === undefined) {
    const { min, max } = spec;
    if (max === min) return 0;
    const u = spec.sampling === 'log'
      ? (Math.log(v) - Math.log(min)) / (Math.log(max) - Math.log(min))
      : (v - min) / (max - min);
    return clampUnit(u);
  }
  if (spec.kind === 'int' && spec.sampling === 'log' && spec.step === undefined) {
    const [lo, hi] = intLogBounds(spec);
    return clampUnit((Math.log(v) - lo) / (hi - lo));
  }
  const l = lattice(spec) as Lattice;
  return (l.indexOf(value) + 0.5) / l.count;
}

/** Whether `value` is one the parameter can take (type included: "1" is not 1). */
export function inDomain(spec: ParamSpec, value: unknown): boolean {
  if (typeof value !== 'number' && typeof value !== 'string' && typeof value !== 'boolean') return false;
  if (spec.kind === 'float' && spec.step === undefined) {
    return typeof value === 'number' && value >= spec.min && value <= spec.max;
  }
  return (lattice(spec) as Lattice).indexOf(value) >= 0;
}

/** A short description of the domain for error messages, e.g. `an integer from 2 to 4`. */
export function describeDomain(spec: ParamSpec): string {
  switch (spec.kind) {
    case 'int':
    case 'float': {
      const what = spec.kind === 'int' ? 'an integer' : 'a number';
      let text = `${what} from ${spec.min} to ${spec.max}`;
      if (spec.step !== undefined) {
        text += spec.sampling === 'log' ? `, multiplying by ${spec.step}` : ` in steps of ${spec.step}`;
      }
      return text;
    }
    case 'choice':
      return `one of ${spec.values.map(show).join(', ')}`;
    case 'bool':
      return 'true or false';
    case 'fixed':
      return `exactly ${show(spec.value)}`;
  }
}
