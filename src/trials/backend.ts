import * as tf from '@tensorflow/tfjs-core';

/**
 * Picks the tfjs backend at run time. `@tensorflow/tfjs-node` is an optional
 * dependency: its install downloads libtensorflow, which fails on machines
 * without that host, and npm then skips it. So: native TensorFlow when it
 * loads, else WebAssembly (ships its own binaries, SIMD, one thread in
 * Node), else the pure-JS CPU backend.
 */
import { BACKENDS, type BackendName } from './backend-names';
import { registerWasmKernels } from './kernels';

export { BACKENDS, type BackendName };

export interface BackendInfo {
  readonly name: BackendName;
  /** Why the preferred ones were not used, for `--backend` reports. */
  readonly skipped: readonly string[];
}

let active: BackendInfo | undefined;

/**
 * Loads and activates a backend once per process. `forced` makes it an error
 * when that backend cannot load (the user asked for it); otherwise falls back.
 */
export async function initBackend(forced?: BackendName): Promise<BackendInfo> {
  if (active && (!forced || forced === active.name)) return active;
  const order: readonly BackendName[] = forced ? [forced] : BACKENDS;
  const skipped: string[] = [];
  for (const name of order) {
    const why = await tryBackend(name);
    if (why === undefined) {
      active = { name, skipped };
      return active;
    }
    skipped.push(`${name}: ${why}`);
  }
  throw new Error(`backend ${forced ?? 'any'} could not be loaded (${skipped.join('; ')})`);
}

async function tryBackend(name: BackendName): Promise<string | undefined> {
  try {
    switch (name) {
      case 'tensorflow':
        // Registers the `tensorflow` backend with the same tfjs-core instance.
        require('@tensorflow/tfjs-node');
        break;
      case 'wasm': {
        const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
        // `--workers N` asks each process for one thread so N processes use N cores
        // (in Node the wasm backend runs one thread anyway; this keeps it so).
        const threads = Number(process.env.TUNE_THREADS);
        if (threads > 0) wasm.setThreadsCount(threads);
        break;
      }
      case 'cpu':
        require('@tensorflow/tfjs-backend-cpu');
        break;
    }
    const ok = await tf.setBackend(name);
    if (!ok) return 'did not initialise';
    await tf.ready();
    // Transposed matmuls (every Dense backward pass) are 8-12× slower than they need be on wasm.
    if (name === 'wasm') registerWasmKernels();
    if (name === 'cpu') {
      // tfjs-cpu prints a banner on first use in Node urging tfjs-node; tune already
      // reports the backend it chose and why, so the banner is noise in its output.
      (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
    }
    return undefined;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return msg.split('\n')[0];
  }
}

export function activeBackend(): BackendInfo | undefined {
  return active;
}
