import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { overfittingRule } from '../../src/doctor/rules/overfitting';
import type { DoctorTrial } from '../../src/doctor/types';
import { curve, studyRecord, trial } from './builders';

/** Training mae falls to `train`; val_mae bottoms at epoch 10 and then rises to `val`. */
function fitted(n: number, train: number, val: number): DoctorTrial {
  return trial(n, {
    history: curve(30, (i) => ({
      mae: train + 0.3 * Math.exp(-i / 5),
      val_mae: i <= 10 ? val * 0.9 + 0.3 * Math.exp(-i / 3) * (1 - i / 10) : val * 0.9 + ((i - 10) / 19) * val * 0.1,
    })),
    metrics: { mae: train, val_mae: val },
    value: val,
  });
}

describe('over-fitting', () => {
  test('fires when most of the best trials have val_mae ≥ 1.5× mae with a real gap', () => {
    const study = studyRecord({ baseline: { mae: 0.13, val_mae: 0.14 } });
    const trials = [fitted(0, 0.04, 0.12), fitted(1, 0.05, 0.125), fitted(2, 0.1, 0.13), fitted(3, 0.03, 0.135)];
    const f = overfittingRule({ study, trials });
    assert.ok(f);
    assert.equal(f.severity, 'high');
    assert.equal(f.title, 'The best trials over-fit: validation error is 2.50× or more their training error');
    assert.equal(f.evidence[0], '3 of the 4 best trials do much better on training than on validation data: #0 mae 0.04 vs val_mae 0.12 (×3.00), #1 mae 0.05 vs val_mae 0.125 (×2.50), #3 mae 0.03 vs val_mae 0.135 (×4.50).');
    assert.match(f.evidence[1]!, /^#0's val_mae bottomed at 0\.108 after epoch 11 and ended at 0\.12 after 30, while its training mae kept falling/);
    assert.ok(f.evidence.includes('The space has neither dropout nor l2: nothing holds the networks back.'));
    assert.match(f.fix, /^space: \{ dropout: \{ type: float, min: 0\.1, max: 0\.5 \}, l2:/);
  });

  test('with dropout in the space and no restoring early stopping, the fix is the callback', () => {
    const study = studyRecord({ space: { dropout: { type: 'float', min: 0, max: 0.2 } } });
    const f = overfittingRule({ study, trials: [fitted(0, 0.04, 0.12)] });
    assert.equal(f?.fix, 'callbacks: - early_stopping: { monitor: val_loss, patience: 20, restore_best_weights: true }');
  });

  test('does not fire for small ratios, for tiny absolute gaps, or when only a minority over-fits', () => {
    const study = studyRecord({ baseline: { mae: 0.13, val_mae: 0.14 } });
    assert.equal(overfittingRule({ study, trials: [fitted(0, 0.11, 0.12), fitted(1, 0.1, 0.13)] }), undefined);
    // 0.004 vs 0.009: ratio 2.25 but a gap of 0.005, under a tenth of the linear val_mae.
    assert.equal(overfittingRule({ study, trials: [fitted(0, 0.004, 0.009)] }), undefined);
    const trials = [fitted(0, 0.11, 0.12), fitted(1, 0.1, 0.125), fitted(2, 0.04, 0.13)];
    assert.equal(overfittingRule({ study, trials }), undefined);
  });

  test('uses diagnostics.trainValGap when val_mae is missing; nothing without either', () => {
    const study = studyRecord();
    const t = trial(0, { metrics: { mae: 0.05 }, value: 0.2, diagnostics: { trainValGap: 0.07 } });
    assert.match(overfittingRule({ study, trials: [t] })?.evidence[0] ?? '', /#0 mae 0.05 vs val_mae 0.12 \(×2.40\)/);
    assert.equal(overfittingRule({ study, trials: [trial(0, { metrics: { mae: 0.05 }, value: 0.2 })] }), undefined);
  });
});
