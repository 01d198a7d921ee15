import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStorage, SqliteStorage } from '../../src/trials/storage';
import type { Storage, TrialRecord } from '../../src/trials/storage/types';
import { mostlyLinearRows, type Row, runTune, spawnTune, tempDir, writeCsv, writeStudy } from '../helpers/cli';
import { type PgCluster, startPostgres } from '../helpers/postgres';

/** Real worker processes sharing one storage, on SQLite and on a throwaway PostgreSQL server. */
const dir = tempDir('tune-workers-');

const STUDY = `
name: shared
seed: 5
data: { train: train.csv, split: 0.25, targets: [y] }
strategy: { kind: random, max_trials: 6 }
space:
  layers: { type: int, min: 1, max: 2 }
  units: { type: int, min: 4, max: 16, step: 4 }
  learning_rate: { type: float, min: 1.0e-3, max: 3.0e-2, sampling: log }
  batch_size: 8
  epochs: 25
`;

function rows(n: number): Row[] {
  return mostlyLinearRows(n, 'workers', { names: ['a', 'b', 'c', 'y'] });
}

async function withStorage<T>(url: string, fn: (s: Storage, studyId: number) => Promise<T>): Promise<T> {
  const storage = await openStorage(url);
  try {
    const study = (await storage.listStudies())[0]!.study;
    return await fn(storage, study.id);
  } finally {
    await storage.close();
  }
}

const trialsAt = (url: string): Promise<TrialRecord[]> => withStorage(url, (s, id) => s.getTrials(id));

function assertNoDuplicates(trials: readonly TrialRecord[]): void {
  const complete = trials.filter((t) => t.state === 'complete');
  const slots = complete.map((t) => t.slot);
  assert.equal(new Set(slots).size, slots.length, `a slot completed twice: ${slots}`);
  const params = complete.map((t) => JSON.stringify(t.params));
  assert.equal(new Set(params).size, params.length, 'a parameter set completed twice');
}

/** Waits until `pid` has a running trial in the storage, and returns it. */
async function runningTrialOf(url: string, pid: number): Promise<TrialRecord> {
  for (let i = 0; i < 300; i++) {
    const mine = (await trialsAt(url).catch(() => [])).find((t) => t.state === 'running' && t.worker.pid === pid);
    if (mine) return mine;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`worker ${pid} never started a trial`);
}

/**
 * Two `tune worker` processes started separately; the first is SIGKILLed in
 * the middle of a trial; the other must reclaim that trial and finish the study.
 */
async function killOneWorker(url: string, reference: readonly TrialRecord[]): Promise<void> {
  const a = spawnTune(['worker', 'study.yaml', '--storage', url], dir);
  const b = spawnTune(['worker', 'study.yaml', '--storage', url], dir);
  const victim = await runningTrialOf(url, a.child.pid!);
  a.child.kill('SIGKILL');
  const [ra, rb] = await Promise.all([a.done, b.done]);
  assert.equal(ra.signal, 'SIGKILL');
  assert.equal(rb.status, 0, rb.stderr);
  const trials = await trialsAt(url);
  assertNoDuplicates(trials);
  const killed = trials.find((t) => t.number === victim.number)!;
  assert.equal(killed.state, 'interrupted');
  const redo = trials.find((t) => t.retryOf === victim.number);
  assert.ok(redo, 'the killed trial was run again');
  assert.equal(redo.state, 'complete');
  assert.equal(redo.worker.pid, b.child.pid, 'by the surviving worker');
  // The same six parameter sets as a single worker's run.
  const done = trials.filter((t) => t.state === 'complete').map((t) => JSON.stringify(t.params)).sort();
  assert.deepEqual(done, reference.filter((t) => t.state === 'complete').map((t) => JSON.stringify(t.params)).sort());
}

describe('workers sharing a storage', () => {
  let pg: PgCluster;
  let reference: TrialRecord[];

  before(async () => {
    writeCsv(dir, 'train.csv', rows(160));
    writeStudy(dir, 'study.yaml', STUDY);
    pg = await startPostgres();
    assert.equal(runTune(['run', 'study.yaml', '--storage', 'single.db'], dir).status, 0);
    reference = await trialsAt(join(dir, 'single.db'));
  });
  after(async () => {
    await pg?.stop();
  });

  test('tune run --workers 2 on SQLite: no duplicates, the same trials as one worker', async () => {
    const r = runTune(['run', 'study.yaml', '--storage', 'two.db', '--workers', '2'], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /study shared: 2 workers done; 6 trials run now/);
    const trials = await trialsAt(join(dir, 'two.db'));
    assertNoDuplicates(trials);
    assert.equal(new Set(trials.map((t) => t.worker.pid)).size, 2, 'both workers ran trials');
    const bySlot = new Map(reference.map((t) => [t.slot, t]));
    for (const t of trials) {
      assert.deepEqual(t.params, bySlot.get(t.slot)!.params);
      assert.equal(t.metrics.val_mae, bySlot.get(t.slot)!.metrics.val_mae, `slot ${t.slot}: same computation in any worker`);
    }
  });

  test('SQLite: a SIGKILLed worker’s trial is reclaimed and finished by the other', async () => {
    await killOneWorker(join(dir, 'killed.db'), reference);
  });

  test('PostgreSQL: two separately started workers; one SIGKILLed mid-trial', async () => {
    await killOneWorker(await pg.createDatabase('killed'), reference);
  });

  test('a trial whose worker vanished (no heartbeat) is taken over after the grace period', async () => {
    const db = join(dir, 'vanished.db');
    assert.equal(runTune(['run', 'study.yaml', '--storage', db, '--max-trials', '1'], dir).status, 0);
    // A worker on another machine claimed draw 1 and then went silent.
    const storage = SqliteStorage.open(db);
    const study = (await storage.listStudies())[0]!.study;
    const ghost = (await storage.createTrial(study.id, {
      slot: 'r:1',
      params: reference.find((t) => t.slot === 'r:1')!.params,
      backend: 'wasm',
      worker: { host: 'another-machine', pid: 4242 },
      initialEpoch: 0,
    }))!;
    await storage.close();
    const started = performance.now();
    const r = runTune(['worker', 'study.yaml', '--storage', db, '--heartbeat', '1', '--max-trials', '3'], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(performance.now() - started >= 3000, 'waited out the grace period (3 heartbeats)');
    const trials = await trialsAt(db);
    const left = trials.find((t) => t.number === ghost.number)!;
    assert.equal(left.state, 'interrupted');
    assert.match(left.error ?? '', /no heartbeat for 3s/);
    assert.equal(trials.find((t) => t.retryOf === ghost.number)?.state, 'complete');
    assert.equal(trials.filter((t) => t.state === 'complete').length, 3);
  });

  test('tune copy round-trips SQLite → PostgreSQL → SQLite with identical tune top --json', async () => {
    const url = await pg.createDatabase('copy');
    const top = (storage: string): string => {
      const r = runTune(['top', '--json', '-n', '100', '--storage', storage], dir);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    const there = runTune(['copy', '--from', 'single.db', '--to', url], dir);
    assert.equal(there.status, 0, there.stderr);
    assert.match(there.stdout, /copied study shared \(6 trials\)/);
    const back = runTune(['copy', '--from', url, '--to', 'back.db', '--study', 'shared'], dir);
    assert.equal(back.status, 0, back.stderr);
    assert.equal(top(url), top('single.db'));
    assert.equal(top('back.db'), top('single.db'));
    const again = runTune(['copy', '--from', 'single.db', '--to', url], dir);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already has a study named "shared"/);
  });
});
