import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deadReluRule } from '../../src/doctor/rules/dead-relu';
import type { DoctorTrial } from '../../src/doctor/types';
import { curve, studyRecord, trial } from './builders';

const study = studyRecord();
const history = curve(5, (i) => ({ val_mae: 0.3 - 0.01 * i }));

function relu(n: number, start: number[] | undefined, end: number[] | undefined, activation = 'relu'): DoctorTrial {
  return trial(n, {
    params: { activation, layers: 2 },
    history,
    value: 0.2 + n * 0.01,
    ...(end ? { diagnostics: { ...(start ? { deadReluStart: start } : {}), deadReluEnd: end } } : {}),
  });
}

describe('dead ReLUs', () => {
  test('fires when a quarter or more of the ReLU trials end with a half-dead layer, and says it grew', () => {
    const trials = [relu(0, [0.1, 0.05], [0.2, 0.7]), relu(1, [0.1, 0.1], [0.1, 0.2]), relu(2, [0.0, 0.0], [0.55, 0.1]), relu(3, undefined, [0.1, 0.1])];
    const f = deadReluRule({ study, trials });
    assert.ok(f);
    assert.equal(f.rule, 'dead-relu');
    assert.equal(f.severity, 'high'); // the best trial (#0) is one of them
    assert.equal(f.evidence[0], '2 of 4 ReLU trials ended with a layer at least 50% dead (units whose output is 0 on every training row): #0 (layer 2: 5% → 70%), #2 (layer 1: 0% → 55%).');
    assert.equal(f.evidence[1], 'In 2 of them the dead share grew during training (median +60 points), so the updates killed them: #0, #2.');
    assert.equal(f.evidence[2], 'The best trial, #0, is one of them: layer 2 ends 70% dead, so it works with a fraction of its units.');
    assert.equal(f.fix, 'space: { activation: { type: choice, values: [leaky_relu, elu, gelu] } }');
  });

  test('does not fire for a single unlucky trial among many, for other activations, or without diagnostics', () => {
    const fine = Array.from({ length: 6 }, (_, k) => relu(k + 1, [0.1], [0.2]));
    assert.equal(deadReluRule({ study, trials: [relu(0, [0.1], [0.8]), ...fine] }), undefined);
    assert.equal(deadReluRule({ study, trials: [relu(0, [0.1], [0.9], 'elu')] }), undefined);
    assert.equal(deadReluRule({ study, trials: [relu(0, undefined, undefined)] }), undefined);
    assert.equal(deadReluRule({ study, trials: [relu(0, undefined, [])] }), undefined);
  });

  test('a trial without `activation` uses the default, relu; without a start the end alone is shown', () => {
    const t = trial(0, { history, value: 0.2, diagnostics: { deadReluEnd: [0.9] } });
    const f = deadReluRule({ study, trials: [t] });
    assert.match(f?.evidence[0] ?? '', /#0 \(layer 1: 90%\)/);
    assert.equal(f?.evidence.length, 2);
  });
});
