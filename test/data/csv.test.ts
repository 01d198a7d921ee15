import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import seedrandom from 'seedrandom';
import { notNumericProblem, readCsvTable } from '../../src/data/csv';
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

  test('a column with a cell that is not a number is text: its cells as written and its first such cell', () => {
    const t = readCsvTable(
      file('text.csv', 'id,x,label,y\n007,1,,2\n8,2,cat,3\n"A,9",3," dog ""big""",4\n'),
      'text.csv',
      'data.train',
    );
    assert.deepEqual(t.columns, ['id', 'x', 'label', 'y']);
    assert.equal(t.rowCount, 3);
    assert.equal(t.values[0], undefined);
    assert.equal(t.values[2], undefined);
    assert.deepEqual([...t.values[1]!], [1, 2, 3]);
    assert.deepEqual([...t.values[3]!], [2, 3, 4]);
    // "007" and "8" came before "A,9": read again as written, not as 7 and 8.
    assert.deepEqual(t.text?.[0], ['007', '8', 'A,9']);
    assert.deepEqual(t.text?.[2], ['', 'cat', ' dog "big"']);
    assert.equal(t.text?.[1], undefined);
    assert.deepEqual(t.notNumeric?.[0], { line: 4, value: 'A,9', someNumbers: true, onlyMissing: false });
    assert.deepEqual(t.notNumeric?.[2], { line: 3, value: 'cat', someNumbers: false, onlyMissing: false });
    assert.equal(t.notNumeric?.[1], undefined);
    assert.equal(notNumericProblem(t, 'label'), 'column "label" in text.csv is not numeric: line 3 holds "cat"');
    assert.equal(notNumericProblem(t, 'x'), undefined);
  });

  test('a column of empty cells only is text; keepText keeps a numeric column as written too', () => {
    const t = readCsvTable(file('notes.csv', 'a,notes,b\n1,,1.50\n2,,2e0\n'), 'notes.csv', 'f', { keepText: ['b'] });
    assert.equal(t.values[1], undefined);
    assert.deepEqual(t.text?.[1], ['', '']);
    assert.equal(notNumericProblem(t, 'notes'), 'column "notes" in notes.csv is not numeric: every cell is empty');
    assert.deepEqual([...t.values[2]!], [1.5, 2]);
    assert.deepEqual(t.text?.[2], ['1.50', '2e0']);
  });

  test('a column of numbers and missing-value markers is told from a text column', () => {
    const t = readCsvTable(
      file('gaps.csv', 'gaps,inf,ids,markers\n1,1,1001,NA\nn/a,inf,1002,null\n2,-Infinity,A17,n/a\nNA,1e999,1004,NaN\n'),
      'gaps.csv',
      'f',
    );
    assert.deepEqual(t.notNumeric?.[0], { line: 3, value: 'n/a', someNumbers: true, onlyMissing: true });
    assert.deepEqual(t.notNumeric?.[1], { line: 3, value: 'inf', someNumbers: true, onlyMissing: true });
    assert.deepEqual(t.notNumeric?.[2], { line: 4, value: 'A17', someNumbers: true, onlyMissing: false });
    assert.deepEqual(t.notNumeric?.[3], { line: 2, value: 'NA', someNumbers: false, onlyMissing: true });
    assert.deepEqual(t.text?.[0], ['1', 'n/a', '2', 'NA']);
    assert.deepEqual(t.text?.[2], ['1001', '1002', 'A17', '1004']);
  });

  test('a table of numbers only has no text', () => {
    const t = readCsvTable(file('nums.csv', 'a,b\n1,2\n3,4\n'), 'nums.csv', 'f');
    assert.equal(t.text, undefined);
    assert.equal(t.notNumeric, undefined);
  });

  test('numbers read as Number() reads them, in every usual form', () => {
    const rng = seedrandom('numbers');
    const forms = (v: number): string[] => [
      String(v),
      v.toFixed(6),
      v.toExponential(4),
      v.toPrecision(17),
      v.toFixed(0),
      (v * 1e-9).toPrecision(15),
      (v * 1e25).toPrecision(12),
    ];
    const cells: string[] = ['0', '-0', '+5', '.5', '5.', '-.25e-3', '0x1A', '1E+2', '000123.4500', '9007199254740993', '123456789012345.6', '1e-400', '2.5e308'];
    for (let i = 0; i < 300; i++) cells.push(...forms((rng() - 0.5) * 10 ** Math.floor(rng() * 12 - 4)));
    const finite = cells.filter((c) => Number.isFinite(Number(c)));
    assert.ok(finite.length > 2000);
    const t = readCsvTable(file('forms.csv', `v\n${finite.join('\n')}\n`), 'forms.csv', 'f');
    const got = [...t.values[0]!];
    finite.forEach((c, i) => assert.ok(Object.is(got[i], Number(c)), `${c}: ${got[i]} vs ${Number(c)}`));
    // Not finite numbers: the column is text.
    for (const c of ['NaN', 'Infinity', '1e999', '1_000', '1e', '-', '.', 'e5', '1.2.3', '--1']) {
      const odd = readCsvTable(file('odd.csv', `v\n1\n${c}\n`), 'odd.csv', 'f');
      assert.equal(odd.values[0], undefined, c);
    }
  });

  test('an empty cell among numbers is an error naming its line and column, wherever the column turns out numeric', () => {
    const e = errorOf(() => readCsvTable(file('empty-cell.csv', 'a,b\n1,\n2,3\n'), 'empty-cell.csv', 'data.validation'));
    assert.equal(e.field, 'data.validation');
    assert.equal(e.problem, 'empty-cell.csv line 2, column "b" is empty, among numbers');
    assert.match(e.fix, /fill or drop missing values/);
    // The earliest empty cell of all columns.
    const late = errorOf(() => readCsvTable(file('empty-late.csv', 'a,b\n1,2\n,3\n4,\n'), 'empty-late.csv', 'f'));
    assert.match(late.problem, /line 3, column "a" is empty/);
    // An empty cell in a text column is just an empty text.
    const t = readCsvTable(file('empty-text.csv', 'a,b\n1,\n2,x\n'), 'empty-text.csv', 'f');
    assert.deepEqual(t.text?.[1], ['', 'x']);
  });

  test('line numbers count blank lines, CRLF and line breaks inside quotes', () => {
    const t = readCsvTable(file('lines.csv', 'a,b\r\n1,2\r\n\r\n"x\r\ny",3\r\n4,"5"\r\nz,6\r\n'), 'lines.csv', 'f');
    assert.deepEqual(t.text?.[0], ['1', 'x\r\ny', '4', 'z']);
    assert.deepEqual(t.notNumeric?.[0], { line: 4, value: 'x\r\ny', someNumbers: true, onlyMissing: false });
    const e = errorOf(() => readCsvTable(file('lines2.csv', 'a,b\n"x\ny",3\n4\n'), 'lines2.csv', 'f'));
    assert.match(e.problem, /line 4 has 1 cells, the header has 2/);
  });

  test('ragged rows, duplicate columns, no rows and missing files are refused', () => {
    assert.match(errorOf(() => readCsvTable(file('r.csv', 'a,b\n1,2,3\n'), 'r.csv', 'f')).problem, /line 2 has 3 cells, the header has 2/);
    assert.match(errorOf(() => readCsvTable(file('q.csv', 'a,b\n1,"2\n3,4\n'), 'q.csv', 'f')).problem, /q\.csv is not valid CSV: Quote Not Closed/);
    assert.match(errorOf(() => readCsvTable(file('q2.csv', 'a,b\n1,"2"x\n'), 'q2.csv', 'f')).problem, /q2\.csv is not valid CSV: Invalid Closing Quote: got "x" at line 2/);
    assert.match(errorOf(() => readCsvTable(file('e.csv', '\n \n'), 'e.csv', 'f')).problem, /e\.csv is empty/);
    assert.match(errorOf(() => readCsvTable(file('n.csv', 'a,,c\n1,2,3\n'), 'n.csv', 'f')).problem, /column 2 has no name/);
    assert.match(errorOf(() => readCsvTable(file('d.csv', 'a,a\n1,2\n'), 'd.csv', 'f')).problem, /names column "a" twice/);
    assert.match(errorOf(() => readCsvTable(file('h.csv', 'a,b\n'), 'h.csv', 'f')).problem, /no data rows/);
    assert.match(errorOf(() => readCsvTable(join(dir, 'nope.csv'), 'nope.csv', 'f')).problem, /does not exist/);
    assert.match(errorOf(() => readCsvTable(dir, 'dir', 'f')).problem, /cannot read/);
  });
});
