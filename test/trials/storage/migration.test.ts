import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { UserError } from '../../../src/errors';
import { MIGRATIONS, SCHEMA_VERSION, SqliteStorage } from '../../../src/trials/storage/sqlite';
import type { TrialRecord } from '../../../src/trials/storage/types';
import { baseline, complete, count, create, diagnostics, epoch, plan, raw, study, tempFiles, withStorage } from './fixtures';

const files = tempFiles('tune-migration-');

/** `SqliteStorage.open` with another list of migrations (the engine's internal test hook). */
function openWith(file: string, migrations: readonly string[]): SqliteStorage {
  return (SqliteStorage as unknown as { openWith(f: string, m: readonly string[]): SqliteStorage }).openWith(file, migrations);
}

/** The schema a file is at after any upgrade, as tune_meta stores it. */
const NEWEST = String(SCHEMA_VERSION);

const T0 = '2024-01-02T03:04:05.000Z';
const T1 = '2024-01-02T03:09:05.000Z';

/**
 * A schema-1 file as tune 0.1 left it: MIGRATIONS[0] and its meta rows, two
 * studies, a complete, a failed (NaN metric) and a running trial with
 * metrics and epochs, and a trial of the other study.
 */
function v1File(): string {
  const file = files.next();
  raw(file, (db) => {
    db.pragma('journal_mode = WAL');
    db.exec(MIGRATIONS[0]!);
    db.prepare(`INSERT INTO tune_meta (key, value) VALUES ('schema_version', '1')`).run();
    const studyRow = db.prepare(
      `INSERT INTO studies (name, metric, direction, definition_json, definition_hash, created_at) VALUES (?, 'val_loss', 'min', ?, 'h', ?)`,
    );
    studyRow.run('old', JSON.stringify({ space: { u: { kind: 'int', min: 1, max: 9 } } }), T0);
    studyRow.run('other', '{}', T1);
    const trial = db.prepare(
      `INSERT INTO trials (id, study_id, number, state, params_json, backend, value, epochs, stop_reason, error, duration_s, started_at, finished_at)
       VALUES (@id, @study, @number, @state, @params, 'cpu', @value, @epochs, @stop, @error, @duration, @started, @finished)`,
    );
    const metric = db.prepare(`INSERT INTO trial_metrics (trial_id, study_id, name, value) VALUES (?, ?, ?, ?)`);
    const ep = db.prepare(`INSERT INTO trial_epochs (trial_id, epoch, loss, mae, mse, lr, seconds) VALUES (?, ?, ?, 1, 1, 0.1, 0.1)`);
    const none = { value: null, epochs: null, stop: null, error: null, duration: null, finished: null };
    // ids deliberately not equal to numbers
    trial.run({ ...none, id: 10, study: 1, number: 0, state: 'complete', params: '{"u":3}', value: 0.5, epochs: 2, stop: 'max_epochs', duration: 1.25, started: T0, finished: T1 });
    trial.run({ ...none, id: 11, study: 1, number: 1, state: 'failed', params: '{"u":9}', epochs: 1, stop: 'nan', error: 'loss became NaN', duration: 0.5, started: T0, finished: T1 });
    trial.run({ ...none, id: 12, study: 1, number: 2, state: 'running', params: '{"u":5}', started: T1 });
    trial.run({ ...none, id: 20, study: 2, number: 0, state: 'complete', params: '{}', value: 7, epochs: 1, stop: 'early_stopping', duration: 2, started: T0, finished: T1 });
    metric.run(10, 1, 'val_loss', 0.5);
    metric.run(10, 1, 'mae', 0.25);
    metric.run(11, 1, 'val_loss', 'NaN');
    metric.run(20, 2, 'val_loss', 7);
    ep.run(10, 0, 0.9);
    ep.run(10, 1, 0.5);
    ep.run(11, 0, 'NaN');
    ep.run(12, 0, 0.8);
    ep.run(20, 0, 7);
  });
  return file;
}

/** Everything in the file: schema and every row of every table. */
function snapshot(file: string): unknown {
  return raw(file, (db) => {
    const tables = db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).pluck().all() as string[];
    return {
      schema: db.prepare(`SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name`).all(),
      rows: Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}" ORDER BY 1, 2`).all()])),
    };
  });
}

function schemaVersion(file: string): string {
  return raw(file, (db) => db.prepare(`SELECT value FROM tune_meta WHERE key = 'schema_version'`).pluck().get() as string);
}

function columns(db: Database.Database, table: string): string[] {
  return (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
}

const V1_TRIAL = { backend: 'cpu', worker: { host: '', pid: 0 }, initialEpoch: 0, metrics: {} };

describe('migration from schema 1', () => {
  test('a v1 file is upgraded in place: newest schema, all data readable, slot v1:N, cascades intact', async () => {
    const file = v1File();
    await withStorage(file, async (s) => {
      const old = (await s.getStudy('old'))!;
      assert.deepEqual(old, {
        id: 1, name: 'old', metric: 'val_loss', direction: 'min',
        definition: { space: { u: { kind: 'int', min: 1, max: 9 } } }, definitionHash: 'h', createdAt: T0,
      });
      const expected: TrialRecord[] = [
        { ...V1_TRIAL, id: 10, studyId: 1, number: 0, slot: 'v1:0', state: 'complete', params: { u: 3 }, value: 0.5,
          metrics: { val_loss: 0.5, mae: 0.25 }, epochs: 2, stopReason: 'max_epochs', durationS: 1.25, startedAt: T0, finishedAt: T1 },
        { ...V1_TRIAL, id: 11, studyId: 1, number: 1, slot: 'v1:1', state: 'failed', params: { u: 9 },
          metrics: { val_loss: NaN }, epochs: 1, stopReason: 'nan', error: 'loss became NaN', durationS: 0.5, startedAt: T0, finishedAt: T1 },
        { ...V1_TRIAL, id: 12, studyId: 1, number: 2, slot: 'v1:2', state: 'running', params: { u: 5 }, startedAt: T1 },
      ];
      assert.deepEqual(await s.getTrials(1), expected);
      assert.deepEqual(await s.getTrial(1, 1), expected[1]);
      assert.deepEqual(await s.rankTrials(1, { metric: 'val_loss', direction: 'min' }), [expected[0]]);
      assert.deepEqual(await s.getHistory(10), [epoch(0, 0.9), epoch(1, 0.5)]);
      assert.ok(Number.isNaN((await s.getHistory(11))[0]!.loss));
      assert.deepEqual(
        (await s.listStudies()).map((x) => [x.study.name, x.counts, x.best]),
        [
          ['other', { running: 0, complete: 1, failed: 0, interrupted: 0 }, 7],
          ['old', { running: 1, complete: 1, failed: 1, interrupted: 0 }, 0.5],
        ],
      );

      // The upgraded file works as a newest-schema one.
      const it = await s.interruptTrial(12, 'left running by tune 0.1');
      assert.equal(it.state, 'interrupted');
      const next = await create(s, 1, plan({ slot: 'v1:2', retryOf: 2, parent: 0, initialEpoch: 2 }));
      assert.equal(next.number, 3);
      await s.finishTrial(next.id, complete(0.4), new Uint8Array([1, 2, 3]));
      assert.deepEqual(await s.getCheckpoint(next.id), new Uint8Array([1, 2, 3]));
    });

    raw(file, (db) => {
      assert.equal(db.prepare(`SELECT value FROM tune_meta WHERE key = 'schema_version'`).pluck().get(), NEWEST);
      assert.deepEqual(db.pragma('foreign_key_check'), []);
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      const sql = db.prepare(`SELECT group_concat(sql, ';') FROM sqlite_schema`).pluck().get() as string;
      assert.ok(!sql.includes('trials_new'), 'nothing refers to the temporary table');
      for (const child of ['trial_metrics', 'trial_epochs', 'checkpoints']) {
        const fks = db.pragma(`foreign_key_list(${child})`) as { table: string; on_delete: string }[];
        assert.deepEqual(fks.map((f) => [f.table, f.on_delete]), [['trials', 'CASCADE']], child);
      }
      assert.ok(columns(db, 'trials').includes('slot'));
      const indexes = db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'trials' ORDER BY name`).pluck().all();
      assert.deepEqual(indexes, ['sqlite_autoindex_trials_1', 'trials_first_attempt', 'trials_retry', 'trials_slot']);
    });

    // Cascades from the rebuilt trials table reach metrics, epochs and checkpoints.
    await withStorage(file, async (s) => assert.equal(await s.deleteStudy('old'), true));
    raw(file, (db) => {
      assert.deepEqual(
        ['trials', 'trial_metrics', 'trial_epochs', 'checkpoints'].map((t) => count(db, t)),
        [1, 1, 1, 0],
      );
      assert.deepEqual(db.pragma('foreign_key_check'), []);
    });
  });

  test('an upgraded v1 file has exactly the schema of a fresh file', async () => {
    const fresh = files.next();
    await withStorage(fresh, async () => undefined);
    const upgraded = v1File();
    await withStorage(upgraded, async () => undefined);
    const schema = (file: string) => (snapshot(file) as { schema: unknown }).schema;
    assert.deepEqual(schema(upgraded), schema(fresh));
  });

  test('a failed upgrade leaves the v1 file exactly as it was, and a later open upgrades it', async () => {
    const brokenStep2 = MIGRATIONS[1]!.replace(
      'CREATE INDEX trials_slot',
      // half way: after trials was dropped and trials_new renamed, before the index and checkpoints
      `INSERT INTO no_such_table VALUES (1); CREATE INDEX trials_slot`,
    );
    assert.notEqual(brokenStep2, MIGRATIONS[1]);
    const variants: [string, string[]][] = [
      ['step 2 fails half way', [MIGRATIONS[0]!, brokenStep2]],
      ['a last step fails after every shipped step succeeded', [...MIGRATIONS, `CREATE TABLE half_done (x); DELETE FROM trial_metrics; SELECT no_such_function();`]],
    ];
    for (const [what, migrations] of variants) {
      const file = v1File();
      const before = snapshot(file);
      assert.throws(() => openWith(file, migrations), /no such (table|function)/, what);
      assert.deepEqual(snapshot(file), before, what);
      assert.equal(schemaVersion(file), '1', what);
      raw(file, (db) => {
        assert.ok(!columns(db, 'trials').includes('slot'), what);
        assert.deepEqual(db.pragma('foreign_key_check'), [], what);
      });
      await withStorage(file, async (s) => {
        assert.deepEqual((await s.getTrials(1)).map((t) => [t.number, t.slot, t.state]), [
          [0, 'v1:0', 'complete'],
          [1, 'v1:1', 'failed'],
          [2, 'v1:2', 'running'],
        ]);
      });
      assert.equal(schemaVersion(file), NEWEST, what);
    }
  });

  test('an upgrade that would leave dangling foreign keys is refused and rolled back', () => {
    const file = v1File();
    // A metric of a trial that does not exist: only a writer with foreign keys off can leave this.
    raw(file, (db) => {
      db.pragma('foreign_keys = OFF');
      db.prepare(`INSERT INTO trial_metrics (trial_id, study_id, name, value) VALUES (99, 1, 'ghost', 1.0)`).run();
    });
    const before = snapshot(file);
    assert.throws(
      () => SqliteStorage.open(file),
      (e: unknown) =>
        e instanceof UserError &&
        e.message.includes(file) &&
        e.message.includes(`cannot upgrade this storage to schema ${NEWEST}: `) &&
        /1 broken foreign key\(s\), e\.g\. trial_metrics row \d+ → trials/.test(e.message),
    );
    assert.deepEqual(snapshot(file), before);
  });
});

/**
 * A schema-2 file as tune 0.2 left it: MIGRATIONS[0..1] and two studies. In
 * study 1: a failed first attempt at slot g:a (0) and its running retry (1),
 * a complete first attempt at g:b (2) and a running Hyperband child of it
 * (3); `extra` rows go in after them. Study 2 has a running trial too.
 */
function v2File(extra = ''): string {
  const file = files.next();
  raw(file, (db) => {
    db.pragma('journal_mode = WAL');
    db.exec(MIGRATIONS[0]!);
    db.exec(MIGRATIONS[1]!);
    db.exec(`
      INSERT INTO tune_meta (key, value) VALUES ('schema_version', '2');
      INSERT INTO studies (id, name, metric, direction, definition_json, definition_hash, created_at)
        VALUES (1, 'two', 'val_loss', 'min', '{}', 'h', '${T0}'), (2, 'other', 'val_loss', 'max', '{}', 'h', '${T1}');
      INSERT INTO trials (id, study_id, number, slot, retry_of, state, params_json, backend, worker_host, worker_pid,
                          budget, rung_iteration, rung_bracket, rung_round, parent, initial_epoch,
                          value, epochs, stop_reason, error, duration_s, started_at, finished_at) VALUES
        (10, 1, 0, 'g:a', NULL, 'failed',   '{"u":1}', 'cpu', 'box', 7, NULL, NULL, NULL, NULL, NULL, 0, NULL, 1, 'error', 'oom', 0.5, '${T0}', '${T1}'),
        (11, 1, 1, 'g:a', 0,    'running',  '{"u":1}', 'cpu', 'box', 8, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, '${T1}', NULL),
        (12, 1, 2, 'g:b', NULL, 'complete', '{"u":2}', 'cpu', 'box', 7, 1, 0, 1, 0, NULL, 0, 0.5, 1, 'max_epochs', NULL, 1, '${T0}', '${T1}'),
        (13, 1, 3, 'g:c', NULL, 'running',  '{"u":2}', 'cpu', 'box', 9, 3, 0, 1, 1, 2, 1, NULL, NULL, NULL, NULL, NULL, '${T1}', NULL),
        (20, 2, 0, 'g:a', NULL, 'running',  '{}',      'cpu', 'box', 9, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, '${T1}', NULL);
      INSERT INTO trial_metrics (trial_id, study_id, name, value) VALUES (12, 1, 'val_loss', 0.5);
      INSERT INTO trial_epochs (trial_id, epoch, loss, mae, mse, lr, seconds) VALUES (12, 0, 0.5, 1, 1, 0.1, 0.1);
      INSERT INTO checkpoints (trial_id, data, bytes, created_at) VALUES (12, x'010203', 3, '${T1}');
      ${extra}
    `);
  });
  return file;
}

describe('migration from schema 2', () => {
  test('a v2 file is upgraded in place: heartbeats for running trials, claim indexes, data intact', async () => {
    const file = v2File();
    const before = await (async () => {
      const at = Date.now() / 1000;
      await withStorage(file, async () => undefined);
      return at;
    })();
    assert.equal(schemaVersion(file), NEWEST);
    raw(file, (db) => {
      const beats = db.prepare(`SELECT id, state, heartbeat_at FROM trials ORDER BY id`).all() as { id: number; state: string; heartbeat_at: number | null }[];
      for (const b of beats) {
        if (b.state === 'running') {
          // The upgrade's time by SQLite's clock: a grace period for whoever runs them.
          assert.equal(typeof b.heartbeat_at, 'number', `trial ${b.id}`);
          assert.ok(Math.abs(b.heartbeat_at! - before) < 5, `trial ${b.id}: ${b.heartbeat_at} vs ${before}`);
        } else {
          assert.equal(b.heartbeat_at, null, `finished trial ${b.id} has no lease`);
        }
      }
      assert.deepEqual(db.pragma('foreign_key_check'), []);
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    });
    await withStorage(file, async (s) => {
      assert.deepEqual((await s.getTrials(1)).map((t) => [t.number, t.slot, t.retryOf, t.parent, t.state, t.worker.pid]), [
        [0, 'g:a', undefined, undefined, 'failed', 7],
        [1, 'g:a', 0, undefined, 'running', 8],
        [2, 'g:b', undefined, undefined, 'complete', 7],
        [3, 'g:c', undefined, 2, 'running', 9],
      ]);
      assert.deepEqual((await s.getTrial(1, 2))!.rung, { iteration: 0, bracket: 1, round: 0 });
      assert.deepEqual(await s.getCheckpoint(12), new Uint8Array([1, 2, 3]));
      // A fresh grace period: nothing is stale within a minute of the upgrade.
      assert.deepEqual(await s.interruptStale(1, 60, 'stale'), []);
      // Claims on the upgraded file: g:a and g:b are held, trial 0 is retried already.
      assert.equal(await s.createTrial(1, plan({ slot: 'g:a' })), undefined);
      assert.equal(await s.createTrial(1, plan({ slot: 'g:b' })), undefined);
      assert.equal(await s.createTrial(1, plan({ slot: 'g:a', retryOf: 0 })), undefined);
      assert.equal((await create(s, 1, plan({ slot: 'g:b', retryOf: 2 }))).number, 4);
      assert.equal((await create(s, 1, plan({ slot: 'g:d' }))).number, 5);
    });
  });

  test('an upgraded v2 file has exactly the schema of a fresh file', async () => {
    const fresh = files.next();
    await withStorage(fresh, async () => undefined);
    const upgraded = v2File();
    await withStorage(upgraded, async () => undefined);
    const schema = (file: string) => (snapshot(file) as { schema: unknown }).schema;
    assert.deepEqual(schema(upgraded), schema(fresh));
  });

  test('a v2 file holding a claim twice is refused, names the duplicates and is left as it was', async () => {
    const variants: [string, string, RegExp, string][] = [
      [
        'two first attempts at one slot',
        `INSERT INTO trials (id, study_id, number, slot, state, params_json, backend, worker_host, worker_pid, started_at)
           VALUES (14, 1, 4, 'g:b', 'running', '{}', 'cpu', 'box', 9, '${T1}'), (15, 1, 5, 'g:b', 'failed', '{}', 'cpu', 'box', 9, '${T1}');`,
        /study "two" has several first attempts at slot "g:b" \(trials 2, 4, 5\)/,
        `DELETE FROM trials WHERE id IN (14, 15)`,
      ],
      [
        'two retries of one attempt',
        `INSERT INTO trials (id, study_id, number, slot, retry_of, state, params_json, backend, worker_host, worker_pid, started_at)
           VALUES (14, 1, 4, 'g:a', 0, 'running', '{}', 'cpu', 'box', 9, '${T1}');`,
        /study "two" has several retries of trial 0 \(trials 1, 4\)/,
        `DELETE FROM trials WHERE id = 14`,
      ],
    ];
    for (const [what, extra, names, repair] of variants) {
      const file = v2File(extra);
      const before = snapshot(file);
      assert.throws(
        () => SqliteStorage.open(file),
        (e: unknown) =>
          e instanceof UserError &&
          e.message.includes(file) &&
          /cannot upgrade this storage to schema 3: /.test(e.message) &&
          names.test(e.message) &&
          /the file is left at schema 2/.test(e.message),
        what,
      );
      assert.deepEqual(snapshot(file), before, what);
      assert.equal(schemaVersion(file), '2', what);
      // Once the duplicates are gone, the next open upgrades it.
      raw(file, (db) => db.exec(repair));
      await withStorage(file, async (s) => assert.equal((await s.getTrials(1)).length, 4, what));
      assert.equal(schemaVersion(file), NEWEST, what);
    }
  });
});

/**
 * A schema-3 file as tune 0.3 left it: MIGRATIONS[0..2], a study with a
 * complete trial (metrics, epochs with a NaN, a checkpoint), a failed one and
 * a running one with an epoch, and a second, empty study.
 */
function v3File(): string {
  const file = files.next();
  raw(file, (db) => {
    db.pragma('journal_mode = WAL');
    for (const step of MIGRATIONS.slice(0, 3)) db.exec(step);
    db.exec(`
      INSERT INTO tune_meta (key, value) VALUES ('schema_version', '3');
      INSERT INTO studies (id, name, metric, direction, definition_json, definition_hash, created_at)
        VALUES (1, 'three', 'val_loss', 'min', '{"b":1,"a":2}', 'h', '${T0}'), (2, 'empty', 'r2', 'max', '{}', 'h', '${T1}');
      INSERT INTO trials (id, study_id, number, slot, retry_of, state, params_json, backend, worker_host, worker_pid,
                          value, epochs, stop_reason, error, duration_s, started_at, finished_at, heartbeat_at) VALUES
        (10, 1, 0, 'r:0', NULL, 'complete', '{"u":3}', 'cpu', 'box', 7, 0.5, 2, 'max_epochs', NULL, 1.25, '${T0}', '${T1}', NULL),
        (11, 1, 1, 'r:1', NULL, 'failed',   '{"u":9}', 'cpu', 'box', 7, NULL, 1, 'nan', 'loss became NaN', 0.5, '${T0}', '${T1}', NULL),
        (12, 1, 2, 'r:2', NULL, 'running',  '{"u":5}', 'cpu', 'box', 8, NULL, NULL, NULL, NULL, NULL, '${T1}', NULL, unixepoch('subsec'));
      INSERT INTO trial_metrics (trial_id, study_id, name, value) VALUES (10, 1, 'val_loss', 0.5), (10, 1, 'mae', 0.25), (11, 1, 'val_loss', 'NaN');
      INSERT INTO trial_epochs (trial_id, epoch, loss, val_loss, mae, mse, lr, seconds) VALUES
        (10, 0, 0.9, 1.5, 1, 1, 0.1, 0.1), (10, 1, 'NaN', NULL, 1, 1, 0.1, 0.1), (12, 0, 0.8, NULL, 1, 1, 0.1, 0.1);
      INSERT INTO checkpoints (trial_id, data, bytes, created_at) VALUES (10, x'010203', 3, '${T1}');
    `);
  });
  return file;
}

/** Schema 4's columns, all added NULL to rows written before. */
const V4_COLUMNS: Record<string, string> = { studies: 'baseline_json', trials: 'diagnostics_json', trial_epochs: 'grad_norm' };

describe('migration from schema 3', () => {
  test('a v3 file is upgraded in place to 4: every row as it was, the new fields absent, and usable', async () => {
    const file = v3File();
    const before = snapshot(file) as { rows: Record<string, Record<string, unknown>[]> };
    await withStorage(file, async () => undefined);
    assert.equal(schemaVersion(file), '4');
    const after = snapshot(file) as { rows: Record<string, Record<string, unknown>[]> };
    // The same rows, plus a NULL in each new column. (Sorted: snapshot's ORDER BY 1, 2
    // leaves ties, which ANALYZE on closing may order another way.)
    const sorted = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).sort();
    for (const [table, rows] of Object.entries(before.rows)) {
      const column = V4_COLUMNS[table];
      const upgraded = after.rows[table]!.map((row) => {
        if (column === undefined) return row;
        assert.equal(row[column], null, `${table}.${column}`);
        const { [column]: _new, ...old } = row;
        return old;
      });
      const expected = table === 'tune_meta' ? rows.map((r) => (r.key === 'schema_version' ? { ...r, value: '4' } : r)) : rows;
      assert.deepEqual(sorted(upgraded), sorted(expected), table);
    }
    raw(file, (db) => {
      for (const [table, column] of Object.entries(V4_COLUMNS)) assert.ok(columns(db, table).includes(column), `${table}.${column}`);
      assert.deepEqual(db.pragma('foreign_key_check'), []);
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    });

    await withStorage(file, async (s) => {
      const st = (await s.getStudy('three'))!;
      assert.deepEqual(st, { id: 1, name: 'three', metric: 'val_loss', direction: 'min', definition: { b: 1, a: 2 }, definitionHash: 'h', createdAt: T0 });
      assert.ok((await s.listStudies()).every((x) => !('baseline' in x.study)), 'no baseline: absent, not null');
      const common = { studyId: 1, backend: 'cpu', worker: { host: 'box', pid: 7 }, initialEpoch: 0, startedAt: T0, finishedAt: T1 };
      const expected: TrialRecord[] = [
        { ...common, id: 10, number: 0, slot: 'r:0', state: 'complete', params: { u: 3 }, metrics: { val_loss: 0.5, mae: 0.25 },
          value: 0.5, epochs: 2, stopReason: 'max_epochs', durationS: 1.25 },
        { ...common, id: 11, number: 1, slot: 'r:1', state: 'failed', params: { u: 9 }, metrics: { val_loss: NaN },
          epochs: 1, stopReason: 'nan', error: 'loss became NaN', durationS: 0.5 },
        { id: 12, studyId: 1, number: 2, slot: 'r:2', state: 'running', params: { u: 5 }, backend: 'cpu', worker: { host: 'box', pid: 8 },
          metrics: {}, initialEpoch: 0, startedAt: T1 },
      ];
      assert.deepEqual(await s.getTrials(1), expected, 'no diagnostics: absent, not null');
      assert.deepEqual(await s.getHistory(10), [{ ...epoch(0, 0.9), val_loss: 1.5 }, epoch(1, NaN)], 'no grad_norm: absent, not null');
      assert.deepEqual(await s.getCheckpoint(10), new Uint8Array([1, 2, 3]));
      const dump = (await s.exportStudy('three'))!;
      assert.ok(!('baseline' in dump.study) && dump.trials.every((t) => !('diagnostics' in t) && t.history.every((e) => !('grad_norm' in e))));

      // Schema 4's fields on the upgraded file, on old rows too.
      await s.setBaseline(1, baseline());
      await s.reportEpoch(12, { ...epoch(0), grad_norm: NaN });
      await s.reportEpoch(12, { ...epoch(1), grad_norm: 0.125 });
      const done = await s.finishTrial(12, { ...complete(0.4), diagnostics: diagnostics() });
      assert.deepEqual((await s.getStudy('three'))!.baseline, baseline());
      assert.deepEqual((await s.getTrial(1, 2))!.diagnostics, diagnostics());
      assert.deepEqual(done.diagnostics, diagnostics());
      assert.deepEqual(await s.getHistory(12), [{ ...epoch(0), grad_norm: NaN }, { ...epoch(1), grad_norm: 0.125 }]);
      assert.deepEqual((await s.getTrials(1)).slice(0, 2), expected.slice(0, 2), 'the old trials are untouched');
    });
    assert.equal(raw(file, (db) => db.prepare(`SELECT grad_norm FROM trial_epochs WHERE trial_id = 12 AND epoch = 0`).pluck().get()), 'NaN', 'NaN stored as the epoch columns store it');
  });

  test('an upgraded v3 file has exactly the schema of a fresh file', async () => {
    const fresh = files.next();
    await withStorage(fresh, async () => undefined);
    const upgraded = v3File();
    await withStorage(upgraded, async () => undefined);
    const schema = (file: string) => (snapshot(file) as { schema: unknown }).schema;
    assert.deepEqual(schema(upgraded), schema(fresh));
  });
});

describe('schema version', () => {
  test('a fresh file is at SCHEMA_VERSION; a newer (v5) file is refused and left untouched', async () => {
    const file = files.next();
    await withStorage(file, async (s) => {
      await s.createStudy(study('v'));
    });
    assert.equal(SCHEMA_VERSION, 4);
    assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
    assert.equal(schemaVersion(file), '4');
    raw(file, (db) => db.prepare(`UPDATE tune_meta SET value = '5' WHERE key = 'schema_version'`).run());
    const before = snapshot(file);
    assert.throws(
      () => SqliteStorage.open(file),
      (e: unknown) =>
        e instanceof UserError &&
        e.message.includes(file) &&
        /written by a newer tune \(schema 5\); this tune reads up to schema 4/.test(e.message) &&
        /upgrade tune/.test(e.message),
    );
    assert.deepEqual(snapshot(file), before);
    raw(file, (db) => db.prepare(`UPDATE tune_meta SET value = '4' WHERE key = 'schema_version'`).run());
    await withStorage(file, async (s) => assert.ok(await s.getStudy('v')));
  });

  test('the shipped migrations are frozen', () => {
    assert.ok(Object.isFrozen(MIGRATIONS));
    assert.match(MIGRATIONS[0]!, /state\s+TEXT\s+NOT NULL CHECK \(state IN \('running', 'complete', 'failed'\)\)/);
    // Steps 1 to 3 shipped: their text is pinned (a change of schema is a new step, never an edit).
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    assert.deepEqual(MIGRATIONS.slice(0, 3).map(sha), [
      'f097a39746e3e7de0f4976cdb6a142977aecf2a3d35501d2b684e1e882886c1d',
      '85ed014906bec055adf337cd3a3652f65dca58a0a6f7857f445a09011d5e9fa1',
      '110a238dae977bb710c3a54fc9dd1abd3b3b0900bda54cf1ec8f3f3caf4d4f0b',
    ]);
  });
});
