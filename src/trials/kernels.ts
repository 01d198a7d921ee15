import {
  BatchMatMul,
  type DataId,
  type DataType,
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
  registerAdamKernel();
  const original = getKernel(BatchMatMul, 'wasm') as Patched | undefined;
  const transpose = getKernel(Transpose, 'wasm')?.kernelFunc;
  if (!original || !transpose || original[ORIGINAL]) return;
  const patched: Patched = { ...original, kernelFunc: untransposed(original.kernelFunc, transpose), [ORIGINAL]: original };
  unregisterKernel(BatchMatMul, 'wasm');
  registerKernel(patched);
}

/**
 * Puts back the kernel `registerWasmKernels` replaced (benchmarks, tests).
 * `TuneAdam` stays: it replaces nothing, and optimizers may be using it.
 */
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

// ---------------------------------------------------------------------------
// Fused Adam

/**
 * One Adam update of one variable in one pass, for the wasm backend: reads
 * w, g, m, v and writes new w, m, v, where tfjs' AdamOptimizer runs 14
 * kernels per variable (each a pass over memory and a fresh buffer).
 *
 * Inputs `w`, `g`, `m`, `v` (float32, same size); outputs `[w, m, v]`, new
 * buffers (the inputs may be shared: a variable's snapshot is a clone of it).
 * The arithmetic is tfjs' own, step by step in float32:
 *
 *   m' = m·β1 + g·(1−β1)
 *   v' = v·β2 + g²·(1−β2)
 *   w' = (m'/bc1) / (sqrt(v'/bc2) + ε) · (−lr) + w       bc1 = 1−β1ᵗ, bc2 = 1−β2ᵗ
 *
 * with each scalar rounded to float32 as tfjs' scalar tensors are. IEEE
 * float32 +, ·, / and sqrt are correctly rounded in wasm (SIMD or not) and
 * in JS over Math.fround, as in XNNPACK's kernels: the results are the same
 * bits as tfjs' Adam on wasm.
 */
export const TUNE_ADAM = 'TuneAdam';

export interface AdamAttrs {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** 1 − β1ᵗ, as tfjs computes it (float32). */
  readonly biasCorrection1: number;
  /** 1 − β2ᵗ, as tfjs computes it (float32). */
  readonly biasCorrection2: number;
}

/** Registers `TuneAdam` for the wasm backend (idempotent). */
export function registerAdamKernel(): void {
  if (getKernel(TUNE_ADAM, 'wasm')) return;
  registerKernel({ kernelName: TUNE_ADAM, backendName: 'wasm', kernelFunc: adamKernel as unknown as KernelFunc });
}

/** What the wasm backend exposes that a JS kernel needs (tfjs-backend-wasm's BackendWasm). */
interface WasmBackend extends KernelBackend {
  readonly wasm: { readonly HEAPF32: Float32Array; readonly asm?: { readonly memory?: unknown } };
  readonly dataIdMap: { get(dataId: DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
}

/**
 * Byte offsets of w, g, m, v, new w, new m, new v; element count; then
 * β1, 1−β1, β2, 1−β2, bc1, bc2, ε, −lr (rounded to float32 on the way in).
 */
type AdamImpl = (
  w: number, g: number, m: number, v: number, ow: number, om: number, ov: number, n: number,
  b1: number, c1: number, b2: number, c2: number, bc1: number, bc2: number, eps: number, nlr: number,
) => void;

export type AdamImplementation = 'simd' | 'scalar' | 'js';

/** Per wasm module instance (a backend re-created gets a new heap): the compiled update. */
const impls = new WeakMap<object, Map<AdamImplementation, AdamImpl | null>>();
let forced: AdamImplementation | undefined;

/** Tests: run the kernel as wasm SIMD, scalar wasm or plain JS; undefined for the best available. */
export function forceAdamImplementation(impl: AdamImplementation | undefined): void {
  forced = impl;
}

/** The implementation the kernel uses on `backend` (the best one that loads there, or the forced one). */
export function adamImplementation(backend: KernelBackend): AdamImplementation {
  return pickImpl(backend as WasmBackend)[0];
}

function adamKernel(args: { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: AdamAttrs }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { w, g, m, v } = inputs as { w: TensorInfo; g: TensorInfo; m: TensorInfo; v: TensorInfo };
  const n = util.sizeFromShape(w.shape);
  for (const [name, x] of [['w', w], ['g', g], ['m', m], ['v', v]] as const) {
    if (x.dtype !== 'float32') throw new Error(`${TUNE_ADAM}: ${name} is ${x.dtype}, not float32`);
    if (util.sizeFromShape(x.shape) !== n) throw new Error(`${TUNE_ADAM}: ${name} has shape [${x.shape}], w [${w.shape}]`);
  }
  const offset = (x: TensorInfo): number => backend.dataIdMap.get(x.dataId)!.memoryOffset;
  const outW = backend.makeOutput([...w.shape], 'float32');
  const outM = backend.makeOutput([...w.shape], 'float32');
  const outV = backend.makeOutput([...w.shape], 'float32');
  const { learningRate: lr, beta1, beta2, epsilon, biasCorrection1, biasCorrection2 } = attrs;
  // makeOutput may grow the heap: offsets stay valid, JS views of the old one do not (jsAdam takes its view per call).
  pickImpl(backend)[1](
    offset(w), offset(g), offset(m), offset(v), offset(outW), offset(outM), offset(outV), n,
    beta1, 1 - beta1, beta2, 1 - beta2, biasCorrection1, biasCorrection2, epsilon, -lr,
  );
  return [outW, outM, outV];
}

function pickImpl(backend: WasmBackend): [AdamImplementation, AdamImpl] {
  const module = backend.wasm;
  let cache = impls.get(module);
  if (!cache) impls.set(module, (cache = new Map()));
  for (const name of forced ? [forced] : (['simd', 'scalar', 'js'] as const)) {
    if (!cache.has(name)) cache.set(name, load(name, backend));
    const impl = cache.get(name);
    if (impl) return [name, impl];
  }
  throw new Error(`${TUNE_ADAM}: the ${forced} implementation does not load here`);
}

function load(name: AdamImplementation, backend: WasmBackend): AdamImpl | null {
  if (name === 'js') return jsAdam(backend);
  const memory = backend.wasm.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  // The multi-threaded build's heap is shared memory, which must be imported as such.
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const bytes = adamModule(name === 'simd', shared);
  if (!WebAssembly.validate(bytes)) return null; // no wasm SIMD here
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    return instance.exports.adam as AdamImpl;
  } catch {
    return null; // the memory would not link: the next implementation
  }
}

/** The same loop in JS over the heap: when the backend's memory cannot be imported. */
function jsAdam(backend: WasmBackend): AdamImpl {
  const f = Math.fround;
  return (w, g, m, v, ow, om, ov, n, b1, c1, b2, c2, bc1, bc2, eps, nlr) => {
    const heap = backend.wasm.HEAPF32; // read after makeOutput: a grown heap has a new view
    const [B1, C1, B2, C2, BC1, BC2, EPS, NLR] = [f(b1), f(c1), f(b2), f(c2), f(bc1), f(bc2), f(eps), f(nlr)];
    const [W, G, M, V, OW, OM, OV] = [w >>> 2, g >>> 2, m >>> 2, v >>> 2, ow >>> 2, om >>> 2, ov >>> 2];
    for (let i = 0; i < n; i++) {
      const gi = heap[G + i]!;
      const mi = f(f(heap[M + i]! * B1) + f(gi * C1));
      const vi = f(f(heap[V + i]! * B2) + f(f(gi * gi) * C2));
      heap[OM + i] = mi;
      heap[OV + i] = vi;
      heap[OW + i] = f(f(f(mi / BC1) / f(f(Math.sqrt(f(vi / BC2))) + EPS)) * NLR) + heap[W + i]!;
    }
  };
}

/**
 * A wasm module importing the backend's memory (env.memory) and exporting
 * `adam` (signature of AdamImpl), assembled here: tfjs-backend-wasm has no
 * such kernel and this package builds no C. With `simd`, four floats per
 * iteration (f32x4) then a scalar loop for the rest; without, the scalar loop.
 *
 *   (func $adam (param $w $g $m $v $ow $om $ov $n i32) (param $b1 $c1 $b2 $c2 $bc1 $bc2 $eps $nlr f32)
 *     $end := n·4;  $end4 := (n & ~3)·4;  splat each f32 param into a v128
 *     for ($i = 0; $i < $end4; $i += 16) { G, M, V := v128 loads at $g, $m, $v + $i
 *       M' := M·B1 + G·C1;  V' := V·B2 + (G·G)·C2;  store M', V' at $om, $ov + $i
 *       store ((M'/BC1) / (sqrt(V'/BC2) + EPS))·NLR + W at $ow + $i }
 *     for (; $i < $end; $i += 4) { the same on one f32 })
 */
function adamModule(simd: boolean, shared: boolean): Uint8Array<ArrayBuffer> {
  const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;
  // Locals after the 16 parameters (0-7 pointers and n, 8-15 scalars).
  const i = 16, end4 = 17, end = 18, gs = 19, ms = 20, vs = 21; // i32 ×3, f32 ×3
  const splat = 22, G = 30, M = 31, V = 32; // v128: 8 splats (params 8-15 in order), then 3
  const get = (x: number): number[] => [0x20, x];
  const set = (x: number): number[] => [0x21, x];
  const tee = (x: number): number[] => [0x22, x];
  const i32 = (k: number): number[] => [0x41, ...sleb(k)];
  const at = (ptr: number): number[] => [...get(ptr), ...get(i), 0x6a]; // ptr + i
  const f32 = { load: [0x2a, 2, 0], store: [0x38, 2, 0], add: [0x92], mul: [0x94], div: [0x95], sqrt: [0x91] };
  const simdOp = (op: number): number[] => [0xfd, ...uleb(op)];
  const v128 = {
    load: [...simdOp(0x00), 3, 0], store: [...simdOp(0x0b), 3, 0], splat: simdOp(0x13),
    add: simdOp(0xe4), mul: simdOp(0xe6), div: simdOp(0xe7), sqrt: simdOp(0xe3),
  };
  /** One iteration over lane type `t`, `step` bytes; `s(k)` pushes scalar k (0 = β1 … 7 = −lr), g/m/v are scratch locals. */
  const body = (t: typeof f32, step: number, g: number, m: number, v: number, s: (k: number) => number[]): number[] => [
    ...at(1), ...t.load, ...set(g),
    // m' = m·β1 + g·(1−β1)
    ...at(5), // store address for m'
    ...at(2), ...t.load, ...s(0), ...t.mul, ...get(g), ...s(1), ...t.mul, ...t.add, ...tee(m),
    ...t.store,
    // v' = v·β2 + (g·g)·(1−β2)
    ...at(6),
    ...at(3), ...t.load, ...s(2), ...t.mul, ...get(g), ...get(g), ...t.mul, ...s(3), ...t.mul, ...t.add, ...tee(v),
    ...t.store,
    // w' = ((m'/bc1) / (sqrt(v'/bc2) + ε))·(−lr) + w
    ...at(4),
    ...get(m), ...s(4), ...t.div, ...get(v), ...s(5), ...t.div, ...t.sqrt, ...s(6), ...t.add, ...t.div, ...s(7), ...t.mul,
    ...at(0), ...t.load, ...t.add,
    ...t.store,
    ...get(i), ...i32(step), 0x6a, ...set(i),
  ];
  const loop = (limit: number, code: number[]): number[] => [
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(i), ...get(limit), 0x4f, 0x0d, 1, // i >= limit: break
    ...code,
    0x0c, 0, 0x0b, 0x0b, // continue; end loop, end block
  ];
  const code = [
    ...get(7), ...i32(2), 0x74, ...set(end), // end = n << 2
    ...get(7), ...i32(-4), 0x71, ...i32(2), 0x74, ...set(end4), // end4 = (n & -4) << 2
    ...(simd
      ? [
          ...Array.from({ length: 8 }, (_, k) => [...get(8 + k), ...v128.splat, ...set(splat + k)]).flat(),
          ...loop(end4, body(v128, 16, G, M, V, (k) => get(splat + k))),
        ]
      : []),
    ...loop(end, body(f32, 4, gs, ms, vs, (k) => get(8 + k))),
    0x0b,
  ];
  const locals = [[3, I32], [3, F32], ...(simd ? [[11, V128]] : [])];
  const func = [...uleb(locals.length), ...locals.flatMap(([count, type]) => [...uleb(count!), type!]), ...code];
  const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content];
  const name = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 16, ...Array(8).fill(I32), ...Array(8).fill(F32), 0]), // type: (i32×8 f32×8) → ()
    // Import env.memory: at least 0 pages, no maximum; shared memory must declare one (4 GiB: any heap).
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, ...(shared ? [0x03, 0, ...uleb(65536)] : [0x00, 0])]),
    ...section(3, [1, 0]), // one function of type 0
    ...section(7, [1, ...name('adam'), 0x00, 0]), // export it
    ...section(10, [1, ...uleb(func.length), ...func]),
  ]);
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}
