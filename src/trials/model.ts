import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FusedAdamOptimizer } from './adam';
import type { Activation, Initializer, ModelConfig, OptimizerName } from './knobs';

/**
 * Builds the Keras-style MLP a user would write by hand:
 *   Dense(units, kernel_initializer) → [BatchNormalization] → activation → [Dropout]
 * repeated `layers` times, then a linear Dense with one unit per target.
 * With batch norm the Dense has no activation of its own, so normalization
 * comes before the nonlinearity.
 *
 * Every initializer and dropout layer takes a seed drawn from `nextSeed`, so the
 * same trial seed gives the same weights on the same backend.
 */
export function buildModel(
  config: ModelConfig,
  inputs: number,
  outputs: number,
  nextSeed: () => number,
): tfl.Sequential {
  const model = tfl.sequential();
  config.units.forEach((units, i) => {
    const separateActivation = config.batchNorm || config.activation === 'leaky_relu';
    model.add(
      tfl.layers.dense({
        units,
        ...(i === 0 ? { inputShape: [inputs] } : {}),
        activation: separateActivation ? 'linear' : tfActivation(config.activation),
        kernelInitializer: initializer(config.initializer, nextSeed()),
        name: `hidden_${i + 1}`,
      }),
    );
    if (config.batchNorm) {
      model.add(tfl.layers.batchNormalization({ name: `batch_norm_${i + 1}` }));
    }
    if (config.activation === 'leaky_relu') {
      // Keras 3's `activation="leaky_relu"` uses negative_slope 0.2.
      model.add(tfl.layers.leakyReLU({ alpha: 0.2, name: `leaky_relu_${i + 1}` }));
    } else if (config.batchNorm) {
      model.add(tfl.layers.activation({ activation: tfActivation(config.activation), name: `activation_${i + 1}` }));
    }
    if (config.dropout > 0) {
      model.add(tfl.layers.dropout({ rate: config.dropout, seed: nextSeed(), name: `dropout_${i + 1}` }));
    }
  });
  model.add(
    tfl.layers.dense({
      units: outputs,
      ...(config.units.length === 0 ? { inputShape: [inputs] } : {}),
      activation: 'linear',
      // Keras' Dense default, as in a hand-written output layer.
      kernelInitializer: initializer('glorot_uniform', nextSeed()),
      name: 'output',
    }),
  );
  return model;
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
