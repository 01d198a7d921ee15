import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FusedAdamOptimizer } from './adam';
import type { Activation, Initializer, ModelConfig, OptimizerName } from './knobs';
import type { LinearBaseline } from './linear';

/** The linear part a `residual_of_linear` model adds, frozen: coef[feature][target] and one intercept per target. */
export type LinearPart = Pick<LinearBaseline, 'coef' | 'intercept'>;

export interface Network {
  readonly model: tfl.LayersModel;
  /** Each hidden layer's activation output (before dropout), for measuring dead units. */
  readonly hidden: readonly tfl.SymbolicTensor[];
}

/**
 * Builds the Keras-style MLP a user would write by hand:
 *   Dense(units, kernel_initializer) → [BatchNormalization] → activation → [Dropout]
 * repeated `layers` times, then a linear Dense with one unit per target.
 * With batch norm the Dense has no activation of its own, so normalization
 * comes before the nonlinearity.
 *
 * Two optional linear paths are added to the output (Keras' `Add`):
 * `linear_skip`, a trainable Dense from the inputs (wide & deep), and
 * `residual_of_linear`, the study's linear baseline as a frozen Dense, so the
 * network only has to learn what the linear model leaves over, and the saved
 * model still predicts the target itself.
 *
 * Every initializer and dropout layer takes a seed drawn from `nextSeed`, so the
 * same trial seed gives the same weights on the same backend. The optional
 * paths draw theirs last, so a model without them gets the weights it always had.
 */
export function buildNetwork(
  config: ModelConfig,
  inputs: number,
  outputs: number,
  nextSeed: () => number,
  linear?: LinearPart,
): Network {
  const input = tfl.input({ shape: [inputs], name: 'features' });
  const hidden: tfl.SymbolicTensor[] = [];
  let h: tfl.SymbolicTensor = input;
  const apply = (layer: tfl.layers.Layer): void => {
    h = layer.apply(h) as tfl.SymbolicTensor;
  };
  config.units.forEach((units, i) => {
    const separateActivation = config.batchNorm || config.activation === 'leaky_relu';
    apply(
      tfl.layers.dense({
        units,
        activation: separateActivation ? 'linear' : tfActivation(config.activation),
        kernelInitializer: initializer(config.initializer, nextSeed()),
        name: `hidden_${i + 1}`,
      }),
    );
    if (config.batchNorm) apply(tfl.layers.batchNormalization({ name: `batch_norm_${i + 1}` }));
    if (config.activation === 'leaky_relu') {
      // Keras 3's `activation="leaky_relu"` uses negative_slope 0.2.
      apply(tfl.layers.leakyReLU({ alpha: 0.2, name: `leaky_relu_${i + 1}` }));
    } else if (config.batchNorm) {
      apply(tfl.layers.activation({ activation: tfActivation(config.activation), name: `activation_${i + 1}` }));
    }
    hidden.push(h);
    if (config.dropout > 0) {
      apply(tfl.layers.dropout({ rate: config.dropout, seed: nextSeed(), name: `dropout_${i + 1}` }));
    }
  });
  apply(
    tfl.layers.dense({
      units: outputs,
      activation: 'linear',
      // Keras' Dense default, as in a hand-written output layer.
      kernelInitializer: initializer('glorot_uniform', nextSeed()),
      name: 'output',
    }),
  );
  const sum: tfl.SymbolicTensor[] = [h];
  if (config.linearSkip) {
    const skip = tfl.layers.dense({
      units: outputs,
      activation: 'linear',
      kernelInitializer: initializer('glorot_uniform', nextSeed()),
      name: 'linear_skip',
    });
    sum.push(skip.apply(input) as tfl.SymbolicTensor);
  }
  if (config.residualOfLinear) {
    if (!linear) throw new Error('residual_of_linear needs the study\'s linear baseline');
    if (linear.coef.length !== inputs || linear.intercept.length !== outputs) {
      throw new Error(
        `the linear baseline has ${linear.coef.length} inputs and ${linear.intercept.length} outputs, the model ${inputs} and ${outputs}`,
      );
    }
    const frozen = tfl.layers.dense({
      units: outputs,
      activation: 'linear',
      trainable: false,
      kernelInitializer: 'zeros',
      name: 'linear_baseline',
    });
    sum.push(frozen.apply(input) as tfl.SymbolicTensor);
    const coef = Float32Array.from(linear.coef.flat());
    // setWeights copies into the layer's variables; the tidy frees these two.
    tf.tidy(() => frozen.setWeights([tf.tensor2d(coef, [inputs, outputs]), tf.tensor1d([...linear.intercept])]));
  }
  const output = sum.length > 1 ? (tfl.layers.add({ name: 'prediction' }).apply(sum) as tfl.SymbolicTensor) : h;
  return { model: tfl.model({ inputs: input, outputs: output }), hidden };
}

export function buildModel(
  config: ModelConfig,
  inputs: number,
  outputs: number,
  nextSeed: () => number,
  linear?: LinearPart,
): tfl.LayersModel {
  return buildNetwork(config, inputs, outputs, nextSeed, linear).model;
}

type TfActivation = 'relu' | 'elu' | 'selu' | 'tanh' | 'sigmoid' | 'swish' | 'gelu' | 'linear';

function tfActivation(a: Exclude<Activation, 'leaky_relu'> | Activation): TfActivation {
  if (a === 'leaky_relu') throw new Error('leaky_relu is a layer, not an activation string');
  return a;
}

function initializer(name: Initializer, seed: number): ReturnType<typeof tfl.initializers.heNormal> {
  const I = tfl.initializers;
  switch (name) {
    case 'he_normal':
      return I.heNormal({ seed });
    case 'he_uniform':
      return I.heUniform({ seed });
    case 'glorot_normal':
      return I.glorotNormal({ seed });
    case 'glorot_uniform':
      return I.glorotUniform({ seed });
    case 'lecun_normal':
      return I.leCunNormal({ seed });
    case 'lecun_uniform':
      return I.leCunUniform({ seed });
  }
}

/** Keras' defaults for each optimizer (epsilon 1e-7, Adam betas 0.9/0.999, RMSprop rho 0.9). */
export function buildOptimizer(name: OptimizerName, learningRate: number, momentum: number): tf.Optimizer {
  switch (name) {
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'momentum':
      return tf.train.momentum(learningRate, momentum, false);
    case 'nesterov':
      return tf.train.momentum(learningRate, momentum, true);
    case 'adam':
      // tf.train.adam's arithmetic and state, one fused kernel per variable on wasm.
      return new FusedAdamOptimizer(learningRate, 0.9, 0.999, 1e-7);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate, 0.9, 0, 1e-7, false);
  }
}

/**
 * tfjs optimizers keep the rate in different places: SGD and momentum cache
 * `-lr` as a scalar updated by `setLearningRate`, Adam and RMSprop read the
 * `learningRate` field on every step. This is the one place that knows.
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  const o = optimizer as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

export function getLearningRate(optimizer: tf.Optimizer): number {
  return (optimizer as unknown as { learningRate: number }).learningRate;
}

/**
 * tfjs' Dropout applies `this.seed` on every call, so a fixed seed would give
 * the same mask at every step. The trainer reseeds each dropout layer before
 * each step from the trial's seeded stream instead.
 */
export function reseedDropout(model: tfl.LayersModel, nextSeed: () => number): void {
  for (const layer of model.layers) {
    if (layer.getClassName() === 'Dropout') (layer as unknown as { seed: number }).seed = nextSeed();
  }
}
