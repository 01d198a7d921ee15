/**
 * `tune export`: a trial's network rebuilt from its parameters, its stored
 * weights put back, and written in TensorFlow.js' layers format (`model.json`
 * + `weights.bin`, what `tf.loadLayersModel` reads, in the browser or Node),
 * beside what it takes to feed it: the feature order, the scalers, the
 * linear part (`preprocessing.json`), and where it came from (`manifest.json`).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Scaler } from '../data/dataset';
import type { ParamValue } from '../space/types';
import type { Checkpoint } from './checkpoint';
import { resolveModelConfig } from './knobs';
import type { LinearBaseline } from './linear';
import { buildNetwork, type LinearPart } from './model';
import type { Direction, Metrics } from './storage/types';

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
export const PREPROCESSING_FILE = 'preprocessing.json';
export const MANIFEST_FILE = 'manifest.json';


/** `preprocessing.json`: everything between a CSV row and the model's input, and its output and the targets. */
export interface Preprocessing {
  readonly format: 'tune-preprocessing';
  readonly version: 1;
  /** The model's input columns, in order. */
  readonly features: readonly string[];
  /** The model's output columns, in order. */
  readonly targets: readonly string[];
  /** model input = (x − mean) / std, per feature. */
  readonly x_scaler: Scaler;
  /** target = model output × std + mean, per target. */
  readonly y_scaler: Scaler;
  /** The study's linear baseline, in the training scale (standardized x → standardized y). */
  readonly linear: {
    readonly kind: string;
    /** coef[feature][target]. */
    readonly coef: readonly (readonly number[])[];
    readonly intercept: readonly number[];
    /**
     * True when the network already adds it (`residual_of_linear`): its
     * output is the prediction, add nothing. False: shipped for reference
     * (what the network is compared with), not part of the prediction.
     */
    readonly in_model: boolean;
    readonly metrics: Readonly<Record<string, number>>;
  };
  /** The recipe, in words, for readers without tune. */
  readonly recipe: string;
}

export interface ManifestFile {
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** `manifest.json`: where the model came from. */
export interface ExportManifest {
  readonly format: 'tune-export';
  readonly version: 1;
  readonly tune_version: string;
  readonly study: string;
  readonly trial: number;
  readonly params: Readonly<Record<string, ParamValue>>;
  /** The trial's metrics as stored, in the targets' own units. */
  readonly metrics: Metrics;
  readonly objective: { readonly metric: string; readonly direction: Direction; readonly value: number | null };
  /** The tfjs backend that trained the trial. */
  readonly backend: string;
  /** Epoch the weights are from (counted from the start of the parent chain). */
  readonly epoch: number;
  /** ISO-8601, UTC. */
  readonly created_at: string;
  readonly files: readonly ManifestFile[];
}

export interface ExportInput {
  readonly study: { readonly name: string; readonly metric: string; readonly direction: Direction };
  readonly trial: {
    readonly number: number;
    readonly params: Readonly<Record<string, ParamValue>>;
    readonly metrics: Metrics;
    readonly value?: number;
    readonly backend: string;
  };
  readonly checkpoint: Checkpoint;
  /** The study's baseline: what the network is fed and how its output becomes the targets. */
  readonly scaling: LinearBaseline;
}

const RECIPE =
  'x_model[j] = (x[features[j]] - x_scaler.mean[j]) / x_scaler.std[j]; ' +
  'y[targets[k]] = model(x_model)[k] * y_scaler.std[k] + y_scaler.mean[k]. ' +
  'The linear part maps x_model to the standardized targets too; when in_model is true the network already adds it.';

/**
 * The trial's network with its checkpoint's weights: the architecture from
 * its parameters (`buildNetwork`), the weights from storage, matched by
 * position, name and shape. A `residual_of_linear` model's frozen linear
 * layer is part of the checkpoint, so `linear` only shapes the layer.
 */
export function restoreModel(
  params: Readonly<Record<string, ParamValue>>,
  checkpoint: Checkpoint,
  inputs: number,
  outputs: number,
): tfl.LayersModel {
  const config = resolveModelConfig(params);
  // Initial values do not matter: every weight is overwritten below.
  const placeholder: LinearPart = {
    coef: Array.from({ length: inputs }, () => new Array<number>(outputs).fill(0)),
    intercept: new Array<number>(outputs).fill(0),
  };
  const { model } = buildNetwork(config, inputs, outputs, () => 0, config.residualOfLinear ? placeholder : undefined);
  try {
    const weights = model.weights;
    if (checkpoint.weights.length !== weights.length) {
      throw new Error(
        `the checkpoint holds ${checkpoint.weights.length} weights, the network its parameters describe has ${weights.length}`,
      );
    }
    weights.forEach((w, i) => {
      const c = checkpoint.weights[i]!;
      if (c.name !== w.originalName || c.shape.join('×') !== w.shape.join('×')) {
        throw new Error(
          `checkpoint weight ${i} is ${c.name} [${c.shape.join('×')}], the network's is ${w.originalName} [${w.shape.join('×')}]`,
        );
      }
    });
    const tensors = checkpoint.weights.map((a) =>
      tf.tensor(a.data, [...a.shape], a.data instanceof Int32Array ? 'int32' : 'float32'),
    );
    try {
      model.setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
    return model;
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** The layers-format artifacts of a model: `model.json`'s content and `weights.bin`'s bytes. */
export async function modelArtifacts(model: tfl.LayersModel): Promise<{ modelJson: Record<string, unknown>; weights: Uint8Array }> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  if (!artifacts) throw new Error('tfjs did not hand over the model artifacts');
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)));
  const modelJson: Record<string, unknown> = {
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy ?? null,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
  };
  return { modelJson, weights };
}

export function preprocessingFor(scaling: LinearBaseline, linearInModel: boolean): Preprocessing {
  return {
    format: 'tune-preprocessing',
    version: 1,
    features: [...scaling.features],
    targets: [...scaling.targets],
    x_scaler: { mean: [...scaling.xScaler.mean], std: [...scaling.xScaler.std] },
    y_scaler: { mean: [...scaling.yScaler.mean], std: [...scaling.yScaler.std] },
    linear: {
      kind: scaling.kind,
      coef: scaling.coef.map((row) => [...row]),
      intercept: [...scaling.intercept],
      in_model: linearInModel,
      metrics: { ...scaling.metrics },
    },
    recipe: RECIPE,
  };
}

/**
 * Writes the four files of an export into `dir` (created if missing; files
 * of an earlier export there are replaced). Each file is written under a
 * temporary name and renamed, the manifest last, so a reader never sees a
 * half-written file.
 */
export async function exportTrial(input: ExportInput, dir: string): Promise<ExportManifest> {
  const { scaling, trial, checkpoint } = input;
  const config = resolveModelConfig(trial.params);
  const model = restoreModel(trial.params, checkpoint, scaling.features.length, scaling.targets.length);
  let artifacts: Awaited<ReturnType<typeof modelArtifacts>>;
  try {
    artifacts = await modelArtifacts(model);
  } finally {
    model.dispose();
  }
  mkdirSync(dir, { recursive: true });
  const files: ManifestFile[] = [];
  const write = (name: string, bytes: Uint8Array | string): void => {
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    const path = join(dir, name);
    writeFileSync(`${path}.partial`, data);
    renameSync(`${path}.partial`, path);
    files.push({ name, bytes: data.byteLength, sha256: createHash('sha256').update(data).digest('hex') });
  };
  write(MODEL_FILE, `${JSON.stringify(artifacts.modelJson)}\n`);
  write(WEIGHTS_FILE, artifacts.weights);
  write(PREPROCESSING_FILE, `${JSON.stringify(preprocessingFor(scaling, config.residualOfLinear), null, 2)}\n`);
  const manifest: ExportManifest = {
    format: 'tune-export',
    version: 1,
    tune_version: tuneVersion(),
    study: input.study.name,
    trial: trial.number,
    params: { ...trial.params },
    metrics: { ...trial.metrics },
    objective: { metric: input.study.metric, direction: input.study.direction, value: trial.value ?? null },
    backend: trial.backend,
    epoch: checkpoint.epoch,
    created_at: new Date().toISOString(),
    files,
  };
  const path = join(dir, MANIFEST_FILE);
  writeFileSync(`${path}.partial`, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(`${path}.partial`, path);
  return manifest;
}

let version: string | undefined;

/** This tune's version, from its package.json. */
export function tuneVersion(): string {
  if (version === undefined) {
    try {
      // dist/src/trials/ → the package root.
      const pkg = JSON.parse(readFileSync(resolve(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version?: string };
      version = pkg.version ?? 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
