import assert from 'node:assert/strict';
import { test } from 'node:test';
import seedrandom from 'seedrandom';
import type { Table } from '../../src/data/csv';
import { buildDataset } from '../../src/data/dataset';
import { baselineValue, fitLinearBaseline, predictLinear } from '../../src/trials/linear';

/** y = 3·x0 − 2·x1 + 0.5·x2 + 4 + noise·N; x2 may be made a copy of x0 (collinear). */
function table(rows: number, noise: number, collinear = false): Table {
  const rng = seedrandom('linear-test');
  const cols = [0, 1, 2, 3].map(() => new Float64Array(rows));
  for (let i = 0; i < rows; i++) {
    const x0 = rng() * 4 - 2;
    const x1 = rng() * 2;
    const x2 = collinear ? x0 : rng() - 0.5;
    cols[0]![i] = x0;
    cols[1]![i] = x1;
    cols[2]![i] = x2;
    cols[3]![i] = 3 * x0 - 2 * x1 + 0.5 * x2 + 4 + noise * (rng() - 0.5);
  }
  return { path: 'memory.csv', columns: ['x0', 'x1', 'x2', 'y'], rowCount: rows, values: cols };
}

test('recovers an exact linear relation: raw-unit coefficients and zero error on every split', () => {
  const data = buildDataset(
    { train: table(300, 0), test: table(50, 0) },
    { targets: ['y'], standardize: true, split: 0.2, seed: 3 },
  );
  const b = fitLinearBaseline(data);
  // Back to raw units: y = ȳ + σy·(b + Σ c_j (x_j − μ_j)/σ_j).
  const raw = b.coef.map((c, j) => (c[0]! * b.yScaler.std[0]!) / b.xScaler.std[j]!);
  assert.deepEqual(
    raw.map((c) => Math.round(c * 1e4) / 1e4),
    [3, -2, 0.5],
  );
  for (const m of ['mae', 'val_mae', 'test_mae', 'mse', 'val_mse', 'test_mse']) {
    assert.ok(b.metrics[m]! < 1e-4, `${m} = ${b.metrics[m]}`);
  }
  assert.deepEqual(b.features, ['x0', 'x1', 'x2']);
  assert.equal(b.kind, 'least_squares');
});

test('its metrics are MAE/MSE in the targets own units, like a trial reports', () => {
  const data = buildDataset({ train: table(400, 1) }, { targets: ['y'], standardize: true, split: 0.25, seed: 3 });
  const b = fitLinearBaseline(data);
  // Uniform noise of width 1: MAE ≈ 0.25, MSE ≈ 1/12, in y's units whatever the scaling.
  assert.ok(Math.abs(b.metrics['val_mae']! - 0.25) < 0.04, String(b.metrics['val_mae']));
  assert.ok(Math.abs(b.metrics['val_mse']! - 1 / 12) < 0.02, String(b.metrics['val_mse']));
  const pred = predictLinear(b, data.validation!.x, data.validation!.rows);
  let abs = 0;
  for (let i = 0; i < pred.length; i++) abs += Math.abs(pred[i]! - data.validation!.y[i]!) * b.yScaler.std[0]!;
  assert.ok(Math.abs(abs / pred.length - b.metrics['val_mae']!) < 1e-9);
});

test('a duplicated feature still gets a finite solution (the ridge term)', () => {
  const data = buildDataset({ train: table(200, 0.1, true) }, { targets: ['y'], standardize: false, seed: 1 });
  const b = fitLinearBaseline(data);
  for (const row of b.coef) for (const c of row) assert.ok(Number.isFinite(c));
  // x0 and its copy share 3.5 between them.
  assert.ok(Math.abs(b.coef[0]![0]! + b.coef[2]![0]! - 3.5) < 0.01, JSON.stringify(b.coef));
  assert.ok(b.metrics['mae']! < 0.03);
});

test('baselineValue compares losses by their MAE counterpart and says so', () => {
  const metrics = { mae: 0.2, val_mae: 0.3 };
  assert.deepEqual(baselineValue({ metrics }, 'val_mae'), { metric: 'val_mae', value: 0.3 });
  assert.deepEqual(baselineValue({ metrics }, 'val_loss'), { metric: 'val_mae', value: 0.3 });
  assert.deepEqual(baselineValue({ metrics }, 'loss'), { metric: 'mae', value: 0.2 });
  assert.equal(baselineValue({ metrics }, 'test_mse'), undefined);
});

test("with the study's one loss, the baseline has loss and val_loss in the training scale, as a trial logs them", () => {
  const data = buildDataset({ train: table(400, 1) }, { targets: ['y'], standardize: true, split: 0.25, seed: 3 });
  const std = data.yScaler.std[0]!;
  const mae = fitLinearBaseline(data, 'mae').metrics;
  assert.ok(Math.abs(mae['loss']! * std - mae['mae']!) < 1e-12);
  assert.ok(Math.abs(mae['val_loss']! * std - mae['val_mae']!) < 1e-12);
  const mse = fitLinearBaseline(data, 'mse').metrics;
  assert.ok(Math.abs(mse['val_loss']! * std * std - mse['val_mse']!) < 1e-12);
  // Huber (delta 1) is half the squared error for errors below 1 training-scale unit, as these are.
  const huber = fitLinearBaseline(data, 'huber').metrics;
  assert.ok(Math.abs(huber['val_loss']! - mse['val_loss']! / 2) < 1e-12);
  assert.equal(fitLinearBaseline(data).metrics['loss'], undefined);
  assert.equal(mae['test_loss'], undefined);
});
