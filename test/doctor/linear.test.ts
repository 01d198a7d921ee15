import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { linearPartNotHandedRule, noBetterThanLinearRule, sameAsymptoteRule } from '../../src/doctor/rules/linear';
import type { DoctorInput } from '../../src/doctor/types';
import { curve, studyRecord, trial } from './builders';

const BASELINE = { mae: 0.128, mse: 0.03, val_mae: 0.13, val_mse: 0.031 };

/** Trials whose val_mae curves fall from 0.5 towards `ends[k]`. */
function input(ends: readonly number[], options: { baseline?: Record<string, number> | null; space?: Record<string, unknown>; metric?: string } = {}): DoctorInput {
  const trials = ends.map((end, k) =>
    trial(k, {
      params: { layers: 1 + (k % 3), units: 16 * (k + 1), learning_rate: 0.001 * (k + 1) },
      history: curve(30, (i) => {
        const v = end + (0.5 - end) * Math.exp(-i / 3);
        return { loss: v, mae: v * 0.95, val_loss: v, val_mae: v };
      }),
    }),
  );
  const baseline = options.baseline === null ? undefined : options.baseline ?? BASELINE;
  return {
    study: studyRecord({ ...(baseline ? { baseline } : {}), ...(options.space ? { space: options.space } : {}), ...(options.metric ? { metric: options.metric } : {}) }),
    trials,
  };
}

describe('no better than linear', () => {
  test('fires when the best trial is within 5% of the linear model, with the ratio', () => {
    const f = noBetterThanLinearRule(input([0.131, 0.127, 0.14, 0.2]));
    assert.ok(f);
    assert.equal(f.severity, 'high');
    assert.equal(f.title, 'No trial beats the linear model by more than 5% on val_mae');
    assert.equal(
      f.evidence[0],
      'The best of 4 complete trials, #1, reached val_mae 0.127; the linear model (least squares on the training split) gets 0.13: ratio 0.98, 2.3% better.',
    );
    assert.equal(f.evidence[1], '3 of 4 complete trials are worse than the linear model (median ratio 1.04): #0, #2, #3.');
    assert.equal(
      f.fix,
      'space: { residual_of_linear: true, linear_skip: { type: bool }, learning_rate: { type: float, min: 1.0e-4, max: 1.0e-2, sampling: log } }',
    );
  });

  test('the fix leaves out what the space already has and switches a fixed sgd to adam', () => {
    const space = { residual_of_linear: { type: 'bool' }, optimizer: { type: 'fixed', value: 'sgd' }, learning_rate: { type: 'float', min: 1e-4, max: 1e-2, sampling: 'log' } };
    const f = noBetterThanLinearRule(input([0.129], { space }));
    assert.equal(f?.fix, 'space: { linear_skip: { type: bool }, optimizer: adam }');
    assert.ok(f.evidence.some((e) => /already offers residual_of_linear/.test(e)));
  });

  test('does not fire when a trial is more than 5% better', () => {
    assert.equal(noBetterThanLinearRule(input([0.131, 0.12, 0.14])), undefined);
  });

  test('a loss objective is compared through its MAE counterpart', () => {
    const f = noBetterThanLinearRule(input([0.129, 0.135], { metric: 'val_loss' }));
    assert.match(f?.title ?? '', /on val_mae$/);
  });

  test('skips without a baseline or complete trials', () => {
    assert.equal(noBetterThanLinearRule(input([0.129], { baseline: null })), undefined);
    const i = input([0.129]);
    assert.equal(noBetterThanLinearRule({ ...i, trials: i.trials.map((t) => ({ ...t, state: 'failed' as const })) }), undefined);
    assert.equal(noBetterThanLinearRule({ ...i, trials: [] }), undefined);
  });
});

describe('same asymptote as the linear model', () => {
  test('fires when most trials end within 5% of the linear model whatever their size', () => {
    const f = sameAsymptoteRule(input([0.131, 0.128, 0.134, 0.127, 0.2]));
    assert.ok(f);
    assert.equal(f.severity, 'medium');
    assert.equal(f.title, "Most trials converge to the linear model's level (val_mae ≈ 0.13), whatever their size and optimizer settings");
    assert.equal(f.evidence[0], "4 of 5 complete trials ended with val_mae within 5% of the linear model's 0.13 (0.127–0.134): #0, #1, #2, #3.");
    assert.equal(f.evidence[1], 'They differ in layers 1–3, units 16–64, learning_rate 0.001–0.004 and still end at the same level: the networks learned the linear part and little else.');
    assert.match(f.evidence[2]!, /^Their val_mae curves went from 0\.5 after the first epoch to 0\.1[23]\d* and flattened there \(median change 0\.\d+% over the last 10 epochs or fewer\)\.$/);
    assert.equal(f.fix, 'space: { residual_of_linear: true, linear_skip: { type: bool } }');
  });

  test('does not fire when trials spread away from the linear level, or with too few trials', () => {
    assert.equal(sameAsymptoteRule(input([0.131, 0.1, 0.09, 0.2, 0.128])), undefined);
    assert.equal(sameAsymptoteRule(input([0.131, 0.13])), undefined);
    assert.equal(sameAsymptoteRule(input([0.131, 0.13, 0.129], { baseline: null })), undefined);
  });
});

describe('linear part not handed to the network', () => {
  test('fires on mostly linear data when the networks removed less than half the linear error without a linear path', () => {
    const f = linearPartNotHandedRule(input([0.09, 0.1, 0.12]));
    assert.ok(f);
    assert.equal(f.severity, 'medium');
    assert.match(f.title, /mostly linear .* the best removed only 31% of the linear model's error$/);
    // val_mse 0.031 against a target variance of 1 (standardized).
    assert.equal(f.evidence[0], "The linear model explains 97% of the target's variance on validation (val_mse 0.031).");
    assert.match(f.evidence[1]!, /^The best trial, #0, reached val_mae 0\.09\d* against the linear model's 0\.13 \(ratio 0\.69\); the 3 trials differ in /);
    assert.match(f.fix, /residual_of_linear: true/);
  });

  test('stays quiet when a trial had a linear path, when half the error is gone, or when the target is not mostly linear', () => {
    const withPath = input([0.09, 0.1]);
    const trials = withPath.trials.map((t, k) => (k === 1 ? { ...t, params: { ...t.params, residual_of_linear: true } } : t));
    assert.equal(linearPartNotHandedRule({ ...withPath, trials }), undefined);
    assert.equal(linearPartNotHandedRule(input([0.06, 0.1])), undefined);
    assert.equal(linearPartNotHandedRule(input([0.09], { baseline: { ...BASELINE, val_mse: 0.5 } })), undefined);
    // No better than linear at all is the other rule's finding, not this one's.
    assert.equal(linearPartNotHandedRule(input([0.128, 0.14])), undefined);
    assert.equal(linearPartNotHandedRule(input([0.09], { baseline: null })), undefined);
  });
});
