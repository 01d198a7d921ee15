import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { UserError } from '../errors';

/**
 * A table read from a CSV file with a header row, stored by column. A column
 * whose cells are all numbers is numeric (`values`); any other column (an id,
 * a date, a category label) is kept as text, and only refused where a number
 * is needed (see `notNumericProblem`).
 */
export interface Table {
  readonly path: string;
  /** The path as shown to the user (relative to the working directory); `path` when absent. */
  readonly shown?: string;
  readonly columns: readonly string[];
  readonly rowCount: number;
  /** One array per column, in `columns` order; `undefined` for a column that is not numeric. */
  readonly values: readonly (Float64Array | undefined)[];
  /** Per column, in `columns` order: why it is not numeric; absent (or all `undefined`) when every column is. */
  readonly notNumeric?: readonly (NotNumeric | undefined)[];
  /**
   * Per column, in `columns` order: its cells as written (unquoted, trimmed),
   * for the columns that are not numeric and those asked for by `keepText`.
   */
  readonly text?: readonly (readonly string[] | undefined)[];
}

/** The first cell that made a column not numeric. */
export interface NotNumeric {
  /** The file line of the row holding it (line 1 is the header). */
  readonly line: number;
  /** The cell as written; `''` when the column has no cell but empty ones. */
  readonly value: string;
  /** Whether other cells of the column are numbers. */
  readonly someNumbers: boolean;
  /**
   * Whether every cell that is not a number stands for a missing value (`NA`,
   * `n/a`, `NaN`, `null`, `inf`…, pandas' list): with `someNumbers`, a
   * column of numbers with gaps rather than a text column.
   */
  readonly onlyMissing: boolean;
}

/** Cells that stand for a missing value: pandas' `na_values` (less `''`, an error of its own here). */
const MISSING = new Set(['#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null']);

/** A cell that is not a finite number but stands for no value (or an infinite one), as pandas reads it. */
function isMissingMarker(cell: string): boolean {
  return MISSING.has(cell) || /^[+-]?inf(inity)?$/i.test(cell) || Math.abs(Number(cell)) === Infinity;
}

export interface ReadCsvOptions {
  /** Columns whose cells are also kept as written (`Table.text`), numeric or not: e.g. ids copied to an output. */
  readonly keepText?: readonly string[];
}

/** What went wrong reading a file, in words (`what` is e.g. `the study file` or `data/train.csv`). */
export function readProblem(err: unknown, what: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return `${what} does not exist`;
    case 'EISDIR':
      return `cannot read ${what}: it is a directory, not a file`;
    case 'EACCES':
    case 'EPERM':
      return `cannot read ${what}: permission denied`;
    default:
      return `cannot read ${what} (${code ?? (err as Error).message ?? String(err)})`;
  }
}

/** The table's path as the user should see it. */
export function shownPath(table: Table): string {
  return table.shown ?? table.path;
}

/**
 * Why column `name` of `table` cannot be used as numbers, in words
 * (`column "label" in data/train.csv is not numeric: line 2 holds "cat"`);
 * `undefined` when it is numeric.
 */
export function notNumericProblem(table: Table, name: string): string | undefined {
  const c = table.columns.indexOf(name);
  const bad = c < 0 ? undefined : table.notNumeric?.[c];
  if (!bad) return undefined;
  const where = `column "${name}" in ${shownPath(table)}`;
  return bad.value === ''
    ? `${where} is not numeric: every cell is empty`
    : `${where} is not numeric: line ${bad.line} holds ${showCell(bad.value)}`;
}

/** A cell for a one-line message: quoted, escaped, long ones cut. */
function showCell(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/**
 * Reads a CSV whose first row names the columns. Columns of numbers are read
 * as numbers; a column with a cell that is not a number is kept as text.
 * `field` is the study-file field that named the file, so errors point at
 * both (`data.train: data/train.csv line 14, column "x3" is empty …`): an
 * empty cell in a column of numbers, a row with too few or too many cells,
 * a quote never closed are errors here. Parsing is csv-parse's.
 */
export function readCsvTable(path: string, shownPath: string, field: string, options: ReadCsvOptions = {}): Table {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(field, readProblem(err, shownPath), 'give a readable CSV file, its path relative to the study file');
  }
  let parsed: { record: string[]; info: { lines: number }; raw: string }[];
  try {
    // relax_column_count: a short or long row gets tune's own message below, with its line.
    parsed = parse(text, { info: true, raw: true, skip_empty_lines: true, trim: true, bom: true, relax_column_count: true }) as unknown as typeof parsed;
  } catch (err) {
    throw new UserError(
      field,
      `${shownPath} is not valid CSV: ${(err as Error).message}`,
      'fix the CSV file: quote a cell with commas or line breaks in it and double the quotes inside',
    );
  }
  // csv-parse reports the line a record ends on; a message names the line it starts on.
  // Only a quoted cell can hold a line break: most records skip the count.
  const records: Row[] = parsed.map(({ record, info, raw }) => ({ record, line: info.lines - (raw.includes('"') ? lineBreaks(raw) : 0) }));
  const header = records[0]?.record;
  if (!header || header.length === 0) {
    throw new UserError(field, `${shownPath} is empty`, 'give a CSV with a header row and data rows');
  }
  const seen = new Set<string>();
  header.forEach((name, c) => {
    if (name === '') throw new UserError(field, `${shownPath} column ${c + 1} has no name`, 'name every column in the header row');
    if (seen.has(name)) throw new UserError(field, `${shownPath} names column "${name}" twice`, 'give columns unique names');
    seen.add(name);
  });
  const rows = records.slice(1);
  if (rows.length === 0) {
    throw new UserError(field, `${shownPath} has a header but no data rows`, 'add data rows');
  }
  for (const { record, line } of rows) {
    if (record.length !== header.length) {
      throw new UserError(
        field,
        `${shownPath} line ${line} has ${record.length} cells, the header has ${header.length}`,
        'give every row one cell per column',
      );
    }
  }
  const columns = header.map((name, c) => readColumn(rows, c, options.keepText?.includes(name) ?? false));
  const empty = columns
    .map((col, c) => ({ line: col.emptyAmongNumbers, c }))
    .filter((e): e is { line: number; c: number } => e.line !== undefined)
    .sort((a, b) => a.line - b.line)[0];
  if (empty) {
    throw new UserError(
      field,
      `${shownPath} line ${empty.line}, column "${header[empty.c]}" is empty, among numbers`,
      'fill or drop missing values: every cell of a numeric column needs a number',
    );
  }
  const notNumeric = columns.map((col) => col.notNumeric);
  const textCells = columns.map((col) => col.text);
  return {
    path,
    shown: shownPath,
    columns: header,
    rowCount: rows.length,
    values: columns.map((col) => col.values),
    ...(notNumeric.some((n) => n !== undefined) ? { notNumeric } : {}),
    ...(textCells.some((t) => t !== undefined) ? { text: textCells } : {}),
  };
}

interface Column {
  /** Set when every cell is a finite number. */
  readonly values?: Float64Array;
  readonly notNumeric?: NotNumeric;
  /** The cells as written: for a text column, and for one asked for with `keepText`. */
  readonly text?: string[];
  /** The line of the first empty cell of a column otherwise all numbers: an error. */
  readonly emptyAmongNumbers?: number;
}

/** Classifies column `c`: numbers, numbers with a gap (an error), or text. */
interface Row {
  readonly record: string[];
  /** The file line the record starts on (1: the header). */
  readonly line: number;
}

/** Line breaks inside a record's raw text (quoted cells may hold some), not counting the one that ends it. */
function lineBreaks(raw: string): number {
  const body = raw.replace(/(\r\n|\r|\n)$/, '');
  return (body.match(/\r\n|\r|\n/g) ?? []).length;
}

function readColumn(rows: readonly Row[], c: number, keep: boolean): Column {
  const values = new Float64Array(rows.length);
  let firstEmpty: number | undefined;
  let first: { line: number; value: string } | undefined;
  let someNumbers = false;
  let someText = false;
  rows.forEach(({ record, line }, r) => {
    const cell = record[c]!;
    if (cell === '') {
      firstEmpty ??= line;
      return;
    }
    const v = Number(cell);
    if (Number.isFinite(v)) {
      values[r] = v;
      someNumbers = true;
      return;
    }
    first ??= { line, value: cell };
    if (!isMissingMarker(cell)) someText = true;
  });
  const cells = (): string[] => rows.map(({ record }) => record[c]!);
  if (first) {
    return { notNumeric: { ...first, someNumbers, onlyMissing: !someText }, text: cells() };
  }
  if (!someNumbers) {
    // Only empty cells: a text column with nothing in it.
    return { notNumeric: { line: firstEmpty!, value: '', someNumbers: false, onlyMissing: true }, text: cells() };
  }
  if (firstEmpty !== undefined) return { emptyAmongNumbers: firstEmpty };
  return { values, ...(keep ? { text: cells() } : {}) };
}
