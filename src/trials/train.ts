import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import seedrandom from 'seedrandom';
import type { Dataset, Split } from '../data/dataset';
import { permutation } from '../data/dataset';
import { type Callback, createCallbacks, type CallbackSpec, EarlyStopping, type TrainingControl } from './callbacks';
import type { Checkpoint, NamedArray } from './checkpoint';
import type { LossName, ModelConfig } from './knobs';
import { buildNetwork, buildOptimizer, getLearningRate, type LinearPart, setLearningRate } from './model';
import type { EpochLog, Metrics, StopReason, TrialDiagnostics } from './storage/types';

export interface TrainInput {
  readonly config: ModelConfig;
  readonly data: Dataset;
  readonly callbacks: readonly CallbackSpec[];
  /** Seeds initializers, shuffling and dropout: same seed, same backend → same numbers. */
  readonly seed: string;
  /** Train until this epoch (counted from the start of the parent chain); default `config.epochs`. */
  readonly epochs?: number;
  /** The study's linear baseline, which a `residual_of_linear` model adds to its network. */
  readonly linear?: LinearPart;
  /** Continue from this state (a Hyperband promotion) instead of fresh weights. */
  readonly resume?: Checkpoint;
  /** Return a checkpoint of the returned model, for continuation or export. */
  readonly checkpoint?: boolean;
  /** Aborts training between mini-batches (Ctrl-C): `trainModel` rejects with `TrainingInterrupted`. */
  readonly signal?: AbortSignal;
  /** Called after each epoch, after callbacks ran. */
  readonly onEpoch?: (log: EpochLog) => void | Promise<void>;
}

export class TrainingInterrupted extends Error {
  constructor() {
    super('training was interrupted');
    this.name = 'TrainingInterrupted';
  }
}

export interface TrainResult {
  /** Metrics of the returned model (best weights restored when asked), in the targets' units. */
  readonly metrics: Metrics;
  readonly history: readonly EpochLog[];
  /** The epoch training started from (the checkpoint's, when resuming). */
  readonly initialEpoch: number;
  /** The epoch reached, counted like `initialEpoch`. */
  readonly epochs: number;
  readonly stopReason: StopReason;
  /** Set when the trial failed (NaN/Inf loss). */
  readonly error?: string;
  /** When asked for and the trial did not fail. */
  readonly checkpoint?: Checkpoint;
  readonly diagnostics: TrialDiagnostics;
}

/** Longest stretch of training without letting the event loop run (signals, progress timers). */
const YIELD_MS = 100;

/**
 * Mini-batches per epoch whose gradient norm is measured, evenly spaced: the
 * norm of every batch would cost ~6% of a 3×300 epoch on wasm (two kernels
 * per weight), eight of them ~0.5%, and their mean tracks the epoch's as well.
 */
const GRAD_NORM_SAMPLES = 8;

/** Rows per forward pass when evaluating: large, since no gradients are kept. */
const EVAL_BATCH = 2048;

/**
 * Trains one model with a plain epoch loop (seeded shuffle, mini-batches,
 * `optimizer.minimize`), runs Keras-semantics callbacks after each epoch, and
 * evaluates the returned model on train, validation and test.
 *
 * Own loop rather than `model.fit`: fit shuffles with an unseeded source and
 * has no ReduceLROnPlateau or restore_best_weights.
 */
export async function trainModel(input: TrainInput): Promise<TrainResult> {
  const { config, data } = input;
  const seeds = seedrandom(`${input.seed}:weights`);
  const nextSeed = (): number => Math.floor(seeds() * 2 ** 31);
  const network = buildNetwork(config, data.features.length, data.targets.length, nextSeed, input.linear);
  const { model } = network;
  const optimizer = buildOptimizer(config.optimizer, config.learningRate, config.momentum);
  const dropoutLayers = model.layers.filter((l) => l.getClassName() === 'Dropout');
  // Pass the variables explicitly: left out, tfjs would look at every trainable variable alive in the process.
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const lastEpoch = input.epochs ?? config.epochs;
  const firstEpoch = input.resume?.epoch ?? 0;
  // Trainable layers only: the frozen linear baseline is not the network's to shrink.
  const kernels = model.layers
    .filter((l) => l.trainable)
    .map((l) => (l as unknown as { kernel?: tfl.LayerVariable }).kernel)
    .filter((k): k is tfl.LayerVariable => k !== undefined);
  const yStd = tf.tensor1d(data.yScaler.std.map((s) => s));
  const train = toTensors(data.train);
  const validation = data.validation && toTensors(data.validation);

  /** Keras adds the L2 penalty to both loss and val_loss. */
  const penalty = (): tf.Scalar =>
    config.l2 > 0 ? tf.mul(config.l2, tf.addN(kernels.map((k) => tf.sum(tf.square(k.read()))))) : tf.scalar(0);

  const control = new ModelControl(model, optimizer);
  const callbacks = createCallbacks(input.callbacks, { epochs: config.epochs });
  const history: EpochLog[] = [];
  let stopReason: StopReason = 'max_epochs';
  let error: string | undefined;
  let stoppedBy: number | undefined;
  const measureDead = config.activation === 'relu' && network.hidden.length > 0;
  let deadReluStart: number[] | undefined;
  const diagnostics: { -readonly [K in keyof TrialDiagnostics]: TrialDiagnostics[K] } = {};

  let lastYield = performance.now();
  try {
    for (const cb of callbacks) cb.onTrainBegin?.(control);
    if (input.resume) await restoreCheckpoint(input.resume, model, optimizer, callbacks, control);
    // The same pass as the final evaluation's, before any training: its metrics are not needed.
    if (measureDead) deadReluStart = (await evaluate(model, train, config.loss, yStd, penalty, network.hidden)).deadRelu;
    for (let epoch = firstEpoch; epoch < lastEpoch; epoch++) {
      const started = performance.now();
      for (const cb of callbacks) cb.onEpochBegin?.(epoch, control);
      const lr = getLearningRate(optimizer);
      // Per-epoch streams: epoch e shuffles and drops out the same way whether
      // it runs in one trial or in a trial that continues another.
      const order = permutation(data.train.rows, seedrandom(`${input.seed}:shuffle:${epoch}`));
      const dropoutSeeds = seedrandom(`${input.seed}:dropout:${epoch}`);
      // Per-batch losses and errors stay on the device and are summed once per
      // epoch: a handful of kernels per epoch instead of nine per batch.
      const losses: tf.Tensor[] = [];
      const errors: tf.Tensor[] = [];
      const gradNorms: tf.Tensor[] = [];
      const normEvery = Math.max(1, Math.ceil(Math.ceil(order.length / config.batchSize) / GRAD_NORM_SAMPLES));
      const sizes: number[] = [];
      for (let start = 0; start < order.length; start += config.batchSize) {
        // tfjs kernels run synchronously here, so nothing else would get a turn:
        // hand the event loop a moment now and then, for Ctrl-C and timers.
        if (performance.now() - lastYield > YIELD_MS) {
          await new Promise((resolve) => setImmediate(resolve));
          lastYield = performance.now();
        }
        if (input.signal?.aborted) {
          tf.dispose([...losses, ...errors, ...gradNorms]);
          throw new TrainingInterrupted();
        }
        const idx = order.slice(start, start + config.batchSize);
        for (const layer of dropoutLayers) {
          (layer as unknown as { seed: number }).seed = Math.floor(dropoutSeeds() * 2 ** 31);
        }
        const measureNorm = (start / config.batchSize) % normEvery === 0;
        const [loss, err, gradNorm] = tf.tidy(() => {
          const indices = tf.tensor1d(idx, 'int32');
          const xb = tf.gather(train.x, indices);
          const yb = tf.gather(train.y, indices);
          let pred: tf.Tensor | undefined;
          // minimize() spelled out, to see the gradients on their way to the optimizer.
          const { value: batchLoss, grads } = optimizer.computeGradients(() => {
            // computeGradients runs this inside its own tidy; keep the predictions for the metrics.
            pred = tf.keep(model.apply(xb, { training: true }) as tf.Tensor);
            const l = lossFn(config.loss, yb, pred);
            return config.l2 > 0 ? (tf.add(l, penalty()) as tf.Scalar) : l;
          }, variables);
          const gradList = variables.map((v) => grads[v.name]!);
          const norm = measureNorm ? tf.sqrt(tf.addN(gradList.map((g) => tf.sum(tf.square(g))))) : undefined;
          optimizer.applyGradients(variables.map((v, i) => ({ name: v.name, tensor: gradList[i]! })));
          const e = tf.sub(pred!, yb);
          pred!.dispose();
          return norm ? [batchLoss, e, norm] : [batchLoss, e];
        });
        losses.push(loss!);
        errors.push(err!);
        if (gradNorm) gradNorms.push(gradNorm);
        sizes.push(idx.length);
      }
      const [sumLoss, sumAbs, sumSq, meanNorm] = tf.tidy(() => {
        const e = tf.concat(errors, 0);
        return [
          tf.sum(tf.mul(tf.stack(losses), tf.tensor1d(sizes))),
          tf.sum(tf.abs(e), 0),
          tf.sum(tf.square(e), 0),
          tf.mean(tf.stack(gradNorms)),
        ];
      }) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      tf.dispose([...losses, ...errors, ...gradNorms]);
      const n = data.train.rows;
      const loss = (await sumLoss.data())[0]! / n;
      const mae = unscaledMean(await sumAbs.data(), data.yScaler.std, n, 1);
      const mse = unscaledMean(await sumSq.data(), data.yScaler.std, n, 2);
      const gradNorm = (await meanNorm.data())[0]!;
      tf.dispose([sumLoss, sumAbs, sumSq, meanNorm]);
      const val = validation ? await evaluate(model, validation, config.loss, yStd, penalty) : undefined;
      const log: EpochLog = {
        epoch,
        loss,
        mae,
        mse,
        ...(val ? { val_loss: val.loss, val_mae: val.mae, val_mse: val.mse } : {}),
        lr,
        grad_norm: gradNorm,
        seconds: (performance.now() - started) / 1000,
      };
      history.push(log);
      if (!Number.isFinite(loss)) {
        stopReason = 'nan';
        error = `loss became ${loss} at epoch ${epoch + 1}`;
        await input.onEpoch?.(log);
        break;
      }
      callbacks.forEach((cb, i) => {
        cb.onEpochEnd(epoch, { ...log, learning_rate: lr }, control);
        if (control.stopTraining && stoppedBy === undefined) stoppedBy = i;
      });
      await input.onEpoch?.(log);
      if (control.stopTraining) {
        stopReason = 'early_stopping';
        break;
      }
    }
    for (const cb of callbacks) cb.onTrainEnd?.(control);

    const metrics: Record<string, number> = {};
    if (!error) {
      // The training rows' pass also finds the returned model's dead ReLUs.
      const evalTrain = await evaluate(model, train, config.loss, yStd, penalty, measureDead ? network.hidden : []);
      if (evalTrain.deadRelu) diagnostics.deadReluEnd = evalTrain.deadRelu;
      Object.assign(metrics, { loss: evalTrain.loss, mae: evalTrain.mae, mse: evalTrain.mse });
      const last = history[history.length - 1];
      if (validation && !control.restored && last?.val_loss !== undefined) {
        // The model is the one the last epoch validated: the same pass would give the same numbers.
        Object.assign(metrics, { val_loss: last.val_loss, val_mae: last.val_mae, val_mse: last.val_mse });
      } else if (validation) {
        const v = await evaluate(model, validation, config.loss, yStd, penalty);
        Object.assign(metrics, { val_loss: v.loss, val_mae: v.mae, val_mse: v.mse });
      }
      if (data.test) {
        const testTensors = toTensors(data.test);
        try {
          const t = await evaluate(model, testTensors, config.loss, yStd, penalty);
          Object.assign(metrics, { test_mae: t.mae, test_mse: t.mse });
        } finally {
          tf.dispose([testTensors.x, testTensors.y]);
        }
      }
    }
    const stopper = stoppedBy !== undefined ? callbacks[stoppedBy] : undefined;
    if (stopReason === 'early_stopping' && stopper instanceof EarlyStopping) {
      diagnostics.stoppedBy = { callback: 'early_stopping', index: stoppedBy!, monitor: stopper.monitor };
    }
    if (control.restored) {
      const restorer = callbacks.find((cb) => cb instanceof EarlyStopping && cb.restore_best_weights);
      if (restorer instanceof EarlyStopping) diagnostics.restoredEpoch = restorer.bestEpoch;
    }
    if (deadReluStart) diagnostics.deadReluStart = deadReluStart;
    const gap = (metrics['val_mae'] ?? NaN) - (metrics['mae'] ?? NaN);
    // Stored as JSON, which has no NaN: a diverged or unvalidated trial simply has no gap.
    if (Number.isFinite(gap)) diagnostics.trainValGap = gap;
    const epochs = firstEpoch + history.length;
    const checkpoint =
      input.checkpoint && !error ? await captureCheckpoint(epochs, model, optimizer, callbacks) : undefined;
    return {
      metrics,
      history,
      initialEpoch: firstEpoch,
      epochs,
      stopReason,
      ...(error ? { error } : {}),
      ...(checkpoint ? { checkpoint } : {}),
      diagnostics,
    };
  } finally {
    for (const cb of callbacks) cb.dispose?.();
    control.dispose();
    tf.dispose([yStd, train.x, train.y]);
    if (validation) tf.dispose([validation.x, validation.y]);
    optimizer.dispose();
    model.dispose();
  }
}

async function captureCheckpoint(
  epoch: number,
  model: tfl.LayersModel,
  optimizer: tf.Optimizer,
  callbacks: readonly Callback[],
): Promise<Checkpoint> {
  const named = async (name: string, t: tf.Tensor): Promise<NamedArray> => {
    const data = await t.data();
    return { name, shape: t.shape, data: data instanceof Int32Array ? data : Float32Array.from(data as ArrayLike<number>) };
  };
  const weights = await Promise.all(model.weights.map((w) => named(w.originalName, w.read())));
  const optimizerWeights = await optimizer.getWeights();
  const optimizerArrays = await Promise.all(optimizerWeights.map((w) => named(w.name, w.tensor)));
  // getWeights() makes a fresh scalar for the iteration count; the moments are the optimizer's own variables.
  optimizerWeights[0]?.tensor.dispose();
  return {
    epoch,
    learningRate: getLearningRate(optimizer),
    callbacks: callbacks.map((cb) => cb.saveState?.() ?? null),
    weights,
    optimizer: optimizerArrays,
  };
}

async function restoreCheckpoint(
  c: Checkpoint,
  model: tfl.LayersModel,
  optimizer: tf.Optimizer,
  callbacks: readonly Callback[],
  control: TrainingControl,
): Promise<void> {
  const tensor = (a: NamedArray): tf.Tensor =>
    tf.tensor(a.data, [...a.shape], a.data instanceof Int32Array ? 'int32' : 'float32');
  if (c.weights.length !== model.weights.length) {
    throw new Error(`checkpoint holds ${c.weights.length} weights, the model has ${model.weights.length}`);
  }
  const weights = c.weights.map(tensor);
  model.setWeights(weights);
  tf.dispose(weights);
  const opt = c.optimizer.map((a) => ({ name: a.name, tensor: tensor(a) }));
  await optimizer.setWeights(opt);
  tf.dispose(opt.map((o) => o.tensor));
  setLearningRate(optimizer, c.learningRate);
  callbacks.forEach((cb, i) => {
    const state = c.callbacks[i];
    if (state) cb.loadState?.(state, control);
  });
}

interface SplitTensors {
  readonly x: tf.Tensor2D;
  readonly y: tf.Tensor2D;
  readonly rows: number;
}

function toTensors(split: Split): SplitTensors {
  const width = (a: Float32Array): number => a.length / split.rows;
  return {
    x: tf.tensor2d(split.x, [split.rows, width(split.x)]),
    y: tf.tensor2d(split.y, [split.rows, width(split.y)]),
    rows: split.rows,
  };
}

/** Keras' losses: mean over targets, then over the batch. Huber with delta 1.0. */
function lossFn(name: LossName, y: tf.Tensor, pred: tf.Tensor): tf.Scalar {
  switch (name) {
    case 'mae':
      return tf.mean(tf.abs(tf.sub(pred, y)));
    case 'mse':
      return tf.mean(tf.square(tf.sub(pred, y)));
    case 'huber': {
      const err = tf.abs(tf.sub(pred, y));
      const quadratic = tf.minimum(err, 1);
      return tf.mean(tf.add(tf.mul(0.5, tf.square(quadratic)), tf.sub(err, quadratic)));
    }
  }
}

/** Mean over rows and targets of |err|^p in the targets' own units (p = 1: MAE, 2: MSE). */
function unscaledMean(sums: ArrayLike<number>, std: readonly number[], rows: number, p: 1 | 2): number {
  let total = 0;
  for (let j = 0; j < std.length; j++) total += sums[j]! * std[j]! ** p;
  return total / (rows * std.length);
}

interface Evaluation {
  readonly loss: number;
  readonly mae: number;
  readonly mse: number;
  /**
   * Per hidden layer asked for, the fraction of units whose output is 0 on
   * every row: a dead ReLU gets no gradient and never comes back. Inference
   * mode (no dropout, batch-norm moving statistics).
   */
  readonly deadRelu?: number[];
}

async function evaluate(
  model: tfl.LayersModel,
  split: SplitTensors,
  loss: LossName,
  yStd: tf.Tensor1D,
  penalty: () => tf.Scalar,
  hidden: readonly tfl.SymbolicTensor[] = [],
): Promise<Evaluation> {
  let sumLoss = 0;
  const t = yStd.shape[0];
  const sumAbs = new Float64Array(t);
  const sumSq = new Float64Array(t);
  // The hidden layers' outputs come from the same pass as the predictions.
  const names = [...hidden.map((h) => h.name), model.outputs[0]!.name];
  let maxima: tf.Tensor[] = [];
  for (let start = 0; start < split.rows; start += EVAL_BATCH) {
    const size = Math.min(EVAL_BATCH, split.rows - start);
    const [l, a, s, ...layerMax] = tf.tidy(() => {
      const xb = tf.slice(split.x, [start, 0], [size, -1]);
      const yb = tf.slice(split.y, [start, 0], [size, -1]);
      const outs = (hidden.length ? model.execute(xb, names) : [model.apply(xb, { training: false })]) as tf.Tensor[];
      const pred = outs[outs.length - 1]!;
      const err = tf.sub(pred, yb);
      const layers = foldMaxima(maxima, outs.slice(0, -1));
      return [tf.mul(lossFn(loss, yb, pred), size), tf.sum(tf.abs(err), 0), tf.sum(tf.square(err), 0), ...layers];
    });
    tf.dispose(maxima);
    maxima = layerMax;
    sumLoss += (await l!.data())[0]!;
    const ad = await a!.data();
    const sd = await s!.data();
    for (let j = 0; j < t; j++) {
      sumAbs[j]! += ad[j]!;
      sumSq[j]! += sd[j]!;
    }
    tf.dispose([l!, a!, s!]);
  }
  const std = Array.from(await yStd.data());
  const pen = tf.tidy(penalty);
  const penaltyValue = (await pen.data())[0]!;
  pen.dispose();
  const deadRelu = hidden.length ? await deadFractions(maxima) : undefined;
  tf.dispose(maxima);
  return {
    loss: sumLoss / split.rows + penaltyValue,
    mae: unscaledMean(sumAbs, std, split.rows, 1),
    mse: unscaledMean(sumSq, std, split.rows, 2),
    ...(deadRelu ? { deadRelu } : {}),
  };
}

/** Each layer's largest output per unit so far, folding in a batch of outputs (inside a tidy). */
function foldMaxima(maxima: readonly tf.Tensor[], outputs: readonly tf.Tensor[]): tf.Tensor[] {
  return outputs.map((o, i) => (maxima[i] ? tf.maximum(maxima[i]!, tf.max(o, 0)) : tf.max(o, 0)));
}

/** Per layer, the share of units whose largest output over all rows is ≤ 0. */
async function deadFractions(maxima: readonly tf.Tensor[]): Promise<number[]> {
  const fractions: number[] = [];
  for (const m of maxima) {
    const values = await m.data();
    let dead = 0;
    for (const v of values) if (v <= 0) dead++;
    fractions.push(values.length > 0 ? dead / values.length : 0);
  }
  return fractions;
}

/** The callbacks' view of a tfjs model and optimizer. */
class ModelControl implements TrainingControl<tf.Tensor[]> {
  stopTraining = false;
  /** Whether a callback put other weights back after the last epoch (so its validation no longer applies). */
  restored = false;
  private readonly live = new Set<tf.Tensor[]>();

  constructor(
    private readonly model: tfl.LayersModel,
    private readonly optimizer: tf.Optimizer,
  ) {}

  getLearningRate(): number {
    return getLearningRate(this.optimizer);
  }

  setLearningRate(lr: number): void {
    setLearningRate(this.optimizer, lr);
  }

  /** All weights, batch-norm moving statistics included, as Keras' get_weights. */
  snapshotWeights(): tf.Tensor[] {
    const snapshot = this.model.getWeights().map((w) => tf.keep(w.clone()));
    this.live.add(snapshot);
    return snapshot;
  }

  restoreWeights(snapshot: tf.Tensor[]): void {
    this.model.setWeights(snapshot);
    this.restored = true;
  }

  releaseWeights(snapshot: tf.Tensor[]): void {
    if (this.live.delete(snapshot)) tf.dispose(snapshot);
  }

  dispose(): void {
    for (const s of this.live) tf.dispose(s);
    this.live.clear();
  }
}
