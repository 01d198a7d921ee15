/**
 * `tune predict`: an export directory (see `export.ts`) loaded back with
 * `tf.loadLayersModel`, fed raw feature values, answering in the targets'
 * own units.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { readProblem } from '../data/csv';
import { UserError } from '../errors';
import { type ExportManifest, MANIFEST_FILE, MODEL_FILE, PREPROCESSING_FILE, type Preprocessing } from './export';

/**
 * A tfjs IOHandler that loads a layers model from a directory: `model.json`
 * and the weight files its manifest names, relative to it. (tfjs-node's
 * `file://` handler does the same, but tfjs-node is optional.)
 */
export function fileHandler(dir: string, modelFile = MODEL_FILE): tf.io.IOHandler {
  return {
    load: async (): Promise<tf.io.ModelArtifacts> => {
      const modelJson = JSON.parse(readFileSync(join(dir, modelFile), 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const path of group.paths) {
            const bytes = readFileSync(join(dir, path));
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
        }
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

export interface LoadedExport {
  readonly dir: string;
  readonly model: tfl.LayersModel;
  readonly preprocessing: Preprocessing;
  readonly manifest?: ExportManifest;
}

/** Loads an export directory; a directory that is not one is the user's mistake (`UserError`). */
export async function loadExport(dir: string): Promise<LoadedExport> {
  const json = <T>(name: string, required: boolean): T | undefined => {
    let text: string;
    try {
      text = readFileSync(join(dir, name), 'utf8');
    } catch (err) {
      if (!required) return undefined;
      throw new UserError(
        'DIR',
        `${dir} is not a tune export: ${readProblem(err, name)}`,
        'give a directory written by tune export --out DIR',
      );
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new UserError('DIR', `${join(dir, name)} is not valid JSON: ${(err as Error).message}`, 'export the trial again');
    }
  };
  const preprocessing = json<Preprocessing>(PREPROCESSING_FILE, true)!;
  json<unknown>(MODEL_FILE, true);
  const manifest = json<ExportManifest>(MANIFEST_FILE, false);
  if (
    !Array.isArray(preprocessing.features) ||
    !Array.isArray(preprocessing.targets) ||
    preprocessing.x_scaler?.mean?.length !== preprocessing.features.length ||
    preprocessing.y_scaler?.mean?.length !== preprocessing.targets.length
  ) {
    throw new UserError('DIR', `${join(dir, PREPROCESSING_FILE)} lacks features, targets or scalers`, 'export the trial again');
  }
  const model = await tfl.loadLayersModel(fileHandler(dir));
  return { dir, model, preprocessing, ...(manifest ? { manifest } : {}) };
}

/** Rows per forward pass. */
const BATCH = 2048;

/**
 * Predictions in the targets' own units, row-major (`rows × targets`), for
 * raw feature columns given in `preprocessing.features` order.
 */
export async function predictColumns(
  loaded: Pick<LoadedExport, 'model' | 'preprocessing'>,
  columns: readonly ArrayLike<number>[],
  rows: number,
): Promise<Float64Array> {
  const { features, targets, x_scaler: xs, y_scaler: ys } = loaded.preprocessing;
  if (columns.length !== features.length) throw new Error(`${columns.length} feature columns given, the model takes ${features.length}`);
  const f = features.length;
  const t = targets.length;
  // Standardized in float64, then float32: the same numbers the trainer fed the model.
  const x = new Float32Array(rows * f);
  columns.forEach((col, j) => {
    const m = xs.mean[j]!;
    const s = xs.std[j]!;
    for (let i = 0; i < rows; i++) x[i * f + j] = (col[i]! - m) / s;
  });
  const out = new Float64Array(rows * t);
  for (let start = 0; start < rows; start += BATCH) {
    const size = Math.min(BATCH, rows - start);
    const pred = tf.tidy(() => {
      const xb = tf.tensor2d(x.subarray(start * f, (start + size) * f), [size, f]);
      return loaded.model.predict(xb) as tf.Tensor;
    });
    const values = await pred.data();
    pred.dispose();
    for (let i = 0; i < size; i++) {
      for (let k = 0; k < t; k++) out[(start + i) * t + k] = values[i * t + k]! * ys.std[k]! + ys.mean[k]!;
    }
  }
  return out;
}

/** MAE and MSE as trials report them: mean over rows and targets, in the targets' own units. */
export function predictionErrors(
  predictions: ArrayLike<number>,
  targetColumns: readonly ArrayLike<number>[],
  rows: number,
): { mae: number; mse: number } {
  const t = targetColumns.length;
  let abs = 0;
  let sq = 0;
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < t; k++) {
      const e = predictions[i * t + k]! - targetColumns[k]![i]!;
      abs += Math.abs(e);
      sq += e * e;
    }
  }
  const n = rows * t;
  return { mae: abs / n, mse: sq / n };
}
