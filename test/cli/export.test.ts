import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mostlyLinearRows, type Row, removeDir, runTune, tempDir, writeCsv, writeStudy } from '../helpers/cli';

/** End to end: `tune run` a tiny study, `tune export` a trial, `tune predict` with the export. */
const dir = tempDir('tune-export-cli-');
const tune = (...args: string[]) => runTune(args, dir);

function ok(...args: string[]): string {
  const r = tune(...args);
  assert.equal(r.status, 0, `tune ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** y = 5 + x0 − 0.5·x1 + 0.3·sin(2·x2), so the targets' units are not the standardized ones. */
function rows(n: number, seed: string, columns = ['x0', 'x1', 'x2', 'y']): Row[] {
  return mostlyLinearRows(n, seed, { columns, offset: 5 });
}

const STUDY = `
name: exported
seed: 11
data:
  train: train.csv
  split: 0.25
  test: test.csv
  targets: [y]
objective: { metric: val_mae, direction: min }
strategy: { kind: random, max_trials: 5 }
space:
  layers: { type: int, min: 1, max: 2 }
  units: { type: int, min: 4, max: 12, step: 4 }
  residual_of_linear: { type: choice, values: [true, false] }
  linear_skip: { type: choice, values: [true, false] }
  batch_norm: { type: choice, values: [true, false] }
  learning_rate: { type: float, min: 3.0e-3, max: 3.0e-2, sampling: log }
  batch_size: 16
  epochs: 5
`;

interface TrialJson {
  number: number;
  state: string;
  value: number;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
}

// The tests run in order and share the study and the export of its best trial (in best/).
describe('tune export and tune predict, end to end', () => {
  let ranked: TrialJson[];

  before(() => {
    writeCsv(dir, 'train.csv', rows(120, 'train'));
    writeCsv(dir, 'test.csv', rows(40, 'test'));
    writeStudy(dir, 'study.yaml', STUDY);
    ok('run', 'study.yaml');
    ranked = (JSON.parse(ok('top', '--json', '-n', '100')) as { trials: TrialJson[] }).trials;
    assert.equal(ranked.length, 5, 'every trial completed');
  });
  after(() => removeDir(dir));

  test("the best trial by default; predict's test metrics are show's test_mae and test_mse", () => {
    const manifest = JSON.parse(ok('export', '--out', 'best', '--json')) as Record<string, any>;
    const best = ranked[0]!;
    assert.equal(manifest.trial, best.number);
    assert.equal(manifest.study, 'exported');
    assert.deepEqual(manifest.params, best.params);
    assert.deepEqual(manifest.objective, { metric: 'val_mae', direction: 'min', value: best.value });
    for (const f of ['model.json', 'weights.bin', 'preprocessing.json', 'manifest.json']) assert.ok(existsSync(join(dir, 'best', f)), f);

    const r = tune('predict', 'best', 'test.csv', '--out', 'p.csv', '--json');
    assert.equal(r.status, 0, r.stderr);
    const metrics = JSON.parse(r.stdout) as { rows: number; mae: number; mse: number };
    assert.equal(metrics.rows, 40);
    assert.match(r.stderr, /^test\.csv: 40 rows, mae \S+, mse \S+ \(targets' units\)\n$/);
    const shown = JSON.parse(ok('show', String(best.number), '--json')) as TrialJson;
    const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
    assert.ok(rel(metrics.mae, shown.metrics.test_mae!) <= 1e-5, `mae ${metrics.mae} vs test_mae ${shown.metrics.test_mae}`);
    assert.ok(rel(metrics.mse, shown.metrics.test_mse!) <= 1e-5, `mse ${metrics.mse} vs test_mse ${shown.metrics.test_mse}`);

    // p.csv: one column named like the target, one row per input row, in the target's units.
    const lines = readFileSync(join(dir, 'p.csv'), 'utf8').trimEnd().split('\n');
    assert.equal(lines[0], 'y');
    assert.equal(lines.length, 41);
    const truth = rows(40, 'test').slice(1).map((row) => Number(row[3]));
    const mae = lines.slice(1).reduce((s, l, i) => s + Math.abs(Number(l) - truth[i]!), 0) / 40;
    assert.ok(rel(mae, shown.metrics.test_mae!) <= 1e-5, `p.csv's mae ${mae} vs test_mae ${shown.metrics.test_mae}`);
  });

  test('another kept trial exports; predictions go to stdout without --out', () => {
    const t = ranked[1]!;
    const out = ok('export', '--trial', String(t.number), '--out', `t${t.number}`);
    assert.match(out, new RegExp(`^exported trial ${t.number} of study exported \\(val_mae \\S+\\) to t${t.number}: `));
    const r = tune('predict', `t${t.number}`, 'test.csv');
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'y');
    assert.equal(lines.length, 41);
    // The message rounds to 4 digits.
    const mae = Number(/mae (\S+),/.exec(r.stderr)?.[1]);
    assert.ok(Math.abs(mae - t.metrics.test_mae!) <= 1e-3 * t.metrics.test_mae!, `trial ${t.number}: ${mae} vs ${t.metrics.test_mae}`);
  });

  test('a trial without a checkpoint is refused, naming the trials that have one', () => {
    const worst = ranked[ranked.length - 1]!;
    const r = tune('export', '--trial', String(worst.number), '--out', 'worst');
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`trial ${worst.number} of study exported has no stored weights: only the best 3 complete trials keep their weights`));
    const kept = ranked.slice(0, 3).map((t) => t.number).sort((a, b) => a - b);
    assert.match(r.stderr, new RegExp(`export one of trials ${kept.join(', ')} \\(--trial N\\)`));
    assert.equal(existsSync(join(dir, 'worst')), false, 'nothing written');

    const file = tune('export', '--out', 'test.csv');
    assert.equal(file.status, 2);
    assert.match(file.stderr, /--out: test\.csv is a file, not a directory/);

    const missing = tune('export', '--trial', '99', '--out', 'x');
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /study exported has no trial 99/);
  });

  test('a CSV without a feature column is refused, naming the column and the file', () => {
    writeCsv(dir, 'no-x1.csv', rows(5, 'nox1', ['x0', 'x2', 'y']));
    const r = tune('predict', 'best', 'no-x1.csv', '--out', 'q.csv');
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /no-x1\.csv has no column "x1"/);
    assert.equal(existsSync(join(dir, 'q.csv')), false);

    // Without the target the predictions still come, without metrics.
    writeCsv(dir, 'features.csv', rows(5, 'features', ['x2', 'x1', 'x0']));
    const p = tune('predict', 'best', 'features.csv');
    assert.equal(p.status, 0, p.stderr);
    assert.equal(p.stdout.trimEnd().split('\n').length, 6);
    assert.equal(p.stderr, '');

    const notExport = tune('predict', 'nowhere', 'test.csv');
    assert.equal(notExport.status, 2);
    assert.match(notExport.stderr, /nowhere is not a tune export/);
  });

  test('a study stored without its scalers is refused until one more tune run stores them', () => {
    const db = join(dir, 'tune.db');
    // As a storage written by a tune before studies kept their linear baseline and scalers.
    const raw = new Database(db);
    raw.prepare('UPDATE studies SET baseline_json = NULL').run();
    raw.close();
    const lost = runTune(['export', '--storage', db, '--out', 'lost'], dir);
    assert.equal(lost.status, 2, lost.stderr);
    assert.match(lost.stderr, /did not keep its scalers.*run `tune run STUDY\.yaml` on its study file once more/);
    assert.equal(existsSync(join(dir, 'lost')), false);
    ok('run', 'study.yaml');
    ok('export', '--out', 'again');
    assert.deepEqual(
      JSON.parse(readFileSync(join(dir, 'again', 'preprocessing.json'), 'utf8')),
      JSON.parse(readFileSync(join(dir, 'best', 'preprocessing.json'), 'utf8')),
    );
  });
});
