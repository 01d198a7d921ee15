import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Table } from '../../src/data/csv';
import { buildDataset } from '../../src/data/dataset';
import { UserError } from '../../src/errors';

function table(columns: Record<string, number[]>, path = 't.csv'): Table {
  const names = Object.keys(columns);
  return {
    path,
    columns: names,
    rowCount: columns[names[0]!]!.length,
    values: names.map((n) => Float64Array.from(columns[n]!)),
  };
}

/** A table like readCsvTable's with text columns: `text` columns hold strings, the first one's line is 2 + its row. */
function withText(columns: Record<string, (number | string)[]>, path = 'mixed.csv'): Table {
  const names = Object.keys(columns);
  const cells = names.map((n) => columns[n]!);
  return {
    path,
    columns: names,
    rowCount: cells[0]!.length,
    values: cells.map((col) => (col.every((v) => typeof v === 'number') ? Float64Array.from(col as number[]) : undefined)),
    notNumeric: cells.map((col) => {
      const i = col.findIndex((v) => typeof v === 'string');
      if (i < 0) return undefined;
      const words = col.filter((v) => typeof v === 'string');
      return { line: i + 2, value: String(col[i]), someNumbers: col.some((v) => typeof v === 'number'), onlyMissing: words.every((v) => v === 'n/a' || v === 'NA') };
    }),
    text: cells.map((col) => (col.every((v) => typeof v === 'number') ? undefined : col.map(String))),
  };
}

const train = table({ a: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], b: [5, 5, 5, 5, 5, 5, 5, 5, 5, 5], y: [0, 2, 4, 6, 8, 10, 12, 14, 16, 18] });

describe('buildDataset', () => {
  test('features default to every non-target column, row-major', () => {
    const d = buildDataset({ train }, { targets: ['y'], standardize: false, seed: 0 });
    assert.deepEqual(d.features, ['a', 'b']);
    assert.deepEqual([...d.train.x.slice(0, 4)], [0, 5, 1, 5]);
    assert.deepEqual([...d.train.y.slice(0, 2)], [0, 2]);
  });

  test('standardizes with training statistics only; a constant column is centred, not divided by zero', () => {
    const val = table({ a: [100], b: [5], y: [0] }, 'v.csv');
    const d = buildDataset({ train, validation: val }, { targets: ['y'], standardize: true, seed: 0 });
    assert.ok(Math.abs(d.xScaler.mean[0]! - 4.5) < 1e-12);
    assert.equal(d.xScaler.std[1], 1);
    const xs = [...d.train.x].filter((_, i) => i % 2 === 0);
    assert.ok(Math.abs(xs.reduce((s, v) => s + v, 0)) < 1e-5);
    // The validation row is scaled with train's mean and std, not its own.
    assert.ok(Math.abs(d.validation!.x[0]! - (100 - 4.5) / d.xScaler.std[0]!) < 1e-4);
  });

  test('split is seeded: same seed same rows, another seed other rows, no overlap', () => {
    const spec = { targets: ['y'], standardize: false, split: 0.3 } as const;
    const a = buildDataset({ train }, { ...spec, seed: 1 });
    const b = buildDataset({ train }, { ...spec, seed: 1 });
    const c = buildDataset({ train }, { ...spec, seed: 2 });
    assert.equal(a.validation!.rows, 3);
    assert.equal(a.train.rows, 7);
    assert.deepEqual(a.validation!.y, b.validation!.y);
    assert.notDeepEqual(a.validation!.y, c.validation!.y);
    const all = new Set([...a.train.y, ...a.validation!.y]);
    assert.equal(all.size, 10);
  });

  test('missing columns and overlaps are user errors naming the field', () => {
    const err = (f: () => unknown): UserError => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof UserError);
        return e;
      }
      assert.fail('no error');
    };
    assert.equal(err(() => buildDataset({ train }, { targets: ['z'], standardize: true, seed: 0 })).field, 'data.targets');
    assert.equal(
      err(() => buildDataset({ train }, { targets: ['y'], features: ['a', 'q'], standardize: true, seed: 0 })).field,
      'data.features',
    );
    assert.equal(
      err(() => buildDataset({ train }, { targets: ['y'], features: ['y'], standardize: true, seed: 0 })).field,
      'data.features',
    );
    const test = table({ a: [1], y: [1] }, 'test.csv');
    assert.equal(err(() => buildDataset({ train, test }, { targets: ['y'], standardize: true, seed: 0 })).field, 'data.test');
  });

  describe('text columns', () => {
    const err = (f: () => unknown): UserError => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof UserError, String(e));
        return e;
      }
      assert.fail('no error');
    };
    const mixed = withText({
      id: ['r1', 'r2', 'r3', 'r4'],
      a: [0, 1, 2, 3],
      label: ['cat', 'dog', 'cat', 'bird'],
      b: [1, 1, 2, 2],
      y: [0, 2, 4, 6],
    });
    const numeric = table({ a: [0, 1, 2, 3], b: [1, 1, 2, 2], y: [0, 2, 4, 6] }, 'numeric.csv');

    test('default features leave text columns out: the same features, order and numbers as without them', () => {
      const d = buildDataset({ train: mixed }, { targets: ['y'], standardize: true, split: 0.25, seed: 3 });
      const n = buildDataset({ train: numeric }, { targets: ['y'], standardize: true, split: 0.25, seed: 3 });
      assert.deepEqual(d.features, ['a', 'b']);
      assert.deepEqual(d, { ...n });
      // Deterministic: the same table, the same features.
      assert.deepEqual(buildDataset({ train: mixed }, { targets: ['y'], standardize: true, seed: 1 }).features, ['a', 'b']);
    });

    test('explicit features of numeric columns train; a text column named as a feature is refused in one line', () => {
      const d = buildDataset({ train: mixed }, { targets: ['y'], features: ['b', 'a'], standardize: false, seed: 0 });
      assert.deepEqual(d.features, ['b', 'a']);
      assert.deepEqual([...d.train.x.slice(0, 4)], [1, 0, 1, 1]);
      const e = err(() => buildDataset({ train: mixed }, { targets: ['y'], features: ['a', 'label'], standardize: false, seed: 0 }));
      assert.equal(e.field, 'data.features');
      assert.equal(e.problem, 'column "label" in mixed.csv is not numeric: line 2 holds "cat"');
      assert.equal(e.fix, 'leave it out of data.features, or make every cell of it a number');
      assert.ok(!e.message.includes('\n'));
    });

    test('a text target is refused, naming data.targets', () => {
      const e = err(() => buildDataset({ train: mixed }, { targets: ['id'], features: ['a'], standardize: false, seed: 0 }));
      assert.equal(e.field, 'data.targets');
      assert.equal(e.problem, 'column "id" in mixed.csv is not numeric: line 2 holds "r1"');
      assert.match(e.fix, /make every cell of it a number/);
    });

    test('a column of numbers with missing values is refused, not silently left out of the default features', () => {
      const gaps = withText({ a: [0, 1, 2, 3], b: [1, 'n/a', 2, 'NA'], y: [0, 2, 4, 6] }, 'gaps.csv');
      const e = err(() => buildDataset({ train: gaps }, { targets: ['y'], standardize: false, seed: 0 }));
      assert.equal(e.field, 'data.features');
      assert.match(e.problem, /^column "b" in gaps\.csv is not numeric: line 3 holds "n\/a", a missing value among numbers/);
      assert.equal(e.fix, 'fill or drop the missing values, or list data.features without it');
      // Listed without it, it trains.
      assert.deepEqual(buildDataset({ train: gaps }, { targets: ['y'], features: ['a'], standardize: false, seed: 0 }).features, ['a']);
      // Ids some of which look like numbers are a text column: left out.
      const ids = withText({ id: [1001, 1002, 'A17', 1004], a: [0, 1, 2, 3], y: [0, 2, 4, 6] }, 'ids.csv');
      assert.deepEqual(buildDataset({ train: ids }, { targets: ['y'], standardize: false, seed: 0 }).features, ['a']);
    });

    test('no numeric feature besides the targets; text in a validation or test file', () => {
      const onlyText = withText({ id: ['r1', 'r2'], y: [1, 2] }, 'only.csv');
      const e = err(() => buildDataset({ train: onlyText }, { targets: ['y'], standardize: false, seed: 0 }));
      assert.equal(e.field, 'data.features');
      assert.equal(e.problem, 'only.csv has no numeric feature columns besides the targets (not numeric: id)');
      const validation = withText({ a: [1, 2], b: [1, 'x'], y: [1, 2] }, 'val.csv');
      const v = err(() => buildDataset({ train: mixed, validation }, { targets: ['y'], standardize: false, seed: 0 }));
      assert.equal(v.field, 'data.validation');
      assert.equal(v.problem, 'column "b" in val.csv is not numeric: line 3 holds "x"');
      assert.equal(v.fix, 'make every cell of it a number: it is a feature, numeric in mixed.csv');
      // A text column the study does not use may differ between files.
      const test = withText({ a: [5], label: [7], b: [1], y: [3] }, 'test.csv');
      assert.equal(buildDataset({ train: mixed, test }, { targets: ['y'], standardize: false, seed: 0 }).test!.rows, 1);
    });
  });
});
