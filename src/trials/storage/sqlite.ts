/**
 * The SQLite engine behind `Storage`, on better-sqlite3 (synchronous; the
 * async methods only wrap it so that a networked engine fits the same
 * contract).
 *
 * Decisions a caller or a reader of the file should know:
 *
 * - NaN. SQLite has no NaN (better-sqlite3 would silently bind it as NULL), so
 *   every numeric column that can hold a measurement (objective, metrics,
 *   epoch history, duration) stores NaN as the TEXT tag 'NaN' and reads it
 *   back as NaN. ±Infinity are ordinary REAL values and round-trip as is.
 *   NULL always means "absent". Ranking and "best" skip NaN values.
 * - Parameters are JSON text in the key order given; parameter values must be
 *   finite numbers, strings or booleans (JSON has no NaN either). A study's
 *   baseline and a trial's diagnostics are JSON text too, by the same rule:
 *   anything JSON would not give back exactly (a NaN, say) is refused.
 * - `rankTrials` ranks by `metrics[metric]`, not by the `value` column: the
 *   caller puts the objective in `metrics` too if it wants to rank by it.
 * - Timestamps are ISO-8601 UTC strings made by this process' clock, except
 *   heartbeats: `heartbeat_at` is REAL unix seconds (ms resolution) from
 *   SQLite's clock, `unixepoch('subsec')` (SQLite ≥ 3.42; better-sqlite3
 *   bundles a newer one), so that every process compares leases against the
 *   same clock's reading. createTrial sets it; heartbeat() renews it;
 *   interruptStale() interrupts running trials whose heartbeat is older than
 *   the grace, or that have none (a trial written by a pre-schema-3 tune
 *   still holding the file open: it never renews its lease).
 * - Problems with the file itself (missing directory, not a tune storage,
 *   written by a newer tune) are `UserError`s; misuse by code (unknown ids,
 *   bad values) throws plain errors, plus the typed errors of ./types.
 * - Several processes may share one file (WAL). Every transaction that reads
 *   and then writes starts with BEGIN IMMEDIATE: it takes the write lock
 *   first (waiting up to the busy timeout), so it can never fail with
 *   SQLITE_BUSY on upgrading a stale read snapshot. `createTrial` thereby
 *   hands out each number of a study once, to one process. The hot writes
 *   (reportEpoch, heartbeat) are single statements that check and write at
 *   once: an autocommit statement retries its lock through the busy handler
 *   too, and costs one commit instead of BEGIN + read + write + COMMIT.
 * - `retryOf` and `parent` are trial *numbers* of the same study (what
 *   strategies see), not ids. `createTrial` checks that they exist, and that
 *   a retry has the slot of the trial it retries.
 * - `createTrial` is a claim: a first attempt at a slot that any trial of the
 *   study already has, or a second retry of one attempt, returns undefined
 *   and writes nothing. The check runs under the write lock; the partial
 *   UNIQUE indexes trials_first_attempt and trials_retry hold it even against
 *   a writer that skipped it, and their violation is also a lost claim.
 * - `exportStudy` / `importStudy` move a study with its baseline, and its
 *   trials with their numbers, states, timestamps, links, metrics,
 *   diagnostics, history and checkpoints. Heartbeats are not part of a dump:
 *   imported trials get the importing database's clock, so a trial imported
 *   `running` (nobody runs it here) is interrupted by the first
 *   interruptStale after its grace.
 * - Checkpoints are BLOBs in their own table, one per trial, so reading
 *   trials never touches them. Deleting them hands their pages back to the
 *   file system in files created with auto_vacuum = INCREMENTAL (every file
 *   this version creates); an older file keeps them for reuse.
 */
import Database from 'better-sqlite3';
import { UserError } from '../../errors';
import type { TrialState } from '../../search/types';
import { faultPoint } from './fault';
import {
  StudyExistsError,
  TrialExistsError,
  TrialNotRunningError,
  type Direction,
  type EpochLog,
  type Metrics,
  type NewTrial,
  type RankOptions,
  type StopReason,
  type Storage,
  type StudyDump,
  type StudyInput,
  type StudyRecord,
  type StudySummary,
  type TrialDump,
  type TrialOutcome,
  type TrialRecord,
} from './types';
import type { LinearBaseline } from '../linear';
import {
  checkDumpLinks,
  checkDumpStudy,
  checkDumpTrial,
  checkOutcome,
  checkpointBuffer,
  checkRankOptions,
  checkReal,
  checkStaleSweep,
  checkStudyInput,
  checkTrialId,
  encodeEpoch,
  encodeJson,
  encodeNewTrial,
  type EpochValues,
  type NewTrialRow,
  optionalInteger,
  optionalJson,
} from './encode';
import {
  groupHistory,
  required,
  toDumpTrial,
  toEpoch,
  toStudy,
  toSummary,
  toTrial,
  type EpochRow as EpochRowOf,
  type RowDecoder,
  type StudyRow as StudyRowOf,
  type StudySummaryRow as StudySummaryRowOf,
  type TrialRow as TrialRowOf,
} from './rows';

// ---------------------------------------------------------------------------
// Schema and migrations
// ---------------------------------------------------------------------------

/**
 * Migration N (1-based position in this list) upgrades a file from schema
 * N-1 to schema N; migration 1 creates the schema on a fresh file. All
 * pending steps run in one transaction, so a file is never left half
 * upgraded. A shipped step is never edited: a change to the schema is a new
 * step appended here (e.g. `ALTER TABLE trials ADD COLUMN …`).
 *
 * Migrations run with foreign-key enforcement off (see `openWith`), so that
 * a step may rebuild a table; `migrate` runs PRAGMA foreign_key_check before
 * committing and rolls the whole upgrade back if anything dangles.
 */
export const MIGRATIONS: readonly string[] = Object.freeze([
  // 1: the initial schema.
  `
  CREATE TABLE tune_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  INSERT INTO tune_meta (key, value) VALUES ('application', 'tune');

  CREATE TABLE studies (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    metric          TEXT    NOT NULL,
    direction       TEXT    NOT NULL CHECK (direction IN ('min', 'max')),
    definition_json TEXT    NOT NULL,
    definition_hash TEXT    NOT NULL,
    created_at      TEXT    NOT NULL
  );

  -- REAL columns holding measurements may also hold the TEXT 'NaN' (see above).
  CREATE TABLE trials (
    id          INTEGER PRIMARY KEY,
    study_id    INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL CHECK (number >= 0),
    state       TEXT    NOT NULL CHECK (state IN ('running', 'complete', 'failed')),
    params_json TEXT    NOT NULL,
    backend     TEXT    NOT NULL,
    value       REAL    CHECK (value IS NULL OR typeof(value) = 'real' OR value = 'NaN'),
    epochs      INTEGER,
    stop_reason TEXT    CHECK (stop_reason IN ('max_epochs', 'early_stopping', 'nan', 'error')),
    error       TEXT,
    duration_s  REAL,
    started_at  TEXT    NOT NULL,
    finished_at TEXT,
    UNIQUE (study_id, number)
  );

  -- study_id is copied from trials (always by INSERT … SELECT from trials) so
  -- that one index serves both "all metrics of a study" and ranking a study
  -- by one metric without visiting other studies' rows.
  CREATE TABLE trial_metrics (
    trial_id INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    study_id INTEGER NOT NULL,
    name     TEXT    NOT NULL,
    value    REAL    NOT NULL CHECK (typeof(value) = 'real' OR value = 'NaN'),
    PRIMARY KEY (trial_id, name)
  );
  CREATE INDEX trial_metrics_rank ON trial_metrics (study_id, name, value);

  CREATE TABLE trial_epochs (
    trial_id INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    epoch    INTEGER NOT NULL CHECK (epoch >= 0),
    loss     REAL    NOT NULL,
    val_loss REAL,
    mae      REAL    NOT NULL,
    val_mae  REAL,
    mse      REAL    NOT NULL,
    val_mse  REAL,
    lr       REAL    NOT NULL,
    seconds  REAL    NOT NULL,
    PRIMARY KEY (trial_id, epoch)
  ) WITHOUT ROWID;
  `,

  // 2: trials get slot, retry_of, budget, rung, parent, worker and
  // initial_epoch, and the state 'interrupted'; checkpoints.
  //
  // SQLite cannot alter a CHECK constraint, so trials is rebuilt in SQLite's
  // documented order: create trials_new, copy, drop trials, rename trials_new
  // to trials. The children (trial_metrics, trial_epochs) keep their text
  // `REFERENCES trials`, which then names the new table, so their cascades
  // hold. (The other order, renaming trials away first, would make SQLite
  // rewrite the children's references to the old name: with
  // legacy_alter_table off, the default, a rename updates references to the
  // renamed table.) Foreign keys are off while this runs, else DROP TABLE
  // trials would first delete every row of it and cascade to the children.
  //
  // retry_of and parent are trial numbers of the same study (checked by
  // createTrial, not by a foreign key). Trials of schema 1 get the slot
  // 'v1:<number>' (each its own unit of work) and an unknown worker ('', 0).
  `
  CREATE TABLE trials_new (
    id             INTEGER PRIMARY KEY,
    study_id       INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    number         INTEGER NOT NULL CHECK (number >= 0),
    slot           TEXT    NOT NULL CHECK (slot <> ''),
    retry_of       INTEGER CHECK (retry_of >= 0 AND retry_of < number),
    state          TEXT    NOT NULL CHECK (state IN ('running', 'complete', 'failed', 'interrupted')),
    params_json    TEXT    NOT NULL,
    backend        TEXT    NOT NULL,
    worker_host    TEXT    NOT NULL,
    worker_pid     INTEGER NOT NULL CHECK (worker_pid >= 0),
    budget         INTEGER CHECK (budget >= 1),
    rung_iteration INTEGER CHECK (rung_iteration >= 0),
    rung_bracket   INTEGER CHECK (rung_bracket >= 0),
    rung_round     INTEGER CHECK (rung_round >= 0),
    parent         INTEGER CHECK (parent >= 0 AND parent < number),
    initial_epoch  INTEGER NOT NULL DEFAULT 0 CHECK (initial_epoch >= 0),
    value          REAL    CHECK (value IS NULL OR typeof(value) = 'real' OR value = 'NaN'),
    epochs         INTEGER,
    stop_reason    TEXT    CHECK (stop_reason IN ('max_epochs', 'early_stopping', 'nan', 'error')),
    error          TEXT,
    duration_s     REAL,
    started_at     TEXT    NOT NULL,
    finished_at    TEXT,
    UNIQUE (study_id, number),
    -- a rung is all three or nothing
    CHECK ((rung_iteration IS NULL) = (rung_bracket IS NULL) AND (rung_bracket IS NULL) = (rung_round IS NULL))
  );

  INSERT INTO trials_new (id, study_id, number, slot, state, params_json, backend, worker_host, worker_pid,
                          value, epochs, stop_reason, error, duration_s, started_at, finished_at)
  SELECT id, study_id, number, 'v1:' || number, state, params_json, backend, '', 0,
         value, epochs, stop_reason, error, duration_s, started_at, finished_at
    FROM trials;

  DROP TABLE trials;
  ALTER TABLE trials_new RENAME TO trials;
  CREATE INDEX trials_slot ON trials (study_id, slot);

  -- bytes = length(data), kept so that listing checkpoints never reads them.
  CREATE TABLE checkpoints (
    trial_id   INTEGER PRIMARY KEY REFERENCES trials (id) ON DELETE CASCADE,
    data       BLOB    NOT NULL,
    bytes      INTEGER NOT NULL CHECK (bytes = length(data)),
    created_at TEXT    NOT NULL
  );
  `,

  // 3: heartbeats (leases) and claims.
  //
  // heartbeat_at is REAL unix seconds by SQLite's clock (see the module
  // comment). ADD COLUMN cannot default to an expression, so it is nullable;
  // trials running at the upgrade get the upgrade's time, a grace period for
  // whoever runs them; finished trials keep NULL (a lease matters only while
  // running).
  //
  // The partial unique indexes make a claim atomic even for a writer that
  // did not check first: one first attempt per slot, one retry per attempt.
  // A file whose trials break them (two processes of an older tune raced for
  // one slot) makes CREATE UNIQUE INDEX fail, and `migrate` rolls the whole
  // upgrade back and names the duplicates.
  `
  ALTER TABLE trials ADD COLUMN heartbeat_at REAL;
  UPDATE trials SET heartbeat_at = unixepoch('subsec') WHERE state = 'running';
  CREATE UNIQUE INDEX trials_first_attempt ON trials (study_id, slot) WHERE retry_of IS NULL;
  CREATE UNIQUE INDEX trials_retry ON trials (study_id, retry_of) WHERE retry_of IS NOT NULL;
  `,

  // 4: the study's linear baseline, a trial's diagnostics (both JSON text)
  // and each epoch's gradient norm (REAL, NaN as 'NaN' like the other epoch
  // columns). All nullable: rows written before are simply without them.
  `
  ALTER TABLE studies ADD COLUMN baseline_json TEXT;
  ALTER TABLE trials ADD COLUMN diagnostics_json TEXT;
  ALTER TABLE trial_epochs ADD COLUMN grad_norm REAL;
  `,
]);

/** The newest schema this code reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * How long a connection waits for another's write lock before SQLITE_BUSY
 * ("database is locked"). Every write transaction is one synchronous call,
 * so a lock is never held across an await; the longest are an importStudy
 * or a deleteStudy of a study with many checkpoints (seconds for hundreds of
 * MB). Waiting is always better than a worker failing mid-study.
 */
const BUSY_TIMEOUT_MS = 30_000;

/**
 * Brings the file to the newest schema of `migrations` (normally
 * MIGRATIONS), or refuses it. All pending steps and the foreign-key check
 * run in one transaction: a failure or a crash anywhere leaves the file as
 * it was. BEGIN IMMEDIATE, so that two processes opening the same file do
 * not both upgrade it: the second waits, then finds it done.
 */
function migrate(db: Database.Database, path: string, migrations: readonly string[]): void {
  const target = migrations.length;
  db.transaction(() => {
    const from = storedVersion(db, path);
    if (from > target) {
      throw new UserError(
        '',
        `this storage was written by a newer tune (schema ${from}); this tune reads up to schema ${target}`,
        'upgrade tune',
        path,
      );
    }
    if (from === target) return;
    for (let version = from + 1; version <= target; version++) {
      try {
        db.exec(migrations[version - 1]!);
      } catch (e) {
        if (hasCode(e, 'SQLITE_CONSTRAINT_UNIQUE')) throw duplicateClaims(db, path, e as Error, version, from);
        throw e;
      }
      db.prepare(
        `INSERT INTO tune_meta (key, value) VALUES ('schema_version', ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      ).run(String(version));
    }
    // Foreign keys were not enforced while the steps ran: check them all now.
    const dangling = db.pragma('foreign_key_check') as { table: string; rowid: number | null; parent: string }[];
    if (dangling.length > 0) {
      const first = dangling[0]!;
      const row = first.rowid === null ? 'a row' : `row ${first.rowid}`; // null: a WITHOUT ROWID table
      throw new UserError(
        '',
        `cannot upgrade this storage to schema ${target}: it would hold ${dangling.length} broken foreign key(s), ` +
          `e.g. ${first.table} ${row} → ${first.parent}; the file is left at schema ${from}`,
        'the file was changed outside tune: restore a backup, or delete the rows that point nowhere',
        path,
      );
    }
  }).immediate();
}

/**
 * The refusal of an upgrade that a UNIQUE index failed (schema 3: two first
 * attempts at one slot, or two retries of one attempt), naming an example.
 * Runs inside the failed upgrade's transaction, before its rollback.
 */
function duplicateClaims(db: Database.Database, path: string, e: Error, version: number, from: number): UserError {
  let example = e.message;
  if (/trials\.(slot|retry_of)\b/.test(e.message)) {
    const claim = /retry_of/.test(e.message) ? 'retry_of' : 'slot';
    const filter = claim === 'slot' ? 'retry_of IS NULL' : 'retry_of IS NOT NULL';
    const dup = db
      .prepare<[], { name: string; key: string | number; numbers: string }>(
        `SELECT s.name, t.${claim} AS key, group_concat(t.number, ', ' ORDER BY t.number) AS numbers
           FROM trials t JOIN studies s ON s.id = t.study_id
          WHERE t.${filter}
          GROUP BY t.study_id, t.${claim} HAVING COUNT(*) > 1
          ORDER BY t.study_id, MIN(t.number) LIMIT 1`,
      )
      .get();
    if (dup) {
      example =
        claim === 'slot'
          ? `study "${dup.name}" has several first attempts at slot "${dup.key}" (trials ${dup.numbers})`
          : `study "${dup.name}" has several retries of trial ${dup.key} (trials ${dup.numbers})`;
    }
  }
  return new UserError(
    '',
    `cannot upgrade this storage to schema ${version}: ${example}, which schema ${version} forbids; the file is left at schema ${from}`,
    'two workers of an older tune claimed the same trial: delete the later duplicates by hand (sqlite3), or keep using the older tune with this file',
    path,
  );
}

/** 0 for an empty file; the stored version for a tune file; throws otherwise. */
function storedVersion(db: Database.Database, path: string): number {
  const tables = db
    .prepare<[], { name: string }>(
      `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`,
    )
    .all()
    .map((r) => r.name);
  if (tables.length === 0) return 0;
  if (!tables.includes('tune_meta')) {
    const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? ', …' : '');
    throw notTuneStorage(path, `it is a SQLite database with other tables (${shown}) and no tune_meta table`);
  }
  const meta = new Map(
    db
      .prepare<[], { key: string; value: string }>(`SELECT key, value FROM tune_meta`)
      .all()
      .map((r) => [r.key, r.value]),
  );
  const version = Number(meta.get('schema_version'));
  if (meta.get('application') !== 'tune' || !Number.isInteger(version) || version < 1) {
    throw notTuneStorage(path, 'its tune_meta table does not name a tune schema version');
  }
  return version;
}

function notTuneStorage(path: string, why: string): UserError {
  return new UserError('', `not a tune storage: ${why}`, 'point tune at a new file or at an existing tune storage', path);
}

// ---------------------------------------------------------------------------
// Value encoding
// ---------------------------------------------------------------------------

/** How NaN is stored in REAL columns (see the module comment). */
const NAN_TAG = 'NaN';

type DbReal = number | string | null;

function encodeReal(x: number | undefined, what: string): DbReal {
  const checked = checkReal(x, what);
  return checked !== null && Number.isNaN(checked) ? NAN_TAG : checked;
}

function decodeReal(v: DbReal): number | undefined {
  if (v === null) return undefined;
  if (v === NAN_TAG) return NaN;
  if (typeof v === 'number') return v;
  throw new Error(`corrupt tune storage: unexpected value ${JSON.stringify(v)} in a numeric column`);
}

/** How this engine's rows decode (./rows.ts): NaN from its tag, JSON from its text. */
const DECODER: RowDecoder<number | string, string> = {
  real: decodeReal,
  json: (text) => JSON.parse(text) as unknown,
};

/** The bind values of one epoch row, after its trial id. */
type EpochArgs = EpochValues<DbReal>;

function encodeMetrics(metrics: Metrics): (readonly [string, DbReal])[] {
  if (typeof metrics !== 'object' || metrics === null) throw new TypeError('metrics must be an object of numbers');
  return Object.entries(metrics).map(([name, v]) => [name, encodeReal(v, `metric "${name}"`)] as const);
}


/** The columns of an imported trial, validated one by one (links are checked across the dump by `encodeDump`). */
interface DumpTrialRow extends NewTrialRow {
  number: number;
  state: TrialState;
  value: DbReal;
  epochs: number | null;
  stopReason: StopReason | null;
  error: string | null;
  durationS: DbReal;
  diagnosticsJson: string | null;
  startedAt: string;
  finishedAt: string | null;
}

interface EncodedDumpTrial {
  row: DumpTrialRow;
  metrics: (readonly [string, DbReal])[];
  history: EpochArgs[];
  checkpoint?: Buffer;
}

function encodeDumpTrial(t: TrialDump): EncodedDumpTrial {
  const what = checkDumpTrial(t);
  const encoded: EncodedDumpTrial = {
    row: {
      ...encodeNewTrial(t),
      number: t.number,
      state: t.state,
      value: encodeReal(t.value, `${what}: value`),
      epochs: optionalInteger(t.epochs, `${what}: epochs`),
      stopReason: t.stopReason ?? null,
      error: t.error ?? null,
      durationS: encodeReal(t.durationS, `${what}: durationS`),
      diagnosticsJson: optionalJson(t.diagnostics, `${what}: diagnostics`),
      startedAt: t.startedAt,
      finishedAt: t.finishedAt ?? null,
    },
    metrics: encodeMetrics(t.metrics),
    history: t.history.map((log) => encodeEpoch(log, encodeReal)),
  };
  if (t.checkpoint !== undefined) encoded.checkpoint = checkpointBuffer(t.checkpoint);
  return encoded;
}

/**
 * A dump's trials in number order, each checked alone and then across the
 * dump as createTrial checks them: numbers unique, retryOf and parent name
 * trials of the dump, a retry has its attempt's slot, one first attempt per
 * slot and one retry per attempt.
 */
function encodeDump(trials: readonly TrialDump[]): EncodedDumpTrial[] {
  if (!Array.isArray(trials)) throw new TypeError('a study dump needs its trials array');
  const encoded = trials.map(encodeDumpTrial).sort((a, b) => a.row.number - b.row.number);
  checkDumpLinks(encoded.map(({ row }) => row));
  return encoded;
}

// ---------------------------------------------------------------------------
// Rows (./rows.ts makes them records)
// ---------------------------------------------------------------------------

/** Rows as better-sqlite3 returns them: a measurement is a number or the NaN tag, JSON is text. */
type StudyRow = StudyRowOf<string>;
type StudySummaryRow = StudySummaryRowOf<number | string, string>;
type TrialRow = TrialRowOf<number | string, string>;
type EpochRow = EpochRowOf<number | string>;

interface MetricRow {
  trial_id: number;
  name: string;
  value: DbReal;
}

interface StudyEpochRow extends EpochRow {
  trial_id: number;
}

const STUDY_COLUMNS = `s.id, s.name, s.metric, s.direction, s.definition_json, s.definition_hash, s.created_at, s.baseline_json`;
const TRIAL_COLUMNS = `t.id, t.study_id, t.number, t.slot, t.retry_of, t.state, t.params_json, t.backend,
  t.worker_host, t.worker_pid, t.budget, t.rung_iteration, t.rung_bracket, t.rung_round, t.parent, t.initial_epoch,
  t.value, t.epochs, t.stop_reason, t.error, t.duration_s, t.diagnostics_json, t.started_at, t.finished_at`;
/** TRIAL_COLUMNS for a RETURNING clause, which takes no table alias. */
const TRIAL_RETURNING = TRIAL_COLUMNS.replace(/\bt\./g, '');

/** Groups metric rows (ordered by trial, then insertion) into one fresh object per trial. */
function groupMetrics(rows: readonly MetricRow[]): Map<number, Metrics> {
  const entries = new Map<number, [string, number][]>();
  for (const row of rows) {
    let list = entries.get(row.trial_id);
    if (!list) entries.set(row.trial_id, (list = []));
    list.push([row.name, required(row.value, DECODER)]);
  }
  // Object.fromEntries defines own properties, so even a metric named "__proto__" is kept.
  return new Map([...entries].map(([id, list]) => [id, Object.fromEntries(list) as Metrics]));
}

function hasCode(e: unknown, code: string): boolean {
  return e instanceof Database.SqliteError && e.code === code;
}

/** A UNIQUE violation of trials_first_attempt or trials_retry: a claim lost, not a bug. */
function isClaimConflict(e: unknown): boolean {
  return e instanceof Error && /UNIQUE constraint failed: trials\.study_id, trials\.(slot|retry_of)$/.test(e.message);
}

// ---------------------------------------------------------------------------
// Statements (prepared once per connection)
// ---------------------------------------------------------------------------

function prepareStatements(db: Database.Database) {
  const rank = (order: 'ASC' | 'DESC') =>
    db.prepare<{ studyId: number; metric: string; limit: number }, TrialRow>(
      `SELECT ${TRIAL_COLUMNS}
         FROM trial_metrics m JOIN trials t ON t.id = m.trial_id
        WHERE m.study_id = @studyId AND m.name = @metric
          AND typeof(m.value) = 'real' AND t.state = 'complete'
        ORDER BY m.value ${order}, t.number ASC
        LIMIT @limit`,
    );
  return {
    insertStudy: db.prepare<[string, string, Direction, string, string, string, string | null], StudyRow>(
      `INSERT INTO studies (name, metric, direction, definition_json, definition_hash, created_at, baseline_json)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       RETURNING id, name, metric, direction, definition_json, definition_hash, created_at, baseline_json`,
    ),
    setBaseline: db.prepare<[string, number]>(`UPDATE studies SET baseline_json = ? WHERE id = ?`),
    studyByName: db.prepare<[string], StudyRow>(`SELECT ${STUDY_COLUMNS} FROM studies s WHERE s.name = ?`),
    studyExists: db.prepare<[number], { one: number }>(`SELECT 1 AS one FROM studies WHERE id = ?`),
    studySummaries: db.prepare<[], StudySummaryRow>(
      `SELECT ${STUDY_COLUMNS},
              COUNT(t.id) FILTER (WHERE t.state = 'running')     AS running,
              COUNT(t.id) FILTER (WHERE t.state = 'complete')    AS complete,
              COUNT(t.id) FILTER (WHERE t.state = 'failed')      AS failed,
              COUNT(t.id) FILTER (WHERE t.state = 'interrupted') AS interrupted,
              CASE s.direction
                WHEN 'min' THEN MIN(t.value) FILTER (WHERE t.state = 'complete' AND typeof(t.value) = 'real')
                ELSE            MAX(t.value) FILTER (WHERE t.state = 'complete' AND typeof(t.value) = 'real')
              END AS best
         FROM studies s LEFT JOIN trials t ON t.study_id = s.id
        GROUP BY s.id
        ORDER BY s.created_at DESC, s.id DESC`,
    ),
    deleteStudy: db.prepare<[string]>(`DELETE FROM studies WHERE name = ?`),

    /** The study's next free number: one more than its highest (numbers are dense from 0). */
    nextNumber: db.prepare<[number], { number: number }>(
      `SELECT COALESCE(MAX(number), -1) + 1 AS number FROM trials WHERE study_id = ?`,
    ),
    slotOfNumber: db.prepare<[number, number], { slot: string }>(`SELECT slot FROM trials WHERE study_id = ? AND number = ?`),
    /** Whether any trial of the study (first attempt or retry) has the slot: a first attempt at it is then lost. */
    slotClaimed: db.prepare<[number, string], { one: number }>(`SELECT 1 AS one FROM trials WHERE study_id = ? AND slot = ? LIMIT 1`),
    /** Whether attempt number ? of the study has been retried already. */
    retryClaimed: db.prepare<[number, number], { one: number }>(`SELECT 1 AS one FROM trials WHERE study_id = ? AND retry_of = ? LIMIT 1`),
    insertTrial: db.prepare<[NewTrialRow & { studyId: number; number: number; startedAt: string }], TrialRow>(
      `INSERT INTO trials (study_id, number, slot, retry_of, state, params_json, backend, worker_host, worker_pid,
                           budget, rung_iteration, rung_bracket, rung_round, parent, initial_epoch, started_at, heartbeat_at)
       VALUES (@studyId, @number, @slot, @retryOf, 'running', @paramsJson, @backend, @workerHost, @workerPid,
               @budget, @rungIteration, @rungBracket, @rungRound, @parent, @initialEpoch, @startedAt, unixepoch('subsec'))
       RETURNING ${TRIAL_RETURNING}`,
    ),
    /** A trial of a dump, as it was. Heartbeats are not part of a dump: the importing database's clock. */
    importTrial: db.prepare<[DumpTrialRow & { studyId: number }], { id: number }>(
      `INSERT INTO trials (study_id, number, slot, retry_of, state, params_json, backend, worker_host, worker_pid,
                           budget, rung_iteration, rung_bracket, rung_round, parent, initial_epoch,
                           value, epochs, stop_reason, error, duration_s, diagnostics_json, started_at, finished_at, heartbeat_at)
       VALUES (@studyId, @number, @slot, @retryOf, @state, @paramsJson, @backend, @workerHost, @workerPid,
               @budget, @rungIteration, @rungBracket, @rungRound, @parent, @initialEpoch,
               @value, @epochs, @stopReason, @error, @durationS, @diagnosticsJson, @startedAt, @finishedAt, unixepoch('subsec'))
       RETURNING id`,
    ),
    trialState: db.prepare<[number], { state: TrialState }>(`SELECT state FROM trials WHERE id = ?`),
    trialByNumber: db.prepare<[number, number], TrialRow>(
      `SELECT ${TRIAL_COLUMNS} FROM trials t WHERE t.study_id = ? AND t.number = ?`,
    ),
    trialsOfStudy: db.prepare<[number], TrialRow>(
      `SELECT ${TRIAL_COLUMNS} FROM trials t WHERE t.study_id = ? ORDER BY t.number`,
    ),
    trialsOfStudyFrom: db.prepare<[number, number], TrialRow>(
      `SELECT ${TRIAL_COLUMNS} FROM trials t WHERE t.study_id = ? AND t.number >= ? ORDER BY t.number`,
    ),
    finishTrial: db.prepare<
      {
        id: number;
        state: string;
        value: DbReal;
        epochs: number;
        stopReason: string;
        error: string | null;
        durationS: DbReal;
        diagnosticsJson: string | null;
        finishedAt: string;
      },
      TrialRow
    >(
      `UPDATE trials
          SET state = @state, value = @value, epochs = @epochs, stop_reason = @stopReason,
              error = @error, duration_s = @durationS, diagnostics_json = @diagnosticsJson, finished_at = @finishedAt
        WHERE id = @id AND state = 'running'
       RETURNING ${TRIAL_RETURNING}`,
    ),
    interruptTrial: db.prepare<[string, string, number], TrialRow>(
      `UPDATE trials SET state = 'interrupted', error = ?, finished_at = ? WHERE id = ? AND state = 'running'
       RETURNING ${TRIAL_RETURNING}`,
    ),
    heartbeat: db.prepare<[number]>(`UPDATE trials SET heartbeat_at = unixepoch('subsec') WHERE id = ? AND state = 'running'`),
    /** Running trials of a study whose lease ran out (or who never had one), made interrupted. */
    interruptStale: db.prepare<{ studyId: number; grace: number; reason: string; finishedAt: string }, TrialRow>(
      `UPDATE trials SET state = 'interrupted', error = @reason, finished_at = @finishedAt
        WHERE study_id = @studyId AND state = 'running'
          AND (heartbeat_at IS NULL OR heartbeat_at < unixepoch('subsec') - @grace)
       RETURNING ${TRIAL_RETURNING}`,
    ),

    insertMetric: db.prepare<[number, number, string, DbReal]>(
      `INSERT INTO trial_metrics (trial_id, study_id, name, value) VALUES (?, ?, ?, ?)`,
    ),
    metricsOfTrial: db.prepare<[number], MetricRow>(
      `SELECT trial_id, name, value FROM trial_metrics WHERE trial_id = ? ORDER BY rowid`,
    ),
    metricsOfStudy: db.prepare<[number], MetricRow>(
      `SELECT trial_id, name, value FROM trial_metrics WHERE study_id = ? ORDER BY trial_id, rowid`,
    ),
    metricsOfStudyFrom: db.prepare<[number, number], MetricRow>(
      `SELECT m.trial_id, m.name, m.value FROM trial_metrics m JOIN trials t ON t.id = m.trial_id
        WHERE t.study_id = ? AND t.number >= ? ORDER BY m.trial_id, m.rowid`,
    ),
    /** Metrics of a list of trials, given as a JSON array of ids. */
    metricsOfTrials: db.prepare<[string], MetricRow>(
      `SELECT trial_id, name, value FROM trial_metrics
        WHERE trial_id IN (SELECT value FROM json_each(?)) ORDER BY trial_id, rowid`,
    ),
    rankAsc: rank('ASC'),
    rankDesc: rank('DESC'),

    /**
     * One epoch of a running trial, checked and written in one statement (so
     * one implicit transaction): no row is written, and `changes` is 0, when
     * the trial is not running or does not exist.
     */
    reportEpoch: db.prepare<[...EpochArgs, number]>(
      `INSERT OR REPLACE INTO trial_epochs (trial_id, epoch, loss, val_loss, mae, val_mae, mse, val_mse, lr, seconds, grad_norm)
       SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM trials WHERE id = ? AND state = 'running'`,
    ),
    insertEpoch: db.prepare<[number, ...EpochArgs]>(
      `INSERT INTO trial_epochs (trial_id, epoch, loss, val_loss, mae, val_mae, mse, val_mse, lr, seconds, grad_norm)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    history: db.prepare<[number], EpochRow>(
      `SELECT epoch, loss, val_loss, mae, val_mae, mse, val_mse, lr, seconds, grad_norm
         FROM trial_epochs WHERE trial_id = ? ORDER BY epoch`,
    ),
    historyOfStudy: db.prepare<[number], StudyEpochRow>(
      `SELECT e.trial_id, e.epoch, e.loss, e.val_loss, e.mae, e.val_mae, e.mse, e.val_mse, e.lr, e.seconds, e.grad_norm
         FROM trial_epochs e JOIN trials t ON t.id = e.trial_id
        WHERE t.study_id = ?
        ORDER BY e.trial_id, e.epoch`,
    ),

    upsertCheckpoint: db.prepare<[number, Buffer, number, string]>(
      `INSERT INTO checkpoints (trial_id, data, bytes, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (trial_id) DO UPDATE SET data = excluded.data, bytes = excluded.bytes, created_at = excluded.created_at`,
    ),
    checkpoint: db.prepare<[number], { data: Buffer }>(`SELECT data FROM checkpoints WHERE trial_id = ?`),
    checkpointDataOfStudy: db.prepare<[number], { trialId: number; data: Buffer }>(
      `SELECT c.trial_id AS trialId, c.data FROM checkpoints c JOIN trials t ON t.id = c.trial_id WHERE t.study_id = ?`,
    ),
    checkpointsOfStudy: db.prepare<[number], { trialId: number; bytes: number }>(
      `SELECT c.trial_id AS trialId, c.bytes
         FROM checkpoints c JOIN trials t ON t.id = c.trial_id
        WHERE t.study_id = ?
        ORDER BY t.number`,
    ),
    /** Deletes the checkpoints of a list of trials, given as a JSON array of ids. */
    deleteCheckpoints: db.prepare<[string]>(
      `DELETE FROM checkpoints WHERE trial_id IN (SELECT value FROM json_each(?))`,
    ),
  };
}

// ---------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------

export class SqliteStorage implements Storage {
  private readonly stmt: ReturnType<typeof prepareStatements>;

  private constructor(
    private readonly db: Database.Database,
    /** The path it was opened with (`:memory:` for an in-memory database). */
    readonly path: string,
  ) {
    this.stmt = prepareStatements(db);
  }

  /**
   * Opens (creating if needed) a storage file, upgrading an older schema in
   * place. The directory must exist. `:memory:` gives a private in-memory
   * database (for tests; no WAL there). Throws `UserError` when the file
   * cannot be opened, is not a tune storage or was written by a newer tune.
   */
  static open(path: string): SqliteStorage {
    return SqliteStorage.openWith(path, MIGRATIONS);
  }

  /**
   * `open` with another list of migrations. Internal: only tests use it
   * (through `SqliteStorage['openWith']`), to check that a failing upgrade
   * leaves the file as it was.
   */
  private static openWith(path: string, migrations: readonly string[]): SqliteStorage {
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (e) {
      throw new UserError(
        '',
        `cannot open the storage: ${(e as Error).message}`,
        'check that its directory exists and is writable',
        path,
      );
    }
    try {
      // busy_timeout first: the pragmas below may wait on another process.
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // Checkpoints come and go (only the best few are kept): free pages go back to the
      // file system after each pruning (`incremental_vacuum` below) instead of piling up.
      // Only a new, empty file takes it (before its first table); setting it on an existing
      // file would write to it, and `tune top` must leave a finished storage untouched.
      const empty = db.pragma('page_count', { simple: true }) === 0; // the first read: fails here on a file that is not SQLite
      if (empty) db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      // Off while migrating: a step may rebuild a table, and with foreign
      // keys on, dropping the old table would cascade-delete its children.
      // The pragma cannot change inside a transaction, hence here; `migrate`
      // checks the keys itself before committing.
      db.pragma('foreign_keys = OFF');
      migrate(db, path, migrations);
      db.pragma('foreign_keys = ON');
      if (db.pragma('foreign_keys', { simple: true }) !== 1) throw new Error('SQLite refused to enforce foreign keys');
      return new SqliteStorage(db, path);
    } catch (e) {
      db.close();
      if (hasCode(e, 'SQLITE_NOTADB')) throw notTuneStorage(path, 'the file is not a SQLite database');
      throw e;
    }
  }

  async createStudy(input: StudyInput): Promise<StudyRecord> {
    return this.insertStudy(input, new Date().toISOString());
  }

  async getStudy(name: string): Promise<StudyRecord | undefined> {
    const row = this.stmt.studyByName.get(name);
    return row && toStudy(row, DECODER);
  }

  async listStudies(): Promise<StudySummary[]> {
    return this.stmt.studySummaries.all().map((row) => toSummary(row, DECODER));
  }

  async deleteStudy(name: string): Promise<boolean> {
    // Trials, metrics, epochs and checkpoints go with it (ON DELETE CASCADE).
    return this.stmt.deleteStudy.run(name).changes > 0;
  }

  async setBaseline(studyId: number, baseline: LinearBaseline): Promise<void> {
    const json = encodeJson(baseline, 'a baseline');
    // One statement: a concurrent writer of the same baseline just writes it again.
    if (this.stmt.setBaseline.run(json, studyId).changes === 0) throw new Error(`no study with id ${studyId}`);
  }

  async createTrial(studyId: number, trial: NewTrial): Promise<TrialRecord | undefined> {
    const row = encodeNewTrial(trial);
    // IMMEDIATE: the write lock is taken before the claim is checked and
    // MAX(number) read, so no other process can claim the plan or take the
    // number in between. The UNIQUE constraints stay as the last line of
    // defence.
    return this.db.transaction(() => {
      if (!this.stmt.studyExists.get(studyId)) throw new Error(`no study with id ${studyId}`);
      if (row.retryOf === null) {
        if (this.stmt.slotClaimed.get(studyId, row.slot)) return undefined;
      } else {
        const retried = this.stmt.slotOfNumber.get(studyId, row.retryOf);
        if (!retried) throw new Error(`retryOf: study ${studyId} has no trial number ${row.retryOf}`);
        if (retried.slot !== row.slot) {
          throw new Error(`retryOf: trial ${row.retryOf} has slot "${retried.slot}", not "${row.slot}": a retry re-runs the same slot`);
        }
        if (this.stmt.retryClaimed.get(studyId, row.retryOf)) return undefined;
      }
      if (row.parent !== null && !this.stmt.slotOfNumber.get(studyId, row.parent)) {
        throw new Error(`parent: study ${studyId} has no trial number ${row.parent}`);
      }
      const { number } = this.stmt.nextNumber.get(studyId)!;
      try {
        return toTrial(this.stmt.insertTrial.get({ ...row, studyId, number, startedAt: new Date().toISOString() })!, {}, DECODER);
      } catch (e) {
        if (hasCode(e, 'SQLITE_CONSTRAINT_UNIQUE')) {
          if (isClaimConflict(e)) return undefined;
          throw new TrialExistsError(studyId, number);
        }
        throw e;
      }
    }).immediate();
  }

  async heartbeat(trialId: number): Promise<void> {
    checkTrialId(trialId);
    // One statement. A trial that is no longer running (or was deleted with
    // its study) is left alone, silently: its worker finds out on finishing.
    this.stmt.heartbeat.run(trialId);
  }

  async interruptStale(studyId: number, graceSeconds: number, reason: string): Promise<TrialRecord[]> {
    checkStaleSweep(graceSeconds, reason);
    const finishedAt = new Date().toISOString();
    return this.db.transaction(() => {
      // RETURNING gives exactly the rows this statement moved: a trial
      // another process interrupted (or finished) first is not among them.
      const rows = this.stmt.interruptStale.all({ studyId, grace: graceSeconds, reason, finishedAt });
      rows.sort((a, b) => a.number - b.number);
      const metrics = rows.length === 0 ? new Map<number, Metrics>() : groupMetrics(this.stmt.metricsOfTrials.all(JSON.stringify(rows.map((r) => r.id))));
      return rows.map((row) => toTrial(row, metrics.get(row.id) ?? {}, DECODER));
    }).immediate();
  }

  async reportEpoch(trialId: number, log: EpochLog): Promise<void> {
    const args = encodeEpoch(log, encodeReal);
    // Checked and written by one statement, atomic on its own; only when it
    // wrote nothing is the trial read, to say why.
    if (this.stmt.reportEpoch.run(...args, trialId).changes === 0) this.notRunning(trialId);
  }

  async finishTrial(trialId: number, outcome: TrialOutcome, checkpoint?: Uint8Array): Promise<TrialRecord> {
    checkOutcome(trialId, outcome);
    const finishedAt = new Date().toISOString();
    const update = {
      id: trialId,
      state: outcome.state,
      value: encodeReal(outcome.value, 'value'),
      epochs: outcome.epochs,
      stopReason: outcome.stopReason,
      error: outcome.error ?? null,
      durationS: encodeReal(outcome.durationS, 'durationS'),
      diagnosticsJson: optionalJson(outcome.diagnostics, 'diagnostics'),
      finishedAt,
    };
    const metrics = encodeMetrics(outcome.metrics);
    const blob = checkpoint === undefined ? undefined : checkpointBuffer(checkpoint);
    // State, summary, metrics and checkpoint together or not at all.
    return this.db.transaction(() => {
      const row = this.stmt.finishTrial.get(update) ?? this.notRunning(trialId);
      for (const [name, value] of metrics) this.stmt.insertMetric.run(trialId, row.study_id, name, value);
      if (blob !== undefined) {
        this.stmt.upsertCheckpoint.run(trialId, blob, blob.byteLength, finishedAt);
        faultPoint('checkpoint-write');
      }
      // A running trial has no metrics, so its metrics are now exactly these
      // (decoded back, so a NaN stays NaN): no need to read them back.
      return toTrial(row, Object.fromEntries(metrics.map(([name, v]) => [name, required(v, DECODER)])) as Metrics, DECODER);
    }).immediate();
  }

  async interruptTrial(trialId: number, reason: string): Promise<TrialRecord> {
    if (typeof reason !== 'string') throw new TypeError('an interruption reason must be a string');
    return this.db.transaction(() => {
      const row = this.stmt.interruptTrial.get(reason, new Date().toISOString(), trialId) ?? this.notRunning(trialId);
      return toTrial(row, groupMetrics(this.stmt.metricsOfTrial.all(trialId)).get(trialId) ?? {}, DECODER);
    }).immediate();
  }

  async exportStudy(name: string): Promise<StudyDump | undefined> {
    // One read transaction: the study, its trials, metrics, history and
    // checkpoints as of one moment, even while other processes write.
    return this.db.transaction((): StudyDump | undefined => {
      const studyRow = this.stmt.studyByName.get(name);
      if (!studyRow) return undefined;
      const { id: _id, ...study } = toStudy(studyRow, DECODER);
      const rows = this.stmt.trialsOfStudy.all(studyRow.id);
      const metrics = groupMetrics(this.stmt.metricsOfStudy.all(studyRow.id));
      const history = groupHistory(this.stmt.historyOfStudy.all(studyRow.id), DECODER);
      const checkpoints = new Map(this.stmt.checkpointDataOfStudy.all(studyRow.id).map((c) => [c.trialId, c.data]));
      const trials = rows.map((row) => toDumpTrial(toTrial(row, metrics.get(row.id) ?? {}, DECODER), history.get(row.id) ?? [], checkpoints.get(row.id)));
      return { study, trials };
    })();
  }

  async importStudy(dump: StudyDump): Promise<StudyRecord> {
    checkDumpStudy(dump);
    const baselineJson = optionalJson(dump.study.baseline, 'the study\'s baseline');
    const trials = encodeDump(dump.trials);
    const now = new Date().toISOString();
    // One transaction: the whole study or nothing.
    return this.db.transaction(() => {
      const study = this.insertStudy(dump.study, dump.study.createdAt, baselineJson);
      for (const t of trials) {
        const { id } = this.stmt.importTrial.get({ ...t.row, studyId: study.id })!;
        for (const [name, value] of t.metrics) this.stmt.insertMetric.run(id, study.id, name, value);
        for (const e of t.history) this.stmt.insertEpoch.run(id, ...e);
        if (t.checkpoint !== undefined) this.stmt.upsertCheckpoint.run(id, t.checkpoint, t.checkpoint.byteLength, now);
      }
      return study;
    }).immediate();
  }

  async getCheckpoint(trialId: number): Promise<Uint8Array | undefined> {
    const row = this.stmt.checkpoint.get(trialId);
    // A plain Uint8Array over its own ArrayBuffer: `.buffer` is exactly the checkpoint.
    return row && new Uint8Array(row.data);
  }

  async listCheckpoints(studyId: number): Promise<{ trialId: number; bytes: number }[]> {
    return this.stmt.checkpointsOfStudy.all(studyId);
  }

  async deleteCheckpoints(trialIds: readonly number[]): Promise<void> {
    for (const id of trialIds) checkTrialId(id);
    // One statement, so one transaction. Ids without a checkpoint are ignored.
    if (trialIds.length > 0) {
      this.stmt.deleteCheckpoints.run(JSON.stringify(trialIds));
      // Hands the freed pages back (a no-op in files made before auto_vacuum was set).
      this.db.pragma('incremental_vacuum');
    }
  }

  async getTrials(studyId: number, options: { fromNumber?: number } = {}): Promise<TrialRecord[]> {
    // Two queries, inside one read transaction so they agree.
    const from = options.fromNumber ?? 0;
    return this.db.transaction(() => {
      const rows = from > 0 ? this.stmt.trialsOfStudyFrom.all(studyId, from) : this.stmt.trialsOfStudy.all(studyId);
      const metrics = groupMetrics(
        from > 0 ? this.stmt.metricsOfStudyFrom.all(studyId, from) : this.stmt.metricsOfStudy.all(studyId),
      );
      return rows.map((row) => toTrial(row, metrics.get(row.id) ?? {}, DECODER));
    })();
  }

  async getTrial(studyId: number, number: number): Promise<TrialRecord | undefined> {
    const row = this.stmt.trialByNumber.get(studyId, number);
    return row && toTrial(row, groupMetrics(this.stmt.metricsOfTrial.all(row.id)).get(row.id) ?? {}, DECODER);
  }

  async getHistory(trialId: number): Promise<EpochLog[]> {
    return this.stmt.history.all(trialId).map((row) => toEpoch(row, DECODER));
  }

  async rankTrials(studyId: number, options: RankOptions): Promise<TrialRecord[]> {
    checkRankOptions(options);
    const rank = options.direction === 'min' ? this.stmt.rankAsc : this.stmt.rankDesc;
    return this.db.transaction(() => {
      // Sorting and limiting happen in SQL, on the trial_metrics_rank index.
      const rows = rank.all({ studyId, metric: options.metric, limit: options.limit ?? -1 });
      const metrics = groupMetrics(this.stmt.metricsOfTrials.all(JSON.stringify(rows.map((r) => r.id))));
      return rows.map((row) => toTrial(row, metrics.get(row.id) ?? {}, DECODER));
    })();
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.db.pragma('optimize'); // keeps the query planner's statistics current; cheap
    this.db.close();
  }

  /** Inserts a study row; `StudyExistsError` if the name is taken. */
  private insertStudy(input: StudyInput, createdAt: string, baselineJson: string | null = null): StudyRecord {
    const definitionJson = checkStudyInput(input);
    try {
      const row = this.stmt.insertStudy.get(input.name, input.metric, input.direction, definitionJson, input.definitionHash, createdAt, baselineJson)!;
      return toStudy(row, DECODER);
    } catch (e) {
      if (hasCode(e, 'SQLITE_CONSTRAINT_UNIQUE')) throw new StudyExistsError(input.name);
      throw e;
    }
  }

  /**
   * Throws why a write to a trial that had to be running wrote nothing: it
   * does not exist, or it is not running.
   */
  private notRunning(trialId: number): never {
    const row = this.stmt.trialState.get(trialId);
    if (!row) throw new Error(`no trial with id ${trialId}`);
    throw new TrialNotRunningError(trialId, row.state);
  }
}
