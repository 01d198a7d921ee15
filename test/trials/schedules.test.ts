import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCallbacks, type TrainingControl } from '../../src/trials/callbacks';
import { CosineDecay, Warmup } from '../../src/trials/schedules';

/** The learning-rate side of a training run; weights are not involved in schedules. */
function control(lr: number): TrainingControl & { lr: number } {
  return {
    lr,
    stopTraining: false,
    getLearningRate() {
      return this.lr;
    },
    setLearningRate(v: number) {
      this.lr = v;
    },
    snapshotWeights: () => null,
    restoreWeights: () => undefined,
    releaseWeights: () => undefined,
  };
}

const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-12 * Math.max(1, Math.abs(b));

test('warmup ramps linearly from start_factor to the full rate, then holds', () => {
  const w = new Warmup({ epochs: 4, start_factor: 0.2 });
  assert.deepEqual([0, 1, 2, 3, 4, 10].map((e) => w.factor(e)), [0.2, 0.4, 0.6000000000000001, 0.8, 1, 1]);
});

test("cosine_decay follows Keras' CosineDecay formula per epoch", () => {
  const c = new CosineDecay({ epochs: 10, alpha: 0.1 });
  for (const e of [0, 3, 5, 9, 10, 20]) {
    const p = Math.min(e, 10) / 10;
    assert.ok(close(c.factor(e), 0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * p))), `epoch ${e}`);
  }
  assert.equal(new CosineDecay({}, 40).epochs, 40, "defaults to the trial's epochs");
});

test('warmup, cosine decay and a plateau reduction compose into a product, in either order', () => {
  for (const order of [
    [{ warmup: { epochs: 3 } }, { cosine_decay: { epochs: 8 } }],
    [{ cosine_decay: { epochs: 8 } }, { warmup: { epochs: 3 } }],
  ] as const) {
    const cbs = createCallbacks(order, { epochs: 8 });
    const ctl = control(0.01);
    for (const cb of cbs) cb.onTrainBegin?.(ctl);
    const w = new Warmup({ epochs: 3 });
    const c = new CosineDecay({ epochs: 8 });
    let plateau = 1;
    for (let e = 0; e < 8; e++) {
      for (const cb of cbs) cb.onEpochBegin?.(e, ctl);
      assert.ok(close(ctl.lr, 0.01 * w.factor(e) * c.factor(e) * plateau), `epoch ${e}: ${ctl.lr}`);
      if (e === 4) {
        // What ReduceLROnPlateau does at an epoch's end: the schedules keep it.
        ctl.setLearningRate(ctl.lr * 0.5);
        plateau = 0.5;
      }
    }
  }
});

test('a schedule continued from its saved state picks up where it was', () => {
  const [a] = createCallbacks([{ cosine_decay: { epochs: 10 } }]);
  const ctl = control(0.1);
  a!.onTrainBegin?.(ctl);
  for (let e = 0; e < 4; e++) a!.onEpochBegin?.(e, ctl);
  const state = a!.saveState!();
  const [b] = createCallbacks([{ cosine_decay: { epochs: 10 } }]);
  const ctl2 = control(ctl.lr);
  b!.onTrainBegin?.(ctl2);
  b!.loadState!(state, ctl2);
  b!.onEpochBegin?.(4, ctl2);
  a!.onEpochBegin?.(4, ctl);
  assert.equal(ctl2.lr, ctl.lr);
});

test('bad arguments name the field', () => {
  assert.throws(() => createCallbacks([{ warmup: { start_factor: 0 } }]), /callbacks\.0\.warmup\.start_factor/);
  assert.throws(() => createCallbacks([{ cosine_decay: { alpha: 2 } }]), /callbacks\.0\.cosine_decay\.alpha/);
  assert.throws(() => createCallbacks([{ cosine_decay: { decay: 2 } } as never]), /unknown argument decay/);
});
