import seedrandom from 'seedrandom';
import { UserError } from '../errors';
import { closestMatch } from '../space/suggest';
import type { Table } from './csv';

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
  for (const t of targets) requireColumn(train, t, 'data.targets');
  const features = spec.features ? [...spec.features] : train.columns.filter((c) => !targets.includes(c));
  if (features.length === 0) {
    throw new UserError('data.features', `${shown(train)} has no feature columns besides the targets`, 'add feature columns to the CSV');
  }
  for (const f of features) {
    requireColumn(train, f, 'data.features');
    if (targets.includes(f)) {
      throw new UserError('data.features', `column "${f}" is both a feature and a target`, 'remove it from one of the two lists');
    }
  }
  for (const [field, table] of [['data.validation', tables.validation], ['data.test', tables.test]] as const) {
    if (!table) continue;
    for (const c of [...features, ...targets]) requireColumn(table, c, field);
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

/** The table's path as the user should see it. */
function shown(table: Table): string {
  return table.shown ?? table.path;
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
  return table.values[table.columns.indexOf(name)]!;
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
