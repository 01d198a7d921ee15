import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { learningRateTooHighRule, learningRateTooLowRule } from '../../src/doctor/rules/learning-rate';
import type { DoctorInput, DoctorTrial } from '../../src/doctor/types';
import { curve, studyRecord, trial, wiggle } from './builders';

/** A healthy adam run: loss from 0.6 down to ~0.1. */
function healthy(n: number, lr = 0.003): DoctorTrial {
  return trial(n, {
    params: { optimizer: 'adam', learning_rate: lr },
    history: curve(30, (i) => {
      const v = 0.1 + 0.5 * Math.exp(-i / 4);
      return { loss: v, mae: v, val_loss: v * 1.1, val_mae: v * 1.1, grad_norm: 1 / (1 + i) };
    }),
  });
}

/** SGD at a tiny rate: loss 0.80 → 0.78 over 40 epochs, grad norm unchanged. */
function crawling(n: number, lr = 1e-4): DoctorTrial {
  return trial(n, {
    params: { optimizer: 'sgd', learning_rate: lr },
    history: curve(40, (i) => {
      const v = 0.8 - 0.0005 * i;
      return { loss: v, mae: v, val_loss: v, val_mae: v, grad_norm: 1.2 };
    }),
  });
}

const study = studyRecord({ space: { optimizer: { type: 'choice', values: ['sgd', 'adam'] } } });

describe('learning rate too low', () => {
  test('fires for flat training losses far above what other trials reach, naming rates and trials', () => {
    const input: DoctorInput = { study, trials: [healthy(0), crawling(1), crawling(2, 2e-4), healthy(3, 0.01)] };
    const f = learningRateTooLowRule(input);
    assert.ok(f);
    assert.equal(f.rule, 'learning-rate-too-low');
    assert.equal(f.severity, 'high'); // half the trials
    assert.equal(f.title, 'The learning rate is too low for 2 trials: the training loss stayed nearly flat');
    assert.equal(
      f.evidence[0],
      '2 of 4 complete trials barely trained: their training loss fell by only 2.4% over 40 epochs and they ended at mae 0.7805, against 0.1004 reached by another trial: #1 (sgd, lr 1.0e-4), #2 (sgd, lr 2.0e-4).',
    );
    assert.equal(f.evidence[1], 'Their mean gradient norm changed by only 0% from the first epoch to the last (median): the weights hardly moved.');
    assert.equal(f.evidence[2], 'They used learning rate 1.0e-4–2.0e-4 (sgd); the trials that did train used 0.003–0.01.');
    assert.equal(f.fix, 'space: { optimizer: adam, learning_rate: { type: float, min: 1.0e-4, max: 1.0e-2, sampling: log } }');
  });

  test('a flat loss at the level others reach is convergence, not a low rate', () => {
    const converged = (n: number) =>
      // Ends at mae 0.111, 11% above the best trial's 0.1004: close enough to be the same floor.
      trial(n, { history: curve(40, (i) => ({ loss: 0.115 - 0.0001 * i, mae: 0.115 - 0.0001 * i, val_mae: 0.12 })) });
    assert.equal(learningRateTooLowRule({ study, trials: [healthy(0), converged(1), converged(2)] }), undefined);
  });

  test('the linear model is a reference when there is no other trial; none at all: no verdict', () => {
    const lone = { study: studyRecord({ baseline: { mae: 0.13, val_mae: 0.13 } }), trials: [crawling(0)] };
    assert.match(learningRateTooLowRule(lone)?.evidence[0] ?? '', /against 0\.13 reached by the linear model/);
    assert.equal(learningRateTooLowRule({ study, trials: [crawling(0)] }), undefined);
  });

  test('short runs are left to the early-stopping rule', () => {
    const short = trial(1, { history: curve(5, () => ({ loss: 0.8, mae: 0.8 })) });
    assert.equal(learningRateTooLowRule({ study, trials: [healthy(0), short] }), undefined);
  });
});

describe('learning rate too high', () => {
  test('NaN failures, climbing and bouncing losses fire, with the rates involved and a lower max', () => {
    const nan = trial(1, {
      state: 'failed',
      params: { optimizer: 'sgd', learning_rate: 0.05 },
      stopReason: 'nan',
      error: 'loss became NaN at epoch 3',
      history: [...curve(2, (i) => ({ loss: 1 + i })), { ...curve(3, () => ({ loss: NaN }))[2]! }],
    });
    const climbing = trial(2, { params: { optimizer: 'sgd', learning_rate: 0.03 }, history: curve(10, (i) => ({ loss: 0.5 * 1.2 ** i, mae: 0.5 })) });
    const bouncing = trial(3, {
      params: { optimizer: 'momentum', learning_rate: 0.02 },
      history: curve(20, (i) => ({ loss: i % 2 ? 0.4 : 0.3, mae: 0.3 })),
    });
    const input: DoctorInput = { study, trials: [healthy(0), nan, climbing, bouncing, healthy(4, 0.001)] };
    const f = learningRateTooHighRule(input);
    assert.ok(f);
    assert.equal(f.severity, 'high');
    assert.equal(f.title, 'The learning rate is too high for 3 trials: the training loss turned NaN, climbed, bounced');
    assert.deepEqual(f.evidence, [
      '1 trial ended in a non-finite loss (NaN or Infinity): #1 (sgd, lr 0.05, at epoch 3).',
      'The training loss of 1 trial climbed: it ended 5.16× above its lowest (median): #2 (sgd, lr 0.03).',
      'The training loss of 1 trial bounced: it rose in 53% of epochs, by 33% (median): #3 (momentum, lr 0.02).',
      'They used learning rate 0.02–0.05 (sgd, momentum); the trials that trained smoothly used 0.001–0.003.',
    ]);
    assert.equal(f.fix, 'space: { optimizer: adam, learning_rate: { type: float, min: 1.0e-4, max: 0.01, sampling: log } }');
  });

  test('a bouncing loss is not blamed on the rate when the same optimizer trained smoothly at that rate or higher', () => {
    const bouncing = trial(1, {
      params: { optimizer: 'adam', learning_rate: 0.01 },
      history: curve(20, (i) => ({ loss: i % 2 ? 0.4 : 0.3, mae: 0.3 })),
    });
    assert.equal(learningRateTooHighRule({ study, trials: [healthy(0, 0.02), bouncing] }), undefined);
    // Smooth only below it: then the rate is the suspect, and the range it suggests keeps the smooth rate.
    const f = learningRateTooHighRule({ study, trials: [healthy(0, 0.007), bouncing] });
    assert.equal(f?.fix, 'space: { learning_rate: { type: float, min: 1.0e-4, max: 0.007, sampling: log } }');
  });

  test('one NaN among many is medium; noisy but converging losses do not fire', () => {
    const many = Array.from({ length: 12 }, (_, k) => healthy(k));
    const nan = trial(12, { state: 'failed', stopReason: 'nan', params: { learning_rate: 0.1 }, history: curve(1, () => ({ loss: Infinity })) });
    assert.equal(learningRateTooHighRule({ study, trials: [...many, nan] })?.severity, 'medium');
    const noisy = trial(0, { history: curve(40, (i) => ({ loss: 0.2 + 0.3 * Math.exp(-i / 5) + 0.002 * wiggle(i) })) });
    assert.equal(learningRateTooHighRule({ study, trials: [noisy, ...many] }), undefined);
    // Rising every other epoch, but by 2%: the jitter of a converged run.
    const jitter = trial(0, { history: curve(40, (i) => ({ loss: 0.2 + 0.004 * (i % 2) })) });
    assert.equal(learningRateTooHighRule({ study, trials: [jitter, ...many] }), undefined);
  });

  test('a failed trial without history or a NaN is not blamed on the learning rate', () => {
    const oom = trial(0, { state: 'failed', stopReason: 'error', error: 'out of memory' });
    assert.equal(learningRateTooHighRule({ study, trials: [oom] }), undefined);
  });
});
