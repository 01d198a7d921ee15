import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import {
  createCallbacks,
  EarlyStopping,
  inferMonitorMode,
  ReduceLROnPlateau,
  type Callback,
  type EpochLogs,
  type TrainingControl,
} from '../../src/trials/callbacks';
import { UserError } from '../../src/errors';

/**
 * A stand-in for the trainer's control. As in Keras's and tfjs's own callback
 * tests, the model's "weights" are a number (set to the epoch index before each
 * epoch end). Each snapshot is a distinct object, so leaks and double releases
 * show up.
 */
interface Snap {
  readonly value: number;
}

class FakeControl implements TrainingControl<Snap> {
  stopTraining = false;
  weights = -1;
  readonly lrSets: number[] = [];
  readonly live = new Set<Snap>();
  taken = 0;
  released = 0;
  restored: number[] = [];

  constructor(public lr = 0.1) {}

  getLearningRate(): number {
    return this.lr;
  }
  setLearningRate(lr: number): void {
    this.lr = lr;
    this.lrSets.push(lr);
  }
  snapshotWeights(): Snap {
    const s = { value: this.weights };
    this.live.add(s);
    this.taken += 1;
    return s;
  }
  restoreWeights(w: Snap): void {
    assert.ok(this.live.has(w), 'restoring a snapshot that was released');
    this.weights = w.value;
    this.restored.push(w.value);
  }
  releaseWeights(w: Snap): void {
    assert.ok(this.live.delete(w), 'releasing a snapshot twice, or one never taken');
    this.released += 1;
  }
}

interface RunResult {
  /** Epochs run, the stopping one included. */
  epochs: number;
  /** Learning rate after each epoch's callbacks. */
  lrs: number[];
}

/** The trainer's loop in miniature: begin, epochs until stopTraining, end. */
function run(
  callbacks: Callback | Callback[],
  series: readonly (number | EpochLogs)[],
  control: FakeControl,
  key = 'loss',
  opts: { begin?: boolean; end?: boolean } = {},
): RunResult {
  const cbs = Array.isArray(callbacks) ? callbacks : [callbacks];
  if (opts.begin !== false) for (const cb of cbs) cb.onTrainBegin?.(control);
  const lrs: number[] = [];
  let epochs = 0;
  for (let epoch = 0; epoch < series.length; epoch++) {
    const item = series[epoch];
    const logs: EpochLogs = typeof item === 'number' ? { [key]: item } : (item ?? {});
    control.weights = epoch;
    for (const cb of cbs) cb.onEpochEnd(epoch, logs, control);
    epochs += 1;
    lrs.push(control.lr);
    if (control.stopTraining) break;
  }
  if (opts.end !== false) for (const cb of cbs) cb.onTrainEnd?.(control);
  return { epochs, lrs };
}

const close = (actual: readonly number[], expected: readonly number[]): void => {
  assert.equal(actual.length, expected.length, `lengths differ: ${actual.join(',')} vs ${expected.join(',')}`);
  actual.forEach((a, i) => assert.ok(Math.abs(a - (expected[i] ?? NaN)) < 1e-12, `at ${i}: ${a} vs ${expected[i]}`));
};

describe('inferMonitorMode (Keras 3 MonitorCallback._set_monitor_op)', () => {
  test("loss and tune's error metrics are minimised", () => {
    assert.equal(inferMonitorMode('loss'), 'min');
    assert.equal(inferMonitorMode('val_loss'), 'min');
    assert.equal(inferMonitorMode('mae'), 'min');
    assert.equal(inferMonitorMode('val_mae'), 'min');
    assert.equal(inferMonitorMode('mse'), 'min');
    assert.equal(inferMonitorMode('val_mse'), 'min');
  });

  test('explicit min/max win; an unknown name under auto is an error, not a guess', () => {
    assert.equal(inferMonitorMode('val_loss', 'max'), 'max');
    assert.equal(inferMonitorMode('whatever', 'min'), 'min');
    assert.throws(() => inferMonitorMode('unknown'), UserError);
    assert.throws(() => inferMonitorMode('lr'), /maximized or minimized/);
    // No substring rule in Keras 3: a name merely containing "acc" is unknown.
    assert.throws(() => inferMonitorMode('val_acc'), UserError);
    // Only one `val_` is dropped, like str.removeprefix.
    assert.throws(() => inferMonitorMode('val_val_loss'), UserError);
  });
});

describe('EarlyStopping', () => {
  test('has Keras defaults', () => {
    const es = new EarlyStopping();
    assert.equal(es.monitor, 'val_loss');
    assert.equal(es.min_delta, 0);
    assert.equal(es.patience, 0);
    assert.equal(es.mode, 'auto');
    assert.equal(es.direction, 'min');
    assert.equal(es.baseline, null);
    assert.equal(es.restore_best_weights, false);
    assert.equal(es.start_from_epoch, 0);
    assert.equal(es.best, null);
    assert.equal(es.stoppedEpoch, 0);
    assert.equal(es.stopped, false);
  });

  test('patience 3 on [1, .9, .9, .9, .9] stops at epoch 4', () => {
    // e0: best=1; e1: .9 improves; e2..e4: wait 1, 2, 3 -> 3 >= 3 at epoch 4.
    const es = new EarlyStopping({ monitor: 'loss', patience: 3 });
    const c = new FakeControl();
    const r = run(es, [1, 0.9, 0.9, 0.9, 0.9, 0.9], c);
    assert.equal(r.epochs, 5);
    assert.equal(es.stopped, true);
    assert.equal(es.stoppedEpoch, 4);
    assert.equal(es.wait, 3);
    assert.equal(es.best, 0.9);
    assert.equal(es.bestEpoch, 1);
    assert.equal(c.stopTraining, true);
  });

  test("Keras's test_early_stopping_patience: stopped_epoch == max(patience, 1) + 2", () => {
    const losses = [10.0, 9.0, 8.0, 9.0, 8.9, 8.8, 8.7, 8.6, 8.5];
    for (const patience of [0, 1, 2, 3]) {
      const es = new EarlyStopping({ monitor: 'loss', patience });
      run(es, losses, new FakeControl());
      assert.equal(es.stoppedEpoch, Math.max(patience, 1) + 2, `patience ${patience}`);
    }
  });

  test('patience 0 stops at the first epoch without improvement', () => {
    const es = new EarlyStopping({ monitor: 'loss' });
    const r = run(es, [3, 2, 2, 1], new FakeControl());
    assert.equal(r.epochs, 3);
    assert.equal(es.stoppedEpoch, 2);
  });

  test('never stops at epoch 0 (the `epoch > 0` guard), even with state left from a run without onTrainBegin', () => {
    const es = new EarlyStopping({ monitor: 'loss', patience: 0 });
    run(es, [1, 0.5], new FakeControl()); // best = 0.5
    // A second run whose trainer does not call onTrainBegin: epoch 0 is worse
    // than the carried-over best and wait >= patience, but epoch 0 never stops.
    const c = new FakeControl();
    const r = run(es, [0.9, 0.9], c, 'loss', { begin: false });
    assert.equal(r.epochs, 2);
    assert.equal(es.stoppedEpoch, 1);
  });

  test('min_delta: improvements smaller than min_delta do not count (min mode)', () => {
    // e0: best 1. e1: .85 + .1 = .95 < 1 -> improvement. e2: .8 + .1 = .9 is not < .85 -> wait 1 -> stop.
    const es = new EarlyStopping({ monitor: 'loss', min_delta: 0.1, patience: 1 });
    const r = run(es, [1.0, 0.85, 0.8, 0.1], new FakeControl());
    assert.equal(r.epochs, 3);
    assert.equal(es.stoppedEpoch, 2);
    assert.equal(es.best, 0.85);
    assert.equal(es.bestEpoch, 1);
  });

  test('min_delta is taken as an absolute value, as Keras does', () => {
    const es = new EarlyStopping({ monitor: 'loss', min_delta: -0.1, patience: 1 });
    assert.equal(es.min_delta, 0.1);
    run(es, [1.0, 0.85, 0.8, 0.1], new FakeControl());
    assert.equal(es.stoppedEpoch, 2);
  });

  test('mode max with min_delta', () => {
    // e1: .61 - .1 = .51 > .5 -> improvement; e2: .55 is not > .61; e3: .56 is not -> wait 2 -> stop.
    const es = new EarlyStopping({ monitor: 'val_acc', mode: 'max', min_delta: 0.1, patience: 2 });
    assert.equal(es.direction, 'max');
    const r = run(es, [0.5, 0.61, 0.65, 0.66, 0.99], new FakeControl(), 'val_acc');
    assert.equal(r.epochs, 4);
    assert.equal(es.stoppedEpoch, 3);
    assert.equal(es.best, 0.61);
  });

  test("explicit mode 'max' treats a rising value as improvement", () => {
    const es = new EarlyStopping({ monitor: 'val_loss', mode: 'max', patience: 1 });
    const r = run(es, [1, 2, 3, 2.5, 4], new FakeControl(), 'val_loss');
    assert.equal(r.epochs, 4);
    assert.equal(es.stoppedEpoch, 3);
    assert.equal(es.best, 3);
  });

  test('baseline: wait is not reset until the baseline is beaten; improvements never stop', () => {
    // baseline .75, patience 2:
    // e0 .9: improvement (first), does not beat .75 -> wait 1
    // e1 .8: improvement, wait 2 >= 2 but an improvement returns before the stop check
    // e2 .7: improvement beating .75 -> wait 0
    // e3 .71: wait 1; e4 .72: wait 2 -> stop at 4
    const es = new EarlyStopping({ monitor: 'val_loss', patience: 2, baseline: 0.75 });
    const waits: number[] = [];
    const c = new FakeControl();
    es.onTrainBegin(c);
    [0.9, 0.8, 0.7, 0.71, 0.72].forEach((v, epoch) => {
      es.onEpochEnd(epoch, { val_loss: v }, c);
      waits.push(es.wait);
    });
    assert.deepEqual(waits, [1, 2, 0, 1, 2]);
    assert.equal(es.stoppedEpoch, 4);
  });

  test("baseline never beaten (Keras's test): 5 epochs, best of them restored", () => {
    const es = new EarlyStopping({ monitor: 'val_loss', patience: 5, baseline: 0.5, restore_best_weights: true });
    const c = new FakeControl();
    const r = run(es, [0.9, 0.8, 0.7, 0.71, 0.72, 0.73], c, 'val_loss');
    assert.equal(r.epochs, 5);
    assert.equal(es.stoppedEpoch, 4);
    assert.equal(c.weights, 2);
    assert.equal(c.live.size, 0);
  });

  test("restore_best_weights (Keras's test): stops at 4, weights of epoch 2 restored at train end", () => {
    const es = new EarlyStopping({ monitor: 'val_loss', patience: 2, restore_best_weights: true });
    const c = new FakeControl();
    es.onTrainBegin(c);
    const losses = [0.2, 0.15, 0.1, 0.11, 0.12];
    let epochs = 0;
    for (let epoch = 0; epoch < losses.length; epoch++) {
      c.weights = epoch;
      es.onEpochEnd(epoch, { val_loss: losses[epoch] }, c);
      epochs += 1;
      assert.ok(c.live.size <= 1, 'at most one snapshot held');
      if (c.stopTraining) break;
    }
    assert.equal(epochs, 5);
    assert.equal(es.stoppedEpoch, 4);
    // Keras restores in on_train_end, not when it decides to stop.
    assert.equal(c.weights, 4);
    es.onTrainEnd(c);
    assert.equal(c.weights, 2);
    assert.equal(es.bestEpoch, 2);
    // Improvements at epochs 0, 1, 2: three snapshots, all released.
    assert.equal(c.taken, 3);
    assert.equal(c.released, 3);
    assert.equal(c.live.size, 0);
  });

  test('Keras 3 restores the best weights at train end even when it did not stop the run', () => {
    const es = new EarlyStopping({ monitor: 'loss', patience: 5, restore_best_weights: true });
    const c = new FakeControl();
    const r = run(es, [0.3, 0.2, 0.25], c); // max epochs reached
    assert.equal(r.epochs, 3);
    assert.equal(es.stopped, false);
    assert.equal(c.weights, 1);
    assert.deepEqual(c.restored, [1]);
    assert.equal(c.live.size, 0);
  });

  test('restores the best weights when another callback stops the run', () => {
    const es = new EarlyStopping({ monitor: 'val_loss', patience: 5, baseline: 0.5, restore_best_weights: true });
    const stopper: Callback = {
      onEpochEnd: (epoch, _logs, control) => {
        if (epoch === 3) control.stopTraining = true;
      },
    };
    const c = new FakeControl();
    const r = run([es, stopper], [0.9, 0.8, 0.7, 0.71, 0.72, 0.73].map((v) => ({ val_loss: v })), c);
    assert.equal(r.epochs, 4);
    assert.equal(es.stopped, false);
    assert.equal(c.weights, 2);
    assert.equal(c.live.size, 0);
  });

  test('without restore_best_weights: no snapshots, last weights kept', () => {
    const es = new EarlyStopping({ monitor: 'loss', patience: 1 });
    const c = new FakeControl();
    run(es, [0.2, 0.1, 0.3], c);
    assert.equal(es.stoppedEpoch, 2);
    assert.equal(c.weights, 2);
    assert.equal(c.taken, 0);
  });

  test('start_from_epoch: warm-up epochs are ignored entirely', () => {
    // Epochs 0 and 1 (including the low .5) are not monitored. e2: first monitored, best 2. e3: wait 1 -> stop.
    const es = new EarlyStopping({ monitor: 'loss', patience: 1, start_from_epoch: 2, restore_best_weights: true });
    const c = new FakeControl();
    const r = run(es, [1, 0.5, 2, 3, 4], c);
    assert.equal(r.epochs, 4);
    assert.equal(es.stoppedEpoch, 3);
    assert.equal(es.best, 2);
    assert.equal(es.bestEpoch, 2);
    assert.equal(c.taken, 1); // no snapshot during warm-up
    assert.equal(c.weights, 2);
    assert.equal(c.live.size, 0);
  });

  test('missing monitor key: no action, one warning (and one onWarning call)', () => {
    const seen: string[] = [];
    const es = new EarlyStopping({ monitor: 'val_loss', patience: 0, restore_best_weights: true }, { onWarning: (m) => seen.push(m) });
    const c = new FakeControl();
    const r = run(es, [1, 2, 3, 4], c, 'loss');
    assert.equal(r.epochs, 4);
    assert.equal(es.stopped, false);
    assert.equal(es.wait, 0);
    assert.equal(es.best, null);
    assert.equal(c.taken, 0);
    assert.equal(c.weights, 3);
    assert.equal(es.warnings.length, 1);
    assert.deepEqual(seen, [...es.warnings]);
    assert.match(es.warnings[0] ?? '', /Early stopping conditioned on metric `val_loss` which is not available\. Available metrics are: loss/);
  });

  test('an undefined or null value counts as missing', () => {
    const es = new EarlyStopping({ monitor: 'val_loss', patience: 0 });
    const c = new FakeControl();
    run(es, [{ loss: 1, val_loss: undefined }, { loss: 1, val_loss: null as unknown as number }], c);
    assert.equal(es.stopped, false);
    assert.match(es.warnings[0] ?? '', /Available metrics are: loss$/);
  });

  test('onTrainBegin resets state for re-use (keras#20256) and frees a leftover snapshot', () => {
    const es = new EarlyStopping({ monitor: 'loss', patience: 1, restore_best_weights: true });
    const c = new FakeControl();
    run(es, [0.1, 0.2, 0.3], c, 'loss', { end: false }); // a run that never reached onTrainEnd
    assert.equal(es.stopped, true);
    assert.equal(c.live.size, 1);
    const c2 = new FakeControl();
    c2.stopTraining = false;
    es.onTrainBegin(c2);
    assert.equal(c.live.size, 0, 'leftover snapshot released to the control that made it');
    assert.equal(es.stopped, false);
    assert.equal(es.stoppedEpoch, 0);
    assert.equal(es.best, null);
    assert.equal(es.wait, 0);
    // A new model with higher losses is not compared against the stale 0.1.
    const r = run(es, [5, 4, 3], c2, 'loss', { begin: false });
    assert.equal(r.epochs, 3);
    assert.equal(es.stopped, false);
    assert.equal(c2.weights, 2);
    assert.equal(c2.live.size, 0);
  });

  test('dispose releases the snapshot without restoring; safe twice and after onTrainEnd', () => {
    const es = new EarlyStopping({ monitor: 'loss', patience: 3, restore_best_weights: true });
    const c = new FakeControl();
    run(es, [0.5, 0.4, 0.6], c, 'loss', { end: false });
    assert.equal(c.live.size, 1);
    es.dispose();
    es.dispose();
    assert.equal(c.live.size, 0);
    assert.deepEqual(c.restored, []);
    es.onTrainEnd(c); // nothing left: no restore, no double release
    assert.deepEqual(c.restored, []);
  });

  test('rejects bad arguments', () => {
    assert.throws(() => new EarlyStopping({ patience: -1 }), /early_stopping\.patience: patience must be an integer >= 0, got -1/);
    assert.throws(() => new EarlyStopping({ patience: 1.5 }), /patience must be an integer/);
    assert.throws(() => new EarlyStopping({ start_from_epoch: -2 }), /start_from_epoch/);
    assert.throws(() => new EarlyStopping({ min_delta: Number.NaN }), /min_delta must be a finite number/);
    assert.throws(() => new EarlyStopping({ baseline: Number.POSITIVE_INFINITY }), /baseline/);
    assert.throws(() => new EarlyStopping({ mode: 'maximum' as never }), /mode must be auto, min or max/);
    assert.throws(() => new EarlyStopping({ monitor: '' }), /monitor/);
    assert.throws(() => new EarlyStopping({ monitor: 'lr' }), /early_stopping\.mode: cannot tell whether `lr`/);
    assert.throws(() => new EarlyStopping({ restore_best_weights: 'yes' as never }), /restore_best_weights/);
    assert.throws(() => new EarlyStopping({ patiance: 3 } as never), /early_stopping\.patiance: unknown argument/);
    const err = (() => {
      try {
        new EarlyStopping({ patience: -1 });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof UserError);
    assert.equal(err.field, 'early_stopping.patience');
  });
});

describe('ReduceLROnPlateau', () => {
  test('has Keras defaults', () => {
    const r = new ReduceLROnPlateau();
    assert.equal(r.monitor, 'val_loss');
    assert.equal(r.factor, 0.1);
    assert.equal(r.patience, 10);
    assert.equal(r.mode, 'auto');
    assert.equal(r.direction, 'min');
    assert.equal(r.min_delta, 1e-4);
    assert.equal(r.cooldown, 0);
    assert.equal(r.min_lr, 0);
  });

  test('lr sequence over a plateau: factor .5, patience 2', () => {
    // e0: best 1. e1: wait 1. e2: wait 2 -> .05. e3: wait 1. e4: wait 2 -> .025. e5: wait 1.
    const cb = new ReduceLROnPlateau({ monitor: 'loss', factor: 0.5, patience: 2 });
    const c = new FakeControl(0.1);
    const r = run(cb, [1, 1, 1, 1, 1, 1], c);
    close(r.lrs, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]);
    assert.deepEqual(
      cb.reductions.map((x) => x.epoch),
      [2, 4],
    );
    assert.equal(cb.wait, 1);
  });

  test('default min_delta 1e-4: changes smaller than it are a plateau; an improvement resets wait', () => {
    // e1: .99995 + 1e-4 is not < 1 (wait 1); e2: .99991 + 1e-4 is not < 1 (wait 2) -> reduce.
    // e3: .5 improves; e4: .5 wait 1; e5: .4 improves, so no reduction.
    const cb = new ReduceLROnPlateau({ monitor: 'loss', factor: 0.5, patience: 2 });
    const c = new FakeControl(0.1);
    const r = run(cb, [1, 0.99995, 0.99991, 0.5, 0.5, 0.4], c);
    close(r.lrs, [0.1, 0.1, 0.05, 0.05, 0.05, 0.05]);
    assert.equal(cb.best, 0.4);
    assert.equal(cb.wait, 0);
  });

  test('mode max', () => {
    const cb = new ReduceLROnPlateau({ monitor: 'val_acc', mode: 'max', factor: 0.5, patience: 1 });
    assert.equal(cb.direction, 'max');
    const c = new FakeControl(1);
    const r = run(cb, [0.5, 0.6, 0.6, 0.7, 0.65], c, 'val_acc');
    close(r.lrs, [1, 1, 0.5, 0.5, 0.25]);
  });

  test("cooldown suppresses counting (Keras's test_cooldown: 4 epochs, 2 reductions)", () => {
    // patience 1, cooldown 2, flat loss:
    // e0 best; e1 wait 1 -> reduce, cd 2; e2 cd -> 1 (wait 0, no count);
    // e3 cd -> 0, then wait 1 -> reduce; e4 cd 1; e5 reduce; e6 cd 1; e7 reduce.
    const cb = new ReduceLROnPlateau({ monitor: 'val_loss', factor: 0.1, patience: 1, min_delta: 100, cooldown: 2 });
    const c = new FakeControl(0.1);
    const waits: number[] = [];
    const cds: number[] = [];
    cb.onTrainBegin(c);
    for (let epoch = 0; epoch < 4; epoch++) {
      cb.onEpochEnd(epoch, { val_loss: 1 }, c);
      waits.push(cb.wait);
      cds.push(cb.cooldownCounter);
    }
    assert.ok(Math.abs(c.lr - 0.001) < 1e-12);
    assert.equal(c.lrSets.length, 2);
    assert.deepEqual(cds, [0, 2, 1, 2]);
    assert.deepEqual(waits, [0, 0, 0, 0]);

    const cb2 = new ReduceLROnPlateau({ monitor: 'loss', factor: 0.5, patience: 1, cooldown: 2 });
    const r = run(cb2, [1, 1, 1, 1, 1, 1, 1, 1], new FakeControl(1));
    close(r.lrs, [1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.0625]);
  });

  test('cooldown with patience 2: counting resumes only after the cooldown ends', () => {
    // e0 best; e1 w1; e2 w2 -> reduce, cd 1; e3 cd -> 0 and w0, then not in cooldown: w1;
    // e4 w2 -> reduce, cd 1; e5 cd 0, w1.
    const cb = new ReduceLROnPlateau({ monitor: 'loss', factor: 0.5, patience: 2, cooldown: 1 });
    const c = new FakeControl(1);
    const waits: number[] = [];
    cb.onTrainBegin(c);
    for (let epoch = 0; epoch < 6; epoch++) {
      cb.onEpochEnd(epoch, { loss: 1 }, c);
      waits.push(cb.wait);
    }
    assert.deepEqual(waits, [0, 1, 0, 1, 0, 1]);
    assert.deepEqual(
      cb.reductions.map((x) => x.epoch),
      [2, 4],
    );
  });

  test('an improvement during cooldown still updates best', () => {
    const cb = new ReduceLROnPlateau({ monitor: 'loss', factor: 0.5, patience: 1, cooldown: 3 });
    const c = new FakeControl(1);
    run(cb, [1, 1, 0.5], c);
    assert.equal(cb.best, 0.5);
    assert.equal(cb.cooldownCounter, 2);
  });

  test("min_lr floor (Keras's test_honors_min_lr) and no further reductions once there", () => {
    // .1 -> max(.01, .005) = .01 -> max(.001, .005) = .005 -> stays; wait keeps counting at the floor.
    const cb = new ReduceLROnPlateau({ monitor: 'val_loss', factor: 0.1, patience: 1, min_delta: 10, min_lr: 0.005 });
    const c = new FakeControl(0.1);
    const r = run(cb, [1, 1, 1, 1, 1].map((v) => ({ val_loss: v })), c);
    close(r.lrs, [0.1, 0.01, 0.005, 0.005, 0.005]);
    assert.equal(c.lr, 0.005);
    assert.equal(c.lrSets.length, 2);
    assert.equal(cb.wait, 2);
    assert.equal(cb.reductions.length, 2);
  });

  test('min_lr is compared as float32, like `old_lr > np.float32(min_lr)`', () => {
    // A float32-held rate at min_lr is not "above" it, although Math.fround(0.001) > 0.001 as doubles.
    const a = new ReduceLROnPlateau({ monitor: 'loss', factor: 0.5, patience: 1, min_lr: 0.001 });
    const ca = new FakeControl(Math.fround(0.001));
    run(a, [1, 1, 1, 1], ca);
    assert.deepEqual(ca.lrSets, []);
    // Likewise a double rate equal to a min_lr whose float32 is below it (fround(0.7) < 0.7).
    const b = new ReduceLROnPlateau({ monitor: 'loss', factor: 0.5, patience: 1, min_lr: 0.7 });
    const cb = new FakeControl(0.7);
    run(b, [1, 1, 1, 1], cb);
    assert.deepEqual(cb.lrSets, []);
  });

  test('factor 0 drops straight to min_lr', () => {
    const cb = new ReduceLROnPlateau({ monitor: 'loss', factor: 0, patience: 1, min_lr: 1e-5 });
    const c = new FakeControl(0.1);
    const r = run(cb, [1, 1, 1], c);
    assert.deepEqual(r.lrs, [0.1, 1e-5, 1e-5]);
  });

  test('missing monitor key: lr untouched, one warning naming learning_rate among the available keys', () => {
    const seen: string[] = [];
    const cb = new ReduceLROnPlateau({ monitor: 'val_loss', patience: 0 }, { onWarning: (m) => seen.push(m) });
    const c = new FakeControl(0.1);
    const r = run(cb, [1, 1, 1], c, 'loss');
    assert.deepEqual(r.lrs, [0.1, 0.1, 0.1]);
    assert.deepEqual(c.lrSets, []);
    assert.equal(cb.warnings.length, 1);
    assert.deepEqual(seen, [...cb.warnings]);
    assert.equal(
      cb.warnings[0],
      'Learning rate reduction is conditioned on metric `val_loss` which is not available. Available metrics are: loss,learning_rate.',
    );
  });

  test("monitor 'learning_rate' reads the current rate, as Keras adds it to the logs", () => {
    const cb = new ReduceLROnPlateau({ monitor: 'learning_rate', mode: 'min', factor: 0.5, patience: 1 });
    const c = new FakeControl(1);
    // e0 best 1; e1 not lower -> halve; e2: 0.5 is lower -> best; e3 not lower -> halve.
    const r = run(cb, [{}, {}, {}, {}], c);
    close(r.lrs, [1, 0.5, 0.5, 0.25]);
  });

  test("onTrainBegin resets best, wait and cooldown (Keras's test_state_reset_across_fit_calls)", () => {
    const cb = new ReduceLROnPlateau({ monitor: 'loss', factor: 0.5, patience: 1, cooldown: 2 });
    const c = new FakeControl(1);
    run(cb, [0.5, 1, 1], c);
    assert.equal(cb.best, 0.5);
    assert.ok(cb.cooldownCounter > 0);
    cb.onTrainBegin(c);
    assert.equal(cb.best, null);
    assert.equal(cb.wait, 0);
    assert.equal(cb.cooldownCounter, 0);
    assert.deepEqual(cb.reductions, []);
  });

  test('rejects bad arguments', () => {
    assert.throws(() => new ReduceLROnPlateau({ factor: 1.0 }), /does not support a factor >= 1\.0/);
    assert.throws(() => new ReduceLROnPlateau({ factor: 1.5 }), /does not support a factor >= 1\.0/);
    assert.throws(() => new ReduceLROnPlateau({ factor: -0.5 }), /factor must not be negative/);
    assert.throws(() => new ReduceLROnPlateau({ patience: -1 }), /reduce_lr_on_plateau\.patience/);
    assert.throws(() => new ReduceLROnPlateau({ cooldown: -1 }), /cooldown must be an integer >= 0/);
    assert.throws(() => new ReduceLROnPlateau({ min_lr: -1e-3 }), /min_lr must not be negative/);
    assert.throws(() => new ReduceLROnPlateau({ min_delta: Number.NaN }), /min_delta/);
    assert.throws(() => new ReduceLROnPlateau({ monitor: 'lr' }), /cannot tell whether `lr`/);
    assert.throws(() => new ReduceLROnPlateau({ epsilon: 1e-4 } as never), /unknown argument `epsilon`/);
    assert.equal(new ReduceLROnPlateau({ min_delta: -1e-3 }).min_delta, 1e-3);
  });
});

describe('createCallbacks', () => {
  const specs = [
    { early_stopping: { monitor: 'loss', patience: 1, restore_best_weights: true } },
    { reduce_lr_on_plateau: { monitor: 'loss', factor: 0.5, patience: 1 } },
  ] as const;

  test('builds the right classes with the given arguments', () => {
    const [es, rl] = createCallbacks(specs);
    assert.ok(es instanceof EarlyStopping);
    assert.ok(rl instanceof ReduceLROnPlateau);
    assert.equal(es.patience, 1);
    assert.equal(rl.factor, 0.5);
  });

  test('fresh, independent instances on every call: no state leaks between trials', () => {
    const first = createCallbacks(specs);
    const c1 = new FakeControl(1);
    run(first, [1, 2, 3], c1);
    const es1 = first[0] as EarlyStopping;
    const rl1 = first[1] as ReduceLROnPlateau;
    assert.equal(es1.stopped, true);
    assert.equal(rl1.reductions.length, 1);
    assert.equal(c1.live.size, 0);

    const second = createCallbacks(specs);
    assert.notEqual(second[0], first[0]);
    assert.notEqual(second[1], first[1]);
    const es2 = second[0] as EarlyStopping;
    const rl2 = second[1] as ReduceLROnPlateau;
    assert.equal(es2.stopped, false);
    assert.equal(es2.best, null);
    assert.equal(rl2.best, null);
    assert.deepEqual(rl2.reductions, []);
    const c2 = new FakeControl(1);
    const r = run(second, [5, 4, 3], c2);
    assert.equal(r.epochs, 3);
    assert.deepEqual(c2.lrSets, []);
    assert.equal(c2.weights, 2);
    // The first trial's instances were not touched by the second.
    assert.equal(es1.best, 1);
  });

  test('null arguments mean defaults; options reach every callback', () => {
    const seen: string[] = [];
    const cbs = createCallbacks(
      [{ early_stopping: null as never }, { reduce_lr_on_plateau: null as never }],
      { onWarning: (m) => seen.push(m) },
    );
    assert.equal((cbs[0] as EarlyStopping).monitor, 'val_loss');
    assert.equal((cbs[1] as ReduceLROnPlateau).patience, 10);
    run(cbs, [1], new FakeControl(), 'loss');
    assert.equal(seen.length, 2);
  });

  test('rejects malformed specs, naming the position', () => {
    assert.throws(() => createCallbacks([{} as never]), /callbacks\.0: a callback is an object with exactly one key/);
    assert.throws(() => createCallbacks([{ early_stopping: {}, reduce_lr_on_plateau: {} } as never]), /exactly one key/);
    assert.throws(() => createCallbacks([{ model_checkpoint: {} } as never]), /exactly one key/);
    assert.throws(
      () => createCallbacks([{ early_stopping: {} }, { reduce_lr_on_plateau: { factor: 2 } }]),
      (e: unknown) => e instanceof UserError && e.field === 'callbacks.1.reduce_lr_on_plateau.factor',
    );
  });

  test('no snapshot leaks across a whole trial loop', () => {
    const specsR = [{ early_stopping: { monitor: 'loss', patience: 2, restore_best_weights: true } }];
    const control = new FakeControl();
    for (let trial = 0; trial < 3; trial++) {
      const cbs = createCallbacks(specsR);
      run(cbs, [3, 2, 1, 1.5, 0.5, 2, 2, 2], control);
      control.stopTraining = false;
    }
    assert.equal(control.live.size, 0);
    assert.equal(control.taken, control.released);
  });
});
