import { readFileSync } from 'node:fs';
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
 * a quote never closed are errors here.
 *
 * One pass over the text (a second one over the first rows only when a
 * column turns out to be text after rows of numbers); numeric cells are
 * parsed in place, without a string per cell.
 */
export function readCsvTable(path: string, shownPath: string, field: string, options: ReadCsvOptions = {}): Table {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(field, readProblem(err, shownPath), 'give a readable CSV file, its path relative to the study file');
  }
  const invalid = (problem: string): UserError =>
    new UserError(field, `${shownPath} is not valid CSV: ${problem}`, 'fix the CSV file: quote a cell with commas or line breaks in it and double the quotes inside');
  const scanner = new Scanner(text, text.charCodeAt(0) === 0xfeff ? 1 : 0, invalid);

  if (!scanner.nextRecord()) {
    throw new UserError(field, `${shownPath} is empty`, 'give a CSV with a header row and data rows');
  }
  const header: string[] = [];
  do {
    scanner.cell();
    header.push(scanner.value());
  } while (!scanner.endOfRecord);
  const seen = new Set<string>();
  header.forEach((name, c) => {
    if (name === '') throw new UserError(field, `${shownPath} column ${c + 1} has no name`, 'name every column in the header row');
    if (seen.has(name)) throw new UserError(field, `${shownPath} names column "${name}" twice`, 'give columns unique names');
    seen.add(name);
  });
  const firstRecord = scanner.pos;
  const firstLine = scanner.line;

  const width = header.length;
  // At most one row per line break: enough room without growing.
  const capacity = Math.max(countOf(text, '\n'), countOf(text, '\r')) + 1;
  const values: (Float64Array | undefined)[] = header.map(() => new Float64Array(capacity));
  const keep = header.map((name) => options.keepText?.includes(name) ?? false);
  const cells: (string[] | undefined)[] = keep.map((k) => (k ? [] : undefined));
  const notNumeric: (NotNumeric | undefined)[] = new Array<NotNumeric | undefined>(width).fill(undefined);
  /** Rows before the one that made a column text: their text is read in a second pass. */
  const textFrom = new Int32Array(width);
  const firstEmptyLine = new Int32Array(width);
  const someNumbers = new Uint8Array(width);
  /** A cell neither a number, empty nor a missing-value marker was seen. */
  const someText = new Uint8Array(width);

  let row = 0;
  while (scanner.nextRecord()) {
    const line = scanner.recordLine;
    let c = 0;
    do {
      scanner.cell();
      if (c < width) {
        const col = values[c];
        if (col !== undefined) {
          if (scanner.start === scanner.end) {
            if (firstEmptyLine[c] === 0) firstEmptyLine[c] = line;
          } else {
            const v = scanner.escaped ? NaN : parseNumber(text, scanner.start, scanner.end);
            if (Number.isFinite(v)) {
              col[row] = v;
              someNumbers[c] = 1;
            } else {
              // The column is text from here on; earlier rows' text comes in a second pass.
              values[c] = undefined;
              notNumeric[c] = { line, value: scanner.value(), someNumbers: false, onlyMissing: false };
              if (!isMissingMarker(notNumeric[c]!.value)) someText[c] = 1;
              if (!keep[c]) {
                cells[c] = [notNumeric[c]!.value];
                textFrom[c] = row;
              }
            }
          }
          if (keep[c]) cells[c]!.push(scanner.value());
        } else {
          const cell = scanner.value();
          cells[c]!.push(cell);
          // Until both are known: does the column hold numbers too, and text that is not a missing value?
          if ((someNumbers[c] === 0 || someText[c] === 0) && cell !== '') {
            if (Number.isFinite(scanner.escaped ? NaN : parseNumber(text, scanner.start, scanner.end))) someNumbers[c] = 1;
            else if (!isMissingMarker(cell)) someText[c] = 1;
          }
        }
      }
      c++;
    } while (!scanner.endOfRecord);
    if (c !== width) {
      throw new UserError(field, `${shownPath} line ${line} has ${c} cells, the header has ${width}`, 'give every row one cell per column');
    }
    row++;
  }
  const rowCount = row;
  if (rowCount === 0) {
    throw new UserError(field, `${shownPath} has a header but no data rows`, 'add data rows');
  }

  // Empty cells: an error in a column of numbers; a column of empty cells only is text.
  let empty: { line: number; c: number } | undefined;
  for (let c = 0; c < width; c++) {
    if (values[c] === undefined || firstEmptyLine[c] === 0) continue;
    if (someNumbers[c]) {
      if (!empty || firstEmptyLine[c]! < empty.line) empty = { line: firstEmptyLine[c]!, c };
    } else {
      values[c] = undefined;
      notNumeric[c] = { line: firstEmptyLine[c]!, value: '', someNumbers: false, onlyMissing: true };
      if (!keep[c]) cells[c] = new Array<string>(rowCount).fill('');
    }
  }
  if (empty) {
    throw new UserError(
      field,
      `${shownPath} line ${empty.line}, column "${header[empty.c]}" is empty, among numbers`,
      'fill or drop missing values: every cell of a numeric column needs a number',
    );
  }

  // Columns that turned text after rows of numbers: read those rows' text.
  const late = textFrom.reduce((most, r) => Math.max(most, r), 0);
  if (late > 0) {
    const prefix: (string[] | undefined)[] = header.map((_, c) => (textFrom[c]! > 0 ? [] : undefined));
    const again = new Scanner(text, firstRecord, invalid, firstLine);
    for (let r = 0; r < late && again.nextRecord(); r++) {
      let c = 0;
      do {
        again.cell();
        if (r < textFrom[c]!) prefix[c]!.push(again.value());
        c++;
      } while (!again.endOfRecord);
    }
    prefix.forEach((p, c) => {
      if (p) cells[c] = p.concat(cells[c]!);
    });
  }

  for (let c = 0; c < width; c++) {
    const col = values[c];
    // A view, not a copy: the room left over is a few blank lines' worth.
    if (col !== undefined && col.length !== rowCount) values[c] = col.subarray(0, rowCount);
    const bad = notNumeric[c];
    if (bad) notNumeric[c] = { ...bad, someNumbers: someNumbers[c] === 1, onlyMissing: someText[c] === 0 };
  }
  const anyText = cells.some((t) => t !== undefined);
  const anyNotNumeric = notNumeric.some((n) => n !== undefined);
  return {
    path,
    shown: shownPath,
    columns: header,
    rowCount,
    values,
    ...(anyNotNumeric ? { notNumeric } : {}),
    ...(anyText ? { text: cells } : {}),
  };
}

function countOf(text: string, char: string): number {
  let n = 0;
  for (let i = text.indexOf(char); i >= 0; i = text.indexOf(char, i + 1)) n++;
  return n;
}

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;

/**
 * Walks CSV text cell by cell without copying it: a cell is `text[start,
 * end)` (inside the quotes when quoted, spaces around it trimmed). A quote
 * inside an unquoted cell is taken as is; blank lines are skipped.
 */
class Scanner {
  /** Where the next cell (or record) starts. */
  pos: number;
  /** The line `pos` is on. */
  line: number;
  /** The line the current record starts on. */
  recordLine = 0;
  start = 0;
  end = 0;
  /** The cell is quoted and holds doubled quotes. */
  escaped = false;
  /** The cell just read is the last of its record. */
  endOfRecord = false;

  constructor(
    private readonly text: string,
    pos: number,
    private readonly invalid: (problem: string) => Error,
    line = 1,
  ) {
    this.pos = pos;
    this.line = line;
  }

  /** Moves to the next record that is not blank; false at the end of the text. */
  nextRecord(): boolean {
    const { text } = this;
    const n = text.length;
    for (;;) {
      let p = this.pos;
      while (p < n && (text.charCodeAt(p) === SPACE || text.charCodeAt(p) === TAB)) p++;
      if (p >= n) {
        this.pos = n;
        return false;
      }
      const ch = text.charCodeAt(p);
      if (ch === LF || ch === CR) {
        this.pos = ch === CR && text.charCodeAt(p + 1) === LF ? p + 2 : p + 1;
        this.line++;
        continue;
      }
      this.recordLine = this.line;
      return true;
    }
  }

  /** Reads the next cell of the current record. */
  cell(): void {
    const { text } = this;
    const n = text.length;
    let p = this.pos;
    while (p < n && (text.charCodeAt(p) === SPACE || text.charCodeAt(p) === TAB)) p++;
    this.escaped = false;
    if (p < n && text.charCodeAt(p) === QUOTE) {
      const opened = this.line;
      this.start = ++p;
      for (;;) {
        if (p >= n) throw this.invalid(`the quote opened on line ${opened} is never closed`);
        const ch = text.charCodeAt(p);
        if (ch === QUOTE) {
          if (text.charCodeAt(p + 1) === QUOTE) {
            this.escaped = true;
            p += 2;
            continue;
          }
          break;
        }
        if (ch === LF || (ch === CR && text.charCodeAt(p + 1) !== LF)) this.line++;
        p++;
      }
      this.end = p++;
      while (p < n && (text.charCodeAt(p) === SPACE || text.charCodeAt(p) === TAB)) p++;
      if (p < n) {
        const ch = text.charCodeAt(p);
        if (ch !== COMMA && ch !== LF && ch !== CR) {
          throw this.invalid(`line ${this.line} has text after the closing quote of a cell`);
        }
      }
    } else {
      this.start = p;
      while (p < n) {
        const ch = text.charCodeAt(p);
        if (ch === COMMA || ch === LF || ch === CR) break;
        p++;
      }
      let e = p;
      while (e > this.start && (text.charCodeAt(e - 1) === SPACE || text.charCodeAt(e - 1) === TAB)) e--;
      this.end = e;
    }
    // At a comma, a line break or the end of the text.
    if (p >= n) {
      this.endOfRecord = true;
      this.pos = n;
      return;
    }
    const ch = text.charCodeAt(p);
    if (ch === COMMA) {
      this.endOfRecord = false;
      this.pos = p + 1;
    } else {
      this.endOfRecord = true;
      this.pos = ch === CR && text.charCodeAt(p + 1) === LF ? p + 2 : p + 1;
      this.line++;
    }
  }

  /** The current cell's text, unquoted. */
  value(): string {
    const s = this.text.slice(this.start, this.end);
    return this.escaped ? s.replace(/""/g, '"') : s;
  }
}

/** Powers of ten a double holds exactly. */
const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * `Number(text.slice(start, end))` without the slice for the usual decimal
 * forms (`-12`, `3.25`, `.5`, `6.02e23`): at most 15 significant digits and a
 * power of ten within ±22 are exact doubles, so one multiplication or
 * division rounds correctly (Clinger's fast path). Anything else falls back
 * to `Number`, so both accept the same cells and give the same value.
 */
export function parseNumber(text: string, start: number, end: number): number {
  let i = start;
  let ch = text.charCodeAt(i);
  let negative = false;
  if (ch === 45 /* - */ || ch === 43 /* + */) {
    negative = ch === 45;
    i++;
  }
  let mantissa = 0;
  let significant = 0;
  let digits = 0;
  let exponent = 0;
  while (i < end) {
    ch = text.charCodeAt(i);
    if (ch < 48 || ch > 57) break;
    digits++;
    if (mantissa !== 0 || ch !== 48) {
      mantissa = mantissa * 10 + (ch - 48);
      significant++;
    }
    i++;
  }
  if (i < end && ch === 46 /* . */) {
    i++;
    while (i < end) {
      ch = text.charCodeAt(i);
      if (ch < 48 || ch > 57) break;
      digits++;
      if (mantissa !== 0 || ch !== 48) {
        mantissa = mantissa * 10 + (ch - 48);
        significant++;
      }
      exponent--;
      i++;
    }
  }
  if (digits === 0 || significant > 15) return Number(text.slice(start, end));
  if (i < end && (ch === 101 /* e */ || ch === 69 /* E */)) {
    i++;
    let sign = 1;
    ch = text.charCodeAt(i);
    if (ch === 45 || ch === 43) {
      if (ch === 45) sign = -1;
      i++;
    }
    let e = 0;
    let expDigits = 0;
    while (i < end) {
      ch = text.charCodeAt(i);
      if (ch < 48 || ch > 57 || expDigits > 4) break;
      e = e * 10 + (ch - 48);
      expDigits++;
      i++;
    }
    if (expDigits === 0) return Number(text.slice(start, end));
    exponent += sign * e;
  }
  if (i !== end) return Number(text.slice(start, end));
  let v: number;
  if (mantissa === 0) v = 0;
  else if (exponent >= 0 && exponent <= 22) v = mantissa * POW10[exponent]!;
  else if (exponent < 0 && exponent >= -22) v = mantissa / POW10[-exponent]!;
  else return Number(text.slice(start, end));
  return negative ? -v : v;
}
