import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import seedrandom from 'seedrandom';
import type { Table } from '../../src/data/csv';
import { buildDataset, type Dataset } from '../../src/data/dataset';
import { UserError } from '../../src/errors';
import type { ParamValue } from '../../src/space/types';
import { initBackend } from '../../src/trials/backend';
import {
  type ExportManifest,
  exportTrial,
  MANIFEST_FILE,
  MODEL_FILE,
  PREPROCESSING_FILE,
  type Preprocessing,
  restoreModel,
  WEIGHTS_FILE,
} from '../../src/trials/export';
import { resolveModelConfig } from '../../src/trials/knobs';
import { fitLinearBaseline, type LinearBaseline } from '../../src/trials/linear';
import { fileHandler, loadExport, predictColumns, predictionErrors } from '../../src/trials/predict';
import { trainModel, type TrainResult } from '../../src/trials/train';
import { removeDir, tempDir } from '../helpers/cli';

/** y = 3 + 2·x0 − x1 + 0.5·sin(3·x2), and a second target, in units far from standard. */
function table(rows: number, seed: string): Table {
  const rng = seedrandom(seed);
  const cols = Array.from({ length: 5 }, () => new Float64Array(rows));
  for (let i = 0; i < rows; i++) {
    const x = [rng() * 2 - 1, rng() * 4 - 2, rng() * 2 - 1];
    x.forEach((v, j) => (cols[j]![i] = v));
    cols[3]![i] = 3 + 2 * x[0]! - x[1]! + 0.5 * Math.sin(3 * x[2]!);
    cols[4]![i] = 100 + 20 * x[0]! * x[2]!;
  }
  return { path: `${seed}.csv`, columns: ['x0', 'x1', 'x2', 'y', 'z'], rowCount: rows, values: cols };
}

const trainTable = table(96, 'export-train');
const testTable = table(32, 'export-test');

function dataset(): Dataset {
  return buildDataset(
    { train: trainTable, test: testTable },
    { targets: ['y', 'z'], standardize: true, split: 0.25, seed: 4 },
  );
}

const base = { layers: 1, units: 8, optimizer: 'adam', learning_rate: 0.01, batch_size: 16, loss: 'mse', epochs: 4 };

const CASES: { name: string; params: Record<string, ParamValue> }[] = [
  { name: 'plain MLP', params: base },
  { name: 'batch norm and dropout', params: { ...base, layers: 2, batch_norm: true, dropout: 0.2 } },
  { name: 'residual_of_linear', params: { ...base, residual_of_linear: true } },
  { name: 'linear_skip', params: { ...base, linear_skip: true } },
  { name: 'residual_of_linear and linear_skip', params: { ...base, residual_of_linear: true, linear_skip: true } },
];

const column = (t: Table, name: string): Float64Array => t.values[t.columns.indexOf(name)]!;

/** |a − b| ≤ tol·|b| (and an absolute floor for values near 0). */
function assertClose(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(Math.abs(b), 1e-6), `${what}: ${a} vs ${b}`);
}

describe('export of a trained trial', () => {
  let data: Dataset;
  let baseline: LinearBaseline;
  const dirs: string[] = [];

  before(async () => {
    await initBackend();
    data = dataset();
    baseline = fitLinearBaseline(data);
  });
  after(() => dirs.forEach(removeDir));

  async function trainAndExport(params: Record<string, ParamValue>): Promise<{ dir: string; result: TrainResult; manifest: ExportManifest }> {
    const result = await trainModel({
      config: resolveModelConfig(params),
      data,
      callbacks: [],
      seed: 'export',
      linear: baseline,
      checkpoint: true,
    });
    assert.ok(result.checkpoint, 'trainModel returned a checkpoint');
    const dir = tempDir('tune-export-');
    dirs.push(dir);
    const manifest = await exportTrial(
      {
        study: { name: 'unit', metric: 'val_mae', direction: 'min' },
        trial: { number: 7, params, metrics: result.metrics, value: result.metrics.val_mae!, backend: tf.getBackend() },
        checkpoint: result.checkpoint,
        scaling: baseline,
      },
      join(dir, 'out'),
    );
    return { dir: join(dir, 'out'), result, manifest };
  }

  for (const { name, params } of CASES) {
    test(`${name}: tf.loadLayersModel reads it back and predicts as the trained model did`, async () => {
      const { dir, result, manifest } = await trainAndExport(params);
      const model = await tfl.loadLayersModel(fileHandler(dir));
      try {
        // The same weights as the checkpoint, through model.json and weights.bin.
        const restored = restoreModel(params, result.checkpoint!, 3, 2);
        const x = tf.tensor2d(data.test!.x, [data.test!.rows, 3]);
        const [a, b] = [model.predict(x) as tf.Tensor, restored.predict(x) as tf.Tensor];
        const [pa, pb] = [await a.data(), await b.data()];
        tf.dispose([x, a, b]);
        restored.dispose();
        assert.equal(pa.length, data.test!.rows * 2);
        for (let i = 0; i < pa.length; i++) assert.ok(Math.abs(pa[i]! - pb[i]!) <= 1e-5, `prediction ${i}: ${pa[i]} vs ${pb[i]}`);

        // Raw CSV values in, targets' units out: the trained model's test and train metrics again.
        const loaded = { model, preprocessing: JSON.parse(readFileSync(join(dir, PREPROCESSING_FILE), 'utf8')) as Preprocessing };
        const features = ['x0', 'x1', 'x2'];
        const testPred = await predictColumns(loaded, features.map((f) => column(testTable, f)), testTable.rowCount);
        const testErr = predictionErrors(testPred, [column(testTable, 'y'), column(testTable, 'z')], testTable.rowCount);
        assertClose(testErr.mae, result.metrics.test_mae!, 1e-5, 'test_mae');
        assertClose(testErr.mse, result.metrics.test_mse!, 1e-5, 'test_mse');
      } finally {
        model.dispose();
      }

      const pre = JSON.parse(readFileSync(join(dir, PREPROCESSING_FILE), 'utf8')) as Preprocessing;
      assert.deepEqual(pre.features, ['x0', 'x1', 'x2']);
      assert.deepEqual(pre.targets, ['y', 'z']);
      assert.deepEqual(pre.x_scaler, data.xScaler);
      assert.deepEqual(pre.y_scaler, data.yScaler);
      assert.equal(pre.linear.in_model, params.residual_of_linear === true);
      assert.deepEqual(pre.linear.coef, baseline.coef);

      const modelJson = JSON.parse(readFileSync(join(dir, MODEL_FILE), 'utf8')) as Record<string, any>;
      assert.equal(modelJson.format, 'layers-model');
      assert.equal(modelJson.convertedBy, null);
      assert.deepEqual(modelJson.weightsManifest[0].paths, [WEIGHTS_FILE]);
      const layers = (modelJson.modelTopology.config.layers as { name: string }[]).map((l) => l.name);
      assert.equal(layers.includes('linear_baseline'), params.residual_of_linear === true);
      assert.equal(layers.includes('linear_skip'), params.linear_skip === true);

      assert.equal(manifest.trial, 7);
      assert.equal(manifest.study, 'unit');
      assert.deepEqual(manifest.objective, { metric: 'val_mae', direction: 'min', value: result.metrics.val_mae });
      assert.deepEqual(JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')), manifest);
      assert.deepEqual(manifest.files.map((f) => f.name), [MODEL_FILE, WEIGHTS_FILE, PREPROCESSING_FILE]);
      for (const f of manifest.files) {
        const bytes = readFileSync(join(dir, f.name));
        assert.equal(f.bytes, bytes.byteLength);
        assert.equal(f.sha256, createHash('sha256').update(bytes).digest('hex'));
      }
    });
  }

  test('residual_of_linear: the frozen layer in the export is the baseline', async () => {
    const { dir } = await trainAndExport(CASES[2]!.params);
    const loaded = await loadExport(dir);
    try {
      const layer = loaded.model.getLayer('linear_baseline');
      assert.equal(layer.trainable, false);
      const [kernel, bias] = layer.getWeights();
      const k = await kernel!.data();
      const b = await bias!.data();
      baseline.coef.forEach((row, j) => row.forEach((c, t) => assertClose(k[j * 2 + t]!, c, 1e-6, `coef[${j}][${t}]`)));
      baseline.intercept.forEach((c, t) => assert.ok(Math.abs(b[t]! - c) < 1e-6, `intercept[${t}]`));
      assert.equal(loaded.manifest?.trial, 7);
    } finally {
      loaded.model.dispose();
    }
  });

  test('restoreModel refuses a checkpoint of another architecture', async () => {
    const result = await trainModel({ config: resolveModelConfig(base), data, callbacks: [], seed: 'x', checkpoint: true });
    assert.throws(() => restoreModel({ ...base, units: 16 }, result.checkpoint!, 3, 2), /checkpoint weight 0 is hidden_1\/kernel \[3×8\]/);
    assert.throws(() => restoreModel({ ...base, layers: 2 }, result.checkpoint!, 3, 2), /holds 4 weights, the network .* has 6/);
  });
});
