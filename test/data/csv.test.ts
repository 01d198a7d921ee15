import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readCsvTable } from '../../src/data/csv';
import { UserError } from '../../src/errors';

const dir = mkdtempSync(join(tmpdir(), 'tune-csv-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function errorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UserError, String(err));
    return err;
  }
  assert.fail('expected a UserError');
}

describe('readCsvTable', () => {
  test('reads columns by name, with quotes, a BOM and blank lines', () => {
    const t = readCsvTable(file('ok.csv', '\uFEFFa,"b"\n1,2.5\n\n-3,"4e-1"\n'), 'ok.csv', 'data.train');
    assert.deepEqual(t.columns, ['a', 'b']);
    assert.equal(t.rowCount, 2);
    assert.deepEqual([...t.values[0]!], [1, -3]);
    assert.deepEqual([...t.values[1]!], [2.5, 0.4]);
  });

  test('a non-numeric cell names its line and column', () => {
    const e = errorOf(() => readCsvTable(file('bad.csv', 'a,b\n1,2\n3,oops\n'), 'bad.csv', 'data.train'));
    assert.equal(e.field, 'data.train');
    assert.match(e.problem, /bad\.csv line 3, column "b": oops is not a finite number|bad\.csv line 3, column "b": "oops"/);
  });

  test('an empty cell is not silently zero', () => {
    const e = errorOf(() => readCsvTable(file('empty-cell.csv', 'a,b\n1,\n'), 'empty-cell.csv', 'data.validation'));
    assert.equal(e.field, 'data.validation');
    assert.match(e.problem, /line 2, column "b"/);
  });

  test('ragged rows, duplicate columns, no rows and missing files are refused', () => {
    assert.match(errorOf(() => readCsvTable(file('r.csv', 'a,b\n1,2,3\n'), 'r.csv', 'f')).problem, /expect 2, got 3 on line 2|line 2 has 3 cells/);
    assert.match(errorOf(() => readCsvTable(file('d.csv', 'a,a\n1,2\n'), 'd.csv', 'f')).problem, /names column "a" twice/);
    assert.match(errorOf(() => readCsvTable(file('h.csv', 'a,b\n'), 'h.csv', 'f')).problem, /no data rows/);
    assert.match(errorOf(() => readCsvTable(join(dir, 'nope.csv'), 'nope.csv', 'f')).problem, /does not exist/);
    assert.match(errorOf(() => readCsvTable(dir, 'dir', 'f')).problem, /cannot read/);
  });
});
