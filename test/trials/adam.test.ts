import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import seedrandom from 'seedrandom';
import { FusedAdamOptimizer } from '../../src/trials/adam';
import { initBackend } from '../../src/trials/backend';
import {
  type AdamImplementation,
  adamImplementation,
  forceAdamImplementation,
  registerAdamKernel,
  TUNE_ADAM,
} from '../../src/trials/kernels';
import { buildOptimizer, getLearningRate, setLearningRate } from '../../src/trials/model';

const rng = seedrandom('adam-test');

function random(shape: number[], scale = 1): tf.Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale), shape);
}

/** Odd sizes too: the SIMD loop takes four floats at a time and leaves the rest to a scalar loop. */
const SHAPES = [[13, 7], [7], [7, 3], [3], [1], [64, 32]];

/** Identical sets of variables, one per optimizer. */
function twins(count = 2): tf.Variable[][] {
  const values = SHAPES.map((s) => random(s));
  const sets = Array.from({ length: count }, () => values.map((v) => v.variable(true)));
  tf.dispose(values);
  return sets;
}

type Optimizer = tf.Optimizer;

/** `steps` Adam steps on both sets with the same gradients (large, small and zero among them). */
function train(pairs: [Optimizer, tf.Variable[]][], steps: number, onStep?: (step: number) => void): void {
  for (let s = 0; s < steps; s++) {
    onStep?.(s);
    const grads = SHAPES.map((shape, i) => random(shape, s % 5 === 4 && i === 0 ? 0 : 10 ** ((s % 7) - 4)));
    for (const [opt, vars] of pairs) opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i]! })));
    tf.dispose(grads);
  }
}

function assertClose(got: tf.Tensor[], want: tf.Tensor[], label: string, rel = 1e-5): void {
  assert.equal(got.length, want.length, `${label}: count`);
  got.forEach((g, k) => {
    const a = g.dataSync();
    const b = want[k]!.dataSync();
    assert.equal(a.length, b.length);
    const scale = Math.max(...Array.from(b, Math.abs), 1e-30);
    for (let i = 0; i < a.length; i++) {
      assert.ok(Math.abs(a[i]! - b[i]!) <= rel * scale, `${label} #${k}[${i}]: ${a[i]} vs ${b[i]}`);
    }
  });
}

/** An optimizer's state as plain numbers: names, values (iteration count first). */
async function state(opt: tf.Optimizer): Promise<{ name: string; values: number[] }[]> {
  const weights = await opt.getWeights();
  const out = await Promise.all(weights.map(async (w) => ({ name: w.name, values: Array.from(await w.tensor.data()) })));
  weights[0]!.tensor.dispose(); // the fresh iteration scalar
  return out;
}

/** Names as tfjs gives them, with each variable's own (auto-generated) name replaced by its index. */
function normalized(names: string[], vars: tf.Variable[]): string[] {
  return names.map((n) => vars.reduce((s, v, i) => s.replace(v.name, `var${i}`), n));
}

describe('fused Adam on wasm', () => {
  before(async () => {
    assert.equal((await initBackend('wasm')).name, 'wasm');
  });
  after(() => forceAdamImplementation(undefined));

  test('the kernel computes tfjs Adam’s float32 arithmetic, to the bit, in every implementation', () => {
    registerAdamKernel();
    const n = 1031; // not a multiple of 4
    const w = random([n]);
    const g = tf.tidy(() => tf.concat([random([n - 6], 0.1), tf.tensor([0, 1e30, -1e-30, 3e-39, 65504, -1e-8])]));
    const m = random([n], 0.01);
    const v = tf.tidy(() => tf.abs(random([n], 0.001)));
    const [lr, b1, b2, eps] = [0.003, 0.9, 0.999, 1e-7];
    const acc = [tf.scalar(0.9 ** 7), tf.scalar(0.999 ** 7)];
    const [bc1, bc2] = acc.map((a) => tf.sub(1, a)) as [tf.Scalar, tf.Scalar];
    // tfjs' AdamOptimizer.applyGradients, op for op.
    const want = tf.tidy(() => {
      const newM = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
      const newV = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
      const newW = tf.add(tf.mul(tf.div(tf.div(newM, bc1), tf.add(tf.sqrt(tf.div(newV, bc2)), eps)), -lr), w);
      return [newW, newM, newV];
    });
    const attrs = { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps, biasCorrection1: bc1.dataSync()[0]!, biasCorrection2: bc2.dataSync()[0]! };
    const impls: AdamImplementation[] = ['simd', 'scalar', 'js'];
    for (const impl of impls) {
      forceAdamImplementation(impl);
      assert.equal(adamImplementation(tf.backend()), impl);
      const got = tf.engine().runKernel(TUNE_ADAM, { w, g, m, v }, attrs) as tf.Tensor[];
      got.forEach((t, k) => {
        assert.deepEqual(t.shape, [n]);
        assert.deepEqual(Array.from(t.dataSync()), Array.from(want[k]!.dataSync()), `${impl}: output ${k}`);
      });
      tf.dispose(got);
    }
    forceAdamImplementation(undefined);
    assert.equal(adamImplementation(tf.backend()), 'simd', 'Node has wasm SIMD: the fast path loads');
    // Inputs untouched (outputs are new buffers: a variable's clones share its buffer).
    assert.ok(Array.from(m.dataSync()).every((x) => Math.abs(x) <= 0.01));
    tf.dispose([w, g, m, v, ...acc, bc1, bc2, ...want]);
  });

  test('the kernel works on a heap that grows while it allocates its outputs, and on shared memory', () => {
    // A stand-in for the wasm backend over a memory of our own: every output grows it by a page
    // (old views detach), and the threaded build's heap is shared.
    const fake = (shared: boolean) => {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 1000, shared });
      const wasm = { asm: { memory }, HEAPF32: new Float32Array(memory.buffer) };
      const offsets = new Map<object, { memoryOffset: number }>();
      let top = 16;
      const alloc = (n: number): tf.TensorInfo => {
        const bytes = (n * 4 + 15) & ~15;
        memory.grow(Math.ceil(bytes / 65536));
        wasm.HEAPF32 = new Float32Array(memory.buffer);
        const dataId = {};
        offsets.set(dataId, { memoryOffset: top });
        top += bytes;
        return { dataId, shape: [n], dtype: 'float32' };
      };
      const put = (values: Float32Array): tf.TensorInfo => {
        const t = alloc(values.length);
        wasm.HEAPF32.set(values, offsets.get(t.dataId)!.memoryOffset / 4);
        return t;
      };
      const get = (t: tf.TensorInfo): number[] => {
        const at = offsets.get(t.dataId)!.memoryOffset / 4;
        return Array.from(wasm.HEAPF32.subarray(at, at + t.shape[0]!));
      };
      const backend = { wasm, dataIdMap: { get: (id: object) => offsets.get(id) }, makeOutput: (shape: number[]) => alloc(shape[0]!) };
      return { backend, put, get };
    };
    registerAdamKernel();
    const n = 103;
    const inputs = { w: random([n]), g: random([n], 0.1), m: random([n], 0.01), v: tf.tidy(() => tf.abs(random([n], 0.001))) };
    const attrs = { learningRate: 0.003, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, biasCorrection1: 0.1, biasCorrection2: 0.001 };
    const want = tf.engine().runKernel(TUNE_ADAM, inputs, attrs) as tf.Tensor[];
    const { kernelFunc } = tf.getKernel(TUNE_ADAM, 'wasm')!;
    for (const shared of [false, true]) {
      for (const impl of ['simd', 'scalar', 'js'] as const) {
        forceAdamImplementation(impl);
        const { backend, put, get } = fake(shared);
        const onFake = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, put(t.dataSync() as Float32Array)]));
        assert.equal(adamImplementation(backend as unknown as tf.KernelBackend), impl);
        const got = kernelFunc({ inputs: onFake, backend: backend as unknown as tf.KernelBackend, attrs }) as tf.TensorInfo[];
        got.forEach((t, k) => assert.deepEqual(get(t), Array.from(want[k]!.dataSync()), `${impl}, shared ${shared}: output ${k}`));
      }
    }
    forceAdamImplementation(undefined);
    tf.dispose([...Object.values(inputs), ...want]);
  });

  test('the kernel refuses mismatched sizes and non-float32 inputs', () => {
    const [w, g] = [random([4]), random([5])];
    const i = tf.tensor([1, 2, 3, 4], [4], 'int32');
    const attrs = { learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, biasCorrection1: 0.1, biasCorrection2: 0.001 };
    assert.throws(() => tf.engine().runKernel(TUNE_ADAM, { w, g, m: w, v: w }, attrs), /g has shape \[5\]/);
    assert.throws(() => tf.engine().runKernel(TUNE_ADAM, { w, g: i, m: w, v: w }, attrs), /g is int32/);
    tf.dispose([w, g, i]);
  });

  test('N steps agree with tf.train.adam (learning-rate changes included)', () => {
    const [a, b] = twins() as [tf.Variable[], tf.Variable[]];
    const fused = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
    const reference = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
    train(
      [
        [fused, a],
        [reference, b],
      ],
      40,
      (s) => {
        if (s === 25) for (const o of [fused, reference]) setLearningRate(o, 0.002);
      },
    );
    assert.equal(getLearningRate(fused), 0.002);
    assertClose(a, b, 'weights');
    assert.equal(fused.iterations, 40);
    tf.dispose([...a, ...b]);
    fused.dispose();
    reference.dispose();
  });

  test('gradients as a name → tensor map (minimize without a variable list) work too', () => {
    const [a, b] = twins() as [tf.Variable[], tf.Variable[]];
    const fused = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
    const reference = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
    // Typed as a map of variables; minimize() passes its gradient tensors.
    const map = (vars: tf.Variable[], grads: tf.Tensor[]) => Object.fromEntries(vars.map((v, i) => [v.name, grads[i]!])) as never;
    for (let s = 0; s < 5; s++) {
      const grads = SHAPES.map((shape) => random(shape, 0.1));
      fused.applyGradients(map(a, grads));
      reference.applyGradients(map(b, grads));
      tf.dispose(grads);
    }
    assertClose(a, b, 'map form');
    tf.dispose([...a, ...b]);
    fused.dispose();
    reference.dispose();
  });

  test('getWeights: the same names, order and values as tf.train.adam', async () => {
    const [a, b] = twins() as [tf.Variable[], tf.Variable[]];
    const fused = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
    const reference = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
    train(
      [
        [fused, a],
        [reference, b],
      ],
      6,
    );
    const [sf, sr] = [await state(fused), await state(reference)];
    assert.deepEqual(normalized(sf.map((w) => w.name), a), normalized(sr.map((w) => w.name), b));
    assert.equal(sf[0]!.name, 'iter');
    assert.deepEqual(sf[0]!.values, [6]);
    assert.equal(sf[1]!.name, `${a[0]!.name}/m`);
    assert.equal(sf[1 + SHAPES.length]!.name, `${a[0]!.name}/v`);
    sf.forEach((w, k) => {
      const want = sr[k]!.values;
      const scale = Math.max(...want.map(Math.abs), 1e-30);
      w.values.forEach((x, i) => assert.ok(Math.abs(x - want[i]!) <= 1e-5 * scale, `${w.name}[${i}]`));
    });
    assert.deepEqual(fused.getConfig(), reference.getConfig());
    assert.equal(fused.getClassName(), 'Adam');
    tf.dispose([...a, ...b]);
    fused.dispose();
    reference.dispose();
  });

  test('state moves both ways between FusedAdam and tf.train.adam, and training continues alike', async () => {
    // Parent: 5 steps with one optimizer; children: both kinds load its state and take 8 more steps.
    for (const [Parent, label] of [
      [() => new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7), 'fused → tfjs'],
      [() => tf.train.adam(0.01, 0.9, 0.999, 1e-7), 'tfjs → fused'],
    ] as const) {
      const [a, b, c] = twins(3) as [tf.Variable[], tf.Variable[], tf.Variable[]];
      const parent = Parent();
      train([[parent, a]], 5);
      // Copy the weights; rename the moments for b's and c's variables (as a checkpoint restored into a new model is).
      tf.tidy(() => a.forEach((v, i) => (b[i]!.assign(v.clone()), c[i]!.assign(v.clone()))));
      const saved = await parent.getWeights();
      const renamed = (vars: tf.Variable[]): { name: string; tensor: tf.Tensor }[] =>
        saved.map((w) => ({ name: a.reduce((s, v, i) => s.replace(v.name, vars[i]!.name), w.name), tensor: w.tensor.clone() }));
      const fused = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
      const reference = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
      const forFused = renamed(b);
      const forReference = renamed(c);
      await fused.setWeights(forFused);
      await reference.setWeights(forReference);
      tf.dispose([...forFused, ...forReference].map((w) => w.tensor));
      saved[0]!.tensor.dispose();
      assert.equal(fused.iterations, 5);
      // The parent goes on too, with the same gradients.
      train(
        [
          [fused, b],
          [reference, c],
          [parent, a],
        ],
        8,
      );
      assertClose(b, c, label);
      const [sf, sr] = [await state(fused), await state(reference)];
      assert.deepEqual(normalized(sf.map((w) => w.name), b), normalized(sr.map((w) => w.name), c));
      // Close to the parent trained straight on (pow() vs step-by-step products: float32 rounding).
      assertClose(b, a, `${label}: against straight training`, 1e-4);
      tf.dispose([...a, ...b, ...c]);
      for (const o of [parent, fused, reference]) o.dispose();
    }
  });

  test('no tensor or wasm buffer outlives a step; dispose frees the state', () => {
    const [a] = twins(1) as [tf.Variable[]];
    const fused = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
    const before = tf.memory().numTensors;
    train([[fused, a]], 1); // creates the moments: two per variable
    assert.equal(tf.memory().numTensors, before + 2 * SHAPES.length);
    const tensors = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    const buffers = tf.engine().backend.numDataIds();
    tf.tidy(() => train([[fused, a]], 3));
    train([[fused, a]], 3);
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.memory().numBytes, bytes);
    assert.equal(tf.engine().backend.numDataIds(), buffers);
    fused.dispose();
    assert.equal(tf.memory().numTensors, before - 2); // its two accBeta scalars were counted in `before`
    tf.dispose(a);
  });

  test('minimize() with a variable list, as the trainer calls it', () => {
    const [a, b] = twins() as [tf.Variable[], tf.Variable[]];
    const x = random([16, 13]);
    const loss = (vars: tf.Variable[]) => (): tf.Scalar =>
      tf.tidy(() => {
        const h = tf.relu(tf.add(tf.matMul(x, vars[0]!), vars[1]!));
        const o = tf.add(tf.matMul(h, vars[2]!), vars[3]!);
        return tf.mean(tf.abs(o)) as tf.Scalar;
      });
    const fused = buildOptimizer('adam', 0.01, 0.9);
    assert.ok(fused instanceof FusedAdamOptimizer);
    const reference = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
    for (let s = 0; s < 10; s++) {
      fused.minimize(loss(a), false, a.slice(0, 4));
      reference.minimize(loss(b), false, b.slice(0, 4));
    }
    assertClose(a, b, 'minimize');
    tf.dispose([...a, ...b, x]);
    fused.dispose();
    reference.dispose();
  });

  test('falls back to tfjs’ own step on the cpu backend, and picks up where wasm left off', async () => {
    const [a, b] = twins() as [tf.Variable[], tf.Variable[]];
    const fused = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
    const reference = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
    const pairs: [Optimizer, tf.Variable[]][] = [
      [fused, a],
      [reference, b],
    ];
    train(pairs, 4); // on wasm
    await tf.setBackend('cpu');
    try {
      assert.equal(tf.getKernel(TUNE_ADAM, 'cpu'), undefined, 'a call would throw: the cpu step is tfjs’ own');
      train(pairs, 4);
      assertClose(a, b, 'cpu after wasm');
    } finally {
      await tf.setBackend('wasm');
    }
    train(pairs, 4); // wasm again, after tfjs' steps moved β^t on
    assertClose(a, b, 'wasm after cpu');
    assert.equal(fused.iterations, 12);
    tf.dispose([...a, ...b]);
    fused.dispose();
    reference.dispose();
  });
});
