import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { mostlyLinearRows, BIN, runTune, tempDir, writeCsv as writeCsvRows, writeStudy as writeStudyIn } from '../helpers/cli';

/** End-to-end: `bin/tune.js` as a real process, real CSV files, a real SQLite file. */
const dir = tempDir('tune-run-');
const tune = (...args: string[]) => runTune(args, dir);

function ok(...args: string[]): string {
  const r = tune(...args);
  assert.equal(r.status, 0, `tune ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

interface TopRow {
  number: number;
  state: string;
  value: number;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  epochs: number;
  stop_reason: string;
  duration_s: number;
  backend: string;
}

function top(db: string, ...extra: string[]): TopRow[] {
  return (JSON.parse(ok('top', '--storage', db, '--json', '-n', '100', ...extra)) as { trials: TopRow[] }).trials;
}

/** y = x0 − 0.5·x1 + 0.3·sin(2·x2): small, mostly linear, a nonlinear part. */
function writeCsv(name: string, rows: number, seed: string): void {
  writeCsvRows(dir, name, mostlyLinearRows(rows, seed));
}

function writeStudy(name: string, yaml: string): string {
  writeStudyIn(dir, name, yaml);
  return name;
}

const RANDOM_STUDY = `
name: tiny-random
seed: 7
data:
  train: train.csv
  split: 0.25
  test: test.csv
  targets: [y]
objective: { metric: val_mae, direction: min }
strategy: { kind: random, max_trials: 3 }
space:
  layers: { type: int, min: 1, max: 2 }
  units: { type: int, min: 4, max: 12, step: 4 }
  optimizer: { type: choice, values: [sgd, momentum, adam] }
  momentum: { type: float, min: 0.5, max: 0.9, when: { optimizer: [momentum] } }
  learning_rate: { type: float, min: 1.0e-3, max: 3.0e-2, sampling: log }
  dropout: { type: float, min: 0.0, max: 0.2 }
  batch_size: 16
  epochs: 6
callbacks:
  - early_stopping: { monitor: val_loss, min_delta: 0.0005, patience: 2, restore_best_weights: true }
  - reduce_lr_on_plateau: { monitor: loss, factor: 0.5, patience: 1, min_lr: 1.0e-4 }
`;

describe('tune run, end to end', () => {
  before(() => {
    writeCsv('train.csv', 120, 'train');
    writeCsv('test.csv', 40, 'test');
    writeStudy('random.yaml', RANDOM_STUDY);
  });

  test('a random study with split, test file and both callbacks runs its trials; top ranks them', () => {
    const out = ok('run', 'random.yaml', '--storage', 'random.db');
    assert.match(out, /backend (wasm|tensorflow|cpu)/);
    assert.equal(out.split('\n').filter((l) => /^trial \d\/3 /.test(l)).length, 3, out);
    const rows = top('random.db');
    assert.equal(rows.length, 3);
    assert.deepEqual(rows.map((r) => r.state), ['complete', 'complete', 'complete']);
    assert.deepEqual([...rows.map((r) => r.number)].sort(), [0, 1, 2]);
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1]!.metrics.val_mae! <= rows[i]!.metrics.val_mae!);
    for (const r of rows) {
      assert.ok(Number.isFinite(r.metrics.val_mae) && Number.isFinite(r.metrics.test_mae), JSON.stringify(r.metrics));
      assert.equal(r.value, r.metrics.val_mae);
      assert.ok(r.epochs >= 1 && r.epochs <= 6);
      assert.ok(['max_epochs', 'early_stopping'].includes(r.stop_reason));
      assert.ok(r.duration_s > 0);
      assert.equal('momentum' in r.params, r.params.optimizer === 'momentum');
    }

    // Human views of the same storage.
    const human = ok('top', '--storage', 'random.db');
    assert.match(human, /tiny-random: top 3 by val_mae/);
    // The linear baseline is a row of its own, with as many cells as a trial's, and each trial its ratio to it.
    const cells = (line: string): string[] => line.split('│').slice(1, -1);
    const tableRows = human.split('\n').filter((l) => l.startsWith('│'));
    assert.match(tableRows[0]!, /│ vs_linear │/);
    const linearRow = tableRows.find((l) => /^│ linear /.test(l));
    assert.ok(linearRow, human);
    for (const row of tableRows) assert.equal(cells(row).length, cells(tableRows[0]!).length, row);
    const json = JSON.parse(ok('top', '--storage', 'random.db', '--json')) as {
      baseline: { kind: string; metrics: Record<string, number> };
      trials: { vs_linear: number; metrics: Record<string, number> }[];
    };
    assert.equal(json.baseline.kind, 'least_squares');
    for (const k of ['mae', 'val_mae', 'mse', 'val_mse']) assert.ok(json.baseline.metrics[k]! > 0, k);
    for (const t of json.trials) assert.ok(Math.abs(t.vs_linear - t.metrics['val_mae']! / json.baseline.metrics['val_mae']!) < 1e-12);
    const shown = ok('show', String(rows[0]!.number), '--storage', 'random.db');
    assert.match(shown, /parameters:[\s\S]*learning_rate[\s\S]*history/);
    const history = JSON.parse(ok('show', '0', '--storage', 'random.db', '--json')).history as unknown[];
    assert.equal(history.length, rows.find((r) => r.number === 0)!.epochs);
    const studies = JSON.parse(ok('studies', '--storage', 'random.db', '--json'));
    assert.deepEqual(studies[0].trials, { running: 0, complete: 3, failed: 0, interrupted: 0 });
    // The study's linear baseline on its objective, as stored before the first trial.
    assert.equal(studies[0].linear, json.baseline.metrics['val_mae']);
    assert.match(ok('studies', '--storage', 'random.db'), /│ vs_linear │[\s\S]*│ tiny-random .*│ [\d.]+ +│ [\d.]+ +│ [\d.]+ +│/);
  });

  test('the same study into two fresh storages gives identical parameters and val_mae', () => {
    ok('run', 'random.yaml', '--storage', 'twin-a.db');
    ok('run', 'random.yaml', '--storage', 'twin-b.db');
    const strip = (rows: TopRow[]) => rows.map((r) => ({ number: r.number, params: r.params, metrics: r.metrics }));
    assert.deepEqual(strip(top('twin-a.db')), strip(top('twin-b.db')));
  });

  test('re-running a finished study says it is complete; --max-trials extends it', () => {
    ok('run', 'random.yaml', '--storage', 'again.db');
    const again = ok('run', 'random.yaml', '--storage', 'again.db');
    assert.match(again, /is complete/);
    assert.equal(top('again.db').length, 3);
    ok('run', 'random.yaml', '--storage', 'again.db', '--max-trials', '4');
    const rows = top('again.db');
    assert.equal(rows.length, 4);
    // The first three are untouched by the extension: trial k depends only on the seed and k.
    const first = top('twin-a.db');
    for (const r of first) assert.deepEqual(rows.find((x) => x.number === r.number)!.params, r.params);
  });

  test('comments and key order are not changes: the study is still complete', () => {
    ok('run', 'random.yaml', '--storage', 'cosmetic.db');
    const lines = RANDOM_STUDY.split('\n');
    const seed = lines.findIndex((l) => l.startsWith('seed:'));
    const name = lines.findIndex((l) => l.startsWith('name:'));
    [lines[seed], lines[name]] = [lines[name]!, lines[seed]!];
    const reordered = `# the same study, reworded\n${lines.join('\n').replace('  layers: { type: int, min: 1, max: 2 }', '  layers: { max: 2, min: 1, type: int }  # swapped keys')}`;
    writeStudy('cosmetic.yaml', reordered);
    const out = ok('run', 'cosmetic.yaml', '--storage', 'cosmetic.db');
    assert.match(out, /is complete/);
  });

  test('a changed study is refused and names what changed; --overwrite replaces it', () => {
    ok('run', 'random.yaml', '--storage', 'changed.db', '--max-trials', '1');
    writeStudy('changed.yaml', RANDOM_STUDY.replace('max: 12, step: 4', 'max: 16, step: 4'));
    const r = tune('run', 'changed.yaml', '--storage', 'changed.db', '--max-trials', '1');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^tune: changed\.yaml: name: study "tiny-random" already exists .* different space .*--overwrite/);
    ok('run', 'changed.yaml', '--storage', 'changed.db', '--max-trials', '1', '--overwrite');
    assert.equal(top('changed.db').length, 1);
  });

  test('a grid over two choices of two values runs exactly four trials, one per combination', () => {
    writeStudy(
      'grid.yaml',
      `
name: tiny-grid
data: { train: train.csv, split: 0.25, targets: y }
strategy: { kind: grid }
space:
  activation: { type: choice, values: [relu, tanh] }
  optimizer: { type: choice, values: [sgd, adam] }
  layers: 1
  units: 4
  epochs: 2
`,
    );
    const out = ok('run', 'grid.yaml', '--storage', 'grid.db');
    assert.match(out, /grid exhausted/);
    const combos = top('grid.db').map((r) => `${r.params.activation}/${r.params.optimizer}`);
    assert.deepEqual(combos.sort(), ['relu/adam', 'relu/sgd', 'tanh/adam', 'tanh/sgd']);
  });

  test('reading commands refuse a storage that does not exist, and do not create it', () => {
    for (const args of [['top'], ['show', '0'], ['studies']]) {
      const r = tune(...args, '--storage', 'typo.db');
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(r.stderr, 'tune: --storage: no storage at typo.db (fix: run a study first (tune run STUDY.yaml) or pass --storage FILE)\n');
      assert.equal(existsSync(join(dir, 'typo.db')), false);
    }
  });

  test('on a terminal a live line shows trial k/N, epoch, loss, best and ETA; in a pipe, one line per trial', () => {
    // util-linux `script` gives the child a pseudo-terminal, as a user's shell would.
    const { CI: _ci, ...env } = process.env;
    const cmd = `${process.execPath} ${BIN} run random.yaml --storage tty.db --max-trials 2`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', cwd: dir, env });
    assert.equal(r.status, 0, r.stderr);
    // The bar redraws at most ~10 times a second, so not every epoch is drawn.
    assert.match(r.stdout, /trial 1\/2 \|[=-]+\| epoch/);
    // Best so far, with its ratio to the study's linear baseline.
    assert.match(r.stdout, /trial 2\/2 \|[=-]+\| epoch \d+\/6 +loss [\d.]+ +best #\d val_mae=[\d.]+ \([\d.]+× linear\) +ETA \d+s/);
    const piped = ok('run', 'random.yaml', '--storage', 'pipe.db', '--max-trials', '2');
    assert.doesNotMatch(piped, /\r|\x1b\[/);
    const pipedLines = piped.trim().split('\n');
    assert.equal(pipedLines.length, 5, piped);
    assert.match(pipedLines[2]!, /^trial 2\/2 #1 .* best #\d [\d.]+ \([\d.]+× linear\)$/);
    // The run ends with the best trial against the study's linear baseline, on the objective and test.
    assert.match(pipedLines[4]!, /^best #\d+ val_mae [\d.]+ vs linear [\d.]+: [\d.]+× linear \(.+\); test_mae [\d.]+ vs [\d.]+: /);
  });

  test('--backend cpu is honoured and recorded on each trial', () => {
    ok('run', 'random.yaml', '--storage', 'cpu.db', '--max-trials', '1', '--backend', 'cpu');
    assert.deepEqual(top('cpu.db').map((r) => r.backend), ['cpu']);
  });
});
