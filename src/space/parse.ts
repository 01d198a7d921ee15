/**
 * Turning one parameter's entry of a study file's `space:` mapping (already
 * YAML-decoded into plain values) into a validated ParamSpec. Only what can be
 * checked by looking at the one entry is checked here; whether `when` names
 * real parameters and values is checked in conditions.ts, which sees them all.
 *
 * Every error is a UserError whose field is relative to the space
 * (`units.min`), so the caller can prefix it with where the space lives.
 */
import { UserError } from '../errors';
import { show, suggestFix } from './suggest';
import type { Condition, ParamKind, ParamSpec, ParamValue, Sampling } from './types';

export const KINDS: readonly ParamKind[] = ['int', 'float', 'choice', 'bool', 'fixed'];

/** The keys each kind accepts; anything else is a typo or a misplaced key, never ignored. */
const KEYS: Readonly<Record<ParamKind, readonly string[]>> = {
  int: ['type', 'min', 'max', 'step', 'sampling', 'when'],
  float: ['type', 'min', 'max', 'step', 'sampling', 'when'],
  choice: ['type', 'values', 'when'],
  bool: ['type', 'when'],
  fixed: ['type', 'value', 'when'],
};

/** Other libraries' names for our kinds: edit distance would not find `categorical` -> `choice`. */
const KIND_ALIASES: Readonly<Record<string, ParamKind>> = {
  integer: 'int',
  number: 'float',
  real: 'float',
  double: 'float',
  categorical: 'choice',
  category: 'choice',
  enum: 'choice',
  boolean: 'bool',
  constant: 'fixed',
  const: 'fixed',
};

const SAMPLINGS: readonly Sampling[] = ['linear', 'log'];

type Mapping = Readonly<Record<string, unknown>>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is ParamValue {
  return (
    typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))
  );
}

/** What the user wrote, described for a message: `the string "abc"`, `a list`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return String(value);
}

function has(obj: Mapping, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

/** The fix for a mapping with no `type`: guess the kind from the keys it does have. */
function guessKind(obj: Mapping): string {
  if (has(obj, 'values')) return 'add type: choice';
  if (has(obj, 'value')) return 'add type: fixed';
  if (has(obj, 'min') || has(obj, 'max')) {
    const whole = [obj['min'], obj['max']].every((v) => v === undefined || Number.isInteger(v));
    return `add type: ${whole ? 'int' : 'float'}`;
  }
  return `add type: with one of ${KINDS.join(', ')}`;
}

function parseKind(name: string, obj: Mapping): ParamKind {
  const field = `${name}.type`;
  if (!has(obj, 'type')) throw new UserError(field, 'missing type', guessKind(obj));
  const type = obj['type'];
  if (typeof type !== 'string') {
    throw new UserError(field, `type must be a word, got ${describeValue(type)}`, `use one of ${KINDS.join(', ')}`);
  }
  if ((KINDS as readonly string[]).includes(type)) return type as ParamKind;
  const alias = KIND_ALIASES[type.toLowerCase()];
  const fix = alias !== undefined ? `did you mean ${alias}?` : suggestFix(type, KINDS);
  throw new UserError(field, `unknown type ${show(type)}`, fix);
}

function checkKeys(name: string, kind: ParamKind, obj: Mapping): void {
  const valid = KEYS[kind];
  for (const key of Object.keys(obj)) {
    if (valid.includes(key)) continue;
    const field = `${name}.${key}`;
    const problem = `unknown key ${show(key)} for ${kind === 'int' ? 'an' : 'a'} ${kind} parameter`;
    let fix = suggestFix(key, valid, 'one of the valid keys');
    // `values` on an int is not a typo but a mix-up of kinds: say so.
    const owners = KINDS.filter((k) => KEYS[k].includes(key));
    if (!fix.startsWith('did you mean') && owners.length > 0) {
      fix = `${key} belongs to type: ${owners.join(' or ')}; ${kind === 'int' ? 'an' : 'a'} ${kind} parameter takes ${valid.join(', ')}`;
    }
    throw new UserError(field, problem, fix);
  }
}

/** A number-valued key; `int` demands a (safe) integer. Returns undefined for an absent optional key. */
function numberKey(name: string, obj: Mapping, key: string, kind: 'int' | 'float', required: boolean): number | undefined {
  const field = `${name}.${key}`;
  if (!has(obj, key) || obj[key] === undefined) {
    if (required) throw new UserError(field, `missing ${key}`, `add ${key}: <number>`);
    return undefined;
  }
  const value = obj[key];
  if (typeof value !== 'number') {
    const quoted = typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value));
    const fix = quoted
      ? `write ${value.trim()} without quotes`
      : value === null ? `give ${key} a number${required ? '' : `, or remove ${key}`}` : `give ${key} a number`;
    throw new UserError(field, `${key} must be a number, got ${describeValue(value)}`, fix);
  }
  if (!Number.isFinite(value)) {
    throw new UserError(field, `${key} must be a finite number, got ${value}`, `give ${key} a finite number`);
  }
  if (kind === 'int' && !Number.isSafeInteger(value)) {
    throw new UserError(field, `${key} must be an integer for an int parameter, got ${value}`, 'use a whole number, or type: float');
  }
  return value;
}

function parseSampling(name: string, obj: Mapping): Sampling {
  if (!has(obj, 'sampling') || obj['sampling'] === undefined) return 'linear';
  const sampling = obj['sampling'];
  const field = `${name}.sampling`;
  if (typeof sampling !== 'string') {
    throw new UserError(field, `sampling must be linear or log, got ${describeValue(sampling)}`, 'use sampling: linear or sampling: log');
  }
  if ((SAMPLINGS as readonly string[]).includes(sampling)) return sampling as Sampling;
  throw new UserError(field, `unknown sampling ${show(sampling)}`, suggestFix(sampling, SAMPLINGS));
}

function parseNumeric(name: string, kind: 'int' | 'float', obj: Mapping, when: Condition | undefined): ParamSpec {
  const min = numberKey(name, obj, 'min', kind, true) as number;
  const max = numberKey(name, obj, 'max', kind, true) as number;
  const step = numberKey(name, obj, 'step', kind, false);
  const sampling = parseSampling(name, obj);

  if (min > max) throw new UserError(`${name}.min`, `min (${min}) is greater than max (${max})`, 'swap min and max');
  if (sampling === 'log' && min <= 0) {
    throw new UserError(`${name}.min`, 'log sampling needs min > 0', 'set min to a positive number or use sampling: linear');
  }
  if (step !== undefined) {
    const field = `${name}.step`;
    if (sampling === 'log') {
      // Keras Tuner's convention: with log sampling the step multiplies.
      if (step <= 1) {
        throw new UserError(
          field,
          `with sampling: log, step is a multiplying factor and must be greater than 1, got ${step}`,
          `use a factor such as 2 (${min}, ${min * 2}, ${min * 4}, …), or sampling: linear`,
        );
      }
      if (max > min && min * step > max) {
        throw new UserError(
          field,
          `step (${step}) is larger than the range: ${min} × ${step} is already past max (${max})`,
          `use a factor of at most ${max / min}, or remove step`,
        );
      }
    } else {
      if (step <= 0) throw new UserError(field, `step must be greater than 0, got ${step}`, 'use a positive step, or remove step');
      if (max > min && step > max - min) {
        throw new UserError(
          field,
          `step (${step}) is larger than the range ${min}..${max}`,
          `use a step of at most ${max - min}, or remove step`,
        );
      }
    }
  }
  return {
    kind,
    min,
    max,
    ...(step !== undefined ? { step } : {}),
    sampling,
    ...(when ? { when } : {}),
  };
}

function parseValues(name: string, obj: Mapping): ParamValue[] {
  const field = `${name}.values`;
  if (!has(obj, 'values') || obj['values'] === undefined) throw new UserError(field, 'missing values', 'add values: [a, b, …]');
  const raw = obj['values'];
  if (!Array.isArray(raw)) {
    const fix = isScalar(raw) ? `write values: [${show(raw)}, …]` : 'write values: [a, b, …]';
    throw new UserError(field, `values must be a list, got ${describeValue(raw)}`, fix);
  }
  if (raw.length === 0) throw new UserError(field, 'values is empty', 'list at least one value');
  const values: ParamValue[] = [];
  raw.forEach((value: unknown, i) => {
    if (!isScalar(value)) {
      throw new UserError(
        `${field}.${i}`,
        `values must be numbers, strings or booleans; item ${i + 1} is ${describeValue(value)}`,
        'use plain values (quote text that looks like something else)',
      );
    }
    if (values.includes(value)) throw new UserError(field, `${show(value)} is listed twice`, 'remove the duplicate');
    values.push(value);
  });
  return values;
}

function parseFixedValue(name: string, obj: Mapping): ParamValue {
  const field = `${name}.value`;
  if (!has(obj, 'value') || obj['value'] === undefined) throw new UserError(field, 'missing value', 'add value: <the value>');
  const value = obj['value'];
  if (!isScalar(value)) {
    throw new UserError(field, `value must be a number, string or boolean, got ${describeValue(value)}`, 'use a plain value');
  }
  return value;
}

/**
 * `when: { optimizer: [momentum, nesterov] }`. A bare scalar (`optimizer:
 * momentum`) is accepted as a one-item list: it can only mean that.
 */
function parseWhen(name: string, obj: Mapping): Condition | undefined {
  if (!has(obj, 'when') || obj['when'] === undefined) return undefined;
  const raw = obj['when'];
  const field = `${name}.when`;
  if (!isMapping(raw)) {
    throw new UserError(
      field,
      `when must map parameter names to lists of values, got ${describeValue(raw)}`,
      'write e.g. when: { optimizer: [momentum] }',
    );
  }
  const entries = Object.entries(raw);
  if (entries.length === 0) throw new UserError(field, 'when is empty', 'name a parameter and its values, or remove when');
  const condition: Array<[string, ParamValue[]]> = [];
  for (const [parent, listed] of entries) {
    const parentField = `${field}.${parent}`;
    const list: unknown[] = Array.isArray(listed) ? listed : [listed];
    if (list.length === 0) {
      throw new UserError(parentField, 'no values listed', `list the values of ${parent} for which ${name} applies`);
    }
    const values: ParamValue[] = [];
    for (const value of list) {
      if (!isScalar(value)) {
        throw new UserError(
          parentField,
          `the values of ${parent} must be numbers, strings or booleans, got ${describeValue(value)}`,
          `write e.g. when: { ${parent}: [a, b] }`,
        );
      }
      if (!values.includes(value)) values.push(value);
    }
    condition.push([parent, values]);
  }
  // fromEntries defines own properties, so even a parameter named __proto__ stays data.
  return Object.fromEntries(condition);
}

/** One parameter's spec; a plain scalar (`epochs: 100`) means `fixed`. */
export function parseParam(name: string, raw: unknown): ParamSpec {
  if (raw === null || raw === undefined) {
    throw new UserError(name, `${name} has no value`, 'give it a spec such as { type: choice, values: [a, b] }, or a plain value');
  }
  if (typeof raw === 'number' && !Number.isFinite(raw)) {
    throw new UserError(name, `${name} is ${raw}, not a finite number`, 'use a finite number');
  }
  if (isScalar(raw)) return { kind: 'fixed', value: raw };
  if (Array.isArray(raw)) {
    const items = raw.every(isScalar) && raw.length > 0 ? raw.map(show).join(', ') : 'a, b';
    throw new UserError(name, 'a plain list is not a parameter spec', `write { type: choice, values: [${items}] }`);
  }
  if (!isMapping(raw)) {
    throw new UserError(name, `${name} must be a spec or a plain value, got ${describeValue(raw)}`, 'write e.g. { type: int, min: 1, max: 4 }');
  }

  const kind = parseKind(name, raw);
  checkKeys(name, kind, raw);
  const when = parseWhen(name, raw);
  const withWhen = when ? { when } : {};
  switch (kind) {
    case 'int':
    case 'float':
      return parseNumeric(name, kind, raw, when);
    case 'choice':
      return { kind, values: parseValues(name, raw), ...withWhen };
    case 'bool':
      return { kind, ...withWhen };
    case 'fixed':
      return { kind, value: parseFixedValue(name, raw), ...withWhen };
  }
}

/** The whole mapping, entry by entry, in declaration (key) order. */
export function parseParams(raw: unknown): Array<[string, ParamSpec]> {
  if (!isMapping(raw)) {
    throw new UserError(
      '',
      `the space must map parameter names to specs, got ${describeValue(raw)}`,
      'write one parameter per line, e.g. units: { type: int, min: 32, max: 256 }',
    );
  }
  const entries = Object.entries(raw);
  if (entries.length === 0) {
    throw new UserError('', 'the space has no parameters', 'add at least one, e.g. units: { type: int, min: 32, max: 256 }');
  }
  return entries.map(([name, spec]) => [name, parseParam(name, spec)]);
}
