import type { CallbackState } from './callbacks';

/**
 * Everything a trial needs to be continued later (a Hyperband promotion, or
 * export of a best trial): the returned model's weights, the optimizer's
 * state (moments, iteration count), the learning rate in force, each
 * callback's counters, and the epoch reached. Stored as one BLOB per trial.
 */
export interface Checkpoint {
  /** Epochs trained, counting from the start of the parent chain. */
  readonly epoch: number;
  readonly learningRate: number;
  /** One entry per callback, in study-file order; null for a callback without state. */
  readonly callbacks: readonly (CallbackState | null)[];
  /** Model weights in `model.getWeights()` order (batch-norm statistics included). */
  readonly weights: readonly NamedArray[];
  /** Optimizer weights in `optimizer.getWeights()` order (iteration count first). */
  readonly optimizer: readonly NamedArray[];
}

export interface NamedArray {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

/** `TUNE` + format version: a reader can tell a checkpoint from other bytes and refuse a newer one. */
const MAGIC = 0x454e5554;
const VERSION = 1;

interface Entry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32';
  readonly offset: number;
  readonly length: number;
}

interface Header {
  readonly epoch: number;
  readonly learningRate: number;
  readonly callbacks: readonly (CallbackState | null)[];
  readonly weights: readonly Entry[];
  readonly optimizer: readonly Entry[];
}

/**
 * Layout: magic (u32), version (u32), header length (u32), header JSON,
 * padding to 4 bytes, then every array's raw little-endian bytes in order.
 * A JSON header keeps the format readable from any language; raw arrays keep
 * it compact (a 3×300 MLP with Adam state is ~2.3 MB).
 */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  let offset = 0;
  const entries = (arrays: readonly NamedArray[]): Entry[] =>
    arrays.map((a) => {
      const e: Entry = {
        name: a.name,
        shape: a.shape,
        dtype: a.data instanceof Int32Array ? 'int32' : 'float32',
        offset,
        length: a.data.length,
      };
      offset += a.data.byteLength;
      return e;
    });
  const header: Header = {
    epoch: c.epoch,
    learningRate: c.learningRate,
    callbacks: c.callbacks,
    weights: entries(c.weights),
    optimizer: entries(c.optimizer),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = align4(12 + json.length);
  const out = new Uint8Array(dataStart + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, json.length, true);
  out.set(json, 12);
  // Entries were laid out in this same order.
  let at = dataStart;
  for (const a of [...c.weights, ...c.optimizer]) {
    out.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), at);
    at += a.data.byteLength;
  }
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  if (bytes.byteLength < 12) throw new Error('checkpoint is truncated');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new Error('not a tune checkpoint');
  const version = view.getUint32(4, true);
  if (version !== VERSION) throw new Error(`checkpoint format ${version} is newer than this tune reads (${VERSION})`);
  const headerLength = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as Header;
  const dataStart = align4(12 + headerLength);
  // Copy into a fresh, aligned buffer: the BLOB's own buffer may start at any offset.
  const data = bytes.slice(dataStart).buffer;
  const arrays = (entries: readonly Entry[]): NamedArray[] =>
    entries.map((e) => ({
      name: e.name,
      shape: e.shape,
      data: e.dtype === 'int32' ? new Int32Array(data, e.offset, e.length) : new Float32Array(data, e.offset, e.length),
    }));
  return {
    epoch: header.epoch,
    learningRate: header.learningRate,
    callbacks: header.callbacks,
    weights: arrays(header.weights),
    optimizer: arrays(header.optimizer),
  };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
