import {
  BatchMatMul,
  getKernel,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  registerKernel,
  type TensorInfo,
  Transpose,
  unregisterKernel,
  util,
} from '@tensorflow/tfjs-core';

/**
 * Faster matmuls for the wasm backend.
 *
 * tfjs-backend-wasm 4.22 sends a matmul to XNNPACK only when neither operand is
 * transposed and the batch is 1 (batch_mat_mul_impl.cc); any transpose falls
 * back to a naive blocked loop, 8-12× slower. Every Dense layer's backward pass
 * asks for one (dX = dY·Wᵀ, dW = Xᵀ·dY). Explicit wasm Transposes (memory
 * copies) around a plain matmul take the fast path; the sums are the same, up
 * to float rounding order.
 *
 * Only the wasm `BatchMatMul` is replaced: `_FusedMatMul` (Dense forward passes
 * outside gradient tapes, the output layer) is never called transposed by
 * tfjs-core or tfjs-layers, and its bias would not survive the swapped route.
 */

/** Marks a config as ours and keeps the kernel it replaced. Symbol.for: survives two copies of this module. */
const ORIGINAL = Symbol.for('tune.wasmKernels.original');

type Patched = KernelConfig & { [ORIGINAL]?: KernelConfig };

/**
 * Replaces the wasm `BatchMatMul` kernel. Call after the wasm backend is
 * loaded; does nothing when it is not, and on a second call. Other backends'
 * kernels are untouched.
 */
export function registerWasmKernels(): void {
  const original = getKernel(BatchMatMul, 'wasm') as Patched | undefined;
  const transpose = getKernel(Transpose, 'wasm')?.kernelFunc;
  if (!original || !transpose || original[ORIGINAL]) return;
  const patched: Patched = { ...original, kernelFunc: untransposed(original.kernelFunc, transpose), [ORIGINAL]: original };
  unregisterKernel(BatchMatMul, 'wasm');
  registerKernel(patched);
}

/** Puts back the kernel `registerWasmKernels` replaced (benchmarks, tests). */
export function unregisterWasmKernels(): void {
  const original = (getKernel(BatchMatMul, 'wasm') as Patched | undefined)?.[ORIGINAL];
  if (!original) return;
  unregisterKernel(BatchMatMul, 'wasm');
  registerKernel(original);
}

/** Wraps the wasm matmul so that it never sees `transposeA` or `transposeB`. */
function untransposed(matMul: KernelFunc, transpose: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA: tA, transposeB: tB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    // Batched (batch > 1) matmuls take the slow loop either way; a copy would only add to it.
    // Bad shapes and dtypes go through too, for the original's error messages.
    const simple = single(a) && single(b) && a.dtype === 'float32' && b.dtype === 'float32';
    if (!(tA || tB) || !simple || inner(a, tA) !== inner(b, !tB)) return matMul(args);
    const backend = args.backend as KernelBackend;
    const temps: TensorInfo[] = [];
    const temp = (x: TensorInfo): TensorInfo => (temps.push(x), x);
    const t = (x: TensorInfo): TensorInfo => {
      const perm = x.shape.map((_, i) => i);
      [perm[perm.length - 2], perm[perm.length - 1]] = [perm.length - 1, perm.length - 2];
      return transpose({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
    };
    const plain = (x: TensorInfo, y: TensorInfo): TensorInfo =>
      matMul({ inputs: { a: x, b: y }, backend, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
    try {
      // XNNPACK repacks its right operand on every call (its cache is keyed on the
      // tensor, and Adam replaces each weight every step), so the right operand
      // costs about two copies. Either compute op(A)·op(B) directly, or
      // (op(B)ᵀ·op(A)ᵀ)ᵀ, whichever copies fewer floats: for dY·Wᵀ with a small
      // batch, transposing dY and the result beats transposing and packing W (2× at batch 32).
      const size = (x: TensorInfo): number => util.sizeFromShape(x.shape);
      const rows = a.shape[a.shape.length - (tA ? 1 : 2)]!;
      const cols = b.shape[b.shape.length - (tB ? 2 : 1)]!;
      const direct = (tA ? size(a) : 0) + (tB ? size(b) : 0) + size(b);
      const swapped = (tB ? 0 : size(b)) + (tA ? 0 : size(a)) + size(a) + rows * cols;
      if (direct <= swapped) return plain(tA ? temp(t(a)) : a, tB ? temp(t(b)) : b);
      return t(temp(plain(tB ? b : temp(t(b)), tA ? a : temp(t(a)))));
    } finally {
      // Kernel-internal buffers never reach the engine: free them here, as the wasm kernels do.
      for (const x of temps) backend.disposeData(x.dataId);
    }
  };
}

/** Columns of x, or rows when `t`: the summed dimension is inner(a, tA) on the left, inner(b, !tB) on the right. */
function inner(x: TensorInfo, t: boolean): number | undefined {
  return x.shape[x.shape.length - (t ? 2 : 1)];
}

/** True when the leading (batch) dimensions hold one matrix. */
function single(x: TensorInfo): boolean {
  return util.sizeFromShape(x.shape.slice(0, -2)) === 1;
}
