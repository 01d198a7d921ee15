import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import seedrandom from 'seedrandom';
import type { Table } from '../../src/data/csv';
import { buildDataset, type Dataset } from '../../src/data/dataset';
import { initBackend } from '../../src/trials/backend';
import { resolveModelConfig } from '../../src/trials/knobs';
import * as tf from '@tensorflow/tfjs-core';
import { trainModel, TrainingInterrupted } from '../../src/trials/train';

/** A small regression table: y = 2·x0 − x1 + 0.5·sin(3·x2) + noise, times `scale`. */
function table(rows: number, scale = 1, seed = 'train-test'): Table {
  const rng = seedrandom(seed);
  const cols = [new Float64Array(rows), new Float64Array(rows), new Float64Array(rows), new Float64Array(rows)];
  for (let i = 0; i < rows; i++) {
    const x = [rng() * 2 - 1, rng() * 2 - 1, rng() * 2 - 1];
    x.forEach((v, j) => (cols[j]![i] = v));
    cols[3]![i] = scale * (2 * x[0]! - x[1]! + 0.5 * Math.sin(3 * x[2]!) + 0.05 * (rng() - 0.5));
  }
  return { path: 'memory.csv', columns: ['x0', 'x1', 'x2', 'y'], rowCount: rows, values: cols };
}

function dataset(scale = 1): Dataset {
  return buildDataset({ train: table(160, scale) }, { targets: ['y'], standardize: true, split: 0.25, seed: 1 });
}

const small = { layers: 1, units: 8, optimizer: 'adam', learning_rate: 0.01, batch_size: 16, loss: 'mse' };

describe('trainModel', () => {
  before(async () => {
    await initBackend();
  });

  test('same seed, same weights, same metrics; another seed differs', async () => {
    const config = resolveModelConfig({ ...small, epochs: 4, dropout: 0.2 });
    const data = dataset();
    const a = await trainModel({ config, data, callbacks: [], seed: 's' });
    const b = await trainModel({ config, data, callbacks: [], seed: 's' });
    const c = await trainModel({ config, data, callbacks: [], seed: 't' });
    assert.deepEqual(a.metrics, b.metrics);
    assert.deepEqual(
      a.history.map((h) => [h.loss, h.val_loss]),
      b.history.map((h) => [h.loss, h.val_loss]),
    );
    assert.notEqual(a.metrics.val_mae, c.metrics.val_mae);
  });

  test('learns: validation error falls well below predicting the mean', async () => {
    const config = resolveModelConfig({ ...small, epochs: 30 });
    const r = await trainModel({ config, data: dataset(), callbacks: [], seed: 'learn' });
    assert.equal(r.epochs, 30);
    assert.equal(r.stopReason, 'max_epochs');
    const first = r.history[0]!.val_mae!;
    assert.ok(r.metrics.val_mae! < first / 3, `val_mae ${r.metrics.val_mae} vs first epoch ${first}`);
    for (const k of ['loss', 'mae', 'mse', 'val_loss', 'val_mae', 'val_mse']) assert.ok(Number.isFinite(r.metrics[k]), k);
    // Nothing restored other weights after the last epoch: its validation is the returned model's.
    const last = r.history[r.history.length - 1]!;
    assert.deepEqual([r.metrics.val_loss, r.metrics.val_mae, r.metrics.val_mse], [last.val_loss, last.val_mae, last.val_mse]);
  });

  test("metrics are in the targets' own units", async () => {
    const config = resolveModelConfig({ ...small, epochs: 3 });
    const unit = await trainModel({ config, data: dataset(1), callbacks: [], seed: 'u' });
    const tens = await trainModel({ config, data: dataset(10), callbacks: [], seed: 'u' });
    // Standardized training is the same problem; only the reported units differ.
    assert.ok(Math.abs(tens.metrics.val_mae! / unit.metrics.val_mae! - 10) < 1e-3);
    assert.ok(Math.abs(tens.metrics.val_mse! / unit.metrics.val_mse! - 100) < 1e-2);
    assert.ok(Math.abs(tens.metrics.val_loss! - unit.metrics.val_loss!) < 1e-4, 'loss stays in the training scale');
  });

  test('early stopping with restore_best_weights returns the best epoch’s model', async () => {
    // A learning rate high enough that validation loss wanders, so the best epoch is not the last.
    const config = resolveModelConfig({ ...small, optimizer: 'sgd', learning_rate: 0.3, epochs: 40, loss: 'mse' });
    const r = await trainModel({
      config,
      data: dataset(),
      callbacks: [{ early_stopping: { monitor: 'val_loss', patience: 3, restore_best_weights: true } }],
      seed: 'es',
    });
    const bestVal = Math.min(...r.history.map((h) => h.val_loss!));
    assert.ok(Math.abs(r.metrics.val_loss! - bestVal) < 1e-6, `${r.metrics.val_loss} vs best ${bestVal}`);
    if (r.stopReason === 'early_stopping') assert.ok(r.epochs < 40);
  });

  test('reduce_lr_on_plateau lowers the logged learning rate', async () => {
    const config = resolveModelConfig({ ...small, epochs: 12, learning_rate: 0.05 });
    const r = await trainModel({
      config,
      data: dataset(),
      // min_delta so large that no epoch counts as an improvement after the first.
      callbacks: [{ reduce_lr_on_plateau: { monitor: 'loss', factor: 0.5, patience: 2, min_delta: 100, min_lr: 0.01 } }],
      seed: 'lr',
    });
    const lrs = r.history.map((h) => h.lr);
    assert.ok(Math.abs(lrs[0]! - 0.05) < 1e-9);
    assert.ok(lrs.some((lr) => Math.abs(lr - 0.025) < 1e-9), `${lrs}`);
    assert.ok(Math.abs(lrs[lrs.length - 1]! - 0.01) < 1e-9, `floor at min_lr: ${lrs}`);
  });

  test('a diverging loss fails the trial with stop reason nan', async () => {
    const config = resolveModelConfig({ ...small, optimizer: 'sgd', learning_rate: 1e4, epochs: 20 });
    const r = await trainModel({ config, data: dataset(100), callbacks: [], seed: 'nan' });
    assert.equal(r.stopReason, 'nan');
    assert.match(r.error ?? '', /loss became (NaN|Infinity)/);
    assert.ok(r.epochs < 20);
  });

  test('batch norm, dropout, l2 and every optimizer train without error', async () => {
    for (const optimizer of ['sgd', 'momentum', 'nesterov', 'adam', 'rmsprop']) {
      const config = resolveModelConfig({
        ...small,
        layers: 2,
        optimizer,
        batch_norm: true,
        dropout: 0.1,
        l2: 1e-4,
        activation: 'leaky_relu',
        loss: 'huber',
        epochs: 2,
      });
      const r = await trainModel({ config, data: dataset(), callbacks: [], seed: optimizer });
      assert.ok(Number.isFinite(r.metrics.val_mae), optimizer);
    }
  });

  test('no tensor outlives a trial: the count is back to its start after every kind of ending', async () => {
    const data = dataset();
    const heavy = resolveModelConfig({ ...small, layers: 2, batch_norm: true, dropout: 0.2, l2: 1e-4, epochs: 6 });
    const es = [{ early_stopping: { monitor: 'val_loss', patience: 1, restore_best_weights: true } }];
    const start = tf.memory().numTensors;
    const finished = await trainModel({ config: heavy, data, callbacks: es, seed: 'm1', checkpoint: true });
    assert.equal(tf.memory().numTensors, start, 'after a trial with batch norm, dropout, restore and a checkpoint');
    await trainModel({ config: { ...heavy, epochs: 9 }, data, callbacks: es, seed: 'm1', resume: finished.checkpoint! });
    assert.equal(tf.memory().numTensors, start, 'after a continued trial');
    await trainModel({ config: resolveModelConfig({ ...small, optimizer: 'sgd', learning_rate: 1e4, epochs: 5 }), data, callbacks: [], seed: 'nan' });
    assert.equal(tf.memory().numTensors, start, 'after a NaN failure');
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(trainModel({ config: heavy, data, callbacks: es, seed: 'x', signal: abort.signal }), TrainingInterrupted);
    assert.equal(tf.memory().numTensors, start, 'after an interrupted trial');
  });
});
