import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import seedrandom from 'seedrandom';
import { initBackend } from '../../src/trials/backend';
import { registerWasmKernels, unregisterWasmKernels } from '../../src/trials/kernels';

const rng = seedrandom('kernels-test');

function random(shape: number[]): tf.Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng() * 2 - 1), shape);
}

/** Last two axes swapped, in plain JS (row-major data of `shape`). */
function swapLast(data: Float32Array, shape: number[]): Float32Array {
  const [r, c] = shape.slice(-2) as [number, number];
  const out = new Float32Array(data.length);
  for (let m = 0; m < data.length; m += r * c) {
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[m + j * r + i] = data[m + i * c + j]!;
  }
  return out;
}

/**
 * matMul in float64 plain JS, with each entry's Σ|a·b|: float32 sums are accurate
 * relative to that, not to the (possibly cancelled) entry itself.
 */
function reference(a: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean): { value: Float64Array; scale: Float64Array } {
  const as = a.shape.slice(-2) as [number, number];
  const bs = b.shape.slice(-2) as [number, number];
  const A = tA ? swapLast(a.dataSync() as Float32Array, a.shape) : (a.dataSync() as Float32Array);
  const B = tB ? swapLast(b.dataSync() as Float32Array, b.shape) : (b.dataSync() as Float32Array);
  const [m, k] = tA ? [as[1], as[0]] : as;
  const n = tB ? bs[0] : bs[1];
  const batches = Math.max(A.length / (m * k), B.length / (k * n)); // one side is 1 or both equal here
  const value = new Float64Array(batches * m * n);
  const scale = new Float64Array(batches * m * n);
  for (let p = 0; p < batches; p++) {
    const ao = (p % (A.length / (m * k))) * m * k;
    const bo = (p % (B.length / (k * n))) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let abs = 0;
        for (let q = 0; q < k; q++) {
          const t = A[ao + i * k + q]! * B[bo + q * n + j]!;
          s += t;
          abs += Math.abs(t);
        }
        value[p * m * n + i * n + j] = s;
        scale[p * m * n + i * n + j] = abs;
      }
    }
  }
  return { value, scale };
}

function assertClose(got: tf.Tensor, want: { value: Float64Array; scale: Float64Array }, label: string): void {
  const g = got.dataSync();
  assert.equal(g.length, want.value.length, `${label}: size`);
  for (let i = 0; i < g.length; i++) {
    const err = Math.abs(g[i]! - want.value[i]!);
    assert.ok(err <= 1e-5 * want.scale[i]! + 1e-12, `${label}[${i}]: ${g[i]} vs ${want.value[i]} (Σ|a·b| ${want.scale[i]})`);
  }
}

/** The shapes `a` and `b` must have for op(a) [m×k] · op(b) [k×n]. */
function operands(m: number, k: number, n: number, tA: boolean, tB: boolean, lead: number[] = []): [number[], number[]] {
  return [
    [...lead, ...(tA ? [k, m] : [m, k])],
    [...lead, ...(tB ? [n, k] : [k, n])],
  ];
}

const flags = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const;

// Few rows against a wide right operand, and the reverse: the kernel computes
// these two ways (direct, or through the transposed product), so both are covered.
const sizes = [
  [3, 16, 24],
  [40, 16, 5],
  [1, 7, 1],
  [6, 1, 9],
] as const;

describe('wasm matMul kernels', () => {
  before(async () => {
    const info = await initBackend('wasm');
    assert.equal(info.name, 'wasm');
    registerWasmKernels();
  });

  for (const [tA, tB] of flags) {
    test(`matMul transposeA=${tA} transposeB=${tB} matches a float64 reference`, () => {
      for (const [m, k, n] of sizes) {
        for (const lead of [[], [1], [3]]) {
          const [as, bs] = operands(m, k, n, tA, tB, lead);
          tf.tidy(() => {
            const a = random(as);
            const b = random(bs);
            const c = tf.matMul(a, b, tA, tB);
            assert.deepEqual(c.shape, [...lead, m, n]);
            assertClose(c, reference(a, b, tA, tB), `[${as}]·[${bs}]`);
          });
        }
      }
    });
  }

  test('mixed ranks broadcast as before', () => {
    tf.tidy(() => {
      const a = random([1, 6, 20]);
      const b = random([5, 6]);
      const c = tf.matMul(a, b, true, true);
      assert.deepEqual(c.shape, [1, 20, 5]);
      assertClose(c, reference(a, b, true, true), 'mixed');
    });
  });

  test("a dense model's gradients equal those of the original kernel", () => {
    // Layers' Dense, as the trials build it: forward _FusedMatMul or matMul, backward transposed
    // matMuls. Few rows and a 40×40 kernel: dX of the middle layer takes the transposed-product route.
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({ units: 40, activation: 'relu', inputShape: [12] }),
        tfl.layers.dense({ units: 40, activation: 'relu' }),
        tfl.layers.dense({ units: 2 }),
      ],
    });
    const x = random([4, 12]);
    const y = random([4, 2]);
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const grads = (): Float32Array[] =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () => tf.mean(tf.abs(tf.sub(model.apply(x, { training: true }) as tf.Tensor, y))) as tf.Scalar,
          variables,
        );
        return variables.map((v) => grads[v.name]!.dataSync() as Float32Array);
      });
    try {
      unregisterWasmKernels();
      const original = grads();
      registerWasmKernels();
      const patched = grads();
      original.forEach((o, i) => {
        const p = patched[i]!;
        const scale = Math.max(...o.map(Math.abs));
        assert.ok(scale > 0, `${variables[i]!.name}: zero gradient`);
        o.forEach((v, j) => assert.ok(Math.abs(p[j]! - v) <= 1e-5 * scale, `${variables[i]!.name}[${j}]: ${p[j]} vs ${v}`));
      });
    } finally {
      registerWasmKernels();
      tf.dispose([x, y]);
      model.dispose();
    }
  });

  test('registering twice is harmless; unregistering restores the original; other backends untouched', () => {
    const cpu = tf.getKernel('BatchMatMul', 'cpu');
    unregisterWasmKernels();
    const original = tf.getKernel('BatchMatMul', 'wasm');
    registerWasmKernels();
    const patched = tf.getKernel('BatchMatMul', 'wasm');
    assert.notEqual(patched, original);
    registerWasmKernels();
    assert.equal(tf.getKernel('BatchMatMul', 'wasm'), patched);
    assert.equal(tf.getKernel('BatchMatMul', 'cpu'), cpu);
    tf.tidy(() => {
      const a = random([5, 4]);
      const b = random([3, 5]);
      assertClose(tf.matMul(a, b, true, true), reference(a, b, true, true), 'after two registrations');
    });
    unregisterWasmKernels();
    assert.equal(tf.getKernel('BatchMatMul', 'wasm'), original);
    registerWasmKernels();
  });

  test('leaves no tensors or wasm buffers behind', () => {
    const a = random([30, 8]);
    const b = random([16, 8]);
    const c = random([30, 16]);
    const d = random([2, 16]);
    const run = (): void =>
      tf.tidy(() => {
        tf.matMul(a, b, false, true); // direct
        tf.matMul(d, c, false, true); // through the transposed product
        tf.matMul(a, c, true, false);
        tf.matMul(b, c, true, true);
        tf.matMul(c, b); // untouched
      });
    run(); // first calls may set up lasting state
    const before = tf.memory();
    const buffers = tf.engine().backend.numDataIds();
    run();
    const after = tf.memory();
    assert.equal(after.numTensors, before.numTensors);
    assert.equal(after.numBytes, before.numBytes);
    assert.equal(tf.engine().backend.numDataIds(), buffers);
    tf.dispose([a, b, c, d]);
  });
});
