import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import seedrandom from 'seedrandom';
import type { Table } from '../../src/data/csv';
import { buildDataset, type Dataset } from '../../src/data/dataset';
import { initBackend } from '../../src/trials/backend';
import { resolveModelConfig } from '../../src/trials/knobs';
import { fitLinearBaseline } from '../../src/trials/linear';
import { buildNetwork } from '../../src/trials/model';
import { trainModel } from '../../src/trials/train';

/** y = 2·x0 − x1 + 0.3·sin(3·x2) + noise: mostly linear, with a nonlinear part. */
function table(rows: number, seed: string, zeroFeatures = false): Table {
  const rng = seedrandom(seed);
  const cols = [0, 1, 2, 3].map(() => new Float64Array(rows));
  for (let i = 0; i < rows; i++) {
    const x = zeroFeatures ? [0, 0, 0] : [rng() * 2 - 1, rng() * 2 - 1, rng() * 2 - 1];
    x.forEach((v, j) => (cols[j]![i] = v));
    cols[3]![i] = 2 * x[0]! - x[1]! + 0.3 * Math.sin(3 * x[2]!) + 0.05 * (rng() - 0.5);
  }
  return { path: 'memory.csv', columns: ['x0', 'x1', 'x2', 'y'], rowCount: rows, values: cols };
}

function dataset(zeroFeatures = false): Dataset {
  return buildDataset(
    { train: table(200, 'diag', zeroFeatures) },
    { targets: ['y'], standardize: !zeroFeatures, split: 0.25, seed: 1 },
  );
}

const small = { layers: 2, units: 8, optimizer: 'adam', learning_rate: 0.01, batch_size: 16, loss: 'mse' };

describe('linear paths and diagnostics', () => {
  before(async () => {
    await initBackend();
  });

  test('without the linear knobs the network is the plain MLP (same layers, same weights as before)', () => {
    const config = resolveModelConfig({ ...small, epochs: 1 });
    const seeds = seedrandom('w');
    const { model, hidden } = buildNetwork(config, 3, 1, () => Math.floor(seeds() * 2 ** 31));
    assert.deepEqual(
      model.layers.map((l) => l.name),
      ['features', 'hidden_1', 'hidden_2', 'output'],
    );
    assert.equal(hidden.length, 2);
    model.dispose();
  });

  test('residual_of_linear: a frozen copy of the baseline is added; training leaves it untouched', async () => {
    const data = dataset();
    const baseline = fitLinearBaseline(data);
    const config = resolveModelConfig({ ...small, epochs: 3, residual_of_linear: true });
    const r = await trainModel({ config, data, callbacks: [], seed: 'res', linear: baseline, checkpoint: true });
    const kernel = r.checkpoint!.weights.find((w) => w.name.startsWith('linear_baseline') && w.name.endsWith('kernel'))!;
    const bias = r.checkpoint!.weights.find((w) => w.name.startsWith('linear_baseline') && w.name.endsWith('bias'))!;
    assert.deepEqual(Array.from(kernel.data), Array.from(Float32Array.from(baseline.coef.flat())));
    assert.deepEqual(Array.from(bias.data), Array.from(Float32Array.from(baseline.intercept)));
    // From the first epoch on the network starts near the linear model's error, not the mean's.
    assert.ok(r.history[0]!.val_mae! < 3 * baseline.metrics['val_mae']!, `${r.history[0]!.val_mae} vs ${baseline.metrics['val_mae']}`);
    await assert.rejects(
      trainModel({ config, data, callbacks: [], seed: 'res' }),
      /residual_of_linear needs the study's linear baseline/,
    );
  });

  test('linear_skip adds a trainable linear path; both paths together still train', async () => {
    const data = dataset();
    const config = resolveModelConfig({ ...small, epochs: 2, linear_skip: true });
    const seeds = seedrandom('w');
    const { model } = buildNetwork(config, 3, 1, () => Math.floor(seeds() * 2 ** 31));
    assert.ok(model.trainableWeights.some((w) => w.originalName.startsWith('linear_skip')));
    model.dispose();
    const both = resolveModelConfig({ ...small, epochs: 2, linear_skip: true, residual_of_linear: true });
    const r = await trainModel({ config: both, data, callbacks: [], seed: 'both', linear: fitLinearBaseline(data) });
    assert.equal(r.stopReason, 'max_epochs');
    assert.ok(Number.isFinite(r.metrics['val_mae']));
  });

  test('every epoch logs a positive gradient norm; early stopping on loss is named with its monitor', async () => {
    const data = dataset();
    const config = resolveModelConfig({ ...small, epochs: 60, optimizer: 'sgd', learning_rate: 1e-4 });
    const r = await trainModel({
      config,
      data,
      callbacks: [
        { reduce_lr_on_plateau: { monitor: 'val_loss', patience: 50 } },
        { early_stopping: { monitor: 'loss', min_delta: 0.01, patience: 2 } },
      ],
      seed: 'stop',
    });
    assert.equal(r.stopReason, 'early_stopping');
    assert.ok(r.epochs < 60);
    assert.deepEqual(r.diagnostics.stoppedBy, { callback: 'early_stopping', index: 1, monitor: 'loss' });
    for (const h of r.history) assert.ok(h.grad_norm! > 0 && Number.isFinite(h.grad_norm), String(h.grad_norm));
    assert.ok(Math.abs(r.diagnostics.trainValGap! - (r.metrics['val_mae']! - r.metrics['mae']!)) < 1e-12);
  });

  test('dead ReLUs: all units are dead when every input is zero, none are measured for tanh', async () => {
    const zero = dataset(true);
    const relu = resolveModelConfig({ ...small, epochs: 1 });
    const r = await trainModel({ config: relu, data: zero, callbacks: [], seed: 'dead' });
    // Zero inputs and zero biases: every hidden output is exactly 0 at the start.
    assert.deepEqual(r.diagnostics.deadReluStart, [1, 1]);
    assert.equal(r.diagnostics.deadReluEnd!.length, 2);
    const live = await trainModel({ config: relu, data: dataset(), callbacks: [], seed: 'dead' });
    for (const f of [...live.diagnostics.deadReluStart!, ...live.diagnostics.deadReluEnd!]) assert.ok(f >= 0 && f < 1);
    const tanh = await trainModel({ config: resolveModelConfig({ ...small, epochs: 1, activation: 'tanh' }), data: dataset(), callbacks: [], seed: 'd' });
    assert.equal(tanh.diagnostics.deadReluStart, undefined);
    assert.equal(tanh.diagnostics.deadReluEnd, undefined);
  });
});
