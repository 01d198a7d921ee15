import { closeSync, openSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { notNumericProblem, readCsvTable, readProblem, type Table } from '../data/csv';
import { UserError } from '../errors';
import { closestMatch } from '../space/suggest';
import { initBackend } from '../trials/backend';
import type { BackendName } from '../trials/backend-names';
import { loadExport, predictColumns, predictionErrors } from '../trials/predict';
import { num } from './format';

export interface PredictArgs {
  /** A directory written by `tune export`. */
  readonly dir: string;
  readonly csv: string;
  /** Default: stdout. */
  readonly out?: string;
  /** Metrics as JSON on stdout (when the predictions go to `--out`). */
  readonly json: boolean;
  readonly backend?: BackendName;
  /** CSV columns copied, as written, into the output before the predictions (e.g. an id to join on). */
  readonly keep?: readonly string[];
}

/**
 * `tune predict DIR data.csv`: the exported model's predictions for a CSV's
 * rows, in the targets' own units, one column per target, after the columns
 * `--keep` names (copied as written). Other columns, numeric or not, are
 * ignored. When the CSV also holds the targets, MAE and MSE as trials report
 * them go to stderr.
 */
export async function predictCommand(args: PredictArgs): Promise<number> {
  if (args.json && args.out === undefined) {
    throw new UserError('--json', 'the predictions already go to stdout', 'pass --out FILE to have the metrics as JSON on stdout');
  }
  try {
    // Readable at all? (readCsvTable's own message speaks of study files.)
    const fd = openSync(args.csv, 'r');
    try {
      readSync(fd, Buffer.alloc(1), 0, 1, 0);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw new UserError('', readProblem(err, args.csv), 'give the path of a readable CSV file');
  }
  const keep = [...new Set(args.keep ?? [])];
  const table = readCsvTable(args.csv, args.csv, '', { keepText: keep });
  for (const name of keep) {
    if (!table.columns.includes(name)) {
      const close = closestMatch(name, table.columns);
      throw new UserError(
        '--keep',
        `${args.csv} has no column "${name}" (its columns: ${table.columns.join(', ')})`,
        close !== undefined ? `did you mean ${close}?` : 'name a column of the CSV header',
      );
    }
  }
  await initBackend(args.backend);
  const loaded = await loadExport(args.dir);
  try {
    const { features, targets } = loaded.preprocessing;
    const clash = keep.find((name) => targets.includes(name));
    if (clash !== undefined) {
      throw new UserError(
        '--keep',
        `"${clash}" names a target: the output already has a column "${clash}", the predictions`,
        `keep other columns (the targets are ${targets.join(', ')})`,
      );
    }
    const featureColumns = features.map((f) => column(table, f, 'feature', features));
    const predictions = await predictColumns(loaded, featureColumns, table.rowCount);
    const t = targets.length;
    const kept = keep.map((name) => table.text![table.columns.indexOf(name)]!);
    const lines = [[...keep, ...targets].map(csvCell).join(',')];
    for (let i = 0; i < table.rowCount; i++) {
      const row: string[] = [];
      for (const cells of kept) row.push(csvCell(cells[i]!));
      for (let k = 0; k < t; k++) row.push(String(predictions[i * t + k]!));
      lines.push(row.join(','));
    }
    const text = `${lines.join('\n')}\n`;
    if (args.out !== undefined) {
      writeFileSync(`${args.out}.partial`, text);
      renameSync(`${args.out}.partial`, args.out);
    } else {
      process.stdout.write(text);
    }

    const present = targets.filter((name) => table.columns.includes(name));
    const notNumeric = present.map((name) => notNumericProblem(table, name)).filter((p) => p !== undefined);
    if (present.length === targets.length && notNumeric.length === 0) {
      const metrics = predictionErrors(
        predictions,
        targets.map((name) => column(table, name, 'target', targets)),
        table.rowCount,
      );
      process.stderr.write(`${args.csv}: ${table.rowCount} rows, mae ${num(metrics.mae)}, mse ${num(metrics.mse)} (targets' units)\n`);
      if (args.json) process.stdout.write(`${JSON.stringify({ rows: table.rowCount, ...metrics }, null, 2)}\n`);
    } else {
      if (notNumeric.length > 0) {
        process.stderr.write(`${notNumeric.join('; ')}: no metrics\n`);
      } else if (present.length > 0) {
        process.stderr.write(
          `${args.csv} holds only some targets (${present.join(', ')}; missing ${targets.filter((n) => !present.includes(n)).join(', ')}): no metrics\n`,
        );
      }
      if (args.json) process.stdout.write(`${JSON.stringify({ rows: table.rowCount }, null, 2)}\n`);
    }
    return 0;
  } finally {
    loaded.model.dispose();
  }
}

function column(table: Table, name: string, kind: 'feature' | 'target', all: readonly string[]): Float64Array {
  const c = table.columns.indexOf(name);
  if (c < 0) {
    const close = closestMatch(name, table.columns);
    throw new UserError(
      '',
      `${table.shown ?? table.path} has no column "${name}", a ${kind} of the model (its columns: ${table.columns.join(', ')})`,
      `${close !== undefined ? `rename ${close}? ` : ''}give a CSV with the model's ${kind} columns: ${all.join(', ')}`,
    );
  }
  const values = table.values[c];
  if (!values) {
    throw new UserError('', `${notNumericProblem(table, name)!}, and it is a ${kind} of the model`, `give a CSV whose ${kind} columns hold numbers`);
  }
  return values;
}

/** A CSV cell: quoted when it holds a comma, quote or line break, or starts or ends with a space. */
function csvCell(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
