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
});
