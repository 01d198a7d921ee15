import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { UserError } from '../errors';

/** A numeric table read from a CSV file with a header row, stored by column. */
export interface Table {
  readonly path: string;
  /** The path as shown to the user (relative to the working directory); `path` when absent. */
  readonly shown?: string;
  readonly columns: readonly string[];
  readonly rowCount: number;
  /** One array per column, in `columns` order. */
  readonly values: readonly Float64Array[];
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

/**
 * Reads a CSV whose first row names the columns and whose cells are all
 * numbers. `field` is the study-file field that named the file, so errors
 * point at both (`data.train: data/train.csv line 14, column "x3": …`).
 */
export function readCsvTable(path: string, shownPath: string, field: string): Table {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(field, readProblem(err, shownPath), 'give a readable CSV file, its path relative to the study file');
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { info: true, skip_empty_lines: true, trim: true, bom: true }) as unknown as typeof records;
  } catch (err) {
    throw new UserError(field, `${shownPath} is not valid CSV: ${(err as Error).message}`, 'fix the CSV file');
  }
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
  const values = header.map(() => new Float64Array(rows.length));
  rows.forEach(({ record, info }, r) => {
    // csv-parse reports the line a record ends on; records here never span lines.
    const line = info.lines;
    if (record.length !== header.length) {
      throw new UserError(
        field,
        `${shownPath} line ${line} has ${record.length} cells, the header has ${header.length}`,
        'give every row one cell per column',
      );
    }
    record.forEach((cell, c) => {
      const v = cell === '' ? NaN : Number(cell);
      if (!Number.isFinite(v)) {
        throw new UserError(
          field,
          `${shownPath} line ${line}, column "${header[c]}": ${JSON.stringify(cell)} is not a finite number`,
          'make every cell numeric: encode categories as numbers, fill or drop missing values',
        );
      }
      values[c]![r] = v;
    });
  });
  return { path, shown: shownPath, columns: header, rowCount: rows.length, values };
}
