import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { UserError } from '../../../src/errors';
import {
  SCHEMA_VERSION,
  SqliteStorage,
  StudyExistsError,
  TrialExistsError,
  TrialNotRunningError,
  type StudyInput,
  type TrialOutcome,
} from '../../../src/trials/storage';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tune-storage-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

let fileCount = 0;
function freshPath(): string {
  return path.join(root, `s${fileCount++}.db`);
}

function study(name: string, overrides: Partial<StudyInput> = {}): StudyInput {
  return {
    name,
    metric: 'val_loss',
    direction: 'min',
    definition: { space: { units: { kind: 'int', min: 8, max: 64 } }, data: { train: 'train.csv' } },
    definitionHash: 'abc123',
    ...overrides,
  };
}

function complete(value: number, extra: Record<string, number> = {}): TrialOutcome {
  return { state: 'complete', value, metrics: { val_loss: value, ...extra }, epochs: 10, stopReason: 'max_epochs', durationS: 1.5 };
}

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Opens a storage, runs `fn`, closes it. */
async function withStorage<T>(file: string, fn: (s: SqliteStorage) => Promise<T>): Promise<T> {
  const s = SqliteStorage.open(file);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** Reads the file behind the engine's back. */
function raw<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe('studies', () => {
  test('create and get round-trip, with ISO timestamps and fresh copies', async () => {
    await withStorage(freshPath(), async (s) => {
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
    });
  });

  test('a taken name is refused with StudyExistsError', async () => {
    await withStorage(freshPath(), async (s) => {
      await s.createStudy(study('dup'));
      await assert.rejects(s.createStudy(study('dup', { metric: 'other' })), (e: unknown) => {
        assert.ok(e instanceof StudyExistsError);
        assert.equal(e.studyName, 'dup');
        assert.match(e.message, /a study named "dup" already exists/);
        return true;
      });
      assert.equal((await s.listStudies()).length, 1);
    });
  });

  test('listStudies: most recent first, counts by state, best by direction', async () => {
    await withStorage(freshPath(), async (s) => {
      const lo = await s.createStudy(study('lo', { direction: 'min' }));
      const hi = await s.createStudy(study('hi', { direction: 'max' }));
      const empty = await s.createStudy(study('empty'));
      for (const st of [lo, hi]) {
        for (const [n, v] of [[0, 3], [1, 1], [2, 7]] as const) {
          const t = await s.createTrial(st.id, { number: n, params: {}, backend: 'cpu' });
          await s.finishTrial(t.id, complete(v));
        }
        // A NaN objective never counts as best; neither does a failed or running trial.
        const nan = await s.createTrial(st.id, { number: 3, params: {}, backend: 'cpu' });
        await s.finishTrial(nan.id, complete(NaN));
        const failed = await s.createTrial(st.id, { number: 4, params: {}, backend: 'cpu' });
        await s.finishTrial(failed.id, { state: 'failed', value: -100, metrics: {}, epochs: 1, stopReason: 'error', error: 'x', durationS: 0 });
        await s.createTrial(st.id, { number: 5, params: {}, backend: 'cpu' });
      }
      const list = await s.listStudies();
      assert.deepEqual(list.map((x) => x.study.name), ['empty', 'hi', 'lo']);
      assert.deepEqual(list[0], { study: empty, counts: { running: 0, complete: 0, failed: 0 } });
      assert.deepEqual(list[1], { study: hi, counts: { running: 1, complete: 4, failed: 1 }, best: 7 });
      assert.deepEqual(list[2], { study: lo, counts: { running: 1, complete: 4, failed: 1 }, best: 1 });
    });
  });

  test('deleteStudy cascades to trials, metrics and history, and reports whether it existed', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      const gone = await s.createStudy(study('gone'));
      const kept = await s.createStudy(study('kept'));
      for (const st of [gone, kept]) {
        const t = await s.createTrial(st.id, { number: 0, params: { a: 1 }, backend: 'cpu' });
        await s.reportEpoch(t.id, { epoch: 0, loss: 1, mae: 1, mse: 1, lr: 0.1, seconds: 0.1 });
        await s.finishTrial(t.id, complete(1));
      }
      assert.equal(await s.deleteStudy('gone'), true);
      assert.equal(await s.deleteStudy('gone'), false);
      assert.equal(await s.getStudy('gone'), undefined);
      assert.deepEqual(await s.getTrials(gone.id), []);
      assert.equal((await s.getTrials(kept.id)).length, 1);
    });
    const counts = raw(file, (db) =>
      ['trials', 'trial_metrics', 'trial_epochs'].map((t) => (db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n),
    );
    assert.deepEqual(counts, [1, 1, 1]);
  });
});

describe('trials', () => {
  test('create, report, finish and read back', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('t'));
      const params = { zeta: 3, alpha: 'adam', mid: true, lr: 0.001 };
      const t = await s.createTrial(st.id, { number: 0, params, backend: 'tensorflow' });
      assert.deepEqual(t, { id: t.id, studyId: st.id, number: 0, state: 'running', params, backend: 'tensorflow', metrics: {}, startedAt: t.startedAt });
      assert.match(t.startedAt, ISO_UTC);
      assert.deepEqual(Object.keys(t.params), ['zeta', 'alpha', 'mid', 'lr'], 'parameter order is kept');

      const e0 = { epoch: 0, loss: 2, val_loss: 2.5, mae: 1, val_mae: 1.2, mse: 4, val_mse: 5, lr: 0.001, seconds: 0.25 };
      const e0again = { ...e0, loss: 1.9 };
      const e1 = { epoch: 1, loss: 1.5, mae: 0.9, mse: 3, lr: 0.0005, seconds: 0.2 };
      await s.reportEpoch(t.id, e1);
      await s.reportEpoch(t.id, e0);
      await s.reportEpoch(t.id, e0again); // replaces epoch 0
      assert.deepEqual(await s.getHistory(t.id), [e0again, e1]);

      const finished = await s.finishTrial(t.id, complete(2.5, { mae: 1.2 }));
      assert.equal(finished.state, 'complete');
      assert.equal(finished.value, 2.5);
      assert.deepEqual(finished.metrics, { val_loss: 2.5, mae: 1.2 });
      assert.deepEqual(Object.keys(finished.metrics), ['val_loss', 'mae'], 'metric order is kept');
      assert.equal(finished.epochs, 10);
      assert.equal(finished.stopReason, 'max_epochs');
      assert.equal(finished.durationS, 1.5);
      assert.equal(finished.error, undefined);
      assert.ok(!('error' in finished), 'absent fields are left out, not undefined');
      assert.match(finished.finishedAt!, ISO_UTC);
      assert.deepEqual(await s.getTrial(st.id, 0), finished);
      assert.equal(await s.getTrial(st.id, 1), undefined);
    });
  });

  test('getTrials: number order, metrics of each trial, no history, fresh copies', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('order'));
      const other = await s.createStudy(study('other'));
      for (const n of [2, 0, 3, 1]) {
        const t = await s.createTrial(st.id, { number: n, params: { n }, backend: 'cpu' });
        await s.reportEpoch(t.id, { epoch: 0, loss: n, mae: n, mse: n, lr: 1, seconds: 1 });
        if (n !== 3) await s.finishTrial(t.id, complete(n * 10, { [`m${n}`]: n }));
      }
      await s.finishTrial((await s.createTrial(other.id, { number: 0, params: {}, backend: 'cpu' })).id, complete(99));

      const trials = await s.getTrials(st.id);
      assert.deepEqual(trials.map((t) => t.number), [0, 1, 2, 3]);
      assert.deepEqual(trials.map((t) => t.state), ['complete', 'complete', 'complete', 'running']);
      assert.deepEqual(trials.map((t) => t.metrics), [{ val_loss: 0, m0: 0 }, { val_loss: 10, m1: 1 }, { val_loss: 20, m2: 2 }, {}]);
      assert.deepEqual(trials.map((t) => t.params), [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }]);
      assert.deepEqual(Object.keys(trials[0]!.metrics), ['val_loss', 'm0'], 'metric order is kept');
      assert.ok(trials.every((t) => !('history' in t)));

      (trials[0]!.metrics as Record<string, number>).val_loss = -1;
      (trials[0]!.params as Record<string, number>).n = -1;
      const again = await s.getTrials(st.id);
      assert.equal(again[0]!.metrics.val_loss, 0);
      assert.equal(again[0]!.params.n, 0);
    });
  });

  test('a taken trial number is refused; the same number in another study is fine', async () => {
    await withStorage(freshPath(), async (s) => {
      const a = await s.createStudy(study('a'));
      const b = await s.createStudy(study('b'));
      await s.createTrial(a.id, { number: 0, params: { x: 1 }, backend: 'cpu' });
      await assert.rejects(s.createTrial(a.id, { number: 0, params: { x: 2 }, backend: 'cpu' }), (e: unknown) => {
        assert.ok(e instanceof TrialExistsError);
        assert.equal(e.trialNumber, 0);
        assert.match(e.message, /already has a trial number 0/);
        return true;
      });
      await s.createTrial(b.id, { number: 0, params: {}, backend: 'cpu' });
      assert.deepEqual((await s.getTrial(a.id, 0))!.params, { x: 1 });
      await assert.rejects(s.createTrial(12345, { number: 0, params: {}, backend: 'cpu' }), /no study with id 12345/);
    });
  });

  test('a finished trial is read-only', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('ro'));
      const t = await s.createTrial(st.id, { number: 0, params: {}, backend: 'cpu' });
      await s.reportEpoch(t.id, { epoch: 0, loss: 1, mae: 1, mse: 1, lr: 1, seconds: 1 });
      const done = await s.finishTrial(t.id, complete(1));
      const isNotRunning = (e: unknown) => e instanceof TrialNotRunningError && /trial \d+ is complete, not running/.test(e.message);
      await assert.rejects(s.finishTrial(t.id, complete(0.5, { extra: 1 })), isNotRunning);
      await assert.rejects(s.reportEpoch(t.id, { epoch: 0, loss: 9, mae: 9, mse: 9, lr: 9, seconds: 9 }), isNotRunning);
      await assert.rejects(s.reportEpoch(t.id, { epoch: 1, loss: 9, mae: 9, mse: 9, lr: 9, seconds: 9 }), isNotRunning);
      assert.deepEqual(await s.getTrial(st.id, 0), done);
      assert.deepEqual(await s.getHistory(t.id), [{ epoch: 0, loss: 1, mae: 1, mse: 1, lr: 1, seconds: 1 }]);
      await assert.rejects(s.finishTrial(999, complete(1)), /no trial with id 999/);
      await assert.rejects(s.reportEpoch(999, { epoch: 0, loss: 1, mae: 1, mse: 1, lr: 1, seconds: 1 }), /no trial with id 999/);
    });
  });

  test('a refused outcome leaves the trial running', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('bad'));
      const t = await s.createTrial(st.id, { number: 0, params: {}, backend: 'cpu' });
      const { value: _dropped, ...noValue } = complete(1);
      await assert.rejects(s.finishTrial(t.id, noValue), /a complete trial needs its objective value/);
      await assert.rejects(s.finishTrial(t.id, { ...complete(1), metrics: { m: 'x' as unknown as number } }), /metric "m" must be a number/);
      const still = await s.getTrial(st.id, 0);
      assert.equal(still!.state, 'running');
      assert.deepEqual(still!.metrics, {});
      await s.finishTrial(t.id, complete(1));
    });
  });

  test('a failed trial keeps its error, stop reason and non-finite metrics', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('fail'));
      const t = await s.createTrial(st.id, { number: 0, params: { lr: 10 }, backend: 'wasm' });
      const error = 'Error: loss became NaN at epoch 3\n    at train (trainer.ts:42)';
      const failed = await s.finishTrial(t.id, {
        state: 'failed',
        metrics: { loss: NaN, mse: Infinity, score: -Infinity },
        epochs: 3,
        stopReason: 'nan',
        error,
        durationS: 0.75,
      });
      const expected = {
        id: t.id, studyId: st.id, number: 0, state: 'failed', params: { lr: 10 }, backend: 'wasm',
        metrics: { loss: NaN, mse: Infinity, score: -Infinity },
        epochs: 3, stopReason: 'nan', error, durationS: 0.75, startedAt: t.startedAt, finishedAt: failed.finishedAt,
      };
      assert.deepEqual(failed, expected); // deepEqual treats NaN as equal to NaN
      assert.ok(!('value' in failed));
      assert.deepEqual(await s.getTrials(st.id), [expected]);
    });
  });
});

describe('NaN and Infinity', () => {
  test('round-trip in objective, metrics and history; NaN is stored as the text tag', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      const st = await s.createStudy(study('nan'));
      const t = await s.createTrial(st.id, { number: 0, params: {}, backend: 'cpu' });
      const log = { epoch: 0, loss: NaN, val_loss: NaN, mae: Infinity, mse: -Infinity, val_mse: 1e308, lr: 0, seconds: NaN };
      await s.reportEpoch(t.id, log);
      const history = await s.getHistory(t.id);
      assert.deepEqual(history, [log]);
      assert.ok(Number.isNaN(history[0]!.val_loss), 'a NaN val_loss stays NaN, not absent');
      assert.ok(!('val_mae' in history[0]!), 'an absent val_mae stays absent');

      const done = await s.finishTrial(t.id, { ...complete(NaN), metrics: { val_loss: NaN, up: Infinity, down: -Infinity }, durationS: NaN });
      assert.ok(Number.isNaN(done.value));
      assert.ok(Number.isNaN(done.durationS));
      assert.deepEqual(done.metrics, { val_loss: NaN, up: Infinity, down: -Infinity });
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

  test('parameters must be finite (JSON has no NaN)', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('p'));
      await assert.rejects(s.createTrial(st.id, { number: 0, params: { lr: NaN }, backend: 'cpu' }), /parameter "lr" is NaN/);
      assert.equal(await s.getTrial(st.id, 0), undefined);
    });
  });
});

describe('rankTrials', () => {
  /** Trials of study `r` with val_loss values; 'run' = running, 'fail' = failed (with a metric). */
  async function rankFixture(s: SqliteStorage) {
    const st = await s.createStudy(study('r'));
    const other = await s.createStudy(study('other'));
    const plan: (number | 'run' | 'fail' | 'none')[] = [0.5, 0.2, 0.5, 0.2, 'run', 'fail', NaN, 'none', Infinity, -Infinity, 0.9];
    // Created out of number order, so insertion order cannot stand in for number order.
    const order = plan.map((_, i) => i).reverse();
    for (const n of order) {
      const v = plan[n]!;
      const t = await s.createTrial(st.id, { number: n, params: { n }, backend: 'cpu' });
      if (v === 'run') continue;
      if (v === 'fail') await s.finishTrial(t.id, { state: 'failed', metrics: { val_loss: -5 }, epochs: 1, stopReason: 'error', error: 'boom', durationS: 1 });
      else if (v === 'none') await s.finishTrial(t.id, { ...complete(1), metrics: { other: 1 } });
      else await s.finishTrial(t.id, complete(v, { aux: n }));
    }
    // Another study's trials never appear.
    const o = await s.createTrial(other.id, { number: 0, params: {}, backend: 'cpu' });
    await s.finishTrial(o.id, complete(-1000));
    return st;
  }

  test('min and max, ties broken by lower number, limit, metrics included', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await rankFixture(s);
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
    });
  });

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
        const t = await s.createTrial(st.id, { number: n, params: {}, backend: 'cpu' });
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
      const t = await s.createTrial(st.id, { number: 0, params: { a: 'b' }, backend: 'cpu' });
      await s.reportEpoch(t.id, { epoch: 0, loss: 1, mae: 2, mse: 3, lr: 4, seconds: 5 });
      await s.finishTrial(t.id, complete(0.25));
      await s.createTrial(st.id, { number: 1, params: {}, backend: 'cpu' });
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

  test('the schema version is stored, and a newer one is refused', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      await s.createStudy(study('v'));
    });
    assert.equal(SCHEMA_VERSION, 1);
    assert.equal(raw(file, (db) => db.prepare(`SELECT value FROM tune_meta WHERE key = 'schema_version'`).pluck().get()), '1');
    raw(file, (db) => db.prepare(`UPDATE tune_meta SET value = '2' WHERE key = 'schema_version'`).run());
    assert.throws(
      () => SqliteStorage.open(file),
      (e: unknown) =>
        e instanceof UserError &&
        e.message.includes(file) &&
        /written by a newer tune \(schema 2\); this tune reads up to schema 1/.test(e.message) &&
        /upgrade tune/.test(e.message),
    );
    raw(file, (db) => db.prepare(`UPDATE tune_meta SET value = '1' WHERE key = 'schema_version'`).run());
    await withStorage(file, async (s) => assert.ok(await s.getStudy('v')));
  });

  test('a SQLite file of another application is refused and left untouched', () => {
    const file = freshPath();
    raw(file, (db) => db.exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ann')`));
    assert.throws(() => SqliteStorage.open(file), (e: unknown) => e instanceof UserError && /not a tune storage: .*other tables \(users\) and no tune_meta/.test(e.message));
    const tables = raw(file, (db) => db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table'`).pluck().all());
    assert.deepEqual(tables, ['users']);
  });

  test('a file that is not SQLite, or a missing directory, is refused clearly', () => {
    const text = path.join(root, 'notes.txt');
    fs.writeFileSync(text, 'these are not the tables you are looking for\n'.repeat(200));
    assert.throws(() => SqliteStorage.open(text), (e: unknown) => e instanceof UserError && /not a tune storage: the file is not a SQLite database/.test(e.message));
    assert.throws(
      () => SqliteStorage.open(path.join(root, 'no', 'such', 'dir', 'x.db')),
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

  test('close is idempotent and later calls fail', async () => {
    const s = SqliteStorage.open(freshPath());
    await s.close();
    await s.close();
    await assert.rejects(s.listStudies(), /not open/);
  });
});
