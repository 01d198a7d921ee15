/**
 * One storage contract, run against every engine (like Optuna's
 * StorageTestCase over STORAGE_MODES): SQLite on a temp file, PostgreSQL on a
 * throwaway cluster this file starts (never skipped: no server is a failure).
 * Then what only one engine can show (PostgreSQL's schema lock, errors,
 * native NaN, clock), a copy across engines, and claim latencies.
 *
 * Engine-specific SQL stays out of the contract: staleness is made by
 * waiting past a short grace, not by writing heartbeats behind the engine.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../../src/errors';
import {
  POSTGRES_SCHEMA_VERSION,
  PostgresStorage,
  SCHEMA_VERSION,
  SqliteStorage,
  StudyExistsError,
  TrialNotRunningError,
  openStorage,
  type NewTrial,
  type Storage,
  type TrialRecord,
} from '../../../src/trials/storage';
import { findPostgresBin, startPostgres, type PgCluster } from '../../helpers/postgres';
import { MIGRATIONS as PG_MIGRATIONS, type PgMigration } from '../../../src/trials/storage/postgres';
import { badDumps, baseline, complete, create as claim, diagnostics, epoch, failed, ISO_UTC, plan, richStudy, study } from './fixtures';

// ---------------------------------------------------------------------------
// Fixtures (engine-neutral)
// ---------------------------------------------------------------------------

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// ---------------------------------------------------------------------------
// Engines
// ---------------------------------------------------------------------------

/** A fresh, empty database of one engine. */
interface FreshDb {
  /** An open storage on it. */
  readonly storage: Storage;
  /** Opens one more connection (another "process") to the same database. */
  connect(): Promise<Storage>;
}
type Factory = () => Promise<FreshDb>;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tune-conformance-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let files = 0;

const sqlite: Factory = async () => {
  const file = path.join(tmp, `s${files++}.db`);
  const open = async (): Promise<Storage> => SqliteStorage.open(file);
  return { storage: await open(), connect: open };
};

let cluster: PgCluster | undefined;
const clusterReady = (async () => {
  cluster = await startPostgres();
  return cluster;
})();
// Not a floating rejection: every PostgreSQL test awaits it and fails with its error.
clusterReady.catch(() => undefined);
after(async () => {
  await cluster?.stop();
});

const postgres: Factory = async () => {
  const url = await (await clusterReady).createDatabase();
  const open = (): Promise<Storage> => PostgresStorage.open(url);
  return { storage: await open(), connect: open };
};

/** Runs `fn` on a fresh database; closes every storage it opened. */
async function withFresh(factory: Factory, fn: (s: Storage, connect: () => Promise<Storage>) => Promise<void>): Promise<void> {
  const db = await factory();
  const opened: Storage[] = [db.storage];
  const connect = async () => {
    const s = await db.connect();
    opened.push(s);
    return s;
  };
  try {
    await fn(db.storage, connect);
  } finally {
    for (const s of opened) await s.close();
  }
}

// ---------------------------------------------------------------------------
// The contract
// ---------------------------------------------------------------------------

function storageContract(engine: string, factory: Factory): void {
  const fresh = (fn: (s: Storage, connect: () => Promise<Storage>) => Promise<void>) => () => withFresh(factory, fn);

  describe(`${engine}: studies`, () => {
    test('create and get round-trip, with ISO timestamps and fresh copies', fresh(async (s) => {
      const input = study('a', { direction: 'max', metric: 'r2' });
      const created = await s.createStudy(input);
      assert.equal(typeof created.id, 'number');
      assert.match(created.createdAt, ISO_UTC);
      assert.deepEqual({ ...created, id: 0, createdAt: '' }, { ...input, id: 0, createdAt: '' });
      const got = await s.getStudy('a');
      assert.deepEqual(got, created);
      assert.notEqual(got, created);
      (got!.definition as { data: { train: string } }).data.train = 'changed';
      assert.deepEqual((await s.getStudy('a'))!.definition, input.definition);
      assert.equal(await s.getStudy('nope'), undefined);
    }));

    test('a taken name is refused with StudyExistsError', fresh(async (s) => {
      await s.createStudy(study('dup'));
      await assert.rejects(
        s.createStudy(study('dup', { metric: 'other' })),
        (e: unknown) => e instanceof StudyExistsError && e.studyName === 'dup' && /a study named "dup" already exists/.test(e.message),
      );
      assert.equal((await s.listStudies()).length, 1);
    }));

    test('listStudies: most recent first, counts by state, best by direction', fresh(async (s) => {
      const lo = await s.createStudy(study('lo', { direction: 'min' }));
      const hi = await s.createStudy(study('hi', { direction: 'max' }));
      const empty = await s.createStudy(study('empty'));
      for (const st of [lo, hi]) {
        for (const v of [3, 1, 7]) await s.finishTrial((await claim(s, st.id)).id, complete(v));
        // A NaN objective never counts as best; neither does a failed, interrupted or running trial.
        await s.finishTrial((await claim(s, st.id)).id, complete(NaN));
        await s.finishTrial((await claim(s, st.id)).id, { state: 'failed', value: -100, metrics: {}, epochs: 1, stopReason: 'error', error: 'x', durationS: 0 });
        await claim(s, st.id);
        for (let i = 0; i < 2; i++) await s.interruptTrial((await claim(s, st.id)).id, 'worker died');
      }
      const list = await s.listStudies();
      assert.deepEqual(list.map((x) => x.study.name), ['empty', 'hi', 'lo']);
      assert.deepEqual(list[0], { study: empty, counts: { running: 0, complete: 0, failed: 0, interrupted: 0 } });
      assert.deepEqual(list[1], { study: hi, counts: { running: 1, complete: 4, failed: 1, interrupted: 2 }, best: 7 });
      assert.deepEqual(list[2], { study: lo, counts: { running: 1, complete: 4, failed: 1, interrupted: 2 }, best: 1 });
    }));

    test('deleteStudy cascades to trials, metrics, history and checkpoints, and reports whether it existed', fresh(async (s) => {
      const gone = await s.createStudy(study('gone'));
      const kept = await s.createStudy(study('kept'));
      const ids: number[] = [];
      for (const st of [gone, kept]) {
        const t = await claim(s, st.id, plan({ params: { a: 1 } }));
        ids.push(t.id);
        await s.reportEpoch(t.id, epoch(0));
        await s.finishTrial(t.id, complete(1), new Uint8Array([1, 2, 3]));
      }
      assert.equal(await s.deleteStudy('gone'), true);
      assert.equal(await s.deleteStudy('gone'), false);
      assert.equal(await s.getStudy('gone'), undefined);
      assert.deepEqual(await s.getTrials(gone.id), []);
      assert.deepEqual(await s.getHistory(ids[0]!), []);
      assert.equal(await s.getCheckpoint(ids[0]!), undefined);
      assert.deepEqual(await s.listCheckpoints(gone.id), []);
      const left = await s.getTrials(kept.id);
      assert.equal(left.length, 1);
      assert.deepEqual(left[0]!.metrics, { val_loss: 1 });
      assert.deepEqual(await s.getHistory(ids[1]!), [epoch(0)]);
      assert.deepEqual(await s.getCheckpoint(ids[1]!), new Uint8Array([1, 2, 3]));
    }));
  });

  describe(`${engine}: trials`, () => {
    test('create, report, finish and read back; absent fields left out', fresh(async (s) => {
      const st = await s.createStudy(study('t'));
      const params = { zeta: 3, alpha: 'adam', mid: true, lr: 0.001 };
      const t = await claim(s, st.id, plan({ slot: 'r:0', params, backend: 'tensorflow', worker: { host: 'box', pid: 4242 } }));
      assert.deepEqual(t, {
        id: t.id, studyId: st.id, number: 0, slot: 'r:0', state: 'running', params, backend: 'tensorflow',
        worker: { host: 'box', pid: 4242 }, metrics: {}, initialEpoch: 0, startedAt: t.startedAt,
      });
      for (const key of ['retryOf', 'budget', 'rung', 'parent', 'value', 'epochs', 'stopReason', 'error', 'durationS', 'finishedAt']) {
        assert.ok(!(key in t), `absent ${key} is left out`);
      }
      assert.match(t.startedAt, ISO_UTC);
      assert.deepEqual(Object.keys(t.params), ['zeta', 'alpha', 'mid', 'lr'], 'parameter order is kept');

      const e0 = { epoch: 0, loss: 2, val_loss: 2.5, mae: 1, val_mae: 1.2, mse: 4, val_mse: 5, lr: 0.001, seconds: 0.25 };
      const e0again = { ...e0, loss: 1.9 };
      const e1 = { epoch: 1, loss: 1.5, mae: 0.9, mse: 3, lr: 0.0005, seconds: 0.2 };
      await s.reportEpoch(t.id, e1);
      await s.reportEpoch(t.id, e0);
      await s.reportEpoch(t.id, e0again); // replaces epoch 0
      const history = await s.getHistory(t.id);
      assert.deepEqual(history, [e0again, e1]);
      assert.ok(!('val_loss' in history[1]!), 'an absent val_loss stays absent');

      const finished = await s.finishTrial(t.id, complete(2.5, { mae: 1.2 }));
      assert.equal(finished.state, 'complete');
      assert.equal(finished.value, 2.5);
      assert.deepEqual(Object.keys(finished.metrics), ['val_loss', 'mae'], 'metric order is kept');
      assert.deepEqual(finished.metrics, { val_loss: 2.5, mae: 1.2 });
      assert.equal(finished.epochs, 10);
      assert.equal(finished.stopReason, 'max_epochs');
      assert.equal(finished.durationS, 1.5);
      assert.ok(!('error' in finished));
      assert.match(finished.finishedAt!, ISO_UTC);
      assert.ok(finished.finishedAt! >= finished.startedAt);
      assert.deepEqual(await s.getTrial(st.id, 0), finished);
      assert.equal(await s.getTrial(st.id, 1), undefined);
    }));

    test('getTrials: number order, each trial\'s metrics in order, no history, fresh copies', fresh(async (s) => {
      const st = await s.createStudy(study('order'));
      const other = await s.createStudy(study('other'));
      const created: TrialRecord[] = [];
      for (const n of [0, 1, 2, 3]) {
        created.push(await claim(s, st.id, plan({ params: { n } })));
        await s.finishTrial((await claim(s, other.id)).id, complete(99));
      }
      for (const n of [2, 0, 3, 1]) {
        const t = created[n]!;
        await s.reportEpoch(t.id, epoch(0, n));
        if (n !== 3) await s.finishTrial(t.id, complete(n * 10, { [`m${n}`]: n, a: n + 0.5 }));
      }
      const trials = await s.getTrials(st.id);
      assert.deepEqual(trials.map((t) => t.number), [0, 1, 2, 3]);
      assert.deepEqual(trials.map((t) => t.state), ['complete', 'complete', 'complete', 'running']);
      assert.deepEqual(trials.map((t) => t.metrics), [{ val_loss: 0, m0: 0, a: 0.5 }, { val_loss: 10, m1: 1, a: 1.5 }, { val_loss: 20, m2: 2, a: 2.5 }, {}]);
      assert.deepEqual(Object.keys(trials[2]!.metrics), ['val_loss', 'm2', 'a'], 'metric order is kept');
      assert.ok(trials.every((t) => !('history' in t)));
      for (const t of trials) assert.deepEqual(await s.getTrial(st.id, t.number), t);

      (trials[0]!.metrics as Record<string, number>).val_loss = -1;
      (trials[0]!.params as Record<string, number>).n = -1;
      (trials[0]!.worker as { pid: number }).pid = 77;
      const again = await s.getTrials(st.id);
      assert.equal(again[0]!.metrics.val_loss, 0);
      assert.equal(again[0]!.params.n, 0);
      assert.equal(again[0]!.worker.pid, 1);
    }));

    test('getTrials fromNumber: only trials numbered that or more, with their metrics', fresh(async (s) => {
      const st = await s.createStudy(study('tail'));
      const other = await s.createStudy(study('other-tail'));
      for (const n of [0, 1, 2, 3, 4]) {
        const t = await claim(s, st.id, plan({ params: { n } }));
        await s.finishTrial(t.id, complete(n, { [`m${n}`]: n }));
        await s.finishTrial((await claim(s, other.id)).id, complete(99));
      }
      const all = await s.getTrials(st.id);
      const tail = await s.getTrials(st.id, { fromNumber: 3 });
      assert.deepEqual(tail, all.slice(3));
      assert.deepEqual(await s.getTrials(st.id, { fromNumber: 0 }), all);
      assert.deepEqual(await s.getTrials(st.id, { fromNumber: 5 }), []);
    }));

    test('a finished trial is read-only; unknown ids are refused', fresh(async (s) => {
      const st = await s.createStudy(study('ro'));
      const t = await claim(s, st.id);
      await s.reportEpoch(t.id, epoch(0));
      const done = await s.finishTrial(t.id, complete(1));
      const isComplete = (e: unknown) => e instanceof TrialNotRunningError && e.state === 'complete' && /trial \d+ is complete, not running/.test(e.message);
      await assert.rejects(s.finishTrial(t.id, complete(0.5, { extra: 1 })), isComplete);
      await assert.rejects(s.finishTrial(t.id, complete(0.5), new Uint8Array([1])), isComplete);
      await assert.rejects(s.reportEpoch(t.id, epoch(0, 9)), isComplete);
      await assert.rejects(s.reportEpoch(t.id, epoch(1, 9)), isComplete);
      await assert.rejects(s.interruptTrial(t.id, 'x'), isComplete);
      await s.heartbeat(t.id); // a lease on a finished trial is ignored, silently
      assert.deepEqual(await s.getTrial(st.id, 0), done);
      assert.deepEqual(await s.getHistory(t.id), [epoch(0)]);
      assert.equal(await s.getCheckpoint(t.id), undefined);
      await assert.rejects(s.finishTrial(999, complete(1)), /no trial with id 999/);
      await assert.rejects(s.reportEpoch(999, epoch(0)), /no trial with id 999/);
      await assert.rejects(s.interruptTrial(999, 'x'), /no trial with id 999/);
      await s.heartbeat(999); // ignored too
      await assert.rejects(s.heartbeat(1.5), /a trial id must be an integer/);
    }));

    test('a refused outcome leaves the trial running, without metrics or checkpoint', fresh(async (s) => {
      const st = await s.createStudy(study('bad'));
      const t = await claim(s, st.id);
      const { value: _dropped, ...noValue } = complete(1);
      await assert.rejects(s.finishTrial(t.id, noValue), /a complete trial needs its objective value/);
      await assert.rejects(s.finishTrial(t.id, { ...complete(1), metrics: { m: 'x' as unknown as number } }), /metric "m" must be a number/);
      await assert.rejects(s.finishTrial(t.id, complete(1), [1, 2] as unknown as Uint8Array), /a checkpoint must be a Uint8Array/);
      const still = await s.getTrial(st.id, 0);
      assert.equal(still!.state, 'running');
      assert.deepEqual(still!.metrics, {});
      assert.deepEqual(await s.listCheckpoints(st.id), []);
      assert.equal((await s.finishTrial(t.id, complete(1))).state, 'complete');
    }));

    test('a failed trial keeps its error, stop reason and non-finite metrics', fresh(async (s) => {
      const st = await s.createStudy(study('fail'));
      const t = await claim(s, st.id, plan({ params: { lr: 10 }, backend: 'wasm' }));
      const error = 'Error: loss became NaN at epoch 3\n    at train (trainer.ts:42)';
      const done = await s.finishTrial(t.id, {
        state: 'failed',
        metrics: { loss: NaN, mse: Infinity, score: -Infinity },
        epochs: 3,
        stopReason: 'nan',
        error,
        durationS: 0.75,
      });
      const expected = {
        id: t.id, studyId: st.id, number: 0, slot: t.slot, state: 'failed', params: { lr: 10 }, backend: 'wasm',
        worker: { host: 'h', pid: 1 }, initialEpoch: 0, metrics: { loss: NaN, mse: Infinity, score: -Infinity },
        epochs: 3, stopReason: 'nan', error, durationS: 0.75, startedAt: t.startedAt, finishedAt: done.finishedAt,
      };
      assert.deepEqual(done, expected); // deepEqual treats NaN as equal to NaN
      assert.ok(!('value' in done));
      assert.deepEqual(await s.getTrials(st.id), [expected]);
    }));

    test('interruptTrial: running → interrupted with the reason, history kept, final afterwards', fresh(async (s) => {
      const st = await s.createStudy(study('int'));
      const t = await claim(s, st.id, plan({ params: { a: 1 } }));
      await s.reportEpoch(t.id, epoch(0, 0.9));
      await s.reportEpoch(t.id, epoch(1, 0.8));
      const reason = 'worker h:1 is gone (no such process)';
      const it = await s.interruptTrial(t.id, reason);
      assert.equal(it.state, 'interrupted');
      assert.equal(it.error, reason);
      assert.match(it.finishedAt!, ISO_UTC);
      for (const key of ['value', 'epochs', 'stopReason', 'durationS']) assert.ok(!(key in it), `${key} stays absent`);
      assert.deepEqual({ ...it, state: 'running', error: undefined, finishedAt: undefined }, { ...t, error: undefined, finishedAt: undefined });
      assert.deepEqual(await s.getHistory(t.id), [epoch(0, 0.9), epoch(1, 0.8)]);
      assert.deepEqual(await s.getTrial(st.id, 0), it);
      const isInterrupted = (e: unknown) => e instanceof TrialNotRunningError && e.state === 'interrupted' && /is interrupted, not running/.test(e.message);
      await assert.rejects(s.interruptTrial(t.id, 'again'), isInterrupted);
      await assert.rejects(s.finishTrial(t.id, complete(1), new Uint8Array([1])), isInterrupted);
      await assert.rejects(s.reportEpoch(t.id, epoch(2)), isInterrupted);
      assert.deepEqual(await s.getTrial(st.id, 0), it);
      assert.equal(await s.getCheckpoint(t.id), undefined);
      assert.deepEqual(await s.rankTrials(st.id, { metric: 'val_loss', direction: 'min' }), []);

      const done = await s.finishTrial((await claim(s, st.id)).id, complete(1));
      const bad = await s.finishTrial((await claim(s, st.id)).id, failed('oom'));
      await assert.rejects(s.interruptTrial(done.id, 'x'), (e: unknown) => e instanceof TrialNotRunningError && e.state === 'complete');
      await assert.rejects(s.interruptTrial(bad.id, 'x'), (e: unknown) => e instanceof TrialNotRunningError && e.state === 'failed');
      assert.deepEqual(await s.getTrials(st.id), [it, done, bad]);
    }));

    test('slot, retryOf, budget, rung, parent, worker and initialEpoch round-trip', fresh(async (s) => {
      const st = await s.createStudy(study('hb'));
      const rung = { iteration: 0, bracket: 4, round: 0 };
      const first = await claim(s, st.id, plan({ slot: 'h:0.4.0.0', params: { u: 8 }, budget: 1, rung }));
      await s.interruptTrial(first.id, 'worker died');
      const retry = await claim(s, st.id, plan({ slot: 'h:0.4.0.0', params: { u: 8 }, budget: 1, rung, retryOf: 0 }));
      await s.finishTrial(retry.id, complete(0.5));
      const child = await claim(s, st.id, {
        slot: 'h:0.4.1.0', params: { u: 8 }, backend: 'wasm', worker: { host: 'gpu-7', pid: 31337 },
        budget: 3, rung: { iteration: 0, bracket: 4, round: 1 }, parent: 1, initialEpoch: 1,
      });
      assert.deepEqual(child, {
        id: child.id, studyId: st.id, number: 2, slot: 'h:0.4.1.0', state: 'running', params: { u: 8 }, backend: 'wasm',
        worker: { host: 'gpu-7', pid: 31337 }, budget: 3, rung: { iteration: 0, bracket: 4, round: 1 }, parent: 1,
        initialEpoch: 1, metrics: {}, startedAt: child.startedAt,
      });
      assert.ok(!('retryOf' in child));
      assert.equal(retry.retryOf, 0);
      assert.ok(!('parent' in retry));
      const finished = await s.finishTrial(child.id, { ...complete(0.4), epochs: 3 });
      assert.equal(finished.epochs, 3);
      assert.equal(finished.initialEpoch, 1);
      const all = await s.getTrials(st.id);
      assert.deepEqual(all.map((t) => [t.number, t.slot, t.retryOf, t.parent, t.budget, t.rung?.round]), [
        [0, 'h:0.4.0.0', undefined, undefined, 1, 0],
        [1, 'h:0.4.0.0', 0, undefined, 1, 0],
        [2, 'h:0.4.1.0', undefined, 1, 3, 1],
      ]);
      assert.deepEqual(all[2], finished);
      assert.deepEqual(await s.getTrial(st.id, 2), finished);
      assert.deepEqual(await s.rankTrials(st.id, { metric: 'val_loss', direction: 'min' }), [finished, all[1]]);
      (all[2]!.rung as { round: number }).round = 99;
      (all[2]!.worker as { pid: number }).pid = 0;
      assert.deepEqual(await s.getTrial(st.id, 2), finished, 'returned records are copies');
    }));

    test('bad plans are refused before anything is written', fresh(async (s) => {
      const st = await s.createStudy(study('bad'));
      await claim(s, st.id, plan({ slot: 'g:a' }));
      const cases: [Partial<NewTrial>, RegExp][] = [
        [{ slot: '' }, /slot must be a non-empty string/],
        [{ params: { lr: NaN } }, /parameter "lr" is NaN/],
        [{ retryOf: 5 }, /retryOf: study \d+ has no trial number 5/],
        [{ slot: 'g:b', retryOf: 0 }, /trial 0 has slot "g:a", not "g:b": a retry re-runs the same slot/],
        [{ parent: 1 }, /parent: study \d+ has no trial number 1/],
        [{ parent: -1 }, /parent must be a non-negative integer/],
        [{ budget: 0 }, /budget must be at least 1/],
        [{ budget: 2.5 }, /budget must be a non-negative integer/],
        [{ rung: { iteration: 0, bracket: -1, round: 0 } }, /rung bracket must be a non-negative integer/],
        [{ worker: { host: 'h', pid: 1.5 } }, /worker pid must be a non-negative integer/],
        [{ worker: undefined as never }, /needs its worker/],
        [{ initialEpoch: -1 }, /initialEpoch must be a non-negative integer/],
      ];
      for (const [overrides, message] of cases) await assert.rejects(s.createTrial(st.id, plan(overrides)), message);
      await assert.rejects(s.createTrial(12345, plan()), /no study with id 12345/);
      assert.equal((await s.getTrials(st.id)).length, 1);
      assert.equal((await claim(s, st.id, plan({ slot: 'g:a', retryOf: 0 }))).number, 1, 'refused plans took no number');
    }));
  });

  describe(`${engine}: claims and numbering`, () => {
    test('numbers are dense from 0, per study, never reused', fresh(async (s) => {
      const a = await s.createStudy(study('a'));
      const b = await s.createStudy(study('b'));
      const got: [string, number][] = [];
      for (const [st, name] of [[a, 'a'], [b, 'b'], [a, 'a'], [a, 'a'], [b, 'b'], [a, 'a']] as const) {
        const t = await claim(s, st.id);
        got.push([name, t.number]);
        if (t.number % 2 === 0) await s.interruptTrial(t.id, 'x');
        else await s.finishTrial(t.id, complete(1));
      }
      assert.deepEqual(got, [['a', 0], ['b', 0], ['a', 1], ['a', 2], ['b', 1], ['a', 3]]);
      assert.deepEqual((await s.getTrials(a.id)).map((t) => t.number), [0, 1, 2, 3]);
      assert.deepEqual((await s.getTrials(b.id)).map((t) => t.number), [0, 1]);
    }));

    test('a taken slot loses; each attempt is retried once; a lost claim takes no number', fresh(async (s) => {
      const st = await s.createStudy(study('claims'));
      const other = await s.createStudy(study('other'));
      const first = await claim(s, st.id, plan({ slot: 'g:x' }));
      // Running, finished or interrupted: the slot stays taken for first attempts.
      assert.equal(await s.createTrial(st.id, plan({ slot: 'g:x' })), undefined);
      await s.interruptTrial(first.id, 'died');
      assert.equal(await s.createTrial(st.id, plan({ slot: 'g:x' })), undefined);
      // The same slot in another study is another slot.
      assert.equal((await claim(s, other.id, plan({ slot: 'g:x' }))).number, 0);

      const retry = await claim(s, st.id, plan({ slot: 'g:x', retryOf: 0 }));
      assert.equal(retry.number, 1);
      assert.equal(await s.createTrial(st.id, plan({ slot: 'g:x', retryOf: 0 })), undefined, 'attempt 0 is retried once');
      await s.finishTrial(retry.id, failed());
      const again = await claim(s, st.id, plan({ slot: 'g:x', retryOf: 1 }));
      assert.equal(again.number, 2, 'a retry of the retry is a new claim');
      assert.equal(await s.createTrial(st.id, plan({ slot: 'g:x', retryOf: 1 })), undefined);
      assert.equal(await s.createTrial(st.id, plan({ slot: 'g:x' })), undefined);
      // A retry's mistakes are errors, even of an attempt already retried: checked before the claim.
      await assert.rejects(s.createTrial(st.id, plan({ slot: 'g:z', retryOf: 0 })), /trial 0 has slot "g:x", not "g:z"/);
      await assert.rejects(s.createTrial(st.id, plan({ slot: 'g:x', retryOf: 9 })), /has no trial number 9/);

      assert.equal((await claim(s, st.id, plan({ slot: 'g:y' }))).number, 3, 'lost claims took no numbers');
      const trials = await s.getTrials(st.id);
      assert.deepEqual(trials.map((t) => [t.number, t.slot, t.retryOf]), [[0, 'g:x', undefined], [1, 'g:x', 0], [2, 'g:x', 1], [3, 'g:y', undefined]]);
    }));

    test('4 connections racing for 50 slots: each slot claimed exactly once, numbers dense', fresh(async (s, connect) => {
      const st = await s.createStudy(study('race'));
      const workers = [s, ...(await Promise.all([connect(), connect(), connect()]))];
      const slots = Array.from({ length: 50 }, (_, i) => `g:${i}`);
      const won = await Promise.all(
        workers.map(async (w, k) => {
          const mine: TrialRecord[] = [];
          // Every worker walks all slots, in its own order, as strategies would.
          const order = k % 2 === 0 ? slots : [...slots].reverse();
          for (const slot of order) {
            const t = await w.createTrial(st.id, plan({ slot, worker: { host: `w${k}`, pid: k } }));
            if (t) mine.push(t);
          }
          return mine;
        }),
      );
      const all = won.flat();
      assert.equal(all.length, 50);
      assert.deepEqual(all.map((t) => t.slot).sort(), [...slots].sort());
      assert.deepEqual(all.map((t) => t.number).sort((a, b) => a - b), [...Array(50).keys()]);
      const stored = await s.getTrials(st.id);
      assert.deepEqual(stored.map((t) => t.number), [...Array(50).keys()]);
      for (const t of all) assert.equal(stored[t.number]!.worker.host, t.worker.host);

      // Retries of one attempt, raced: exactly one wins.
      const seven = stored.find((t) => t.slot === 'g:7')!;
      await s.interruptTrial(seven.id, 'died');
      const retries = await Promise.all(workers.map((w) => w.createTrial(st.id, plan({ slot: 'g:7', retryOf: seven.number }))));
      assert.equal(retries.filter((t) => t !== undefined).length, 1);
      assert.equal(retries.find((t) => t !== undefined)!.number, 50);
    }));
  });

  describe(`${engine}: heartbeats and stale trials`, () => {
    test('interruptStale moves running trials whose heartbeat is older than the grace, and returns them', fresh(async (s) => {
      const st = await s.createStudy(study('hb'));
      const other = await s.createStudy(study('other'));
      const stale = await claim(s, st.id, plan({ params: { k: 'stale' } }));
      await s.reportEpoch(stale.id, epoch(0));
      const alive = await claim(s, st.id);
      const done = await s.finishTrial((await claim(s, st.id)).id, complete(1));
      const elsewhere = await claim(s, other.id);
      await sleep(900);
      await s.heartbeat(alive.id);
      assert.deepEqual(await s.interruptStale(st.id, 60, 'lost'), [], 'nothing is older than a minute');

      // Stale: 0.9 s without a heartbeat; alive: renewed just now. 0.45 s of margin either way.
      const moved = await s.interruptStale(st.id, 0.45, 'no heartbeat for 0.45 s');
      assert.deepEqual(moved.map((t) => t.number), [stale.number]);
      const it = moved[0]!;
      assert.equal(it.state, 'interrupted');
      assert.equal(it.error, 'no heartbeat for 0.45 s');
      assert.match(it.finishedAt!, ISO_UTC);
      assert.deepEqual(it.params, { k: 'stale' });
      assert.deepEqual(await s.getTrial(st.id, stale.number), it);
      assert.deepEqual(await s.getHistory(stale.id), [epoch(0)], 'history is kept');
      assert.equal((await s.getTrial(st.id, alive.number))!.state, 'running');
      assert.deepEqual(await s.getTrial(st.id, done.number), done);
      assert.equal((await s.getTrial(other.id, 0))!.state, 'running', 'another study is left alone');
      assert.deepEqual(await s.interruptStale(st.id, 0.45, 'again'), [], 'already moved');
      for (const grace of [-1, NaN, Infinity]) await assert.rejects(s.interruptStale(st.id, grace, 'x'), RangeError);

      // The interrupted trial is final: its owner's heartbeat does not revive
      // it, and its next write (epoch or finish) tells it.
      await s.heartbeat(stale.id);
      assert.equal((await s.getTrial(st.id, stale.number))!.state, 'interrupted');
      await assert.rejects(s.reportEpoch(stale.id, epoch(1)), (e: unknown) => e instanceof TrialNotRunningError && e.state === 'interrupted');
      await assert.rejects(s.finishTrial(stale.id, complete(1)), TrialNotRunningError);
      // A retry of it can be claimed.
      assert.equal((await claim(s, st.id, plan({ slot: stale.slot, retryOf: stale.number }))).number, 3);
      await s.interruptTrial(elsewhere.id, 'x');
    }));

    test('two workers reclaiming at once move each stale trial exactly once', fresh(async (s, connect) => {
      const st = await s.createStudy(study('reclaim'));
      const ids = [];
      for (let i = 0; i < 12; i++) ids.push((await claim(s, st.id)).id);
      await sleep(300);
      const others = await Promise.all([connect(), connect()]);
      const results = await Promise.all([s, ...others].map((w, k) => w.interruptStale(st.id, 0.1, `reclaimed by ${k}`)));
      const moved = results.flat().map((t) => t.id);
      assert.deepEqual([...moved].sort((a, b) => a - b), ids, 'each exactly once');
      const trials = await s.getTrials(st.id);
      assert.ok(trials.every((t) => t.state === 'interrupted' && /^reclaimed by \d$/.test(t.error!)));
    }));
  });

  describe(`${engine}: checkpoints`, () => {
    test('written with the finish, read back as plain copies, listed, replaced and deleted', fresh(async (s) => {
      const st = await s.createStudy(study('c'));
      const a = await claim(s, st.id);
      assert.equal(await s.getCheckpoint(a.id), undefined);
      const bytes = new Uint8Array(256 * 1024).map((_, i) => (i * 31 + 7) & 0xff);
      const sent = bytes.slice();
      await s.finishTrial(a.id, complete(0.5), bytes);
      bytes.fill(0); // the caller's array is not kept
      const got = await s.getCheckpoint(a.id);
      assert.ok(got instanceof Uint8Array);
      assert.equal(Object.getPrototypeOf(got), Uint8Array.prototype, 'a plain Uint8Array, not a Buffer');
      assert.equal(got.byteOffset, 0);
      assert.equal(got.buffer.byteLength, sent.byteLength, 'its .buffer is exactly the checkpoint');
      assert.ok(Buffer.from(got).equals(Buffer.from(sent)));
      got.fill(7);
      assert.ok(Buffer.from((await s.getCheckpoint(a.id))!).equals(Buffer.from(sent)), 'a copy');

      // A view stores only the view; an empty checkpoint is stored; failed trials may keep one.
      const b = await claim(s, st.id);
      await s.finishTrial(b.id, complete(1), new Uint8Array([9, 9, 1, 2, 3, 9]).subarray(2, 5));
      const c = await claim(s, st.id);
      await s.finishTrial(c.id, failed(), Buffer.alloc(0));
      const d = await claim(s, st.id);
      await s.finishTrial(d.id, complete(2)); // none
      assert.deepEqual(await s.getCheckpoint(b.id), new Uint8Array([1, 2, 3]));
      assert.deepEqual(await s.getCheckpoint(c.id), new Uint8Array(0));
      assert.equal(await s.getCheckpoint(d.id), undefined);
      assert.deepEqual(await s.listCheckpoints(st.id), [
        { trialId: a.id, bytes: sent.byteLength },
        { trialId: b.id, bytes: 3 },
        { trialId: c.id, bytes: 0 },
      ]);

      await s.deleteCheckpoints([a.id, c.id, 987654]);
      await s.deleteCheckpoints([]);
      assert.deepEqual(await s.listCheckpoints(st.id), [{ trialId: b.id, bytes: 3 }]);
      assert.equal(await s.getCheckpoint(a.id), undefined);
      assert.equal((await s.getTrial(st.id, 0))!.state, 'complete', 'deleting a checkpoint keeps the trial');
      await assert.rejects(s.deleteCheckpoints([1.5]), /a trial id must be an integer/);
    }));
  });

  describe(`${engine}: ranking`, () => {
    test('min and max, ties by lower number, limit, NaN and unfinished trials skipped, ±Infinity ranked', fresh(async (s) => {
      const st = await s.createStudy(study('r'));
      const other = await s.createStudy(study('other'));
      const values: (number | 'run' | 'fail' | 'none')[] = [0.5, 0.2, 0.5, 0.2, 'run', 'fail', NaN, 'none', Infinity, -Infinity, 0.9];
      const trials: TrialRecord[] = [];
      for (let n = 0; n < values.length; n++) trials.push(await claim(s, st.id, plan({ params: { n } })));
      for (let n = values.length - 1; n >= 0; n--) {
        const v = values[n]!;
        const t = trials[n]!;
        if (v === 'run') continue;
        if (v === 'fail') await s.finishTrial(t.id, { state: 'failed', metrics: { val_loss: -5 }, epochs: 1, stopReason: 'error', error: 'boom', durationS: 1 });
        else if (v === 'none') await s.finishTrial(t.id, { ...complete(1), metrics: { other: 1 } });
        else await s.finishTrial(t.id, complete(v, { aux: n }));
      }
      await s.finishTrial((await claim(s, other.id)).id, complete(-1000));

      const min = await s.rankTrials(st.id, { metric: 'val_loss', direction: 'min' });
      assert.deepEqual(min.map((t) => t.number), [9, 1, 3, 0, 2, 10, 8]);
      const max = await s.rankTrials(st.id, { metric: 'val_loss', direction: 'max' });
      assert.deepEqual(max.map((t) => t.number), [8, 10, 0, 2, 1, 3, 9]);
      const top3 = await s.rankTrials(st.id, { metric: 'val_loss', direction: 'min', limit: 3 });
      assert.deepEqual(top3.map((t) => t.number), [9, 1, 3]);
      assert.deepEqual(top3[1]!.metrics, { val_loss: 0.2, aux: 1 });
      assert.deepEqual(top3[1], await s.getTrial(st.id, 1));
      assert.deepEqual(await s.rankTrials(st.id, { metric: 'val_loss', direction: 'min', limit: 0 }), []);
      assert.deepEqual((await s.rankTrials(st.id, { metric: 'aux', direction: 'max', limit: 2 })).map((t) => t.number), [10, 9]);
      assert.deepEqual(await s.rankTrials(st.id, { metric: 'missing', direction: 'min' }), []);
    }));
  });

  describe(`${engine}: NaN and Infinity`, () => {
    test('round-trip in objective, metrics, duration and history', fresh(async (s) => {
      const st = await s.createStudy(study('nan'));
      const t = await claim(s, st.id);
      const log = { epoch: 0, loss: NaN, val_loss: NaN, mae: Infinity, mse: -Infinity, val_mse: 1e308, lr: 5e-324, seconds: NaN };
      await s.reportEpoch(t.id, log);
      const history = await s.getHistory(t.id);
      assert.deepEqual(history, [log]);
      assert.ok(Number.isNaN(history[0]!.val_loss), 'a NaN val_loss stays NaN, not absent');
      assert.ok(!('val_mae' in history[0]!));
      const done = await s.finishTrial(t.id, { ...complete(NaN), metrics: { val_loss: NaN, up: Infinity, down: -Infinity, tiny: 0.1 + 0.2 }, durationS: NaN });
      assert.ok(Number.isNaN(done.value));
      assert.ok(Number.isNaN(done.durationS));
      assert.deepEqual(done.metrics, { val_loss: NaN, up: Infinity, down: -Infinity, tiny: 0.1 + 0.2 });
      assert.deepEqual((await s.getTrials(st.id))[0], done);
      const inf = await s.finishTrial((await claim(s, st.id)).id, { ...complete(-Infinity), durationS: Infinity });
      assert.equal(inf.value, -Infinity);
      assert.equal(inf.durationS, Infinity);
    }));
  });

  describe(`${engine}: baseline, diagnostics and gradient norms`, () => {
    test('a study\'s baseline: absent until set, then read by getStudy and listStudies, replaced by the next', fresh(async (s, connect) => {
      const st = await s.createStudy(study('b'));
      const other = await s.createStudy(study('other'));
      assert.ok(!('baseline' in st));
      assert.ok(!('baseline' in (await s.getStudy('b'))!), 'absent, not null');
      assert.ok((await s.listStudies()).every((x) => !('baseline' in x.study)));

      await s.setBaseline(st.id, baseline());
      const got = (await s.getStudy('b'))!;
      assert.deepEqual(got, { ...st, baseline: baseline() });
      assert.deepEqual(Object.keys(got.baseline!.metrics), ['mae', 'mse', 'val_mae', 'val_mse'], 'key order is kept');
      const listed = await s.listStudies();
      assert.deepEqual(listed.find((x) => x.study.name === 'b')!.study, got);
      assert.ok(!('baseline' in listed.find((x) => x.study.name === 'other')!.study), 'another study is left alone');
      assert.deepEqual(await s.getStudy('other'), other);
      (got.baseline!.coef[0] as number[])[0] = 99;
      assert.deepEqual((await s.getStudy('b'))!.baseline, baseline(), 'returned records are copies');

      await s.setBaseline(st.id, baseline(2));
      assert.deepEqual((await s.getStudy('b'))!.baseline, baseline(2), 'replaced');
      // Two workers fitting the same data write the same baseline at once: both succeed.
      const b2 = await connect();
      await Promise.all([s.setBaseline(st.id, baseline(3)), b2.setBaseline(st.id, baseline(3))]);
      assert.deepEqual((await b2.getStudy('b'))!.baseline, baseline(3));
    }));

    test('setBaseline refuses an unknown study and data JSON would not give back, changing nothing', fresh(async (s) => {
      const st = await s.createStudy(study('bad-b'));
      await assert.rejects(s.setBaseline(12345, baseline()), /no study with id 12345/);
      await s.setBaseline(st.id, baseline());
      const cases: [unknown, RegExp][] = [
        [{ ...baseline(), ridge: NaN }, /a baseline\.ridge is NaN: JSON has no NaN or Infinity/],
        [{ ...baseline(), metrics: { val_mae: Infinity } }, /a baseline\.metrics\.val_mae is Infinity/],
        [{ ...baseline(), coef: [[1], [undefined]] }, /a baseline\.coef\[1\]\[0\] is undefined/],
        [{ ...baseline(), intercept: new Float64Array([1]) }, /a baseline\.intercept is a Float64Array: only plain objects and arrays/],
        [undefined, /a baseline must be a plain object/],
        [[baseline()], /a baseline must be a plain object/],
      ];
      for (const [bad, message] of cases) await assert.rejects(s.setBaseline(st.id, bad as never), message);
      assert.deepEqual((await s.getStudy('bad-b'))!.baseline, baseline(), 'the stored baseline is kept');
    }));

    test('finishTrial stores diagnostics and every read returns them; absent when not given', fresh(async (s) => {
      const st = await s.createStudy(study('d'));
      const a = await claim(s, st.id);
      const b = await claim(s, st.id);
      const c = await claim(s, st.id);
      const d = await claim(s, st.id);
      const withDiag = await s.finishTrial(a.id, { ...complete(0.5), stopReason: 'early_stopping', diagnostics: diagnostics() });
      assert.deepEqual(withDiag.diagnostics, diagnostics());
      const without = await s.finishTrial(b.id, complete(0.7));
      const failedWith = await s.finishTrial(c.id, { ...failed('oom'), diagnostics: { deadReluStart: [1] } });
      const interrupted = await s.interruptTrial(d.id, 'died');
      for (const t of [without, interrupted]) assert.ok(!('diagnostics' in t), `trial ${t.number}: absent, not null`);
      assert.deepEqual(failedWith.diagnostics, { deadReluStart: [1] });

      const all = await s.getTrials(st.id);
      assert.deepEqual(all, [withDiag, without, failedWith, interrupted]);
      assert.deepEqual(await s.getTrials(st.id, { fromNumber: 2 }), [failedWith, interrupted]);
      assert.deepEqual(await s.getTrial(st.id, 0), withDiag);
      assert.deepEqual(await s.rankTrials(st.id, { metric: 'val_loss', direction: 'min' }), [withDiag, without]);
      assert.deepEqual(Object.keys(all[0]!.diagnostics!), Object.keys(diagnostics()), 'key order is kept');
      (all[0]!.diagnostics!.deadReluEnd as number[])[0] = 99;
      assert.deepEqual((await s.getTrial(st.id, 0))!.diagnostics, diagnostics(), 'returned records are copies');
    }));

    test('diagnostics JSON would not give back are refused, leaving the trial running', fresh(async (s) => {
      const st = await s.createStudy(study('bad-d'));
      const t = await claim(s, st.id);
      const cases: [unknown, RegExp][] = [
        [{ trainValGap: NaN }, /diagnostics\.trainValGap is NaN: JSON has no NaN or Infinity/],
        [{ deadReluEnd: [0, -Infinity] }, /diagnostics\.deadReluEnd\[1\] is -Infinity/],
        [{ when: new Date(0) }, /diagnostics\.when is a Date/],
        ['early', /diagnostics must be a plain object/],
      ];
      for (const [bad, message] of cases) await assert.rejects(s.finishTrial(t.id, { ...complete(1), diagnostics: bad as never }), message);
      const still = (await s.getTrial(st.id, 0))!;
      assert.equal(still.state, 'running');
      assert.deepEqual(still.metrics, {});
      // A property left undefined is simply absent.
      const done = await s.finishTrial(t.id, { ...complete(1), diagnostics: { trainValGap: 0.5, restoredEpoch: undefined } });
      assert.deepEqual(done.diagnostics, { trainValGap: 0.5 });
      assert.deepEqual((await s.getTrial(st.id, 0))!.diagnostics, { trainValGap: 0.5 });
    }));

    test('reportEpoch and getHistory carry grad_norm, NaN and ±Infinity included; absent when not reported', fresh(async (s) => {
      const st = await s.createStudy(study('g'));
      const t = await claim(s, st.id);
      const logs = [
        { ...epoch(0), grad_norm: 0.75 },
        epoch(1),
        { ...epoch(2), grad_norm: NaN },
        { ...epoch(3), val_loss: 2, grad_norm: Infinity },
        { ...epoch(4), grad_norm: -Infinity },
      ];
      for (const log of logs) await s.reportEpoch(t.id, log);
      const history = await s.getHistory(t.id);
      assert.deepEqual(history, logs);
      assert.ok(!('grad_norm' in history[1]!), 'absent, not null');
      assert.ok(Number.isNaN(history[2]!.grad_norm), 'NaN stays NaN, not absent');
      // Replacing an epoch replaces its grad_norm, or removes it.
      await s.reportEpoch(t.id, { ...epoch(0), grad_norm: 0.5 });
      await s.reportEpoch(t.id, epoch(3));
      await s.reportEpoch(t.id, { ...epoch(1), grad_norm: 1e-300 });
      assert.deepEqual(await s.getHistory(t.id), [{ ...epoch(0), grad_norm: 0.5 }, { ...epoch(1), grad_norm: 1e-300 }, logs[2], epoch(3), logs[4]]);
      await assert.rejects(s.reportEpoch(t.id, { ...epoch(5), grad_norm: '1' as unknown as number }), /grad_norm must be a number, got string/);
      assert.equal((await s.getHistory(t.id)).length, 5);
    }));
  });

  describe(`${engine}: export and import`, () => {
    test('a study round-trips through a dump into another storage, checkpoints included', fresh(async (s) => {
      const st = await s.createStudy(study('x', { direction: 'max', definition: { b: 1, a: [1, 'two', { c: null }] } }));
      const ids: TrialRecord[] = [];
      ids.push(await claim(s, st.id, plan({ slot: 'h:0.1.0.0', params: { z: 1, a: 'b' }, budget: 1, rung: { iteration: 0, bracket: 1, round: 0 } })));
      await s.reportEpoch(ids[0]!.id, { epoch: 0, loss: NaN, val_loss: 2, mae: Infinity, mse: 1, lr: 0.1, seconds: 0.5 });
      await s.finishTrial(ids[0]!.id, complete(0.7, { aux: -Infinity }), new Uint8Array([5, 4, 3]));
      ids.push(await claim(s, st.id, plan({ slot: 'h:0.1.1.0', parent: 0, initialEpoch: 1, budget: 3, rung: { iteration: 0, bracket: 1, round: 1 } })));
      await s.interruptTrial(ids[1]!.id, 'died');
      ids.push(await claim(s, st.id, plan({ slot: 'h:0.1.1.0', retryOf: 1, parent: 0, initialEpoch: 1 })));
      await s.finishTrial(ids[2]!.id, failed('oom'));
      ids.push(await claim(s, st.id, plan({ slot: 'r:run' })));
      await s.reportEpoch(ids[3]!.id, epoch(0));

      assert.equal(await s.exportStudy('nope'), undefined);
      const dump = (await s.exportStudy('x'))!;
      assert.deepEqual(dump.study, { ...study('x', { direction: 'max', definition: { b: 1, a: [1, 'two', { c: null }] } }), createdAt: st.createdAt });
      assert.deepEqual(dump.trials.map((t) => t.number), [0, 1, 2, 3]);
      assert.deepEqual(dump.trials[0]!.checkpoint, new Uint8Array([5, 4, 3]));
      assert.ok(!('checkpoint' in dump.trials[1]!));
      assert.deepEqual(dump.trials[3]!.history, [epoch(0)]);
      const trials = await s.getTrials(st.id);
      for (const [i, t] of dump.trials.entries()) {
        const { id: _id, studyId: _studyId, ...rest } = trials[i]!;
        const { history: _h, checkpoint: _c, ...dumped } = t;
        assert.deepEqual(dumped, rest);
      }

      // Into another (fresh) storage of the same engine; the source is untouched.
      await withFresh(factory, async (target) => {
        await target.createStudy(study('first'));
        const imported = await target.importStudy(dump);
        assert.equal(imported.name, 'x');
        assert.equal(imported.createdAt, st.createdAt);
        assert.deepEqual(imported.definition, dump.study.definition);
        const again = (await target.exportStudy('x'))!;
        assert.deepEqual(again, dump);
        const copied = await target.getTrials(imported.id);
        assert.deepEqual(copied.map((t) => ({ ...t, id: 0, studyId: 0 })), trials.map((t) => ({ ...t, id: 0, studyId: 0 })));
        assert.deepEqual(await target.getHistory(copied[0]!.id), await s.getHistory(ids[0]!.id));
        assert.deepEqual(await target.getCheckpoint(copied[0]!.id), new Uint8Array([5, 4, 3]));
        assert.deepEqual((await target.listCheckpoints(imported.id)).map((c) => c.bytes), [3]);
        // Numbering and claims continue from the imported trials.
        assert.equal(await target.createTrial(imported.id, plan({ slot: 'r:run' })), undefined);
        assert.equal(await target.createTrial(imported.id, plan({ slot: 'h:0.1.1.0', retryOf: 1 })), undefined);
        assert.equal((await claim(target, imported.id)).number, 4);
        await assert.rejects(target.importStudy(dump), (e: unknown) => e instanceof StudyExistsError && e.studyName === 'x');
        assert.deepEqual((await target.listStudies()).map((x) => x.study.name).sort(), ['first', 'x']);
      });
      assert.deepEqual(await s.exportStudy('x'), dump);
      // A dump of an empty study imports too.
      await s.createStudy(study('empty'));
      const emptyDump = (await s.exportStudy('empty'))!;
      assert.deepEqual(emptyDump.trials, []);
      await s.deleteStudy('empty');
      assert.deepEqual(await s.getTrials((await s.importStudy(emptyDump)).id), []);
    }));
  });

  describe(`${engine}: export and import of every kind of trial`, () => {
    test('a dump holds the study and every trial with all fields, metrics, history and checkpoints, as copies', fresh(async (s) => {
      const st = await richStudy(s, 'rich');
      const dump = (await s.exportStudy('rich'))!;
      assert.deepEqual(dump.study, { name: 'rich', metric: 'r2', direction: 'max', definition: st.definition, definitionHash: st.definitionHash, createdAt: st.createdAt });
      const trials = await s.getTrials(st.id);
      assert.equal(dump.trials.length, 5);
      for (const [i, t] of dump.trials.entries()) {
        const { id, studyId: _studyId, ...record } = trials[i]!;
        const { history, checkpoint, ...rest } = t;
        assert.deepEqual(rest, record, `trial ${i}: every field of its record but the ids`);
        assert.deepEqual(history, await s.getHistory(id));
        assert.deepEqual(checkpoint, await s.getCheckpoint(id));
        assert.ok(!('id' in t) && !('studyId' in t));
      }
      assert.ok(Number.isNaN(dump.trials[0]!.history[0]!.val_loss));
      assert.deepEqual(dump.trials[0]!.metrics, { r2: 0.8, val_loss: NaN, up: Infinity, down: -Infinity });
      assert.equal(Object.getPrototypeOf(dump.trials[0]!.checkpoint), Uint8Array.prototype);
      assert.deepEqual(dump.trials[1]!.checkpoint, new Uint8Array(0));
      assert.ok(!('checkpoint' in dump.trials[2]!), 'no checkpoint: the key is left out');
      assert.equal(dump.trials[4]!.state, 'running');
      dump.trials[0]!.checkpoint!.fill(9);
      (dump.trials[0]!.params as Record<string, unknown>).lr = 1;
      assert.deepEqual((await s.exportStudy('rich'))!.trials[0]!.checkpoint, new Uint8Array([0, 1, 2, 253, 254, 255]), 'copies');
      assert.equal(await s.exportStudy('nope'), undefined);
    }));

    test('export → import into another storage → export gives the same dump; the copy works as a study', fresh(async (s) => {
      const source = await richStudy(s, 'rich');
      const dump = (await s.exportStudy('rich'))!;
      await withFresh(factory, async (target) => {
        await richStudy(target, 'already-here'); // so that ids differ from the source's
        const imported = await target.importStudy(dump);
        assert.deepEqual(await target.getStudy('rich'), imported);
        assert.deepEqual({ ...imported, id: 0 }, { ...dump.study, id: 0 });
        assert.deepEqual(await target.exportStudy('rich'), dump);
        assert.notDeepEqual((await target.getTrials(imported.id)).map((t) => t.id), (await s.getTrials(source.id)).map((t) => t.id));

        // Numbering, claims and rankings carry on from the imported trials.
        assert.equal(await target.createTrial(imported.id, plan({ slot: 'h:0.2.0.0' })), undefined);
        assert.equal(await target.createTrial(imported.id, plan({ slot: 'h:0.2.0.2', retryOf: 2 })), undefined);
        const next = await claim(target, imported.id, plan({ slot: 'h:0.2.1.1' }));
        assert.equal(next.number, 5);
        assert.deepEqual((await target.rankTrials(imported.id, { metric: 'r2', direction: 'max' })).map((t) => t.number), [0, 3]);
        assert.deepEqual(
          (await target.listStudies()).find((x) => x.study.name === 'rich')!.counts,
          { running: 2, complete: 2, failed: 1, interrupted: 1 },
        );
        // The imported running trial has a lease from the import: swept once its grace has passed.
        assert.deepEqual(await target.interruptStale(imported.id, 3600, 'x'), []);
        await sleep(900);
        await target.heartbeat(next.id);
        assert.deepEqual((await target.interruptStale(imported.id, 0.45, 'copied while running')).map((t) => t.number), [4]);
      });
    }));

    test('import refuses a taken name with StudyExistsError, and a bad dump, writing nothing', fresh(async (s) => {
      await richStudy(s, 'rich');
      const dump = (await s.exportStudy('rich'))!;
      await assert.rejects(s.importStudy(dump), (e: unknown) => e instanceof StudyExistsError && e.studyName === 'rich');
      // The same dump under another name: a second copy in the same storage.
      const copy = await s.importStudy({ ...dump, study: { ...dump.study, name: 'copy' } });
      const copied = (await s.exportStudy('copy'))!;
      assert.deepEqual({ ...copied, study: { ...copied.study, name: 'rich' } }, dump);
      assert.notEqual(copy.id, (await s.getStudy('rich'))!.id);

      const studies = await s.listStudies();
      for (const [what, d, message] of badDumps(dump)) {
        await assert.rejects(s.importStudy(d), message, what);
        assert.equal(await s.getStudy(d.study.name), undefined, what);
      }
      assert.deepEqual(await s.listStudies(), studies);
    }));
  });

  describe(`${engine}: export and import of schema 4`, () => {
    test('the baseline, diagnostics and grad_norm survive a dump, and a bad one is refused whole', fresh(async (s) => {
      const st = await s.createStudy(study('four'));
      await s.setBaseline(st.id, baseline());
      const a = await claim(s, st.id);
      await s.reportEpoch(a.id, { ...epoch(0), grad_norm: 2.5 });
      await s.reportEpoch(a.id, { ...epoch(1), grad_norm: NaN });
      await s.reportEpoch(a.id, epoch(2));
      await s.finishTrial(a.id, { ...complete(0.5), diagnostics: diagnostics() });
      await s.finishTrial((await claim(s, st.id)).id, complete(0.6));
      await s.createStudy(study('plain'));

      const dump = (await s.exportStudy('four'))!;
      assert.deepEqual(dump.study.baseline, baseline());
      assert.deepEqual(dump.trials[0]!.diagnostics, diagnostics());
      assert.ok(!('diagnostics' in dump.trials[1]!));
      assert.deepEqual(dump.trials[0]!.history, [{ ...epoch(0), grad_norm: 2.5 }, { ...epoch(1), grad_norm: NaN }, epoch(2)]);
      assert.ok(!('baseline' in (await s.exportStudy('plain'))!.study), 'a study without one dumps without one');

      await withFresh(factory, async (target) => {
        const imported = await target.importStudy(dump);
        assert.deepEqual(imported.baseline, baseline());
        assert.deepEqual(await target.getStudy('four'), imported);
        assert.deepEqual(await target.exportStudy('four'), dump);
        const copied = await target.getTrials(imported.id);
        assert.deepEqual(copied[0]!.diagnostics, diagnostics());
        assert.deepEqual(await target.getHistory(copied[0]!.id), dump.trials[0]!.history);

        const bad: [string, typeof dump, RegExp][] = [
          ['a NaN in the baseline', { ...dump, study: { ...dump.study, name: 'b1', baseline: { ...baseline(), ridge: NaN } } }, /the study's baseline\.ridge is NaN/],
          ['a NaN in diagnostics', { study: { ...dump.study, name: 'b2' }, trials: [{ ...dump.trials[0]!, diagnostics: { trainValGap: NaN } }] }, /trial 0: diagnostics\.trainValGap is NaN/],
          ['a grad_norm not a number', { study: { ...dump.study, name: 'b3' }, trials: [{ ...dump.trials[0]!, history: [{ ...epoch(0), grad_norm: null as never }] }] }, /grad_norm must be a number, got object/],
        ];
        for (const [what, d, message] of bad) {
          await assert.rejects(target.importStudy(d), message, what);
          assert.equal(await target.getStudy(d.study.name), undefined, what);
        }
      });
    }));
  });

  describe(`${engine}: lifecycle`, () => {
    test('a second connection sees committed writes; close is idempotent and later calls fail', fresh(async (s, connect) => {
      const st = await s.createStudy(study('persist'));
      const t = await claim(s, st.id, plan({ params: { a: 'b' } }));
      const b = await connect();
      assert.deepEqual(await b.getTrial(st.id, 0), t);
      await b.finishTrial(t.id, complete(0.1));
      assert.equal((await s.getTrial(st.id, 0))!.state, 'complete');
      await assert.rejects(s.finishTrial(t.id, complete(0.1)), TrialNotRunningError);
      await b.close();
      await b.close();
      await assert.rejects(b.listStudies(), /not open/);
    }));
  });
}

storageContract('sqlite', sqlite);
storageContract('postgres', postgres);

// ---------------------------------------------------------------------------
// Across engines
// ---------------------------------------------------------------------------

describe('copy between engines', () => {
  test('SQLite → PostgreSQL → SQLite keeps every trial, history, checkpoint, baseline and diagnostics', async () => {
    await withFresh(sqlite, async (a) => {
      const st = await a.createStudy(study('moving'));
      await a.setBaseline(st.id, baseline());
      const t0 = await claim(a, st.id, plan({ params: { lr: 0.01, opt: 'adam' } }));
      await a.reportEpoch(t0.id, { epoch: 0, loss: NaN, mae: 1, mse: 1, lr: 0.01, seconds: 1, grad_norm: 0.5 });
      await a.reportEpoch(t0.id, { epoch: 1, loss: 1, mae: 1, mse: 1, lr: 0.01, seconds: 1, grad_norm: NaN });
      await a.reportEpoch(t0.id, { epoch: 2, loss: 1, mae: 1, mse: 1, lr: 0.01, seconds: 1, grad_norm: Infinity });
      await a.finishTrial(t0.id, { ...complete(0.3, { nan: NaN, inf: Infinity }), diagnostics: diagnostics() }, new Uint8Array([1, 2, 3, 4]));
      await a.interruptTrial((await claim(a, st.id)).id, 'died');
      const dump = (await a.exportStudy('moving'))!;
      // What schema 4 added is in the dump, so the comparisons below cover it.
      assert.deepEqual(dump.study.baseline, baseline());
      assert.deepEqual(dump.trials[0]!.diagnostics, diagnostics());
      assert.deepEqual(dump.trials[0]!.history.map((e) => e.grad_norm), [0.5, NaN, Infinity]);
      await withFresh(postgres, async (p) => {
        await p.importStudy(dump);
        const viaPg = (await p.exportStudy('moving'))!;
        assert.deepEqual(viaPg, dump);
        await withFresh(sqlite, async (b) => {
          await b.importStudy(viaPg);
          assert.deepEqual(await b.exportStudy('moving'), dump);
        });
      });
    });
  });
});

// ---------------------------------------------------------------------------
// PostgreSQL only
// ---------------------------------------------------------------------------

describe('postgres: schema, URLs and errors', () => {
  let pg: PgCluster;
  before(async () => {
    pg = await clusterReady;
  });

  test('the test server is found, and its absence is an error, not a skip', () => {
    assert.ok(fs.existsSync(path.join(findPostgresBin(), 'initdb')));
    assert.throws(() => findPostgresBin('', path.join(tmp, 'no-postgres-here')), /initdb, pg_ctl\) were found neither on PATH nor in .*install PostgreSQL/);
  });

  test('the schema version is SQLite\'s, kept in tune_meta', async () => {
    assert.equal(POSTGRES_SCHEMA_VERSION, SCHEMA_VERSION, 'both engines are at the same schema version');
    const url = await pg.createDatabase();
    await (await PostgresStorage.open(url)).close();
    const db = new URL(url).pathname.slice(1);
    const meta = await pg.query<{ key: string; value: string }>(`SELECT key, value FROM tune_meta ORDER BY key`, [], db);
    assert.deepEqual(meta, [{ key: 'application', value: 'tune' }, { key: 'schema_version', value: String(POSTGRES_SCHEMA_VERSION) }]);
  });

  test('a schema-3 database is upgraded to 4 in place: data intact, the new fields absent, the columns a fresh one\'s', async () => {
    const T0 = '2024-01-02T03:04:05.000Z';
    const T1 = '2024-01-02T03:09:05.000Z';
    const url = await pg.createDatabase();
    const db = new URL(url).pathname.slice(1);
    const openWith = (PostgresStorage as unknown as { openWith(u: string, m: readonly PgMigration[]): Promise<Storage> }).openWith.bind(PostgresStorage);
    await (await openWith(url, PG_MIGRATIONS.filter((m) => m.to <= 3))).close();
    // Rows as a schema-3 tune wrote them (its statements, not this tune's, which name the new columns).
    await pg.query(
      `INSERT INTO studies (name, metric, direction, definition_json, definition_hash, created_at)
         VALUES ('three', 'val_loss', 'min', '{"b":1,"a":2}', 'h', '${T0}');
       INSERT INTO trials (study_id, number, slot, state, params_json, backend, worker_host, worker_pid,
                           value, epochs, stop_reason, duration_s, started_at, finished_at)
         SELECT id, 0, 'r:0', 'complete', '{"u":3}', 'cpu', 'box', 7, 0.5, 2, 'max_epochs', 1.25, '${T0}', '${T1}' FROM studies;
       INSERT INTO trials (study_id, number, slot, state, params_json, backend, worker_host, worker_pid, started_at, heartbeat_at)
         SELECT id, 1, 'r:1', 'running', '{"u":5}', 'cpu', 'box', 8, '${T1}', now() FROM studies;
       INSERT INTO trial_metrics (trial_id, study_id, name, value, position) SELECT id, study_id, 'val_loss', 0.5, 1 FROM trials WHERE number = 0;
       INSERT INTO trial_epochs (trial_id, epoch, loss, mae, mse, lr, seconds) SELECT id, 0, 0.9, 1, 1, 0.1, 0.1 FROM trials WHERE number = 0;
       INSERT INTO trial_epochs (trial_id, epoch, loss, val_loss, mae, mse, lr, seconds) SELECT id, 1, 'NaN', 0.5, 1, 1, 0.1, 0.1 FROM trials WHERE number = 0;
       INSERT INTO checkpoints (trial_id, data) SELECT id, '\\x010203' FROM trials WHERE number = 0;`,
      [],
      db,
    );
    const columns = (database: string) =>
      pg.query(
        `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
          WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
        [],
        database,
      );

    const s = await PostgresStorage.open(url);
    try {
      assert.deepEqual(await pg.query(`SELECT value FROM tune_meta WHERE key = 'schema_version'`, [], db), [{ value: '4' }]);
      const st = (await s.getStudy('three'))!;
      assert.deepEqual(st, { id: st.id, name: 'three', metric: 'val_loss', direction: 'min', definition: { b: 1, a: 2 }, definitionHash: 'h', createdAt: T0 });
      const trials = await s.getTrials(st.id);
      const common = { studyId: st.id, backend: 'cpu', initialEpoch: 0 };
      assert.deepEqual(trials, [
        { ...common, id: trials[0]!.id, number: 0, slot: 'r:0', state: 'complete', params: { u: 3 }, worker: { host: 'box', pid: 7 },
          metrics: { val_loss: 0.5 }, value: 0.5, epochs: 2, stopReason: 'max_epochs', durationS: 1.25, startedAt: T0, finishedAt: T1 },
        { ...common, id: trials[1]!.id, number: 1, slot: 'r:1', state: 'running', params: { u: 5 }, worker: { host: 'box', pid: 8 },
          metrics: {}, startedAt: T1 },
      ]);
      assert.deepEqual(await s.getHistory(trials[0]!.id), [epoch(0, 0.9), { ...epoch(1, NaN), val_loss: 0.5 }]);
      assert.deepEqual(await s.getCheckpoint(trials[0]!.id), new Uint8Array([1, 2, 3]));

      // The new fields work on the upgraded database.
      await s.setBaseline(st.id, baseline());
      await s.reportEpoch(trials[1]!.id, { ...epoch(0), grad_norm: 0.25 });
      const done = await s.finishTrial(trials[1]!.id, { ...complete(0.4), diagnostics: diagnostics() });
      assert.deepEqual((await s.getStudy('three'))!.baseline, baseline());
      assert.deepEqual(done.diagnostics, diagnostics());
      assert.deepEqual(await s.getHistory(trials[1]!.id), [{ ...epoch(0), grad_norm: 0.25 }]);
    } finally {
      await s.close();
    }
    const fresh = await pg.createDatabase();
    await (await PostgresStorage.open(fresh)).close();
    assert.deepEqual(await columns(db), await columns(new URL(fresh).pathname.slice(1)));
  });

  test('processes opening a fresh database at once create its schema once', async () => {
    const url = await pg.createDatabase();
    const opened = await Promise.all(Array.from({ length: 6 }, () => PostgresStorage.open(url)));
    const st = await opened[0]!.createStudy(study('one'));
    for (const s of opened) assert.equal((await s.getStudy('one'))!.id, st.id);
    await Promise.all(opened.map((s) => s.close()));
  });

  test('a database written by a newer tune is refused, and left as it was', async () => {
    const url = await pg.createDatabase();
    const db = new URL(url).pathname.slice(1);
    await (await PostgresStorage.open(url)).close();
    await pg.query(`UPDATE tune_meta SET value = '99' WHERE key = 'schema_version'`, [], db);
    await assert.rejects(PostgresStorage.open(url), (e: unknown) =>
      e instanceof UserError && e.message.includes(url) && /written by a newer tune \(schema 99\); this tune reads up to schema \d+ \(fix: upgrade tune\)/.test(e.message));
    assert.deepEqual(await pg.query(`SELECT value FROM tune_meta WHERE key = 'schema_version'`, [], db), [{ value: '99' }]);
  });

  test('tables named like tune\'s but not tune\'s are refused; unrelated tables are fine', async () => {
    const url = await pg.createDatabase();
    const db = new URL(url).pathname.slice(1);
    await pg.query(`CREATE TABLE users (id int)`, [], db);
    await (await PostgresStorage.open(url)).close();
    const clash = await pg.createDatabase();
    await pg.query(`CREATE TABLE trials (id int)`, [], new URL(clash).pathname.slice(1));
    await assert.rejects(PostgresStorage.open(clash), (e: unknown) =>
      e instanceof UserError && /not a tune storage: .*tables named like tune's \(trials\) but no tune_meta/.test(e.message));
  });

  test('openStorage opens postgresql:// and postgres:// URLs', async () => {
    const url = await pg.createDatabase();
    for (const u of [url, url.replace(/^postgresql:/, 'postgres:'), url.replace(/^postgresql:/, 'PostgreSQL:')]) {
      const s = await openStorage(u);
      assert.ok(s instanceof PostgresStorage);
      await s.createStudy(study(`via ${u.slice(0, 10)}`));
      await s.close();
    }
    const s = await openStorage(url);
    assert.equal((await s.listStudies()).length, 3);
    await s.close();
  });

  test('connection failures are one-line UserErrors naming the URL without its password, with a fix', async () => {
    const secret = 's3cr3t-pw';
    const closed = `postgresql://tune:${secret}@127.0.0.1:1/db`;
    await assert.rejects(openStorage(closed), (e: unknown) => {
      assert.ok(e instanceof UserError, String(e));
      assert.ok(!e.message.includes(secret), e.message);
      assert.ok(!e.message.includes('\n'));
      assert.match(e.message, /^postgresql:\/\/tune@127\.0\.0\.1:1\/db: cannot connect to PostgreSQL: .*ECONNREFUSED.* \(fix: check that the PostgreSQL server is running/);
      return true;
    });
    const missing = pg.url('no_such_db').replace('tune@', `tune:${secret}@`) + `?password=${secret}`;
    await assert.rejects(openStorage(missing), (e: unknown) => {
      assert.ok(e instanceof UserError, String(e));
      assert.ok(!e.message.includes(secret), e.message);
      assert.match(e.message, /cannot connect to PostgreSQL: database "no_such_db" does not exist \(fix: create the database first \(createdb no_such_db\)/);
      return true;
    });
  });

  test('NaN and ±Infinity are native double precision values', async () => {
    const url = await pg.createDatabase();
    const s = await PostgresStorage.open(url);
    try {
      const st = await s.createStudy(study('n'));
      const t = await claim(s, st.id);
      await s.finishTrial(t.id, { ...complete(NaN), metrics: { a: NaN, b: Infinity, c: -Infinity } });
    } finally {
      await s.close();
    }
    const db = new URL(url).pathname.slice(1);
    const rows = await pg.query(`SELECT name, value::text AS v, pg_typeof(value)::text AS type FROM trial_metrics ORDER BY name`, [], db);
    assert.deepEqual(rows, [
      { name: 'a', v: 'NaN', type: 'double precision' },
      { name: 'b', v: 'Infinity', type: 'double precision' },
      { name: 'c', v: '-Infinity', type: 'double precision' },
    ]);
  });

  test('staleness is judged by the database clock: a heartbeat set an hour back is stale, a fresh one is not', async () => {
    const url = await pg.createDatabase();
    const db = new URL(url).pathname.slice(1);
    const s = await PostgresStorage.open(url);
    try {
      const st = await s.createStudy(study('clock'));
      const old = await claim(s, st.id);
      const fresh = await claim(s, st.id);
      await s.heartbeat(fresh.id);
      await pg.query(`UPDATE trials SET heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [old.id], db);
      const [hb] = await pg.query<{ ok: boolean }>(`SELECT abs(extract(epoch FROM now() - heartbeat_at)) < 5 AS ok FROM trials WHERE id = $1`, [fresh.id], db);
      assert.equal(hb!.ok, true, 'heartbeat_at is the database clock');
      assert.deepEqual((await s.interruptStale(st.id, 3599, 'stale')).map((t) => t.id), [old.id]);
      assert.equal((await s.getTrial(st.id, fresh.number))!.state, 'running');
      // A running trial without a heartbeat (written by hand) counts as stale, as in SQLite.
      await pg.query(`UPDATE trials SET heartbeat_at = NULL WHERE id = $1`, [fresh.id], db);
      assert.deepEqual((await s.interruptStale(st.id, 3600, 'stale')).map((t) => t.id), [fresh.id]);
    } finally {
      await s.close();
    }
  });

  test('a connection the server drops fails the call using it, never the process; the pool reconnects', async () => {
    const url = await pg.createDatabase();
    const db = new URL(url).pathname.slice(1);
    const s = await PostgresStorage.open(url);
    const dropAll = () => pg.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [db]);
    try {
      await s.createStudy(study('drop'));
      await Promise.all([s.getStudy('drop'), s.listStudies(), s.getStudy('drop')]); // a few idle connections
      await dropAll();
      await sleep(50);
      assert.equal((await s.listStudies()).length, 1, 'idle connections dropped: the next call reconnects');
      // Dropped in the middle of a transaction, between two of its queries (pg then emits
      // 'error' on the checked-out client; unheard, that would crash the process).
      const tx = (s as unknown as { tx: (fn: (c: { query(sql: string): Promise<unknown> }) => Promise<unknown>) => Promise<unknown> }).tx.bind(s);
      await assert.rejects(
        tx(async (c) => {
          await c.query('SELECT 1');
          await dropAll();
          await sleep(100);
          return c.query('SELECT 2');
        }),
        /connection|terminat/i,
      );
      assert.equal((await s.getStudy('drop'))!.name, 'drop');
    } finally {
      await s.close();
    }
  });

  test('claim latency (median createTrial) with 1 and 4 concurrent connections', async (t) => {
    const url = await pg.createDatabase();
    const storages = await Promise.all(Array.from({ length: 4 }, () => PostgresStorage.open(url)));
    try {
      const st = await storages[0]!.createStudy(study('latency'));
      const time = async (s: Storage, slot: string) => {
        const t0 = performance.now();
        const trial = await s.createTrial(st.id, plan({ slot }));
        const ms = performance.now() - t0;
        assert.ok(trial);
        return ms;
      };
      for (let i = 0; i < 10; i++) await time(storages[0]!, `warm:${i}`); // warm the pools' connections
      const single: number[] = [];
      for (let i = 0; i < 100; i++) single.push(await time(storages[0]!, `one:${i}`));
      const concurrent = (
        await Promise.all(storages.map(async (s, k) => {
          const mine: number[] = [];
          for (let i = 0; i < 50; i++) mine.push(await time(s, `four:${k}.${i}`));
          return mine;
        }))
      ).flat();
      const m1 = median(single);
      const m4 = median(concurrent);
      t.diagnostic(`PostgreSQL createTrial median: ${m1.toFixed(2)} ms with 1 connection, ${m4.toFixed(2)} ms with 4 concurrent connections`);
      assert.ok(m1 < 100 && m4 < 400, `claims should take milliseconds (got ${m1.toFixed(1)} / ${m4.toFixed(1)} ms)`);
      assert.deepEqual((await storages[0]!.getTrials(st.id)).map((x) => x.number), [...Array(10 + 100 + 200).keys()]);
    } finally {
      await Promise.all(storages.map((s) => s.close()));
    }
  });
});
