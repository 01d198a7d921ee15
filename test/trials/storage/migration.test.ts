import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { UserError } from '../../../src/errors';
import { SCHEMA_VERSION, SqliteStorage, type TrialRecord } from '../../../src/trials/storage';
import { MIGRATIONS } from '../../../src/trials/storage/sqlite';
import { complete, count, epoch, plan, raw, study, tempFiles, withStorage } from './fixtures';

const files = tempFiles('tune-migration-');

/** `SqliteStorage.open` with another list of migrations (the engine's internal test hook). */
function openWith(file: string, migrations: readonly string[]): SqliteStorage {
  return (SqliteStorage as unknown as { openWith(f: string, m: readonly string[]): SqliteStorage }).openWith(file, migrations);
}

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
  test('a v1 file is upgraded in place: schema 2, all data readable, slot v1:N, cascades intact', async () => {
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

      // The upgraded file works as a schema-2 one.
      const it = await s.interruptTrial(12, 'left running by tune 0.1');
      assert.equal(it.state, 'interrupted');
      const next = await s.createTrial(1, plan({ slot: 'v1:2', retryOf: 2, parent: 0, initialEpoch: 2 }));
      assert.equal(next.number, 3);
      await s.finishTrial(next.id, complete(0.4), new Uint8Array([1, 2, 3]));
      assert.deepEqual(await s.getCheckpoint(next.id), new Uint8Array([1, 2, 3]));
    });

    raw(file, (db) => {
      assert.equal(db.prepare(`SELECT value FROM tune_meta WHERE key = 'schema_version'`).pluck().get(), '2');
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
      assert.deepEqual(indexes, ['sqlite_autoindex_trials_1', 'trials_slot']);
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
      ['a step 3 fails after step 2 succeeded', [...MIGRATIONS, `CREATE TABLE half_done (x); DELETE FROM trial_metrics; SELECT no_such_function();`]],
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
      assert.equal(schemaVersion(file), '2', what);
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
        /cannot upgrade this storage to schema 2: .*1 broken foreign key\(s\), e\.g\. trial_metrics row \d+ → trials/.test(e.message),
    );
    assert.deepEqual(snapshot(file), before);
  });
});

describe('schema version', () => {
  test('a fresh file is at SCHEMA_VERSION; a newer (v3) file is refused and left untouched', async () => {
    const file = files.next();
    await withStorage(file, async (s) => {
      await s.createStudy(study('v'));
    });
    assert.equal(SCHEMA_VERSION, 2);
    assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
    assert.equal(schemaVersion(file), '2');
    raw(file, (db) => db.prepare(`UPDATE tune_meta SET value = '3' WHERE key = 'schema_version'`).run());
    const before = snapshot(file);
    assert.throws(
      () => SqliteStorage.open(file),
      (e: unknown) =>
        e instanceof UserError &&
        e.message.includes(file) &&
        /written by a newer tune \(schema 3\); this tune reads up to schema 2/.test(e.message) &&
        /upgrade tune/.test(e.message),
    );
    assert.deepEqual(snapshot(file), before);
    raw(file, (db) => db.prepare(`UPDATE tune_meta SET value = '2' WHERE key = 'schema_version'`).run());
    await withStorage(file, async (s) => assert.ok(await s.getStudy('v')));
  });

  test('the shipped migrations are frozen', () => {
    assert.ok(Object.isFrozen(MIGRATIONS));
    assert.match(MIGRATIONS[0]!, /state\s+TEXT\s+NOT NULL CHECK \(state IN \('running', 'complete', 'failed'\)\)/);
  });
});
