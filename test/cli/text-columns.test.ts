import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import seedrandom from 'seedrandom';
import { type Row, removeDir, runTune, tempDir, writeCsv, writeStudy } from '../helpers/cli';

/**
 * End to end: a CSV with columns the study does not use (an `id`, a `label`)
 * trains, with the features listed and without; `tune predict` ignores them
 * and copies the ones `--keep` names into its output.
 */
const dir = tempDir('tune-text-columns-');
const tune = (...args: string[]) => runTune(args, dir);

function ok(...args: string[]): string {
  const r = tune(...args);
  assert.equal(r.status, 0, `tune ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** `id, x0, label, x1, x2, y` (text columns between the numbers), or the numbers only. */
function rows(n: number, seed: string, withText = true): Row[] {
  const rng = seedrandom(seed);
  const table: Row[] = [withText ? ['id', 'x0', 'label', 'x1', 'x2', 'y'] : ['x0', 'x1', 'x2', 'y']];
  for (let i = 0; i < n; i++) {
    const x = [rng() * 2 - 1, rng() * 2 - 1, rng() * 2 - 1].map((v) => v.toFixed(5));
    const y = (3 + Number(x[0]) - 0.5 * Number(x[1]) + 0.3 * Number(x[2])).toFixed(5);
    const label = ['cat', 'dog', 'bird'][i % 3]!;
    // Ids that look like numbers first, then do not: the id column is text, and its cells are copied as written.
    const id = i < 3 ? `00${i}` : `${seed}-${i}`;
    table.push(withText ? [id, x[0]!, label, x[1]!, x[2]!, y] : [x[0]!, x[1]!, x[2]!, y]);
  }
  return table;
}

const study = (name: string, train: string, features?: string[]): string => `
name: ${name}
seed: 5
data:
  train: ${train}
  split: 0.25
  targets: [y]
${features ? `  features: [${features.join(', ')}]\n` : ''}objective: { metric: val_mae, direction: min }
strategy: { kind: random, max_trials: 1 }
space:
  layers: 1
  units: 4
  learning_rate: 0.01
  batch_size: 16
  epochs: 3
`;

interface Top {
  baseline: { value: number };
  trials: { number: number }[];
}

describe('CSV columns that are not numbers', () => {
  before(() => {
    writeCsv(dir, 'train.csv', rows(80, 'train'));
    writeCsv(dir, 'numbers.csv', rows(80, 'train', false));
    writeCsv(dir, 'new.csv', rows(12, 'new'));
  });
  after(() => removeDir(dir));

  test('without data.features the text columns are left out: the features and baseline of the numbers alone', () => {
    writeStudy(dir, 'default.yaml', study('default', 'train.csv'));
    writeStudy(dir, 'numbers.yaml', study('numbers', 'numbers.csv'));
    ok('run', 'default.yaml');
    ok('run', 'numbers.yaml');
    ok('export', '--study', 'default', '--out', 'default');
    const pre = JSON.parse(readFileSync(join(dir, 'default', 'preprocessing.json'), 'utf8')) as { features: string[]; targets: string[] };
    assert.deepEqual(pre.features, ['x0', 'x1', 'x2']);
    assert.deepEqual(pre.targets, ['y']);
    const withText = JSON.parse(ok('top', '--study', 'default', '--json')) as Top;
    const numbers = JSON.parse(ok('top', '--study', 'numbers', '--json')) as Top;
    assert.equal(withText.trials.length, 1);
    assert.equal(withText.baseline.value, numbers.baseline.value);
  });

  test('with data.features listing numeric columns only, it trains on those', () => {
    writeStudy(dir, 'explicit.yaml', study('explicit', 'train.csv', ['x2', 'x0']));
    ok('run', 'explicit.yaml');
    ok('export', '--study', 'explicit', '--out', 'explicit');
    const pre = JSON.parse(readFileSync(join(dir, 'explicit', 'preprocessing.json'), 'utf8')) as { features: string[] };
    assert.deepEqual(pre.features, ['x2', 'x0']);
  });

  test('predict ignores the text columns; --keep copies them, as written, before the predictions', () => {
    const plain = tune('predict', 'default', 'new.csv');
    assert.equal(plain.status, 0, plain.stderr);
    const predictions = plain.stdout.trimEnd().split('\n');
    assert.equal(predictions[0], 'y');
    assert.equal(predictions.length, 13);
    assert.match(plain.stderr, /^new\.csv: 12 rows, mae \S+, mse \S+/);

    // The option before the positional CSV takes one value only.
    const kept = tune('predict', 'default', '--keep', 'id', 'new.csv', '--keep', 'label', '--out', 'kept.csv');
    assert.equal(kept.status, 0, kept.stderr);
    const lines = readFileSync(join(dir, 'kept.csv'), 'utf8').trimEnd().split('\n');
    assert.equal(lines[0], 'id,label,y');
    const input = rows(12, 'new');
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(',').slice(0, 2)),
      input.slice(1).map((r) => [String(r[0]), String(r[2])]),
    );
    assert.equal(lines[1]!.split(',')[0], '000');
    // The same predictions as without --keep.
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(',')[2]),
      predictions.slice(1),
    );
  });

  test('--keep of a column the CSV lacks or of a target is refused; a text feature column is refused', () => {
    const missing = tune('predict', 'default', 'new.csv', '--keep', 'ID', '--out', 'no.csv');
    assert.equal(missing.status, 2);
    assert.equal(missing.stderr.trimEnd().split('\n').length, 1, missing.stderr);
    assert.match(missing.stderr, /--keep: new\.csv has no column "ID" \(its columns: id, x0, label, x1, x2, y\) \(fix: did you mean id\?\)/);
    const target = tune('predict', 'default', 'new.csv', '--keep', 'y', '--out', 'no.csv');
    assert.equal(target.status, 2);
    assert.match(target.stderr, /--keep: "y" names a target/);

    // x1 as text: the model needs it as numbers.
    writeCsv(
      dir,
      'text-x1.csv',
      rows(4, 'tx').map((r, i) => (i === 2 ? [r[0]!, r[1]!, r[2]!, 'high', r[4]!, r[5]!] : r)),
    );
    const text = tune('predict', 'default', 'text-x1.csv', '--out', 'no.csv');
    assert.equal(text.status, 2);
    assert.equal(text.stderr.trimEnd().split('\n').length, 1, text.stderr);
    assert.match(text.stderr, /column "x1" in text-x1\.csv is not numeric: line 3 holds "high", and it is a feature of the model/);
    assert.equal(existsSync(join(dir, 'no.csv')), false);
  });
});
