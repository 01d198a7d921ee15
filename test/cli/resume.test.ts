import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import seedrandom from 'seedrandom';
import { SqliteStorage } from '../../src/trials/storage';
import type { TrialRecord } from '../../src/trials/storage/types';
import { mostlyLinearRows, type Row, runTune, spawnTune, tempDir, writeCsv, writeStudy } from '../helpers/cli';

/**
 * Studies that survive kill -9: real `tune run` processes are killed with
 * SIGKILL at chosen points (crash-injection via TUNE_FAULT) and at a random
 * moment, then re-run; the result must equal an uninterrupted run's.
 */
const dir = tempDir('tune-resume-');

function rows(n: number, seed: string): Row[] {
  return mostlyLinearRows(n, seed, { names: ['a', 'b', 'c', 'y'] });
}

const COMMON = `
seed: 11
data: { train: train.csv, split: 0.25, targets: [y] }
objective: { metric: val_mae }
callbacks:
  - early_stopping: { monitor: val_loss, patience: 3, restore_best_weights: true }
  - reduce_lr_on_plateau: { monitor: loss, factor: 0.5, patience: 2 }
`;
const SPACE = `
space:
  layers: { type: int, min: 1, max: 2 }
  units: { type: int, min: 4, max: 16, step: 4 }
  optimizer: { type: choice, values: [sgd, adam] }
  learning_rate: { type: float, min: 1.0e-3, max: 5.0e-2, sampling: log }
  dropout: { type: float, min: 0.0, max: 0.2 }
  batch_size: 16
`;
const RANDOM = `name: kill-random\n${COMMON}strategy: { kind: random, max_trials: 6 }\n${SPACE}  epochs: 8\n`;
const HYPERBAND = `name: kill-hyperband\n${COMMON}strategy: { kind: hyperband, max_epochs: 9, factor: 3 }\n${SPACE}`;

async function trialsOf(db: string): Promise<TrialRecord[]> {
  const storage = SqliteStorage.open(join(dir, db));
  try {
    const study = (await storage.listStudies())[0]!.study;
    return await storage.getTrials(study.id);
  } finally {
    await storage.close();
  }
}

/** The outcome per slot: what an uninterrupted run and a crashed-and-resumed one must agree on. */
function bySlot(trials: readonly TrialRecord[]): Map<string, { params: string; valMae: number; parentSlot?: string }> {
  const slotOf = new Map(trials.map((t) => [t.number, t.slot]));
  const out = new Map<string, { params: string; valMae: number; parentSlot?: string }>();
  for (const t of trials) {
    if (t.state !== 'complete') continue;
    assert.ok(!out.has(t.slot), `slot ${t.slot} completed twice`);
    out.set(t.slot, {
      params: JSON.stringify(t.params),
      valMae: t.metrics.val_mae!,
      ...(t.parent !== undefined ? { parentSlot: slotOf.get(t.parent)! } : {}),
    });
  }
  return out;
}

/** Runs the study with a crash point armed; asserts the process really died by SIGKILL there. */
function crashAt(study: string, db: string, fault: string): void {
  const r = runTune(['run', study, '--storage', db], dir, { TUNE_FAULT: fault });
  assert.equal(r.signal, 'SIGKILL', `expected a crash at ${fault}; exit ${r.status}: ${r.stderr}`);
}

/** Starts the study and SIGKILLs it after `ms`, whatever it is doing then. */
async function killAfter(study: string, db: string, ms: number): Promise<void> {
  const { child, done } = spawnTune(['run', study, '--storage', db], dir);
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  await done;
  clearTimeout(timer);
}

function assertResumedEqualsReference(reference: TrialRecord[], resumed: TrialRecord[]): void {
  assert.equal(resumed.filter((t) => t.state === 'running').length, 0);
  const ref = bySlot(reference);
  const got = bySlot(resumed);
  assert.deepEqual([...got.keys()].sort(), [...ref.keys()].sort(), 'the same slots complete');
  for (const [slot, r] of ref) {
    const g = got.get(slot)!;
    assert.equal(g.params, r.params, `slot ${slot}: same parameters`);
    assert.equal(g.parentSlot, r.parentSlot, `slot ${slot}: same parent`);
    // Seeds come from the slot, so a re-run trial is the same computation.
    assert.ok(Math.abs(g.valMae - r.valMae) <= 1e-6 * Math.max(1, r.valMae), `slot ${slot}: ${g.valMae} vs ${r.valMae}`);
  }
  const completeParams = resumed.filter((t) => t.state === 'complete' && t.parent === undefined).map((t) => JSON.stringify(t.params));
  assert.equal(new Set(completeParams).size, completeParams.length, 'no parameter set completes twice');
}

describe('kill -9 and resume', () => {
  before(() => {
    writeCsv(dir, 'train.csv', rows(120, 'resume'));
    writeStudy(dir, 'random.yaml', RANDOM);
    writeStudy(dir, 'hyperband.yaml', HYPERBAND);
  });

  test('random: crashes during training, between trials, in a checkpoint write and at a random moment, then one re-run', async () => {
    assert.equal(runTune(['run', 'random.yaml', '--storage', 'random-ref.db'], dir).status, 0);
    crashAt('random.yaml', 'random-int.db', 'epoch-end:3');
    crashAt('random.yaml', 'random-int.db', 'between-trials:1');
    crashAt('random.yaml', 'random-int.db', 'checkpoint-write:2');
    await killAfter('random.yaml', 'random-int.db', 300 + Math.floor(seedrandom('kill')() * 1500));
    const last = runTune(['run', 'random.yaml', '--storage', 'random-int.db'], dir);
    assert.equal(last.status, 0, last.stderr);
    assert.match(last.stdout, /marked interrupted, to run again|resuming after/);
    const resumed = await trialsOf('random-int.db');
    assert.ok(resumed.some((t) => t.state === 'interrupted'), 'some trial was cut short');
    for (const t of resumed.filter((t) => t.retryOf !== undefined)) {
      assert.equal(t.slot, resumed.find((r) => r.number === t.retryOf)!.slot);
    }
    assertResumedEqualsReference(await trialsOf('random-ref.db'), resumed);
    assert.equal(resumed.filter((t) => t.state === 'complete').length, 6);
    // Finished: a further run has nothing to do.
    const again = runTune(['run', 'random.yaml', '--storage', 'random-int.db'], dir);
    assert.equal(again.status, 0);
    assert.match(again.stdout, /is complete/);
  });

  test('hyperband: the same schedule after crashes, and no promotion restarts from scratch', async () => {
    assert.equal(runTune(['run', 'hyperband.yaml', '--storage', 'hb-ref.db'], dir).status, 0);
    crashAt('hyperband.yaml', 'hb-int.db', 'checkpoint-write:4');
    crashAt('hyperband.yaml', 'hb-int.db', 'epoch-end:25');
    crashAt('hyperband.yaml', 'hb-int.db', 'between-trials:6');
    await killAfter('hyperband.yaml', 'hb-int.db', 300 + Math.floor(seedrandom('kill-hb')() * 1500));
    const last = runTune(['run', 'hyperband.yaml', '--storage', 'hb-int.db'], dir);
    assert.equal(last.status, 0, last.stderr);
    const reference = await trialsOf('hb-ref.db');
    const resumed = await trialsOf('hb-int.db');
    assert.equal(bySlot(reference).size, 23, '9/3: 23 trial runs');
    assertResumedEqualsReference(reference, resumed);
    for (const t of resumed.filter((t) => t.state === 'complete' && t.parent !== undefined)) {
      const parent = resumed.find((p) => p.number === t.parent)!;
      assert.equal(parent.state, 'complete');
      assert.equal(t.initialEpoch, parent.epochs, `trial ${t.number} continues its parent from epoch ${parent.epochs}`);
      assert.ok(t.initialEpoch > 0);
    }
  });

  test('Ctrl-C marks the running trial interrupted, says how to resume and exits 130', async () => {
    writeStudy(dir, 'long.yaml', RANDOM.replace('name: kill-random', 'name: long').replace('epochs: 8', 'epochs: 400').replace(/  - early_stopping.*\n/, ''));
    const { child, done } = spawnTune(['run', 'long.yaml', '--storage', 'sigint.db'], dir);
    // Interrupt once the first epoch is on screen... or after a while, whichever first.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.status, 130, r.stderr);
    assert.match(r.stderr, /resume with: tune run long\.yaml --storage sigint\.db/);
    const trials = await trialsOf('sigint.db');
    assert.equal(trials.filter((t) => t.state === 'running').length, 0);
    assert.equal(trials[trials.length - 1]!.state, 'interrupted');
  });

  test('max_failures stops a study of failing trials; --retry-failed runs them again', () => {
    // A learning rate this large makes every trial diverge to NaN.
    const failing = `name: failing\n${COMMON}max_failures: 2\nstrategy: { kind: random, max_trials: 5 }\nspace:\n  optimizer: sgd\n  learning_rate: { type: float, min: 1.0e+4, max: 1.0e+5 }\n  loss: mse\n  epochs: 30\n`;
    writeStudy(dir, 'failing.yaml', failing);
    const r = runTune(['run', 'failing.yaml', '--storage', 'failing.db'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /2 trials failed in a row \(max_failures: 2\); the last: loss became (NaN|Infinity)/);
    const retry = runTune(['run', 'failing.yaml', '--storage', 'failing.db', '--retry-failed'], dir);
    assert.equal(retry.status, 1);
    assert.match(retry.stdout, /trial \d+\/5 #2 .*failed/);
  });
});
