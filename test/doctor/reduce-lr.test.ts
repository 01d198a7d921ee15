import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { reduceLrNeverActedRule } from '../../src/doctor/rules/reduce-lr';
import { curve, studyRecord, trial } from './builders';

const rlrop = (patience: number) => ({
  reduce_lr_on_plateau: { monitor: 'loss', factor: 0.7, patience, mode: 'auto', min_delta: 1e-4, cooldown: 0, min_lr: 1e-4 },
});
const es = (patience: number) => ({
  early_stopping: { monitor: 'loss', min_delta: 0.0005, patience, mode: 'auto', baseline: null, restore_best_weights: false, start_from_epoch: 0 },
});

describe('reduce_lr_on_plateau that never acted', () => {
  test('fires when an early stopping on the same metric has a shorter patience and no rate ever dropped', () => {
    const study = studyRecord({ callbacks: [rlrop(30), es(5)] });
    const trials = [trial(0, { history: curve(12, () => ({ lr: 0.01 })) }), trial(1, { history: curve(9, () => ({ lr: 0.01 })) })];
    const f = reduceLrNeverActedRule({ study, trials });
    assert.ok(f);
    assert.equal(f.severity, 'low');
    assert.deepEqual(f.evidence, [
      'reduce_lr_on_plateau (callbacks[0]: monitor `loss`, factor 0.7, patience 30) never lowered the learning rate in any of 2 trials; the longest ran 12 epochs.',
      "early_stopping on `loss` (callbacks[1]) has patience 5: it ends a run after 5 epochs without improvement, before this callback's 30 are up.",
    ]);
    assert.equal(f.fix, 'callbacks: - reduce_lr_on_plateau: { monitor: loss, factor: 0.7, patience: 2, min_lr: 1.0e-4 }');
  });

  test('does not fire once a rate dropped, or when runs were long enough and nothing stops them first', () => {
    const study = studyRecord({ callbacks: [rlrop(30), es(5)] });
    const dropped = trial(0, { history: curve(12, (i) => ({ lr: i < 8 ? 0.01 : 0.007 })) });
    assert.equal(reduceLrNeverActedRule({ study, trials: [dropped] }), undefined);
    const alone = studyRecord({ callbacks: [rlrop(3)] });
    assert.equal(reduceLrNeverActedRule({ study: alone, trials: [trial(0, { history: curve(40, () => ({ lr: 0.01 })) })] }), undefined);
    assert.equal(reduceLrNeverActedRule({ study: alone, trials: [] }), undefined);
  });

  test('behind an early stopping of patience 1 the fix says that one must grow too', () => {
    const study = studyRecord({ callbacks: [rlrop(30), es(1)] });
    const f = reduceLrNeverActedRule({ study, trials: [trial(0, { history: curve(2, () => ({ lr: 0.01 })) })] });
    assert.equal(f?.fix, "callbacks: - reduce_lr_on_plateau: { monitor: loss, factor: 0.7, patience: 1, min_lr: 1.0e-4 }  # and early_stopping's patience above 1");
  });

  test('runs shorter than its patience fire without any early stopping', () => {
    const study = studyRecord({ callbacks: [rlrop(30)] });
    const f = reduceLrNeverActedRule({ study, trials: [trial(0, { history: curve(20, () => ({ lr: 0.01 })) })] });
    assert.equal(f?.evidence.length, 1);
    assert.match(f?.fix ?? '', /patience: 10,/);
  });
});
