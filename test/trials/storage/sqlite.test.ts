/**
 * What only the SQLite engine shows: its file (pragmas, WAL, auto_vacuum,
 * refusals, raw rows and NaN tags), several processes on one file, leases as
 * REAL seconds, the rank index's query plan. The storage contract itself runs
 * on both engines in conformance.test.ts.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../src/errors';
import { SqliteStorage } from '../../../src/trials/storage/sqlite';
import { TrialExistsError, TrialNotRunningError } from '../../../src/trials/storage/types';
import { ISO_UTC, badDumps, complete, count, create, epoch, plan, raw, richStudy, runWorkers, study, tempFiles, withStorage } from './fixtures';

const files = tempFiles('tune-storage-');
const freshPath = files.next;

describe('studies', () => {
  test('deleteStudy leaves no row of the study in any table', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      const gone = await s.createStudy(study('gone'));
      const kept = await s.createStudy(study('kept'));
      for (const st of [gone, kept]) {
        const t = await create(s, st.id, plan({ params: { a: 1 } }));
        await s.reportEpoch(t.id, { epoch: 0, loss: 1, mae: 1, mse: 1, lr: 0.1, seconds: 0.1 });
        await s.finishTrial(t.id, complete(1));
      }
      assert.equal(await s.deleteStudy('gone'), true);
    });
    assert.deepEqual(raw(file, (db) => ['trials', 'trial_metrics', 'trial_epochs'].map((t) => count(db, t))), [1, 1, 1]);
  });
});

describe('trial numbers', () => {
  test('four processes creating, reporting and finishing trials at once get distinct, dense numbers', async () => {
    const file = freshPath();
    const studyId = await withStorage(file, async (s) => (await s.createStudy(study('race'))).id);
    const perWorker = 40;
    const body = `
      const mine = [];
      for (let i = 0; i < ${perWorker}; i++) {
        const t = await s.createTrial(${studyId}, {
          slot: 'r:' + process.env.WORKER + '.' + i, params: { i }, backend: 'cpu',
          worker: { host: 'w' + process.env.WORKER, pid: process.pid }, initialEpoch: 0,
        });
        await s.reportEpoch(t.id, { epoch: 0, loss: 1, mae: 1, mse: 1, lr: 1, seconds: 1 });
        await s.finishTrial(t.id, { state: 'complete', value: i, metrics: { val_loss: i }, epochs: 1, stopReason: 'max_epochs', durationS: 0 },
          new Uint8Array(4096).fill(i));
        mine.push(t.number);
      }
      await s.close();
      process.stdout.write(JSON.stringify(mine));`;
    const results = await runWorkers(file, body);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const numbers = results.flatMap((r) => JSON.parse(r.stdout) as number[]);
    assert.deepEqual([...numbers].sort((x, y) => x - y), [...Array(4 * perWorker).keys()]);
    await withStorage(file, async (s) => {
      const trials = await s.getTrials(studyId);
      assert.equal(trials.length, 4 * perWorker);
      assert.ok(trials.every((t) => t.state === 'complete'));
      assert.equal((await s.listCheckpoints(studyId)).length, 4 * perWorker);
    });
  });
});

describe('NaN and Infinity', () => {
  test('NaN is stored as the text tag, ±Infinity as REAL', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      const st = await s.createStudy(study('nan'));
      const t = await create(s, st.id, plan());
      await s.finishTrial(t.id, { ...complete(NaN), metrics: { val_loss: NaN, up: Infinity, down: -Infinity }, durationS: NaN });
    });
    const stored = raw(file, (db) => ({
      value: db.prepare(`SELECT value, typeof(value) AS type FROM trials`).get(),
      metrics: db.prepare(`SELECT name, value, typeof(value) AS type FROM trial_metrics ORDER BY name`).all(),
    }));
    assert.deepEqual(stored.value, { value: 'NaN', type: 'text' });
    assert.deepEqual(stored.metrics, [
      { name: 'down', value: -Infinity, type: 'real' },
      { name: 'up', value: Infinity, type: 'real' },
      { name: 'val_loss', value: 'NaN', type: 'text' },
    ]);
  });
});

describe('rankTrials', () => {
  test('matches a JS sort on a few thousand trials, and the query uses the rank index', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      const st = await s.createStudy(study('big'));
      let seed = 42;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      const values: number[] = [];
      for (let n = 0; n < 3000; n++) {
        const v = Math.round(rand() * 500) / 10; // many ties
        values.push(v);
        const t = await create(s, st.id, plan());
        await s.finishTrial(t.id, complete(v));
      }
      const expected = values
        .map((v, n) => ({ v, n }))
        .sort((a, b) => b.v - a.v || a.n - b.n)
        .slice(0, 50)
        .map((x) => x.n);
      const got = await s.rankTrials(st.id, { metric: 'val_loss', direction: 'max', limit: 50 });
      assert.deepEqual(got.map((t) => t.number), expected);
      assert.deepEqual(got.map((t) => t.value), expected.map((n) => values[n]));

      // The plan walks trial_metrics_rank in value order: no full sort of the study.
      for (const key of ['rankAsc', 'rankDesc'] as const) {
        const source = s['stmt'][key].source;
        const plan = raw(file, (db) =>
          (db.prepare(`EXPLAIN QUERY PLAN ${source}`).all({ studyId: st.id, metric: 'val_loss', limit: 10 }) as { detail: string }[]).map(
            (r) => r.detail,
          ),
        );
        assert.ok(plan.some((d) => /trial_metrics_rank/.test(d)), plan.join('; '));
        assert.ok(!plan.some((d) => /TEMP B-TREE FOR ORDER BY/.test(d)), plan.join('; '));
      }
    });
  });
});

describe('files and schema', () => {
  test('reopening a file keeps the data; two connections see each other', async () => {
    const file = freshPath();
    const before = await withStorage(file, async (s) => {
      const st = await s.createStudy(study('persist'));
      const t = await create(s, st.id, plan({ params: { a: 'b' } }));
      await s.reportEpoch(t.id, { epoch: 0, loss: 1, mae: 2, mse: 3, lr: 4, seconds: 5 });
      await s.finishTrial(t.id, complete(0.25));
      await create(s, st.id, plan());
      return { study: st, trials: await s.getTrials(st.id), history: await s.getHistory(t.id) };
    });
    const a = SqliteStorage.open(file);
    const b = SqliteStorage.open(file);
    try {
      assert.deepEqual(await a.getStudy('persist'), before.study);
      assert.deepEqual(await a.getTrials(before.study.id), before.trials);
      assert.deepEqual(await a.getHistory(before.trials[0]!.id), before.history);
      const running = before.trials[1]!;
      await a.finishTrial(running.id, complete(0.1));
      assert.equal((await b.getTrial(before.study.id, 1))!.state, 'complete');
      await assert.rejects(b.finishTrial(running.id, complete(0.1)), TrialNotRunningError);
    } finally {
      await a.close();
      await b.close();
    }
    assert.equal(raw(file, (db) => db.pragma('journal_mode', { simple: true })), 'wal');
  });

  test('pruned checkpoints give their pages back: a new file vacuums incrementally', async () => {
    const file = freshPath();
    const pages = (): { count: number; free: number } =>
      raw(file, (db) => ({ count: db.pragma('page_count', { simple: true }) as number, free: db.pragma('freelist_count', { simple: true }) as number }));
    await withStorage(file, async (s) => {
      const st = await s.createStudy(study('vacuum'));
      const ids: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t = await create(s, st.id, plan({ slot: `r:${i}` }));
        // 2 MB each, like a 3×300 MLP's checkpoint with its Adam moments.
        await s.finishTrial(t.id, complete(i), new Uint8Array(2_000_000).fill(i + 1));
        ids.push(t.id);
      }
      const full = pages();
      await s.deleteCheckpoints(ids.slice(0, 2));
      const pruned = pages();
      assert.equal(pruned.free, 0);
      // Two of three 2 MB blobs gone: the file is about a third of what it was.
      assert.ok(pruned.count < full.count / 2, `${pruned.count} pages after, ${full.count} before`);
      assert.equal((await s.getCheckpoint(ids[2]!))?.length, 2_000_000);
    });
    assert.equal(raw(file, (db) => db.pragma('auto_vacuum', { simple: true })), 2);
  });

  test('a SQLite file of another application is refused and left untouched', () => {
    const file = freshPath();
    raw(file, (db) => db.exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ann')`));
    assert.throws(() => SqliteStorage.open(file), (e: unknown) => e instanceof UserError && /not a tune storage: .*other tables \(users\) and no tune_meta/.test(e.message));
    const tables = raw(file, (db) => db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table'`).pluck().all());
    assert.deepEqual(tables, ['users']);
  });

  test('a file that is not SQLite, or a missing directory, is refused clearly', () => {
    const text = path.join(files.dir, 'notes.txt');
    fs.writeFileSync(text, 'these are not the tables you are looking for\n'.repeat(200));
    assert.throws(() => SqliteStorage.open(text), (e: unknown) => e instanceof UserError && /not a tune storage: the file is not a SQLite database/.test(e.message));
    assert.throws(
      () => SqliteStorage.open(path.join(files.dir, 'no', 'such', 'dir', 'x.db')),
      (e: unknown) => e instanceof UserError && /cannot open the storage/.test(e.message),
    );
  });

  test(':memory: works and is private to its connection', async () => {
    await withStorage(':memory:', async (s) => {
      const st = await s.createStudy(study('mem'));
      assert.equal((await s.listStudies()).length, 1);
      assert.equal((await s.getStudy('mem'))!.id, st.id);
    });
    await withStorage(':memory:', async (s) => assert.deepEqual(await s.listStudies(), []));
  });
});

describe('claims', () => {
  test('the unique indexes hold a claim a writer did not check; a number taken twice is TrialExistsError', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      const st = await s.createStudy(study('defence'));
      await create(s, st.id, plan({ slot: 'g:a' }));
      await create(s, st.id, plan({ slot: 'g:a', retryOf: 0 }));
      // Blind the engine's own checks: the indexes alone turn the inserts into lost claims.
      const stmt = s['stmt'] as unknown as Record<string, { get(...a: unknown[]): unknown }>;
      const saved = { slotClaimed: stmt.slotClaimed!, retryClaimed: stmt.retryClaimed!, nextNumber: stmt.nextNumber! };
      stmt.slotClaimed = stmt.retryClaimed = { get: () => undefined };
      try {
        assert.equal(await s.createTrial(st.id, plan({ slot: 'g:a' })), undefined);
        assert.equal(await s.createTrial(st.id, plan({ slot: 'g:a', retryOf: 0 })), undefined);
        stmt.nextNumber = { get: () => ({ number: 1 }) };
        await assert.rejects(s.createTrial(st.id, plan({ slot: 'g:z' })), (e: unknown) => e instanceof TrialExistsError && e.trialNumber === 1);
      } finally {
        Object.assign(stmt, saved);
      }
      assert.equal((await s.getTrials(st.id)).length, 2);
    });
    // And against raw SQL.
    raw(file, (db) => {
      const insert = db.prepare(
        `INSERT INTO trials (study_id, number, slot, retry_of, state, params_json, backend, worker_host, worker_pid, started_at)
         VALUES (1, ?, ?, ?, 'running', '{}', 'cpu', 'h', 1, 'now')`,
      );
      assert.throws(() => insert.run(7, 'g:a', null), /UNIQUE constraint failed: trials\.study_id, trials\.slot/);
      assert.throws(() => insert.run(7, 'g:a', 0), /UNIQUE constraint failed: trials\.study_id, trials\.retry_of/);
      insert.run(7, 'g:a', 1); // a retry of the retry is a new claim
    });
  });

  test('four processes racing for the same plans and retries: each claimed exactly once, losers get undefined, no errors', async () => {
    const file = freshPath();
    const studyId = await withStorage(file, async (s) => (await s.createStudy(study('race4'))).id);
    const slots = 60;
    // Every worker asks for every first attempt, then for a retry of every failed first attempt.
    const body = `
      const worker = { host: 'w' + process.env.WORKER, pid: process.pid };
      const won = [], retried = [];
      let lostFirst = 0, lostRetry = 0;
      for (let i = 0; i < ${slots}; i++) {
        const t = await s.createTrial(${studyId}, { slot: 'g:' + i, params: { i }, backend: 'cpu', worker, initialEpoch: 0 });
        if (!t) { lostFirst++; continue; }
        won.push(t.slot);
        await s.finishTrial(t.id, { state: 'failed', metrics: {}, epochs: 0, stopReason: 'error', error: 'x', durationS: 0 });
      }
      for (let i = 0; i < ${slots}; i++) {
        const attempt = (await s.getTrials(${studyId})).find((t) => t.slot === 'g:' + i && t.retryOf === undefined);
        if (!attempt || attempt.state === 'running') continue; // not finished yet by its winner: someone else's retry
        const t = await s.createTrial(${studyId}, { slot: attempt.slot, retryOf: attempt.number, params: { i }, backend: 'cpu', worker, initialEpoch: 0 });
        if (!t) { lostRetry++; continue; }
        retried.push(attempt.number);
      }
      await s.close();
      process.stdout.write(JSON.stringify({ won, retried, lostFirst, lostRetry }));`;
    const results = await runWorkers(file, body);
    for (const r of results) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
    }
    const outs = results.map((r) => JSON.parse(r.stdout) as { won: string[]; retried: number[]; lostFirst: number; lostRetry: number });
    const won = outs.flatMap((o) => o.won);
    assert.deepEqual([...won].sort(), [...Array(slots).keys()].map((i) => `g:${i}`).sort(), 'every slot won exactly once');
    assert.equal(outs.reduce((n, o) => n + o.lostFirst, 0), 3 * slots, 'the three others lost each slot');
    await withStorage(file, async (s) => {
      const trials = await s.getTrials(studyId);
      assert.deepEqual(trials.map((t) => t.number), [...Array(trials.length).keys()], 'dense numbers');
      const firsts = trials.filter((t) => t.retryOf === undefined);
      const retries = trials.filter((t) => t.retryOf !== undefined);
      assert.equal(firsts.length, slots);
      assert.equal(new Set(firsts.map((t) => t.slot)).size, slots);
      // The last worker to reach the retries finds every attempt finished and asks for them all.
      assert.equal(retries.length, slots, 'every attempt retried');
      assert.equal(new Set(retries.map((t) => t.retryOf)).size, slots, 'no attempt retried twice');
      assert.deepEqual(
        retries.map((t) => t.retryOf).sort((x, y) => x! - y!),
        outs.flatMap((o) => o.retried).sort((x, y) => x - y),
      );
      for (const r of retries) assert.equal(r.slot, trials[r.retryOf!]!.slot);
    });
  });

  test("four SQLite writers hammering one file never surface 'database is locked'", async () => {
    const file = freshPath();
    const studyId = await withStorage(file, async (s) => (await s.createStudy(study('hammer'))).id);
    const cycles = 250;
    // Each cycle: claim a trial (a quarter of the slots are shared, so claims collide),
    // 3 epochs with heartbeats, a read of the study, finish it with a checkpoint;
    // now and then sweep stale trials (a write transaction too).
    const body = `
      const w = Number(process.env.WORKER);
      let done = 0, lost = 0;
      for (let i = 0; i < ${cycles}; i++) {
        const slot = i % 4 === 0 ? 'shared:' + i : 'w' + w + ':' + i;
        const t = await s.createTrial(${studyId}, { slot, params: { i, w }, backend: 'cpu', worker: { host: 'w' + w, pid: process.pid }, initialEpoch: 0 });
        if (!t) { lost++; continue; }
        for (let e = 0; e < 3; e++) {
          await s.reportEpoch(t.id, { epoch: e, loss: 1 / (e + 1), val_loss: NaN, mae: 1, mse: 1, lr: 0.1, seconds: 0.01 });
          await s.heartbeat(t.id);
        }
        if (i % 10 === 0) await s.getTrials(${studyId});
        if (i % 25 === 0) await s.interruptStale(${studyId}, 3600, 'stale');
        await s.finishTrial(t.id, { state: 'complete', value: i, metrics: { val_loss: i, w }, epochs: 3, stopReason: 'max_epochs', durationS: 0 },
          new Uint8Array(2048).fill(w));
        done++;
      }
      await s.close();
      process.stdout.write(JSON.stringify({ done, lost }));`;
    const results = await runWorkers(file, body);
    for (const r of results) {
      assert.doesNotMatch(r.stderr, /database is locked|SQLITE_BUSY/);
      assert.equal(r.code, 0, r.stderr);
    }
    const outs = results.map((r) => JSON.parse(r.stdout) as { done: number; lost: number });
    const shared = Math.ceil(cycles / 4);
    assert.equal(outs.reduce((n, o) => n + o.lost, 0), 3 * shared, 'each shared slot won by one worker');
    await withStorage(file, async (s) => {
      const trials = await s.getTrials(studyId);
      assert.equal(trials.length, 4 * cycles - 3 * shared);
      assert.ok(trials.every((t) => t.state === 'complete'));
      assert.equal((await s.getHistory(trials[0]!.id)).length, 3);
      assert.equal((await s.listCheckpoints(studyId)).length, trials.length);
    });
    assert.equal(raw(file, (db) => db.pragma('integrity_check', { simple: true })), 'ok');
  });
});

describe('leases: heartbeat and interruptStale', () => {
  /** heartbeat_at of a trial, read behind the engine's back. */
  const beat = (file: string, id: number) =>
    raw(file, (db) => db.prepare(`SELECT heartbeat_at FROM trials WHERE id = ?`).pluck().get(id) as number | null);
  /** Moves a trial's heartbeat `seconds` into the past. */
  const age = (file: string, id: number, seconds: number) =>
    raw(file, (db) => db.prepare(`UPDATE trials SET heartbeat_at = heartbeat_at - ? WHERE id = ?`).run(seconds, id));

  test('createTrial sets the heartbeat, heartbeat renews it (running trials only, never an error)', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      const st = await s.createStudy(study('beat'));
      const before = Date.now() / 1000;
      const t = await create(s, st.id, plan());
      const at = beat(file, t.id)!;
      assert.equal(typeof at, 'number');
      assert.ok(Math.abs(at - before) < 5, `REAL unix seconds by the database's clock: ${at} vs ${before}`);
      assert.equal(raw(file, (db) => db.prepare(`SELECT typeof(heartbeat_at) FROM trials WHERE id = ?`).pluck().get(t.id)), 'real');
      age(file, t.id, 100);
      await s.heartbeat(t.id);
      assert.ok(Math.abs(beat(file, t.id)! - at) < 5, 'renewed to now');

      const done = await s.finishTrial(t.id, complete(1));
      age(file, t.id, 100);
      const old = beat(file, t.id);
      await s.heartbeat(t.id); // no longer running: left alone, silently
      assert.equal(beat(file, t.id), old);
      await s.heartbeat(987654); // no such trial: the same
      assert.deepEqual(await s.getTrial(st.id, 0), done);
      await assert.rejects(s.heartbeat(1.5), /a trial id must be an integer/);
    });
  });

  test('interruptStale interrupts the running trials of the study whose lease ran out, once', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      const st = await s.createStudy(study('stale'));
      const other = await s.createStudy(study('other'));
      const dead = await create(s, st.id, plan({ params: { k: 'dead' } }));
      const alive = await create(s, st.id, plan({ params: { k: 'alive' } }));
      const finished = await s.finishTrial((await create(s, st.id, plan())).id, complete(1));
      const never = await create(s, st.id, plan({ params: { k: 'never' } }));
      const elsewhere = await create(s, other.id, plan());
      await s.reportEpoch(dead.id, epoch(0, 0.7));
      age(file, dead.id, 120);
      age(file, finished.id, 120);
      age(file, elsewhere.id, 120);
      age(file, alive.id, 30);
      raw(file, (db) => db.prepare(`UPDATE trials SET heartbeat_at = NULL WHERE id = ?`).run(never.id)); // a pre-schema-3 writer's trial

      const reason = 'no heartbeat for 60 s: its worker is gone';
      const moved = await s.interruptStale(st.id, 60, reason);
      assert.deepEqual(moved.map((t) => t.number), [dead.number, never.number], 'number order');
      for (const t of moved) {
        assert.equal(t.state, 'interrupted');
        assert.equal(t.error, reason);
        assert.match(t.finishedAt!, ISO_UTC);
        assert.deepEqual(await s.getTrial(st.id, t.number), t);
      }
      assert.deepEqual({ ...moved[0], state: 'running', error: undefined, finishedAt: undefined }, { ...dead, error: undefined, finishedAt: undefined });
      assert.deepEqual(await s.getHistory(dead.id), [epoch(0, 0.7)], 'history kept');
      assert.equal((await s.getTrial(st.id, alive.number))!.state, 'running');
      assert.deepEqual(await s.getTrial(st.id, finished.number), finished);
      assert.equal((await s.getTrial(other.id, 0))!.state, 'running', 'other studies are not swept');

      // Moved once: a second sweep (or another worker's) finds nothing.
      assert.deepEqual(await s.interruptStale(st.id, 60, reason), []);
      // Its worker finds out when it finishes; its heartbeat is ignored.
      await s.heartbeat(dead.id);
      await assert.rejects(s.finishTrial(dead.id, complete(1)), (e: unknown) => e instanceof TrialNotRunningError && e.state === 'interrupted');

      // A grace of 0 sweeps every running trial that did not beat in this very millisecond.
      assert.deepEqual((await s.interruptStale(st.id, 0, 'sweep')).map((t) => t.number), [alive.number]);
      await assert.rejects(s.interruptStale(st.id, -1, 'x'), RangeError);
      await assert.rejects(s.interruptStale(st.id, NaN, 'x'), RangeError);
      await assert.rejects(s.interruptStale(st.id, Infinity, 'x'), RangeError);
      assert.deepEqual(await s.interruptStale(12345, 0, 'x'), []);
    });
  });
});

describe('export and import', () => {
  test('a refused import writes no row to any table; an import leaves the file intact', async () => {
    const file = freshPath();
    const tables = ['studies', 'trials', 'trial_metrics', 'trial_epochs', 'checkpoints'];
    await withStorage(file, async (s) => {
      await richStudy(s, 'rich');
      const dump = (await s.exportStudy('rich'))!;
      const before = raw(file, (db) => tables.map((x) => count(db, x)));
      for (const [what, d, message] of badDumps(dump)) await assert.rejects(s.importStudy(d), message, what);
      assert.deepEqual(raw(file, (db) => tables.map((x) => count(db, x))), before);
      await s.importStudy({ ...dump, study: { ...dump.study, name: 'copy' } });
    });
    assert.equal(raw(file, (db) => db.pragma('integrity_check', { simple: true })), 'ok');
  });
});
