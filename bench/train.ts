/**
 * `npm run bench [-- --json] [--epochs N] [--rss-trials N]`
 *
 * Training speed of tune's own trainer (the code path `tune run` uses:
 * trainModel, validation every epoch) on a 3×300 ReLU MLP, 20 inputs, Adam,
 * MAE, 4,000 training rows, at batch 32 and 256 — and, in the same script, the
 * same model, data and loop in PyTorch on one thread (bench/torch_reference.py,
 * Debian's python3-torch), with their ratio. Then memory over many
 * consecutive trials: tfjs tensor count and RSS.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import { readCsvTable } from '../src/data/csv';
import { buildDataset, type Dataset } from '../src/data/dataset';
import { initBackend } from '../src/trials/backend';
import { resolveModelConfig } from '../src/trials/knobs';
import { fitLinearBaseline } from '../src/trials/linear';
import { buildModel, buildOptimizer } from '../src/trials/model';
import { trainModel } from '../src/trials/train';
import { permutation } from '../src/data/dataset';
import { openStorage } from '../src/trials/storage';
import { runStudy } from '../src/study/optimize';
import { parseStudy } from '../src/study/config';
import { hashDefinition, studyDefinition } from '../src/study/config';

const ROOT = resolve(__dirname, '..', '..');
/** Epochs of the overhead measurement: about a 10 s trial at batch 32 here. */
const OVERHEAD_EPOCHS = 14;
const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const json = args.includes('--json');
const EPOCHS = flag('--epochs', 3);
const RSS_TRIALS = flag('--rss-trials', 200);
const ROWS = 4000;
const VAL_ROWS = 1000;
const INPUTS = 20;
const UNITS = 300;
const BATCHES = [32, 256];
const dir = mkdtempSync(join(tmpdir(), 'tune-bench-train-'));

/** A mostly linear target with a nonlinear part, written as CSV so both sides read the same numbers. */
function writeData(name: string, rows: number, seed: string): string {
  const rng = seedrandom(seed);
  const lines = [[...Array.from({ length: INPUTS }, (_, j) => `x${j}`), 'y'].join(',')];
  for (let i = 0; i < rows; i++) {
    const x = Array.from({ length: INPUTS }, () => rng() * 2 - 1);
    const y = x.reduce((s, v, j) => s + v * ((j % 5) - 2) * 0.3, 0) + 0.3 * Math.sin(3 * x[0]!);
    lines.push([...x, y].map((v) => v.toFixed(6)).join(','));
  }
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function tuneSamplesPerSecond(data: Dataset, batch: number): Promise<number> {
  const config = resolveModelConfig({ layers: 3, units: UNITS, activation: 'relu', optimizer: 'adam', loss: 'mae', batch_size: batch, epochs: EPOCHS });
  await trainModel({ config: { ...config, epochs: 1 }, data, callbacks: [], seed: 'warm-up' });
  const r = await trainModel({ config, data, callbacks: [], seed: 'bench' });
  const seconds = r.history.reduce((s, h) => s + h.seconds, 0);
  return (ROWS * r.epochs) / seconds;
}

function torchReference(train: string, val: string): { version: string; results: Map<number, number> } | { missing: string } {
  const python = '/usr/bin/python3';
  if (!existsSync(python)) return { missing: `${python} not found` };
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { missing: 'python3-torch is not installed (apt-get install python3-torch)' };
  const r = spawnSync(python, [join(ROOT, 'bench', 'torch_reference.py'), train, val, String(UNITS), String(EPOCHS), ...BATCHES.map(String)], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
  });
  if (r.status !== 0) return { missing: `the reference failed: ${r.stderr.trim().split('\n').pop()}` };
  const out = JSON.parse(r.stdout) as { torch: string; results: { batch: number; samples_per_s: number }[] };
  return { version: out.torch, results: new Map(out.results.map((x) => [x.batch, x.samples_per_s])) };
}

/** Each overhead timing is the best of this many runs: the machine's noise is larger than the effect. */
const OVERHEAD_REPEATS = 3;

/**
 * What tune adds around the arithmetic of a ~10 s trial: the bare loop (the
 * same mini-batches through optimizer.minimize and a validation forward pass
 * each epoch, nothing else); trainModel (plus per-epoch metrics, callbacks,
 * final evaluation, checkpoint); a whole `tune run` trial (plus storage, progress).
 */
async function overhead(data: Dataset, trainCsv: string, valCsv: string): Promise<{ bare_s: number; train_s: number; run_s: number }> {
  const best = { bare_s: Infinity, train_s: Infinity, run_s: Infinity };
  for (let r = 0; r < OVERHEAD_REPEATS; r++) {
    const o = await overheadOnce(data, trainCsv, valCsv, r);
    best.bare_s = Math.min(best.bare_s, o.bare_s);
    best.train_s = Math.min(best.train_s, o.train_s);
    best.run_s = Math.min(best.run_s, o.run_s);
  }
  return best;
}

async function overheadOnce(
  data: Dataset,
  trainCsv: string,
  valCsv: string,
  repeat: number,
): Promise<{ bare_s: number; train_s: number; run_s: number }> {
  const config = resolveModelConfig({ layers: 3, units: UNITS, activation: 'relu', optimizer: 'adam', loss: 'mae', batch_size: 32, epochs: OVERHEAD_EPOCHS });
  const callbacks = [
    { early_stopping: { monitor: 'val_loss', patience: 100, restore_best_weights: true } },
    { reduce_lr_on_plateau: { monitor: 'loss', patience: 100 } },
  ];
  // Bare loop.
  const seeds = seedrandom('bare');
  const model = buildModel(config, INPUTS, 1, () => Math.floor(seeds() * 2 ** 31));
  const optimizer = buildOptimizer('adam', 0.001, 0.9);
  const x = tf.tensor2d(data.train.x, [data.train.rows, INPUTS]);
  const y = tf.tensor2d(data.train.y, [data.train.rows, 1]);
  const vx = tf.tensor2d(data.validation!.x, [data.validation!.rows, INPUTS]);
  const vy = tf.tensor2d(data.validation!.y, [data.validation!.rows, 1]);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const bareStart = performance.now();
  for (let e = 0; e < OVERHEAD_EPOCHS; e++) {
    const order = permutation(data.train.rows, seedrandom(`bare:${e}`));
    for (let i = 0; i < order.length; i += 32) {
      tf.tidy(() => {
        const idx = tf.tensor1d(order.slice(i, i + 32), 'int32');
        const xb = tf.gather(x, idx);
        const yb = tf.gather(y, idx);
        optimizer.minimize(() => tf.mean(tf.abs(tf.sub(model.apply(xb, { training: true }) as tf.Tensor, yb))) as tf.Scalar, false, variables);
      });
    }
    // The validation pass is part of the protocol (PyTorch's reference does it too), not overhead.
    const valLoss = tf.tidy(() => tf.mean(tf.abs(tf.sub(model.apply(vx, { training: false }) as tf.Tensor, vy))));
    await valLoss.data();
    valLoss.dispose();
  }
  await x.data();
  const bare = (performance.now() - bareStart) / 1000;
  tf.dispose([x, y, vx, vy]);
  optimizer.dispose();
  model.dispose();

  const trainStart = performance.now();
  // The seed `tune run` gives the study's first trial (study seed 0, slot r:0): the very same computation.
  await trainModel({ config, data, callbacks, seed: '0:r:0', checkpoint: true });
  const train = (performance.now() - trainStart) / 1000;

  const study = parseStudy(
    {
      name: 'overhead',
      data: { train: trainCsv, validation: valCsv, targets: ['y'] },
      strategy: { kind: 'random', max_trials: 1 },
      space: { layers: 3, units: UNITS, activation: 'relu', optimizer: 'adam', loss: 'mae', batch_size: 32, epochs: OVERHEAD_EPOCHS },
      callbacks,
    },
    join(dir, 'overhead.yaml'),
  );
  const definition = studyDefinition(study);
  const storage = await openStorage(join(dir, `overhead-${repeat}.db`));
  const lines: string[] = [];
  const runStart = performance.now();
  const prepared = { config: study, dataset: data, definition, definitionHash: hashDefinition(definition), baseline: fitLinearBaseline(data) };
  await runStudy(prepared, storage, {
    observer: { trialFinished: ({ trial }) => void lines.push(String(trial.value)), epochEnded: ({ log }) => void lines.push(String(log.loss)) },
  });
  const run = (performance.now() - runStart) / 1000;
  await storage.close();
  return { bare_s: round2(bare), train_s: round2(train), run_s: round2(run) };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Many consecutive small trials: the tensor count must come back, RSS must not climb. */
async function memory(data: Dataset): Promise<{ tensors: number[]; rssMb: number[] }> {
  const config = resolveModelConfig({ layers: 2, units: 32, optimizer: 'adam', batch_size: 256, epochs: 1, batch_norm: true, dropout: 0.1 });
  const callbacks = [{ early_stopping: { monitor: 'val_loss', patience: 1, restore_best_weights: true } }];
  const tensors: number[] = [];
  const rssMb: number[] = [];
  for (let k = 1; k <= RSS_TRIALS; k++) {
    await trainModel({ config, data, callbacks, seed: `m${k}`, checkpoint: true });
    if (k === 1 || k % 50 === 0) {
      tensors.push(tf.memory().numTensors);
      rssMb.push(Math.round(process.memoryUsage().rss / 1e6));
    }
  }
  return { tensors, rssMb };
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const trainCsv = writeData('train.csv', ROWS, 'bench-train');
  const valCsv = writeData('val.csv', VAL_ROWS, 'bench-val');
  const data = buildDataset(
    { train: readCsvTable(trainCsv, 'train.csv', 'train'), validation: readCsvTable(valCsv, 'val.csv', 'validation') },
    { targets: ['y'], standardize: true, seed: 0 },
  );
  const tensorsBefore = tf.memory().numTensors;
  const tune = new Map<number, number>();
  for (const b of BATCHES) tune.set(b, await tuneSamplesPerSecond(data, b));
  const torch = torchReference(trainCsv, valCsv);
  const over = args.includes('--no-overhead') ? undefined : await overhead(data, trainCsv, valCsv);
  const mem = await memory(data);
  rmSync(dir, { recursive: true, force: true });

  const rows = BATCHES.map((b) => {
    const ref = 'results' in torch ? torch.results.get(b) : undefined;
    return { batch: b, tune_samples_per_s: Math.round(tune.get(b)!), torch_samples_per_s: ref === undefined ? null : Math.round(ref), ratio: ref === undefined ? null : Math.round((tune.get(b)! / ref) * 1000) / 1000 };
  });
  const result = {
    model: `3x${UNITS} relu, ${INPUTS} inputs, adam, mae, ${ROWS} rows, ${EPOCHS} epochs, validation each epoch`,
    backend: backend.name,
    threads: 1,
    torch: 'results' in torch ? { version: torch.version, threads: 1 } : { missing: torch.missing },
    results: rows,
    ...(over
      ? {
          overhead: {
            ...over,
            loop_pct: round2(((over.train_s - over.bare_s) / over.train_s) * 100),
            run_pct: round2(((over.run_s - over.train_s) / over.run_s) * 100),
          },
        }
      : {}),
    memory: { trials: RSS_TRIALS, tensors_before: tensorsBefore, tensors: mem.tensors, rss_mb: mem.rssMb },
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const lines = [`${result.model}; tune on ${backend.name} (1 thread)`];
  for (const r of rows) {
    lines.push(
      `batch ${String(r.batch).padStart(3)}: tune ${r.tune_samples_per_s} samples/s, PyTorch ${r.torch_samples_per_s ?? 'n/a'} samples/s, ratio ${r.ratio ?? 'n/a'}`,
    );
  }
  if ('missing' in torch) lines.push(`PyTorch reference missing: ${torch.missing}`);
  if (result.overhead) {
    const o = result.overhead;
    lines.push(
      `a ${OVERHEAD_EPOCHS}-epoch trial at batch 32: bare loop with validation ${o.bare_s} s; trainModel ${o.train_s} s (+${o.loop_pct}%: metrics, callbacks, final evaluation, checkpoint); tune run ${o.run_s} s (+${o.run_pct}%: storage, progress)`,
    );
  }
  lines.push(`memory over ${RSS_TRIALS} trials: tensors ${tensorsBefore} → ${mem.tensors.join(', ')}; RSS MB ${mem.rssMb.join(', ')}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
