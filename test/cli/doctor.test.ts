/**
 * End to end: `tune run` a tiny study set up like the seed post (SGD with a
 * tiny learning rate, early stopping on the training loss with min_delta
 * 0.0005), then `tune doctor` on its storage.
 *
 * `tune run` in this branch stores neither the linear baseline nor trial
 * diagnostics yet, so what is checked here is what a run already records:
 * callbacks, stop reasons and epoch histories, which the early-stopping rule
 * reads (it replays the study's callbacks on each history to tell which one
 * stopped it), and the report's header and "not checked" notes.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mostlyLinearRows, removeDir, runTune, tempDir, writeCsv, writeStudy } from '../helpers/cli';

let dir = '';
const tune = (...args: string[]) => runTune(args, dir);

function ok(...args: string[]): string {
  const r = tune(...args);
  assert.equal(r.status, 0, `tune ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** y = x0 − 0.5·x1 + 0.3·sin(2·x2): mostly linear, with a nonlinear part. */
const SEED_LIKE = `
name: seed-like
seed: 3
data: { train: train.csv, split: 0.25, targets: [y], standardize: true }
objective: { metric: val_mae, direction: min }
strategy: { kind: random, max_trials: 2 }
space:
  layers: 2
  units: { type: int, min: 8, max: 16, step: 8 }
  activation: relu
  initializer: he_normal
  optimizer: sgd
  learning_rate: 1.0e-6
  loss: mae
  batch_size: 32
  epochs: 30
callbacks:
  - reduce_lr_on_plateau: { monitor: loss, factor: 0.7, patience: 30, min_lr: 1.0e-4 }
  - early_stopping: { monitor: loss, min_delta: 0.0005, patience: 1 }
`;

const VALIDATED = `
name: validated
seed: 3
data: { train: train.csv, split: 0.25, targets: [y], standardize: true }
strategy: { kind: random, max_trials: 1 }
space: { layers: 1, units: 8, optimizer: adam, learning_rate: 0.003, batch_size: 32, epochs: 8 }
callbacks:
  - early_stopping: { monitor: val_loss, patience: 3, restore_best_weights: true }
`;

interface JsonReport {
  summary: { study: string; trials: number; counts: Record<string, number>; best?: { number: number; value: number } };
  findings: { rule: string; severity: string; title: string; evidence: string[]; fix: string }[];
  notes: string[];
}

describe('tune doctor, end to end', () => {
  before(() => {
    dir = tempDir('tune-doctor-');
    writeCsv(dir, 'train.csv', mostlyLinearRows(160, 'doctor'));
    writeStudy(dir, 'seed-like.yaml', SEED_LIKE);
    writeStudy(dir, 'validated.yaml', VALIDATED);
    ok('run', 'seed-like.yaml', '--storage', 'doc.db');
    ok('run', 'validated.yaml', '--storage', 'doc.db');
  });
  after(() => removeDir(dir));

  test('a seed-like study: early stopping on the training loss is the finding, with its evidence and fix', () => {
    const out = ok('doctor', '--storage', 'doc.db', '--study', 'seed-like');
    // Shown when run with TUNE_DOCTOR_ECHO=1, to read the report as a user would.
    if (process.env.TUNE_DOCTOR_ECHO) process.stderr.write(`\n${out}`);
    const lines = out.trimEnd().split('\n');
    assert.equal(lines[0], 'study seed-like: objective val_mae (min)');
    assert.equal(lines[1], 'trials: 2 (2 complete)');
    // tune run stored the study's linear baseline: the header compares with it.
    assert.match(lines[2]!, /^best: #[01], val_mae [\d.]+; linear model: val_mae [\d.]+ \(best ratio [\d.]+: \d+% worse\)$/);
    const at = lines.findIndex((l) => /^\d\. \[high\] Early stopping watches the training `loss` and ended trials while val_mae was still improving$/.test(l));
    assert.ok(at > 0, out);
    assert.match(
      lines[at + 1]!,
      /^ {3}- 2 of 2 trials were stopped by early_stopping on `loss` \(callbacks\[1\]: min_delta 0\.0005, patience 1\) after \d+(–\d+)? of 30 epochs while val_mae was still (falling \(by [\d.]+% over their last 5 epochs, median\)|at its best or within 2 epochs of it): #0, #1\.$/,
    );
    assert.ok(lines.includes('   fix: callbacks: - early_stopping: { monitor: val_loss, patience: 6, restore_best_weights: true }'), out);
    // A learning rate of 1e-6 leaves every trial far above the linear model.
    assert.ok(lines.some((l) => /^\d\. \[\w+\] No trial beats the linear model by more than 5% on val_mae$/.test(l)), out);
    // Every trial measured its ReLUs, so that check ran.
    assert.ok(!out.includes('dead-ReLU check was skipped'), out);
  });

  test('--json gives the same findings as data', () => {
    const report = JSON.parse(ok('doctor', '--storage', 'doc.db', '--study', 'seed-like', '--json')) as JsonReport;
    assert.equal(report.summary.study, 'seed-like');
    assert.deepEqual(report.summary.counts, { running: 0, complete: 2, failed: 0, interrupted: 0 });
    const f = report.findings.find((x) => x.rule === 'early-stopping');
    assert.ok(f, JSON.stringify(report.findings));
    assert.equal(f.severity, 'high');
    assert.match(f.fix, /^callbacks: - early_stopping: \{ monitor: val_loss,/);
    assert.ok(f.evidence.length >= 2);
  });

  test('early stopping on val_loss with restored weights is not flagged', () => {
    const report = JSON.parse(ok('doctor', '--storage', 'doc.db', '--study', 'validated', '--json')) as JsonReport;
    assert.equal(report.summary.trials, 1);
    assert.equal(report.findings.find((x) => x.rule === 'early-stopping'), undefined, JSON.stringify(report.findings));
  });

  test('with several studies and no --study it reads the most recent and says so on stderr', () => {
    const r = tune('doctor', '--storage', 'doc.db');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^study validated:/);
    assert.match(r.stderr, /holds 2 studies; showing the most recent, "validated" \(choose with --study NAME\)/);
  });

  test('a missing storage or study is one line and exit 2; nothing is created', () => {
    const missing = tune('doctor', '--storage', 'typo.db');
    assert.equal(missing.status, 2);
    assert.equal(missing.stderr, 'tune: --storage: no storage at typo.db (fix: run a study first (tune run STUDY.yaml) or pass --storage FILE)\n');
    assert.equal(existsSync(join(dir, 'typo.db')), false);
    const unknown = tune('doctor', '--storage', 'doc.db', '--study', 'nope');
    assert.equal(unknown.status, 2);
    assert.equal(unknown.stderr, 'tune: --study: no study named "nope" in doc.db (fix: use one of: validated, seed-like)\n');
  });
});
