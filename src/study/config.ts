import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { type Document, isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { readProblem } from '../data/csv';
import { UserError } from '../errors';
import { Space } from '../space';
import { closestMatch, suggestFix } from '../space/suggest';
import type { ParamSpec, ParamValue } from '../space/types';
import { type CallbackSpec, createCallbacks } from '../trials/callbacks';
import { KNOB_NAMES, knobFor } from '../trials/knobs';
import type { Direction } from '../trials/storage/types';
import { KNOWN_KEYS, type MetricName, StudySchema, type StudyFile } from './schema';

/** A validated study file with paths resolved; nothing here has touched storage. */
export interface StudyConfig {
  /** The study file as the user named it, for messages. */
  readonly file: string;
  readonly name: string;
  readonly seed: number;
  readonly data: DataConfig;
  readonly objective: { readonly metric: MetricName; readonly direction: Direction };
  readonly strategy: StudyFile['strategy'];
  readonly space: Space;
  readonly callbacks: readonly CallbackSpec[];
  /** Consecutive failures that stop a run. Not part of the study's identity. */
  readonly maxFailures: number;
}

export interface DataConfig {
  /** Absolute paths, and paths as shown to the user (relative to the working directory). */
  readonly train: FileRef;
  readonly validation?: FileRef;
  readonly test?: FileRef;
  readonly split?: number;
  readonly targets: readonly string[];
  readonly features?: readonly string[];
  readonly standardize: boolean;
}

export interface FileRef {
  /** Absolute. */
  readonly path: string;
  /** Relative to the working directory, for messages. */
  readonly shown: string;
  /** As written in the study file (relative to it), for the study's identity. */
  readonly given: string;
}

/** YAML aliases allowed per document: enough for real files, too few for a billion laughs. */
const MAX_ALIASES = 100;

/** Reads and validates a study file. Throws `UserError` naming the file and field. */
export function loadStudyFile(file: string): StudyConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError('', readProblem(err, 'the study file'), 'give the path of a readable YAML study file', file);
  }
  try {
    return parseStudy(parseYaml(text), file);
  } catch (err) {
    if (err instanceof UserError) throw err.within(file);
    throw err;
  }
}

/** What to do about the YAML mistakes people make most, by the yaml package's error code. */
const YAML_FIXES: Readonly<Record<string, string>> = {
  BAD_INDENT: 'indent this line like the other keys of its mapping',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  MISSING_CHAR: 'add the missing closing character',
  MULTILINE_IMPLICIT_KEY: 'write key: value, with a space after the colon, one key per line',
  BLOCK_AS_IMPLICIT_KEY: 'a key is indented under a plain value: align it with the keys above, or put the value on its own lines',
  BAD_SCALAR_START: 'quote the value',
};

function parseYaml(text: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  const where = (offset: number | undefined): string => {
    if (offset === undefined) return 'YAML';
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  const first = doc.errors[0];
  if (first) {
    const message = first.message.split('\n')[0] ?? first.message;
    // An unclosed bracket is noticed only lines later: say where it opened.
    const opener = /^Flow (sequence|map)/.test(message) ? unclosedBracket(text, first.pos?.[0] ?? text.length) : undefined;
    if (opener !== undefined) {
      const { line, col } = lineCounter.linePos(opener);
      const open = text.charAt(opener);
      const fix = `close it with ${open === '[' ? ']' : '}'}`;
      throw new UserError(`line ${line}, column ${col}`, `malformed YAML: ${open} is never closed (noticed at ${where(first.pos?.[0])})`, fix);
    }
    if (first.code === 'DUPLICATE_KEY') {
      const key = /^[^:\n]*/.exec(text.slice(first.pos[0]))?.[0]?.trim() ?? '';
      throw new UserError(where(first.pos[0]), `key ${key} appears twice in the same mapping`, 'keep one of the two');
    }
    if (first.code === 'MULTIPLE_DOCS') {
      throw new UserError(where(first.pos[0]), 'the file holds more than one YAML document (a --- line)', 'one study per file: remove the --- and what follows it');
    }
    throw new UserError(where(first.pos?.[0]), `malformed YAML: ${message}`, YAML_FIXES[first.code] ?? 'fix the YAML syntax there');
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    if (!(err instanceof ReferenceError) || !/alias/i.test(err.message)) throw err;
    const culprit = aliasCulprit(doc);
    const field = culprit ? `${culprit.key} (${where(culprit.offset)})` : 'YAML';
    throw new UserError(
      field,
      `YAML aliases expand too far (more than ${MAX_ALIASES} expansions; nested aliases multiply, as in a "billion laughs")`,
      'write the values out instead of nesting aliases of aliases',
    );
  }
}

/** The offset of the last `[` or `{` before `end` that is not closed before it (quotes and comments skipped). */
function unclosedBracket(text: string, end: number): number | undefined {
  const open: number[] = [];
  let quote: string | undefined;
  for (let i = 0; i < end && i < text.length; i++) {
    const c = text.charAt(i);
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s[{,:]/.test(text[i - 1]!)) quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < end && text[i] !== '\n') i++;
    } else if (c === '[' || c === '{') {
      open.push(i);
    } else if (c === ']' || c === '}') {
      open.pop();
    }
  }
  return open[open.length - 1];
}

/** The first top-level key whose value alone expands too many aliases, for the message. */
function aliasCulprit(doc: Document): { key: string; offset: number | undefined } | undefined {
  if (!isMap(doc.contents)) return undefined;
  for (const pair of doc.contents.items) {
    const value = pair.value as { toJS?: (d: Document, o: { maxAliasCount: number }) => unknown } | null;
    if (!value || typeof value.toJS !== 'function') continue;
    try {
      value.toJS(doc, { maxAliasCount: MAX_ALIASES });
    } catch {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      return { key, offset: isScalar(pair.key) ? pair.key.range?.[0] : undefined };
    }
  }
  return undefined;
}

/** Validates an already-parsed study document; `file` anchors relative paths. */
export function parseStudy(raw: unknown, file: string): StudyConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UserError('', 'the study file is not a YAML mapping', 'start from studies/seed-mlp.yaml');
  }
  const parsed = StudySchema.safeParse(raw);
  if (!parsed.success) throw zodToUserError(parsed.error, raw);
  const s = parsed.data;
  const base = dirname(resolve(file));
  const ref = (p: string): FileRef => {
    const path = resolve(base, p);
    return { path, shown: relative(process.cwd(), path) || p, given: p };
  };

  if (s.data.validation !== undefined && s.data.split !== undefined) {
    throw new UserError('data.split', 'both validation and split are given', 'keep one: a validation file, or split: FRACTION');
  }
  const hasValidation = s.data.validation !== undefined || s.data.split !== undefined;
  const objective = s.objective ?? { metric: hasValidation ? 'val_mae' : 'mae', direction: 'min' as const };
  if (objective.metric.startsWith('val_') && !hasValidation) {
    throw new UserError(
      'objective.metric',
      `${objective.metric} needs validation data`,
      'add data.validation: FILE or data.split: 0.2, or use a training metric',
    );
  }
  if (objective.direction === 'max') {
    throw new UserError('objective.direction', `${objective.metric} is an error, lower is better`, 'use direction: min');
  }
  const callbacks = s.callbacks as CallbackSpec[];
  callbacks.forEach((cb, i) => {
    const [kind, args] = Object.entries(cb)[0] as [string, { monitor?: string }];
    // Schedules monitor nothing.
    if (args.monitor === undefined) return;
    const field = `callbacks.${i}.${kind}.monitor`;
    if (!(METRIC_NAMES as readonly string[]).includes(args.monitor)) {
      throw new UserError(field, `unknown metric ${args.monitor}`, suggestFix(args.monitor, METRIC_NAMES));
    }
    if (args.monitor.startsWith('val_') && !hasValidation) {
      throw new UserError(field, `${args.monitor} needs validation data`, 'add data.validation or data.split, or monitor loss');
    }
  });
  // The callbacks' own constructors check what the schema cannot (e.g. an `auto` mode they cannot
  // resolve); the monitor names are checked first, for a "did you mean".
  createCallbacks(callbacks);

  let space: Space;
  try {
    space = Space.parse(s.space);
  } catch (err) {
    if (err instanceof UserError) throw err.within(undefined, 'space');
    throw err;
  }
  checkKnobs(space);
  if (s.strategy.kind === 'hyperband' && space.has('epochs')) {
    throw new UserError(
      'space.epochs',
      'hyperband sets each trial\'s epochs itself, up to strategy.max_epochs',
      'remove epochs from the space',
    );
  }
  if (s.strategy.kind === 'grid') {
    try {
      space.assertFinite();
    } catch (err) {
      if (err instanceof UserError) throw err.within(undefined, 'space');
      throw err;
    }
  }

  const targets = typeof s.data.targets === 'string' ? [s.data.targets] : s.data.targets;
  return {
    file,
    name: s.name,
    seed: s.seed,
    data: {
      train: ref(s.data.train),
      ...(s.data.validation !== undefined ? { validation: ref(s.data.validation) } : {}),
      ...(s.data.test !== undefined ? { test: ref(s.data.test) } : {}),
      ...(s.data.split !== undefined ? { split: s.data.split } : {}),
      targets,
      ...(s.data.features ? { features: s.data.features } : {}),
      standardize: s.data.standardize,
    },
    objective,
    strategy: s.strategy,
    space,
    callbacks,
    maxFailures: s.max_failures,
  };
}

/** Metrics callbacks may monitor: those of the epoch history. */
const METRIC_NAMES = ['loss', 'mae', 'mse', 'val_loss', 'val_mae', 'val_mse'] as const;

/** Every space parameter must be a model knob, and every value it can take must be valid for it. */
function checkKnobs(space: Space): void {
  for (const name of space.names) {
    const knob = knobFor(name);
    if (!knob) {
      throw new UserError(`space.${name}`, `unknown parameter ${name}`, suggestFix(name, [...KNOB_NAMES, 'units_1']));
    }
    const spec: ParamSpec = space.spec(name);
    const probes: [string, ParamValue][] =
      spec.kind === 'int' || spec.kind === 'float'
        ? [
            ['min', spec.min],
            ['max', spec.max],
          ]
        : spec.kind === 'choice'
          ? spec.values.map((v, i) => [`values.${i}`, v])
          : spec.kind === 'bool'
            ? [['type', true]]
            : [['value', spec.value]];
    for (const [field, value] of probes) {
      const problem = knob.check(value);
      if (problem) {
        throw new UserError(
          `space.${name}${spec.kind === 'fixed' && field === 'value' ? '' : `.${field}`}`,
          `${name} ${problem} (got ${JSON.stringify(value)})`,
          typeof value === 'string' && problem.startsWith('must be one of')
            ? suggestFix(value, problem.replace('must be one of ', '').split(', '))
            : knobFix(name, spec.kind, field, problem),
        );
      }
    }
  }
}

/** The fix for a knob value out of its domain: `make units.min an integer ≥ 1`. */
function knobFix(name: string, kind: ParamSpec['kind'], field: string, problem: string): string {
  const wanted = problem.replace(/^must be /, '');
  switch (kind) {
    case 'fixed':
      return `make ${name} ${wanted}`;
    case 'int':
    case 'float':
      return `make ${name}.${field} ${wanted}`;
    case 'choice':
      return `make every value of ${name} ${wanted}`;
    case 'bool':
      return `${name} takes values that are ${wanted}: use another type than bool`;
  }
}

/** Turns the first zod issue into one line naming the field and the fix. */
function zodToUserError(error: z.ZodError, raw: unknown): UserError {
  const issue = deepestIssue(error.issues);
  const path = issue.path.map(String);
  const field = path.join('.');
  const value = valueAt(raw, issue.path);
  const last = path[path.length - 1];
  if (value === undefined && last !== undefined) {
    // A missing key beside an unknown key spelled like it (`stratgy:` for
    // `strategy:`): the typo is the cause, so report it, not the absence.
    const parent = path.slice(0, -1).join('.');
    for (const other of flattenIssues(error.issues)) {
      if (other.code !== 'unrecognized_keys' || other.path.map(String).join('.') !== parent) continue;
      const typo = other.keys.find((k) => closestMatch(k, [last]) !== undefined);
      if (typo !== undefined) return unknownKeyError(path.slice(0, -1), typo);
      // A one-key mapping whose key is unknown (`- cosine: {}` in callbacks): the key is the
      // mistake, not the absence of whichever union branch zod tried first.
      const siblings = valueAt(raw, issue.path.slice(0, -1));
      if (siblings !== null && typeof siblings === 'object' && Object.keys(siblings).length === 1 && other.keys.length === 1) {
        return unknownKeyError(path.slice(0, -1), other.keys[0]!);
      }
    }
  }
  if (issue.code === 'unrecognized_keys') return unknownKeyError(path, issue.keys[0]!);
  if (value === undefined) {
    return new UserError(field, `${last ?? 'value'} is required`, `add ${field}`);
  }
  if (issue.code === 'invalid_value' || issue.code === 'invalid_union') {
    if (last === 'kind' || last === 'metric' || last === 'direction' || last === 'mode') {
      const listed = 'values' in issue ? issue.values : 'options' in issue ? issue.options : [];
      const values = (Array.isArray(listed) ? listed : []).map(String);
      return new UserError(
        field,
        `unknown ${last} ${JSON.stringify(value)}`,
        values.length ? suggestFix(String(value), values) : 'compare with studies/seed-mlp.yaml',
      );
    }
  }
  const got = `(got ${JSON.stringify(value)})`;
  switch (issue.code) {
    case 'invalid_type': {
      const expected = issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`;
      return new UserError(field, `${last ?? 'value'} must be ${expected} ${got}`, `give ${field} ${expected}`);
    }
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const bound = small ? issue.minimum : issue.maximum;
      const op = small ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<';
      if (issue.origin === 'array' || issue.origin === 'string') {
        if (small && bound === 1) return new UserError(field, `${last ?? 'value'} is empty`, `give ${field} a value`);
        const what = `a length ${op} ${String(bound)}`;
        return new UserError(field, `${last ?? 'value'} must have ${what} ${got}`, `give ${field} ${what}`);
      }
      const what = `${op} ${String(bound)}`;
      return new UserError(field, `${last ?? 'value'} must be ${what} ${got}`, `use a value ${what}`);
    }
    case 'invalid_format': {
      const renamed = typeof value === 'string' ? value.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+|-+$/g, '') : '';
      const fix = last === 'name' && renamed ? `e.g. name: ${renamed}` : 'compare with the example studies/seed-mlp.yaml';
      return new UserError(field, `${last ?? 'value'} ${issue.message} ${got}`, fix);
    }
    default:
      return new UserError(
        field,
        `${issue.message.replace(/^Invalid input: /, '')} ${got}`,
        'compare with the example studies/seed-mlp.yaml',
      );
  }
}

function unknownKeyError(path: readonly string[], key: string): UserError {
  const pattern = path.map((p) => (/^\d+$/.test(p) ? '*' : p)).join('.');
  const known = KNOWN_KEYS[pattern] ?? [];
  const field = [...path, key].join('.');
  return new UserError(field, `unknown key ${key}`, known.length ? suggestFix(key, known, 'one of') : `remove ${key}`);
}

/** Every issue, with the branches of failed unions spliced in (paths made absolute). */
function flattenIssues(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) =>
    issue.code === 'invalid_union'
      ? [issue, ...issue.errors.flatMap((branch) => flattenIssues(branch.map((i) => ({ ...i, path: [...issue.path, ...i.path] }))))]
      : [issue],
  );
}

/** zod reports a failed union as one issue holding each branch's issues; the deepest is the useful one. */
function deepestIssue(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue {
  let best = issues[0]!;
  for (const issue of issues) {
    let candidate = issue;
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const inner = issue.errors
        .map((branch) => deepestIssue(branch.map((i) => ({ ...i, path: [...issue.path, ...i.path] }))))
        .sort((a, b) => b.path.length - a.path.length)[0];
      if (inner && inner.path.length > issue.path.length) candidate = inner;
    }
    if (candidate.path.length > best.path.length) best = candidate;
  }
  return best;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/**
 * What identifies a study's results: the space, data (with file contents),
 * objective, strategy kind and callbacks. `max_trials` is not part of it, so a
 * study can be extended. Sections are hashed separately to say what changed.
 */
export function studyDefinition(config: StudyConfig): Record<string, unknown> {
  const fileHash = (f?: FileRef): string | undefined =>
    f && createHash('sha256').update(readFileSync(f.path)).digest('hex');
  const { max_trials: _ignored, ...strategy } = config.strategy as { max_trials?: number; kind: string };
  return {
    seed: config.seed,
    data: {
      ...config.data,
      train: { file: config.data.train.given, sha256: fileHash(config.data.train) },
      validation: config.data.validation && {
        file: config.data.validation.given,
        sha256: fileHash(config.data.validation),
      },
      test: config.data.test && { file: config.data.test.given, sha256: fileHash(config.data.test) },
    },
    objective: config.objective,
    strategy,
    space: config.space.toJSON(),
    callbacks: config.callbacks,
  };
}

/** JSON with sorted keys, so key order and comments are not changes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function hashDefinition(definition: unknown): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}

/** Names the top-level sections that differ between two definitions. */
export function changedSections(before: unknown, after: unknown): string[] {
  const a = (before ?? {}) as Record<string, unknown>;
  const b = (after ?? {}) as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter(
    (k) => canonicalJson(a[k]) !== canonicalJson(b[k]),
  );
}
