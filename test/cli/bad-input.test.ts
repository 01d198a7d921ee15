/**
 * End to end: every kind of bad input makes `tune` exit 2 with ONE line on
 * stderr that names the file and the field and says how to fix it, with no
 * stack trace, and leaves an existing storage file byte-for-byte unchanged.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type Row,
  type TuneResult,
  removeDir,
  runTune,
  sha256File,
  sqliteSideFiles,
  tempDir,
  tinyRows,
  tinyStudy,
  writeCsv,
  writeStudy,
} from '../helpers/cli';

let dir = '';
let db = '';
let dbHash = '';

/** Asserts the shape every user error shares and that storage is untouched; returns the line. */
function assertUserError(r: TuneResult, what: string): string {
  assert.equal(r.status, 2, `${what}: exit status ${r.status}, stderr: ${r.stderr}`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
  assert.ok(r.stderr.endsWith('\n'), `${what}: stderr ends with a newline: ${JSON.stringify(r.stderr)}`);
  const line = r.stderr.slice(0, -1);
  assert.notEqual(line.trim(), '', `${what}: stderr is empty`);
  assert.ok(!line.includes('\n'), `${what}: stderr is more than one line:\n${r.stderr}`);
  assert.ok(!/^\s+at /m.test(r.stderr), `${what}: stack trace on stderr`);
  assert.ok(line.startsWith('tune: '), `${what}: starts with "tune: ": ${line}`);
  assert.ok(line.includes('(fix: '), `${what}: says how to fix it: ${line}`);
  assert.ok(!line.includes('(fix: )'), `${what}: the fix is not empty: ${line}`);
  assert.ok(!/undefined|\[object Object\]/.test(line), `${what}: no leaked internals: ${line}`);
  assert.equal(sha256File(db), dbHash, `${what}: storage file changed`);
  assert.deepEqual(sqliteSideFiles(db), [], `${what}: SQLite side files left behind`);
  return line;
}

/** Asserts `line` contains each of `parts`, in order. */
function assertIncludesInOrder(line: string, parts: readonly string[]): void {
  let from = 0;
  for (const part of parts) {
    const at = line.indexOf(part, from);
    assert.ok(at >= 0, `expected ${JSON.stringify(part)} (in this order) in:\n${line}`);
    from = at + part.length;
  }
}

interface BadRun {
  /** The test's title, and (slugged) its study file's name. */
  readonly title: string;
  /** The study file's content (YAML text or an object), written as `<slug>.yaml`. */
  readonly study?: string | object;
  /** Extra files (CSV rows) to write next to it first. */
  readonly csv?: Readonly<Record<string, readonly Row[]>>;
  /** Run this path instead of the written study file. */
  readonly file?: string;
  /** Fragments the stderr line must hold, in this order (the first is usually `tune: FILE: FIELD`). */
  readonly expect: readonly string[];
}

/** A tiny valid study with `change` applied to a fresh copy. */
function study(change: (s: Record<string, any>) => void): Record<string, any> {
  const s = tinyStudy('bad');
  change(s);
  return s;
}

const slug = (title: string): string => title.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();

const VALID_TOP = 'name: bad\ndata: { train: train.csv, targets: [target] }\nstrategy: { kind: random, max_trials: 1 }\n';

/** Nine levels of nine-fold aliases: 9^9 ≈ 387 million strings if expanded. */
const ALIAS_BOMB = [
  'a: &a [x, x, x, x, x, x, x, x, x]',
  ...'bcdefghi'.split('').map((k, i) => {
    const prev = 'abcdefghi'[i]!;
    return `${k}: &${k} [${Array(9).fill(`*${prev}`).join(', ')}]`;
  }),
  '',
].join('\n');

const withBadCell = (): Row[] => {
  const rows = tinyRows();
  // Row index 5 is file line 7 (line 1 is the header).
  rows[6] = [rows[6]![0]!, 'n/a', rows[6]![2]!, rows[6]![3]!];
  return rows;
};

/** tinyRows with an `id` and a `label` text column around the numbers. */
const withTextColumns = (): Row[] =>
  tinyRows().map((row, i) => (i === 0 ? ['id', ...row, 'label'] : [`r${i - 1}`, ...row, i % 2 === 0 ? 'odd' : 'even']));

const withEmptyCell = (): Row[] => {
  const rows = tinyRows();
  // File line 9.
  rows[8] = [rows[8]![0]!, '', rows[8]![2]!, rows[8]![3]!];
  return rows;
};

const CASES: readonly BadRun[] = [
  {
    title: 'malformed YAML: unclosed bracket',
    study: `${VALID_TOP}space: { units: [4, 8\nseed: 3\n`,
    expect: ['tune: malformed-yaml-unclosed-bracket.yaml: line 4, column 17: ', 'malformed YAML', '[ is never closed', 'noticed at line 5', '(fix: close it with ])'],
  },
  {
    title: 'malformed YAML: bad indentation',
    study: 'name: bad\ndata:\n  train: train.csv\n targets: [target]\nstrategy: { kind: random, max_trials: 1 }\n',
    expect: ['tune: malformed-yaml-bad-indentation.yaml: line 4, column ', 'malformed YAML', 'same column', '(fix: indent this line'],
  },
  {
    title: 'duplicate key',
    study: `${VALID_TOP}space: { units: 4 }\nseed: 1\nseed: 2\n`,
    expect: ['tune: duplicate-key.yaml: line 6, column 1: ', 'key seed appears twice', '(fix: keep one of the two)'],
  },
  {
    title: 'alias bomb',
    study: ALIAS_BOMB,
    expect: ['tune: alias-bomb.yaml: ', 'line ', 'YAML aliases expand too far', 'billion laughs', '(fix: '],
  },
  {
    title: 'unknown top-level key stratgy',
    study: (() => {
      const s = tinyStudy('bad');
      const { strategy, ...rest } = s;
      return { ...rest, stratgy: strategy };
    })(),
    expect: ['tune: unknown-top-level-key-stratgy.yaml: stratgy: ', 'unknown key stratgy', '(fix: did you mean strategy?)'],
  },
  {
    title: 'unknown key data.tragets',
    study: study((s) => {
      s.data = { train: 'train.csv', tragets: ['target'] };
    }),
    expect: ['tune: unknown-key-data-tragets.yaml: data.tragets: ', 'unknown key tragets', '(fix: did you mean targets?)'],
  },
  {
    title: 'unknown space spec key mni',
    study: study((s) => {
      s.space.units = { type: 'int', mni: 2, max: 8 };
    }),
    expect: ['tune: unknown-space-spec-key-mni.yaml: space.units.mni: ', 'unknown key mni', '(fix: did you mean min?)'],
  },
  {
    title: 'unknown early_stopping key patiense',
    study: study((s) => {
      s.callbacks = [{ early_stopping: { monitor: 'loss', patiense: 3 } }];
    }),
    expect: [
      'tune: unknown-early-stopping-key-patiense.yaml: callbacks.0.early_stopping.patiense: ',
      'unknown key patiense',
      '(fix: did you mean patience?)',
    ],
  },
  {
    title: 'unknown callback kind cosine',
    study: study((s) => {
      s.callbacks = [{ cosine: {} }];
    }),
    expect: [
      'tune: unknown-callback-kind-cosine.yaml: callbacks.0.cosine: ',
      'unknown key cosine',
      '(fix: use one of: early_stopping, reduce_lr_on_plateau, warmup, cosine_decay)',
    ],
  },
  {
    title: 'warmup over 0 epochs',
    study: study((s) => {
      s.callbacks = [{ warmup: { epochs: 0 } }];
    }),
    expect: ['tune: warmup-over-0-epochs.yaml: callbacks.0.warmup.epochs: ', 'epochs must be ≥ 1 (got 0)', '(fix: use a value ≥ 1)'],
  },
  {
    title: 'residual_of_linear that is not a boolean',
    study: study((s) => {
      s.space.residual_of_linear = 3;
    }),
    expect: [
      'tune: residual-of-linear-that-is-not-a-boolean.yaml: space.residual_of_linear: ',
      'residual_of_linear must be true or false (got 3)',
    ],
  },
  {
    title: 'int param with min > max',
    study: study((s) => {
      s.space.units = { type: 'int', min: 32, max: 8 };
    }),
    expect: ['tune: int-param-with-min-max.yaml: space.units.min: ', 'min (32) is greater than max (8)', '(fix: swap min and max)'],
  },
  {
    title: 'log sampling from 0',
    study: study((s) => {
      s.space.learning_rate = { type: 'float', min: 0, max: 0.1, sampling: 'log' };
    }),
    expect: ['tune: log-sampling-from-0.yaml: space.learning_rate.min: ', 'log sampling needs min > 0', '(fix: ', 'sampling: linear'],
  },
  {
    title: 'grid over a float without step',
    study: study((s) => {
      s.strategy = { kind: 'grid' };
      s.space.learning_rate = 0.01;
      s.space.dropout = { type: 'float', min: 0, max: 0.5 };
    }),
    expect: ['tune: grid-over-a-float-without-step.yaml: space.dropout: ', 'grid', 'dropout is a float without step', '(fix: give it a step'],
  },
  {
    title: 'unknown strategy kind randon',
    study: study((s) => {
      s.strategy.kind = 'randon';
    }),
    expect: ['tune: unknown-strategy-kind-randon.yaml: strategy.kind: ', 'unknown kind "randon"', '(fix: did you mean random?)'],
  },
  {
    title: 'unknown objective metric val_mea',
    study: study((s) => {
      s.data.split = 0.25;
      s.objective = { metric: 'val_mea', direction: 'min' };
    }),
    expect: ['tune: unknown-objective-metric-val-mea.yaml: objective.metric: ', 'unknown metric "val_mea"', '(fix: did you mean val_mae?)'],
  },
  {
    title: 'unknown loss msee',
    study: study((s) => {
      s.space.loss = { type: 'choice', values: ['mae', 'msee'] };
    }),
    expect: ['tune: unknown-loss-msee.yaml: space.loss.values.1: ', 'loss must be one of mae, mse, huber (got "msee")', '(fix: did you mean mse?)'],
  },
  {
    title: 'unknown optimizer rmsprob',
    study: study((s) => {
      s.space.optimizer = { type: 'choice', values: ['adam', 'rmsprob'] };
    }),
    expect: ['tune: unknown-optimizer-rmsprob.yaml: space.optimizer.values.1: ', 'optimizer must be one of', '(got "rmsprob")', '(fix: did you mean rmsprop?)'],
  },
  {
    title: 'unknown activation sigmod',
    study: study((s) => {
      s.space.activation = 'sigmod';
    }),
    expect: ['tune: unknown-activation-sigmod.yaml: space.activation: ', 'activation must be one of', '(got "sigmod")', '(fix: did you mean sigmoid?)'],
  },
  {
    title: 'missing study file',
    file: 'no-such-study.yaml',
    expect: ['tune: no-such-study.yaml: ', 'the study file does not exist', '(fix: give the path of a readable YAML study file)'],
  },
  {
    title: 'study file is a directory',
    file: 'a-directory.yaml',
    expect: ['tune: a-directory.yaml: ', 'it is a directory', '(fix: '],
  },
  {
    title: 'missing data file',
    study: study((s) => {
      s.data.train = 'nowhere/train.csv';
    }),
    expect: ['tune: missing-data-file.yaml: data.train: ', 'nowhere/train.csv does not exist', '(fix: give a readable CSV file'],
  },
  {
    title: 'unreadable data file (a directory)',
    study: study((s) => {
      s.data.train = 'csv-dir.csv';
    }),
    expect: ['tune: unreadable-data-file-a-directory.yaml: data.train: ', 'cannot read csv-dir.csv', 'it is a directory', '(fix: give a readable CSV file'],
  },
  {
    title: 'missing target column',
    study: study((s) => {
      s.data.targets = ['tagret'];
    }),
    expect: ['tune: missing-target-column.yaml: data.targets: ', 'column "tagret" is not in train.csv', 'x1, x2, x3, target', '(fix: did you mean target?)'],
  },
  {
    title: 'missing feature column',
    study: study((s) => {
      s.data.features = ['x1', 'x4'];
    }),
    expect: ['tune: missing-feature-column.yaml: data.features: ', 'column "x4" is not in train.csv', 'x1, x2, x3, target', '(fix: name a column of the CSV header)'],
  },
  {
    title: 'non-numeric cell',
    csv: { 'bad-cell.csv': withBadCell() },
    study: study((s) => {
      s.data.train = 'bad-cell.csv';
    }),
    // x2 holds numbers but one: a numeric column with a missing value, not a text column to leave out.
    expect: [
      'tune: non-numeric-cell.yaml: data.features: ',
      'column "x2" in bad-cell.csv is not numeric: line 7 holds "n/a", a missing value among numbers',
      '(fix: fill or drop the missing values, or list data.features without it)',
    ],
  },
  {
    title: 'text column named as a feature',
    csv: { 'text-columns.csv': withTextColumns() },
    study: study((s) => {
      s.data.train = 'text-columns.csv';
      s.data.features = ['x1', 'label', 'x3'];
    }),
    expect: [
      'tune: text-column-named-as-a-feature.yaml: data.features: ',
      'column "label" in text-columns.csv is not numeric: line 2 holds "even"',
      '(fix: leave it out of data.features, or make every cell of it a number)',
    ],
  },
  {
    title: 'text column named as the target',
    csv: { 'text-columns.csv': withTextColumns() },
    study: study((s) => {
      s.data.train = 'text-columns.csv';
      s.data.targets = ['id'];
    }),
    expect: ['tune: text-column-named-as-the-target.yaml: data.targets: ', 'column "id" in text-columns.csv is not numeric: line 2 holds "r0"', '(fix: '],
  },
  {
    title: 'empty cell among numbers',
    csv: { 'empty-cell.csv': withEmptyCell() },
    study: study((s) => {
      s.data.train = 'empty-cell.csv';
      s.data.features = ['x1', 'x3'];
    }),
    expect: ['tune: empty-cell-among-numbers.yaml: data.train: ', 'empty-cell.csv line 9, column "x2" is empty', '(fix: fill or drop missing values'],
  },
  {
    title: 'negative units range',
    study: study((s) => {
      s.space.units = { type: 'int', min: -10, max: 20 };
    }),
    expect: ['tune: negative-units-range.yaml: space.units.min: ', 'units must be an integer ≥ 1 (got -10)', '(fix: make units.min an integer ≥ 1)'],
  },
  {
    title: 'negative fixed units',
    study: study((s) => {
      s.space.units = -5;
    }),
    expect: ['tune: negative-fixed-units.yaml: space.units: ', 'units must be an integer ≥ 1 (got -5)', '(fix: make units an integer ≥ 1)'],
  },
  {
    title: 'val objective without validation data',
    study: study((s) => {
      s.objective = { metric: 'val_mae', direction: 'min' };
    }),
    expect: ['tune: val-objective-without-validation-data.yaml: objective.metric: ', 'val_mae needs validation data', '(fix: add data.validation', 'data.split'],
  },
];

describe('tune exits 2 with one line on bad input, storage untouched', () => {
  before(() => {
    dir = tempDir('tune-bad-input-');
    db = join(dir, 'tune.db');
    writeCsv(dir, 'train.csv', tinyRows());
    writeStudy(dir, 'tiny.yaml', tinyStudy('tiny'));
    const r = runTune(['run', 'tiny.yaml', '--storage', 'tune.db'], dir);
    assert.equal(r.status, 0, `the valid tiny study failed: ${r.stderr}`);
    dbHash = sha256File(db);
    assert.deepEqual(sqliteSideFiles(db), [], 'a finished run leaves no SQLite side files');
    mkdirSync(join(dir, 'csv-dir.csv'));
    mkdirSync(join(dir, 'a-directory.yaml'));
  });

  after(() => removeDir(dir));

  for (const c of CASES) {
    test(c.title, (t) => {
      for (const [name, rows] of Object.entries(c.csv ?? {})) writeCsv(dir, name, rows);
      const file = c.file ?? `${slug(c.title)}.yaml`;
      if (c.study !== undefined) writeStudy(dir, file, c.study);
      const started = Date.now();
      const r = runTune(['run', file, '--storage', 'tune.db'], dir);
      const line = assertUserError(r, c.title);
      t.diagnostic(line);
      assertIncludesInOrder(line, c.expect);
      assert.ok(Date.now() - started < 15_000, `${c.title}: took ${Date.now() - started} ms`);
    });
  }

  test('top --study with an unknown name lists the known studies', (t) => {
    const line = assertUserError(runTune(['top', '--storage', 'tune.db', '--study', 'nosuch'], dir), 'top --study nosuch');
    t.diagnostic(line);
    assertIncludesInOrder(line, ['tune: --study: ', 'no study named "nosuch" in tune.db', '(fix: use one of: tiny)']);
  });

  test('show with a trial number the study does not have', (t) => {
    const line = assertUserError(runTune(['show', '99', '--storage', 'tune.db'], dir), 'show 99');
    t.diagnostic(line);
    assertIncludesInOrder(line, ['tune: N: ', 'study tiny has no trial 99', '(fix: give a trial number from 0 to 0)']);
  });
});
