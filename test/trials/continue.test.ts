import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import seedrandom from 'seedrandom';
import type { Table } from '../../src/data/csv';
import { buildDataset, type Dataset } from '../../src/data/dataset';
import { initBackend } from '../../src/trials/backend';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/trials/checkpoint';
import { resolveModelConfig } from '../../src/trials/knobs';
import { trainModel } from '../../src/trials/train';

function dataset(): Dataset {
  const rng = seedrandom('continue');
  const rows = 200;
  const cols = [0, 1, 2, 3].map(() => new Float64Array(rows));
  for (let i = 0; i < rows; i++) {
    const x = [rng() * 2 - 1, rng() * 2 - 1, rng() * 2 - 1];
    x.forEach((v, j) => (cols[j]![i] = v));
    cols[3]![i] = x[0]! - x[1]! + 0.5 * Math.sin(3 * x[2]!);
  }
  const table: Table = { path: 'memory.csv', columns: ['a', 'b', 'c', 'y'], rowCount: rows, values: cols };
  return buildDataset({ train: table }, { targets: ['y'], standardize: true, split: 0.25, seed: 3 });
}

describe('continuing a trial from its checkpoint', () => {
  before(async () => {
    await initBackend();
  });

  test('parent 3 epochs + continuation to 8 equals 8 epochs straight (weights, Adam state, schedule, dropout)', async () => {
    const data = dataset();
    const config = resolveModelConfig({ layers: 2, units: 8, optimizer: 'adam', learning_rate: 0.01, batch_size: 16, dropout: 0.1 });
    const callbacks = [{ reduce_lr_on_plateau: { monitor: 'loss', factor: 0.5, patience: 1, min_delta: 0.05 } }];
    const straight = await trainModel({ config, data, callbacks, seed: 's', epochs: 8 });
    const parent = await trainModel({ config, data, callbacks, seed: 's', epochs: 3, checkpoint: true });
    assert.ok(parent.checkpoint);
    // Through the stored form, as a promotion reads it.
    const resume = decodeCheckpoint(encodeCheckpoint(parent.checkpoint));
    assert.equal(resume.epoch, 3);
    const child = await trainModel({ config, data, callbacks, seed: 's', epochs: 8, resume });
    assert.equal(child.initialEpoch, 3);
    assert.equal(child.epochs, 8);
    assert.deepEqual(child.history.map((h) => h.epoch), [3, 4, 5, 6, 7]);
    // Not bit-for-bit: tfjs' Adam.setWeights recomputes beta^t with pow() where
    // training multiplies it step by step, so float32 rounding differs a little.
    const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));
    const joined = [...parent.history, ...child.history];
    straight.history.forEach((h, i) => {
      const j = joined[i]!;
      assert.ok(close(j.loss, h.loss) && close(j.val_loss!, h.val_loss!), `epoch ${i}: ${j.loss} vs ${h.loss}`);
      assert.equal(j.lr, h.lr, `epoch ${i}: the LR schedule continues`);
    });
    for (const k of Object.keys(straight.metrics)) assert.ok(close(child.metrics[k]!, straight.metrics[k]!), k);
  });

  test('with plain SGD the continuation is exact', async () => {
    const data = dataset();
    const config = resolveModelConfig({ layers: 2, units: 8, optimizer: 'sgd', learning_rate: 0.05, batch_size: 16, dropout: 0.1 });
    const straight = await trainModel({ config, data, callbacks: [], seed: 'x', epochs: 5 });
    const parent = await trainModel({ config, data, callbacks: [], seed: 'x', epochs: 2, checkpoint: true });
    const child = await trainModel({ config, data, callbacks: [], seed: 'x', epochs: 5, resume: parent.checkpoint! });
    assert.deepEqual([...parent.history, ...child.history].map((h) => h.loss), straight.history.map((h) => h.loss));
    assert.deepEqual(child.metrics, straight.metrics);
  });

  test("a continued trial starts from its parent's loss, not from scratch", async () => {
    const data = dataset();
    const config = resolveModelConfig({ layers: 1, units: 16, optimizer: 'sgd', learning_rate: 0.05, batch_size: 16, loss: 'mse' });
    const callbacks = [{ early_stopping: { monitor: 'val_loss', patience: 3, restore_best_weights: true } }];
    const parent = await trainModel({ config, data, callbacks, seed: 'p', epochs: 9, checkpoint: true });
    const child = await trainModel({ config, data, callbacks, seed: 'p', epochs: 12, resume: parent.checkpoint! });
    const fresh = await trainModel({ config, data, callbacks, seed: 'p', epochs: 1 });
    // Training loss averaged over the first epoch: from scratch it includes the untrained start.
    const parentLast = parent.history[parent.history.length - 1]!.loss;
    const childFirst = child.history[0]!.loss;
    const freshFirst = fresh.history[0]!.loss;
    assert.ok(childFirst < freshFirst / 2, `child starts at ${childFirst}, a fresh model at ${freshFirst}`);
    assert.ok(Math.abs(childFirst - parentLast) < 0.25 * parentLast, `child ${childFirst} vs parent's last ${parentLast}`);
    assert.equal(child.initialEpoch, parent.epochs);
  });

  test('checkpoints round-trip through their byte form', async () => {
    const config = resolveModelConfig({ layers: 1, units: 4, optimizer: 'momentum', batch_norm: true, epochs: 2 });
    const r = await trainModel({
      config,
      data: dataset(),
      callbacks: [{ early_stopping: { monitor: 'val_loss', patience: 5 } }],
      seed: 'c',
      checkpoint: true,
    });
    const c = r.checkpoint!;
    const back = decodeCheckpoint(encodeCheckpoint(c));
    assert.equal(back.epoch, c.epoch);
    assert.equal(back.learningRate, c.learningRate);
    assert.deepEqual(back.callbacks, c.callbacks);
    assert.deepEqual(back.weights.map((w) => [w.name, w.shape, Array.from(w.data)]), c.weights.map((w) => [w.name, w.shape, Array.from(w.data)]));
    assert.deepEqual(back.optimizer.map((w) => [w.name, Array.from(w.data)]), c.optimizer.map((w) => [w.name, Array.from(w.data)]));
    // Batch-norm moving statistics are weights too.
    assert.ok(c.weights.some((w) => /moving_mean/.test(w.name)));
    assert.throws(() => decodeCheckpoint(new Uint8Array(20)), /not a tune checkpoint/);
  });
});
