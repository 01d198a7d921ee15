import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { earlyStoppingRule, stoppingCallback } from '../../src/doctor/rules/early-stopping';
import { earlyStoppingsOf } from '../../src/doctor/read';
import type { DoctorInput } from '../../src/doctor/types';
import { studyRecord, trainLike, trial, wiggle } from './builders';

const es = (args: Record<string, unknown>) => ({
  early_stopping: { monitor: 'val_loss', min_delta: 0, patience: 0, mode: 'auto', baseline: null, restore_best_weights: false, start_from_epoch: 0, ...args },
});
const rlrop = (args: Record<string, unknown>) => ({
  reduce_lr_on_plateau: { monitor: 'val_loss', factor: 0.1, patience: 10, mode: 'auto', min_delta: 1e-4, cooldown: 0, min_lr: 0, ...args },
});

/** The seed post's callbacks: ReduceLROnPlateau on loss, EarlyStopping on loss (min_delta 0.0005, patience 5) and on val_loss (patience 60). */
const SEED_CALLBACKS = [
  rlrop({ monitor: 'loss', factor: 0.7, patience: 30, min_lr: 1e-4 }),
  es({ monitor: 'loss', min_delta: 0.0005, patience: 5 }),
  es({ monitor: 'val_loss', patience: 60 }),
];
const SGD = { optimizer: 'sgd', learning_rate: 0.01, loss: 'mae', epochs: 200, layers: 2, units: 300 };

/**
 * SGD on MAE: the training loss drops fast, then creeps down by less than
 * min_delta per epoch with noise; validation keeps falling ~1% per epoch.
 */
function seedInput(trials = 8, valTurned = false): DoctorInput {
  const list = Array.from({ length: trials }, (_, k) => {
    const run = trainLike(SEED_CALLBACKS, 200, (i) => {
      const loss = 0.15 + 0.3 * Math.exp(-i / 2) + 0.0003 * wiggle(i, k) - 0.00005 * i;
      const val = valTurned ? 0.2 + 0.004 * (i - 3) ** 2 : 0.3 * 0.99 ** i + 0.0002 * wiggle(i, k + 9);
      return { loss, mae: loss, val_loss: val, val_mae: val };
    });
    return trial(k, { params: { ...SGD, units: 100 + 50 * k }, ...run });
  });
  return { study: studyRecord({ callbacks: SEED_CALLBACKS }), trials: list };
}

describe('early stopping rule', () => {
  test('the seed setup: stopped on the training loss while val was falling fires, with numbers and trial numbers', () => {
    const input = seedInput();
    // The generated runs really stop early, on the loss callback.
    for (const t of input.trials) {
      assert.equal(t.stopReason, 'early_stopping');
      assert.ok(t.history.length < 40, `trial ${t.number} ran ${t.history.length} epochs`);
    }
    const f = earlyStoppingRule(input);
    assert.ok(f, 'expected a finding');
    assert.equal(f.rule, 'early-stopping');
    assert.equal(f.severity, 'high');
    assert.match(f.title, /training `loss`.*val_mae was still improving/);
    const lo = Math.min(...input.trials.map((t) => t.history.length));
    const hi = Math.max(...input.trials.map((t) => t.history.length));
    assert.match(f.evidence[0]!, new RegExp(`^8 of 8 trials were stopped by early_stopping on \`loss\` \\(callbacks\\[1\\]: min_delta 0.0005, patience 5\\) after ${lo === hi ? lo : `${lo}–${hi}`} of 200 epochs while val_mae was still falling \\(by \\d+(\\.\\d)?% over their last 5 epochs, median\\): #0, #1, #2, #3, #4, #5, #6, #7\\.$`));
    assert.ok(f.evidence.some((e) => /min_delta 0.0005 with patience 5 asks `loss` to improve by 0.0005 within 5 epochs; these trials \(sgd at learning rate 0.01\)/.test(e)), f.evidence.join('\n'));
    assert.ok(f.evidence.some((e) => /^The best trial, #\d, is one of them/.test(e)));
    assert.ok(f.evidence.some((e) => /early_stopping on `val_loss` \(callbacks\[2\], patience 60\) stopped no trial/.test(e)));
    assert.equal(f.fix, 'callbacks: - early_stopping: { monitor: val_loss, patience: 20, restore_best_weights: true }');
  });

  test('does not fire when validation had already turned when the training loss stopped', () => {
    const input = seedInput(8, true);
    assert.ok(input.trials.every((t) => t.stopReason === 'early_stopping'));
    assert.equal(earlyStoppingRule(input), undefined);
  });

  test('does not fire for early stopping on val_loss with a long patience after val bottomed out', () => {
    const callbacks = [es({ monitor: 'val_loss', patience: 10, restore_best_weights: true })];
    const trials = Array.from({ length: 5 }, (_, k) => {
      const run = trainLike(callbacks, 100, (i) => {
        const val = 0.2 + 0.002 * (i - 20 - k) ** 2 / 10;
        return { loss: 0.3 * 0.97 ** i, mae: 0.3 * 0.97 ** i, val_loss: val, val_mae: val };
      });
      return trial(k, { params: { optimizer: 'adam', learning_rate: 0.001, epochs: 100 }, ...run });
    });
    assert.ok(trials.every((t) => t.stopReason === 'early_stopping'));
    assert.equal(earlyStoppingRule({ study: studyRecord({ callbacks }), trials }), undefined);
  });

  test('a short patience on val_loss that stops at the first pause of a descent fires as "patience too short"', () => {
    const callbacks = [es({ monitor: 'val_loss', patience: 2 })];
    const trials = Array.from({ length: 4 }, (_, k) => {
      const run = trainLike(callbacks, 200, (i) => {
        // Falling 3% per epoch with a two-epoch bump at epoch 8 + k.
        const val = 0.4 * 0.97 ** i + (i === 8 + k || i === 9 + k ? 0.05 : 0);
        return { loss: val * 0.9, mae: val * 0.9, val_loss: val, val_mae: val };
      });
      return trial(k, { params: { epochs: 200 }, ...run });
    });
    assert.deepEqual(trials.map((t) => t.history.length), [10, 11, 12, 13]);
    const f = earlyStoppingRule({ study: studyRecord({ callbacks }), trials });
    assert.ok(f);
    assert.match(f.title, /patience \(2\) is too short/);
    assert.match(f.evidence[0]!, /^4 of 4 trials were stopped by early_stopping on `val_loss` .* after 10–13 of 200 epochs right after a pause in a descent: `val_loss` had fallen by 1\d% over the 5 epochs up to its last best/);
    assert.match(f.fix, /^callbacks: - early_stopping: \{ monitor: val_loss, min_delta: 0, patience: \d+, restore_best_weights: true \}$/);
  });

  test('a trial that reached max epochs is not counted, nor one with an unknown stopper', () => {
    const input = seedInput(2);
    const withMax = { ...input, trials: input.trials.map((t) => ({ ...t, stopReason: 'max_epochs' as const })) };
    assert.equal(earlyStoppingRule(withMax), undefined);
  });

  test('which callback stopped a trial: diagnostics first, else a replay of the history', () => {
    const input = seedInput(1);
    const specs = earlyStoppingsOf(input);
    const t = input.trials[0]!;
    assert.equal(stoppingCallback(t, specs)?.monitor, 'loss');
    const told = { ...t, diagnostics: { stoppedBy: { callback: 'early_stopping' as const, index: 2, monitor: 'val_loss' } } };
    assert.equal(stoppingCallback(told, specs)?.index, 2);
    // A history the callbacks would not have stopped at its last epoch: no attribution among two.
    const cut = { ...t, history: t.history.slice(0, 3) };
    assert.equal(stoppingCallback(cut, specs), undefined);
  });

  test('missing pieces: no callbacks, no history, no validation, odd definitions', () => {
    const input = seedInput(3);
    assert.equal(earlyStoppingRule({ ...input, study: studyRecord({ callbacks: [] }) }), undefined);
    assert.equal(earlyStoppingRule({ ...input, study: { ...input.study, definition: null } }), undefined);
    // Malformed entries are dropped; `{ early_stopping: 'x' }` reads as Keras's defaults (val_loss, patience 0).
    const odd = earlyStoppingRule({ ...input, study: { ...input.study, definition: { callbacks: [42, { early_stopping: 'x' }, {}] } } });
    assert.match(odd?.evidence[0] ?? '', /early_stopping on `val_loss` \(callbacks\[1\]: min_delta 0, patience 0\)/);
    assert.equal(earlyStoppingRule({ ...input, trials: input.trials.map((t) => ({ ...t, history: [] })) }), undefined);
    const noVal = input.trials.map((t) => ({ ...t, history: t.history.map(({ val_loss: _a, val_mae: _b, ...h }) => h) }));
    assert.doesNotThrow(() => earlyStoppingRule({ ...input, trials: noVal }));
  });
});
