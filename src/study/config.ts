import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { UserError } from '../errors';
import { Space } from '../space';
import { suggestFix } from '../space/suggest';
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
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      '',
      code === 'ENOENT' ? 'study file does not exist' : `cannot read the study file (${code ?? String(err)})`,
      'give the path of a readable YAML study file',
      file,
    );
  }
  try {
    return parseStudy(parseYaml(text), file);
  } catch (err) {
    if (err instanceof UserError) throw err.within(file);
    throw err;
  }
}

function parseYaml(text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    const at = pos ? `line ${pos.line}, column ${pos.col}` : 'YAML';
    throw new UserError(at, `malformed YAML: ${first.message.split('\n')[0]}`, 'fix the YAML syntax there');
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    throw new UserError(
      'YAML',
      `too many alias expansions (${(err as Error).message.split('\n')[0]})`,
      `use at most ${MAX_ALIASES} aliases; write the values out`,
    );
  }
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
  // The callbacks' own constructors check what the schema cannot (e.g. an `auto` mode they cannot resolve).
  createCallbacks(callbacks);
  callbacks.forEach((cb, i) => {
    const [kind, args] = Object.entries(cb)[0] as [string, { monitor: string }];
    const field = `callbacks.${i}.${kind}.monitor`;
    if (!(METRIC_NAMES as readonly string[]).includes(args.monitor)) {
      throw new UserError(field, `unknown metric ${args.monitor}`, suggestFix(args.monitor, METRIC_NAMES));
    }
    if (args.monitor.startsWith('val_') && !hasValidation) {
      throw new UserError(field, `${args.monitor} needs validation data`, 'add data.validation or data.split, or monitor loss');
    }
  });

  let space: Space;
  try {
    space = Space.parse(s.space);
  } catch (err) {
    if (err instanceof UserError) throw err.within(undefined, 'space');
    throw err;
  }
  checkKnobs(space);
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
            : `give ${name} a value that ${problem.replace(/^must /, '')}`,
        );
      }
    }
  }
}

/** Turns the first zod issue into one line naming the field and the fix. */
function zodToUserError(error: z.ZodError, raw: unknown): UserError {
  const issue = deepestIssue(error.issues);
  const path = issue.path.map(String);
  const field = path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const pattern = path.map((p) => (/^\d+$/.test(p) ? '*' : p)).join('.');
    const known = KNOWN_KEYS[pattern] ?? [];
    const key = issue.keys[0]!;
    return new UserError(field ? `${field}.${key}` : key, `unknown key ${key}`, suggestFix(key, known, 'one of'));
  }
  const value = valueAt(raw, issue.path);
  if (value === undefined && issue.code === 'invalid_type') {
    return new UserError(field, `${path[path.length - 1] ?? 'value'} is required`, `add ${field}`);
  }
  if (issue.code === 'invalid_value' || issue.code === 'invalid_union') {
    const last = path[path.length - 1];
    if (last === 'kind' || last === 'metric' || last === 'direction' || last === 'mode') {
      const values = 'values' in issue ? (issue.values as unknown[]).map(String) : [];
      return new UserError(field, `unknown ${last} ${JSON.stringify(value)}`, suggestFix(String(value), values));
    }
  }
  return new UserError(field, `${issue.message.replace(/^Invalid input: /, '')} (got ${JSON.stringify(value)})`, 'see the study file reference in README.md');
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
