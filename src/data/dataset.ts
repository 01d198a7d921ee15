import seedrandom from 'seedrandom';
import { UserError } from '../errors';
import { closestMatch } from '../space/suggest';
import { notNumericProblem, shownPath as shown, type Table } from './csv';

/** Rows of features and targets, row-major, in the scale the model trains on. */
export interface Split {
  readonly rows: number;
  readonly x: Float32Array;
  readonly y: Float32Array;
}

/** Per-column affine scale: model value = (raw − mean) / std. Identity when not standardizing. */
export interface Scaler {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

export interface Dataset {
  readonly features: readonly string[];
  readonly targets: readonly string[];
  readonly train: Split;
  readonly validation?: Split;
  readonly test?: Split;
  readonly xScaler: Scaler;
  /** Metrics are reported in the targets' own units by undoing this scale. */
  readonly yScaler: Scaler;
}

export interface DatasetSpec {
  readonly targets: readonly string[];
  /** Default: every column that is not a target. */
  readonly features?: readonly string[];
  readonly standardize: boolean;
  /** Fraction of train held out for validation (seeded), when no validation file. */
  readonly split?: number;
  readonly seed: number;
}

export interface Tables {
  readonly train: Table;
  readonly validation?: Table;
  readonly test?: Table;
}

/**
 * Selects feature and target columns, holds out a seeded validation split if
 * asked, and standardizes with statistics of the training rows only.
 */
export function buildDataset(tables: Tables, spec: DatasetSpec): Dataset {
  const { train } = tables;
  const targets = [...spec.targets];
  for (const t of targets) {
    requireColumn(train, t, 'data.targets');
    requireNumeric(train, t, 'data.targets', 'name numeric columns in data.targets, or make every cell of it a number');
  }
  const features = spec.features ? [...spec.features] : defaultFeatures(train, targets);
  if (features.length === 0) {
    const text = train.columns.filter((c) => !targets.includes(c) && notNumericProblem(train, c) !== undefined);
    throw text.length === 0
      ? new UserError('data.features', `${shown(train)} has no feature columns besides the targets`, 'add feature columns to the CSV')
      : new UserError(
          'data.features',
          `${shown(train)} has no numeric feature columns besides the targets (not numeric: ${text.join(', ')})`,
          'add numeric feature columns to the CSV, or encode a text column as numbers',
        );
  }
  for (const f of features) {
    requireColumn(train, f, 'data.features');
    if (targets.includes(f)) {
      throw new UserError('data.features', `column "${f}" is both a feature and a target`, 'remove it from one of the two lists');
    }
    requireNumeric(train, f, 'data.features', 'leave it out of data.features, or make every cell of it a number');
  }
  for (const [field, table] of [['data.validation', tables.validation], ['data.test', tables.test]] as const) {
    if (!table) continue;
    for (const c of [...features, ...targets]) {
      requireColumn(table, c, field);
      const role = targets.includes(c) ? 'a target' : 'a feature';
      requireNumeric(table, c, field, `make every cell of it a number: it is ${role}, numeric in ${shown(train)}`);
    }
  }

  let trainRows = range(train.rowCount);
  let validationRows: number[] | undefined;
  if (spec.split !== undefined) {
    const perm = permutation(train.rowCount, seedrandom(`${spec.seed}:split`));
    const nVal = Math.round(train.rowCount * spec.split);
    if (nVal < 1 || nVal >= train.rowCount) {
      throw new UserError(
        'data.split',
        `split ${spec.split} of ${train.rowCount} rows leaves ${nVal} validation rows`,
        'use a fraction that leaves at least one row on each side',
      );
    }
    validationRows = perm.slice(0, nVal).sort((a, b) => a - b);
    trainRows = perm.slice(nVal).sort((a, b) => a - b);
  }

  const xScaler = spec.standardize ? fitScaler(train, features, trainRows) : identityScaler(features.length);
  const yScaler = spec.standardize ? fitScaler(train, targets, trainRows) : identityScaler(targets.length);
  const make = (table: Table, rows: readonly number[]): Split => ({
    rows: rows.length,
    x: gather(table, features, rows, xScaler),
    y: gather(table, targets, rows, yScaler),
  });

  return {
    features,
    targets,
    train: make(train, trainRows),
    validation: tables.validation
      ? make(tables.validation, range(tables.validation.rowCount))
      : validationRows && make(train, validationRows),
    test: tables.test && make(tables.test, range(tables.test.rowCount)),
    xScaler,
    yScaler,
  };
}

function requireColumn(table: Table, name: string, field: string): void {
  if (!table.columns.includes(name)) {
    const close = closestMatch(name, table.columns);
    throw new UserError(
      field,
      `column "${name}" is not in ${shown(table)} (its columns: ${table.columns.join(', ')})`,
      close !== undefined ? `did you mean ${close}?` : 'name a column of the CSV header',
    );
  }
}

/** A feature or target must be numbers. */
function requireNumeric(table: Table, name: string, field: string, fix: string): void {
  const problem = notNumericProblem(table, name);
  if (problem !== undefined) throw new UserError(field, problem, fix);
}

/**
 * Without `data.features`: every numeric column but the targets, in the
 * file's order (the study definition holds the files' hashes, so the same
 * files give the same features). A text column (an id, a date, a label) is
 * left out; a column of numbers with missing values (`n/a`, `NA`) is refused
 * rather than silently left out.
 */
function defaultFeatures(train: Table, targets: readonly string[]): string[] {
  return train.columns.filter((c, i) => {
    if (targets.includes(c)) return false;
    const bad = train.notNumeric?.[i];
    if (!bad) return true;
    if (bad.someNumbers && bad.onlyMissing) {
      throw new UserError(
        'data.features',
        `${notNumericProblem(train, c)!}, a missing value among numbers, and without data.features every column but the targets is a feature`,
        'fill or drop the missing values, or list data.features without it',
      );
    }
    return false;
  });
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Fisher–Yates with a seeded source, so the split depends only on the seed. */
export function permutation(n: number, rng: () => number): number[] {
  const p = range(n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

function column(table: Table, name: string): Float64Array {
  const values = table.values[table.columns.indexOf(name)];
  if (!values) throw new Error(`column "${name}" of ${shown(table)} is not numeric`);
  return values;
}

function fitScaler(table: Table, names: readonly string[], rows: readonly number[]): Scaler {
  const mean: number[] = [];
  const std: number[] = [];
  for (const name of names) {
    const col = column(table, name);
    let sum = 0;
    for (const r of rows) sum += col[r]!;
    const m = sum / rows.length;
    let ss = 0;
    for (const r of rows) ss += (col[r]! - m) ** 2;
    const s = Math.sqrt(ss / rows.length);
    mean.push(m);
    // A constant column carries no information; leave it centred, unscaled.
    std.push(s > 1e-12 ? s : 1);
  }
  return { mean, std };
}

function identityScaler(n: number): Scaler {
  return { mean: new Array<number>(n).fill(0), std: new Array<number>(n).fill(1) };
}

function gather(table: Table, names: readonly string[], rows: readonly number[], scaler: Scaler): Float32Array {
  const width = names.length;
  const out = new Float32Array(rows.length * width);
  names.forEach((name, j) => {
    const col = column(table, name);
    const m = scaler.mean[j]!;
    const s = scaler.std[j]!;
    rows.forEach((r, i) => {
      out[i * width + j] = (col[r]! - m) / s;
    });
  });
  return out;
}
