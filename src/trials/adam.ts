import * as tf from '@tensorflow/tfjs-core';
import { type AdamAttrs, registerAdamKernel, TUNE_ADAM } from './kernels';

type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];
type NamedTensor = Parameters<tf.AdamOptimizer['setWeights']>[0][number];

/** What `tf.AdamOptimizer` keeps privately; the fused step reads and writes the same fields. */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

/**
 * tfjs' Adam with each variable's update fused into one kernel on the wasm
 * backend (`TuneAdam` in kernels.ts: one pass over w, g, m, v instead of 14
 * kernels, each allocating and traversing the whole tensor). Same arithmetic
 * to the bit, same state: moments named `${variable}/m` and `${variable}/v`,
 * the iteration count first in getWeights(), β1ᵗ and β2ᵗ carried step to step
 * as float32 products and recomputed with pow() by setWeights() as tfjs does,
 * so checkpoints move freely between this and `tf.train.adam`. Other backends
 * (and non-float32 variables) take tfjs' own `applyGradients`.
 *
 * `learningRate` is read on every step, as in tfjs (ReduceLROnPlateau sets it).
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  // Widens AdamOptimizer's protected field; `declare` keeps the value the base constructor set.
  declare public learningRate: number;

  /**
   * β1ᵗ and β2ᵗ for the next step as float32 numbers: the fused step needs them
   * in JS, and reading the accBeta variables back every step would cost a sync.
   * tfjs multiplies the variables in float32, so fround(acc·β) is the same value.
   */
  private acc1: number;
  private acc2: number;
  /** True when fused steps advanced acc1/acc2 and the accBeta variables lag behind. */
  private accStale = false;

  constructor(learningRate: number, beta1: number, beta2: number, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon);
    this.acc1 = Math.fround(beta1);
    this.acc2 = Math.fround(beta2);
  }

  override applyGradients(variableGradients: VariableGradients): void {
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const gradient = (name: string, i: number): tf.Tensor | undefined =>
      Array.isArray(variableGradients) ? variableGradients[i]?.tensor : variableGradients[name];
    const engine = tf.engine();
    const fused =
      engine.backendName === 'wasm' &&
      names.every((name, i) => engine.registeredVariables[name]?.dtype === 'float32' && (gradient(name, i)?.dtype ?? 'float32') === 'float32');
    if (!fused) {
      this.syncAccBeta();
      super.applyGradients(variableGradients);
      this.advanceAccBeta();
      return;
    }
    registerAdamKernel();
    const state = this as unknown as AdamState;
    const attrs: AdamAttrs = {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      // tfjs: sub(1, accBeta) in float32.
      biasCorrection1: Math.fround(1 - this.acc1),
      biasCorrection2: Math.fround(1 - this.acc2),
    };
    names.forEach((name, i) => {
      const value = engine.registeredVariables[name]!;
      // Created as AdamOptimizer creates them, gradient or not: same names, same order.
      state.accumulatedFirstMoment[i] ??= {
        originalName: `${name}/m`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      state.accumulatedSecondMoment[i] ??= {
        originalName: `${name}/v`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      const g = gradient(name, i);
      if (g == null) return;
      const m = state.accumulatedFirstMoment[i]!.variable;
      const v = state.accumulatedSecondMoment[i]!.variable;
      const [newW, newM, newV] = engine.runKernel(TUNE_ADAM, { w: value, g, m, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      m.assign(newM!);
      v.assign(newV!);
      value.assign(newW!);
      // The variables now hold these buffers; drop the tensors' own references.
      tf.dispose([newW!, newM!, newV!]);
    });
    this.advanceAccBeta();
    this.accStale = true;
    this.incrementIterations();
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    await super.setWeights(weightValues);
    // tfjs recomputed accBeta = pow(β, iterations + 1) on the backend: take exactly that.
    const state = this as unknown as AdamState;
    this.acc1 = (await state.accBeta1.data())[0]!;
    this.acc2 = (await state.accBeta2.data())[0]!;
    this.accStale = false;
  }

  /** One step's worth of accBeta ← accBeta·β, in float32 as tfjs' mul. */
  private advanceAccBeta(): void {
    this.acc1 = Math.fround(this.acc1 * Math.fround(this.beta1));
    this.acc2 = Math.fround(this.acc2 * Math.fround(this.beta2));
  }

  /** Before tfjs' own step reads the accBeta variables: bring them up to date. */
  private syncAccBeta(): void {
    if (!this.accStale) return;
    const state = this as unknown as AdamState;
    tf.tidy(() => {
      state.accBeta1.assign(tf.scalar(this.acc1));
      state.accBeta2.assign(tf.scalar(this.acc2));
    });
    this.accStale = false;
  }
}
