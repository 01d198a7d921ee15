import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { removeDir, runTune, tempDir, tinyRows, writeCsv, writeStudy } from '../helpers/cli';

/** End-to-end: a tiny real study in SQLite, then `tune plot` as a real process. */
const dir = tempDir('tune-plot-');
const tune = (...args: string[]) => runTune(args, dir);

const STUDY = `
name: tiny-plot
seed: 3
data:
  train: train.csv
  split: 0.25
  targets: [target]
objective: { metric: val_mae, direction: min }
strategy: { kind: random, max_trials: 4 }
space:
  layers: 1
  units: { type: choice, values: [4, 8] }
  learning_rate: { type: float, min: 1.0e-3, max: 3.0e-2, sampling: log }
  optimizer: { type: choice, values: [sgd, adam] }
  batch_size: 16
  epochs: 4
`;

describe('tune plot, end to end', () => {
  before(() => {
    writeCsv(dir, 'train.csv', tinyRows(60));
    writeStudy(dir, 'study.yaml', STUDY);
    const r = tune('run', 'study.yaml', '--storage', 'tune.db');
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => removeDir(dir));

  test('--out FILE.svg writes the chart', () => {
    const r = tune('plot', '--storage', 'tune.db', '--out', 'plot.svg');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'wrote plot.svg\n');
    const svg = readFileSync(join(dir, 'plot.svg'), 'utf8');
    assert.match(svg, /^<svg /);
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    for (const text of ['tune · study tiny-plot', '>epoch<', '>trial number<', '>learning_rate (log scale)<', 'mae (training)']) {
      assert.ok(svg.includes(text), `SVG shows ${text}`);
    }
    assert.ok(!svg.includes('>layers<'), 'no panel for a fixed parameter');
    // A panel for each choice the trials drew more than one value of, none for the others.
    const { trials } = JSON.parse(tune('top', '--storage', 'tune.db', '--json').stdout) as { trials: { params: Record<string, unknown> }[] };
    for (const name of ['units', 'optimizer']) {
      const varies = new Set(trials.map((t) => t.params[name])).size > 1;
      assert.equal(svg.includes(`>${name}<`), varies, `${name} ${varies ? 'varies: a panel' : 'is constant: no panel'}`);
    }
    // tune run stored the study's linear baseline: its rule is drawn and labelled.
    assert.ok(svg.includes('>linear '), 'no linear rule');
    assert.ok(!svg.includes('note: no linear baseline stored for this study'));
  });

  test('--out FILE.html writes a self-contained page with the SVG inline; --study and --top', () => {
    const r = tune('plot', '--storage', 'tune.db', '--study', 'tiny-plot', '--top', '2', '--out', 'plot.html');
    assert.equal(r.status, 0, r.stderr);
    const html = readFileSync(join(dir, 'plot.html'), 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.ok(html.includes('<svg '));
    assert.ok(html.includes('Learning curves of the best 2 trials'));
    assert.doesNotMatch(html, /<script|<link|src=/i);
  });

  test('an unknown extension: one line, exit 2, no file', () => {
    const r = tune('plot', '--storage', 'tune.db', '--out', 'plot.png');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^tune: --out: use \.svg or \.html/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.ok(!existsSync(join(dir, 'plot.png')));
  });

  test('an unknown study: exit 2, naming the ones there are', () => {
    const r = tune('plot', '--storage', 'tune.db', '--study', 'nope', '--out', 'x.svg');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no study named "nope".*tiny-plot/);
  });
});
