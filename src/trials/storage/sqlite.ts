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
 *   finite numbers, strings or booleans (JSON has no NaN either).
 * - `rankTrials` ranks by `metrics[metric]`, not by the `value` column: the
 *   caller puts the objective in `metrics` too if it wants to rank by it.
 * - Timestamps are ISO-8601 UTC strings made by this process' clock.
 * - Problems with the file itself (missing directory, not a tune storage,
 *   written by a newer tune) are `UserError`s; misuse by code (unknown ids,
 *   bad values) throws plain errors, plus the typed errors of ./types.
 */
import Database from 'better-sqlite3';
import { UserError } from '../../errors';
import type { Params } from '../../space/types';
import type { TrialState } from '../../search/types';
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
  type StudyInput,
  type StudyRecord,
  type StudySummary,
  type TrialOutcome,
  type TrialRecord,
} from './types';

// ---------------------------------------------------------------------------
// Schema and migrations
// ---------------------------------------------------------------------------

/**
 * Migration N (1-based position in this list) upgrades a file from schema
 * N-1 to schema N; migration 1 creates the schema on a fresh file. All
 * pending steps run in one transaction, so a file is never left half
 * upgraded. A shipped step is never edited: a change to the schema is a new
 * step appended here (e.g. `ALTER TABLE trials ADD COLUMN …`).
 */
const MIGRATIONS: readonly string[] = [
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
];

/** The newest schema this code reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

const BUSY_TIMEOUT_MS = 5000;

/**
 * Brings the file to SCHEMA_VERSION, or refuses it. Runs under BEGIN
 * IMMEDIATE so that two processes opening the same fresh file do not both
 * create the schema: the second waits, then finds it done.
 */
function migrate(db: Database.Database, path: string): void {
  db.transaction(() => {
    const from = storedVersion(db, path);
    if (from > SCHEMA_VERSION) {
      throw new UserError(
        '',
        `this storage was written by a newer tune (schema ${from}); this tune reads up to schema ${SCHEMA_VERSION}`,
        'upgrade tune',
        path,
      );
    }
    for (let version = from + 1; version <= SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version - 1]!);
      db.prepare(
        `INSERT INTO tune_meta (key, value) VALUES ('schema_version', ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      ).run(String(version));
    }
  }).immediate();
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
  if (x === undefined) return null;
  if (typeof x !== 'number') throw new TypeError(`${what} must be a number, got ${typeof x}`);
  return Number.isNaN(x) ? NAN_TAG : x;
}

function decodeReal(v: DbReal): number | undefined {
  if (v === null) return undefined;
  if (v === NAN_TAG) return NaN;
  if (typeof v === 'number') return v;
  throw new Error(`corrupt tune storage: unexpected value ${JSON.stringify(v)} in a numeric column`);
}

function decodeRequired(v: DbReal): number {
  const x = decodeReal(v);
  if (x === undefined) throw new Error('corrupt tune storage: NULL in a required numeric column');
  return x;
}

function checkInteger(x: number, what: string): void {
  if (!Number.isSafeInteger(x) || x < 0) throw new RangeError(`${what} must be a non-negative integer, got ${x}`);
}

function encodeParams(params: Params): string {
  for (const [name, v] of Object.entries(params)) {
    const ok = typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
    if (!ok) throw new TypeError(`parameter "${name}" is ${String(v)}: parameters must be finite numbers, strings or booleans`);
  }
  return JSON.stringify(params);
}

const STOP_REASONS: readonly StopReason[] = ['max_epochs', 'early_stopping', 'nan', 'error'];

// ---------------------------------------------------------------------------
// Rows and their conversion to records
// ---------------------------------------------------------------------------

interface StudyRow {
  id: number;
  name: string;
  metric: string;
  direction: Direction;
  definition_json: string;
  definition_hash: string;
  created_at: string;
}

interface StudySummaryRow extends StudyRow {
  running: number;
  complete: number;
  failed: number;
  best: DbReal;
}

interface TrialRow {
  id: number;
  study_id: number;
  number: number;
  state: TrialState;
  params_json: string;
  backend: string;
  value: DbReal;
  epochs: number | null;
  stop_reason: StopReason | null;
  error: string | null;
  duration_s: DbReal;
  started_at: string;
  finished_at: string | null;
}

interface MetricRow {
  trial_id: number;
  name: string;
  value: DbReal;
}

interface EpochRow {
  epoch: number;
  loss: DbReal;
  val_loss: DbReal;
  mae: DbReal;
  val_mae: DbReal;
  mse: DbReal;
  val_mse: DbReal;
  lr: DbReal;
  seconds: DbReal;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const STUDY_COLUMNS = `s.id, s.name, s.metric, s.direction, s.definition_json, s.definition_hash, s.created_at`;
const TRIAL_COLUMNS = `t.id, t.study_id, t.number, t.state, t.params_json, t.backend, t.value, t.epochs,
  t.stop_reason, t.error, t.duration_s, t.started_at, t.finished_at`;

function toStudy(row: StudyRow): StudyRecord {
  return {
    id: row.id,
    name: row.name,
    metric: row.metric,
    direction: row.direction,
    definition: JSON.parse(row.definition_json) as unknown,
    definitionHash: row.definition_hash,
    createdAt: row.created_at,
  };
}

/** Optional fields are left out (not set to undefined) when absent. */
function toTrial(row: TrialRow, metrics: Metrics): TrialRecord {
  const trial: Mutable<TrialRecord> = {
    id: row.id,
    studyId: row.study_id,
    number: row.number,
    state: row.state,
    params: JSON.parse(row.params_json) as Params,
    backend: row.backend,
    metrics,
    startedAt: row.started_at,
  };
  const value = decodeReal(row.value);
  if (value !== undefined) trial.value = value;
  if (row.epochs !== null) trial.epochs = row.epochs;
  if (row.stop_reason !== null) trial.stopReason = row.stop_reason;
  if (row.error !== null) trial.error = row.error;
  const durationS = decodeReal(row.duration_s);
  if (durationS !== undefined) trial.durationS = durationS;
  if (row.finished_at !== null) trial.finishedAt = row.finished_at;
  return trial;
}

function toEpoch(row: EpochRow): EpochLog {
  const log: Mutable<EpochLog> = {
    epoch: row.epoch,
    loss: decodeRequired(row.loss),
    mae: decodeRequired(row.mae),
    mse: decodeRequired(row.mse),
    lr: decodeRequired(row.lr),
    seconds: decodeRequired(row.seconds),
  };
  const valLoss = decodeReal(row.val_loss);
  if (valLoss !== undefined) log.val_loss = valLoss;
  const valMae = decodeReal(row.val_mae);
  if (valMae !== undefined) log.val_mae = valMae;
  const valMse = decodeReal(row.val_mse);
  if (valMse !== undefined) log.val_mse = valMse;
  return log;
}

/** Groups metric rows (ordered by trial, then insertion) into one fresh object per trial. */
function groupMetrics(rows: readonly MetricRow[]): Map<number, Metrics> {
  const entries = new Map<number, [string, number][]>();
  for (const row of rows) {
    let list = entries.get(row.trial_id);
    if (!list) entries.set(row.trial_id, (list = []));
    list.push([row.name, decodeRequired(row.value)]);
  }
  // Object.fromEntries defines own properties, so even a metric named "__proto__" is kept.
  return new Map([...entries].map(([id, list]) => [id, Object.fromEntries(list) as Metrics]));
}

function hasCode(e: unknown, code: string): boolean {
  return e instanceof Database.SqliteError && e.code === code;
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
    insertStudy: db.prepare<[string, string, Direction, string, string, string], StudyRow>(
      `INSERT INTO studies (name, metric, direction, definition_json, definition_hash, created_at)
       VALUES (?, ?, ?, ?, ?, ?)
       RETURNING id, name, metric, direction, definition_json, definition_hash, created_at`,
    ),
    studyByName: db.prepare<[string], StudyRow>(`SELECT ${STUDY_COLUMNS} FROM studies s WHERE s.name = ?`),
    studySummaries: db.prepare<[], StudySummaryRow>(
      `SELECT ${STUDY_COLUMNS},
              COUNT(t.id) FILTER (WHERE t.state = 'running')  AS running,
              COUNT(t.id) FILTER (WHERE t.state = 'complete') AS complete,
              COUNT(t.id) FILTER (WHERE t.state = 'failed')   AS failed,
              CASE s.direction
                WHEN 'min' THEN MIN(t.value) FILTER (WHERE t.state = 'complete' AND typeof(t.value) = 'real')
                ELSE            MAX(t.value) FILTER (WHERE t.state = 'complete' AND typeof(t.value) = 'real')
              END AS best
         FROM studies s LEFT JOIN trials t ON t.study_id = s.id
        GROUP BY s.id
        ORDER BY s.created_at DESC, s.id DESC`,
    ),
    deleteStudy: db.prepare<[string]>(`DELETE FROM studies WHERE name = ?`),

    insertTrial: db.prepare<[number, number, string, string, string], { id: number }>(
      `INSERT INTO trials (study_id, number, state, params_json, backend, started_at)
       VALUES (?, ?, 'running', ?, ?, ?) RETURNING id`,
    ),
    trialState: db.prepare<[number], { state: TrialState }>(`SELECT state FROM trials WHERE id = ?`),
    trialById: db.prepare<[number], TrialRow>(`SELECT ${TRIAL_COLUMNS} FROM trials t WHERE t.id = ?`),
    trialByNumber: db.prepare<[number, number], TrialRow>(
      `SELECT ${TRIAL_COLUMNS} FROM trials t WHERE t.study_id = ? AND t.number = ?`,
    ),
    trialsOfStudy: db.prepare<[number], TrialRow>(
      `SELECT ${TRIAL_COLUMNS} FROM trials t WHERE t.study_id = ? ORDER BY t.number`,
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
        finishedAt: string;
      }
    >(
      `UPDATE trials
          SET state = @state, value = @value, epochs = @epochs, stop_reason = @stopReason,
              error = @error, duration_s = @durationS, finished_at = @finishedAt
        WHERE id = @id AND state = 'running'`,
    ),

    insertMetric: db.prepare<[string, DbReal, number]>(
      `INSERT INTO trial_metrics (trial_id, study_id, name, value) SELECT id, study_id, ?, ? FROM trials WHERE id = ?`,
    ),
    metricsOfTrial: db.prepare<[number], MetricRow>(
      `SELECT trial_id, name, value FROM trial_metrics WHERE trial_id = ? ORDER BY rowid`,
    ),
    metricsOfStudy: db.prepare<[number], MetricRow>(
      `SELECT trial_id, name, value FROM trial_metrics WHERE study_id = ? ORDER BY trial_id, rowid`,
    ),
    /** Metrics of a list of trials, given as a JSON array of ids. */
    metricsOfTrials: db.prepare<[string], MetricRow>(
      `SELECT trial_id, name, value FROM trial_metrics
        WHERE trial_id IN (SELECT value FROM json_each(?)) ORDER BY trial_id, rowid`,
    ),
    rankAsc: rank('ASC'),
    rankDesc: rank('DESC'),

    upsertEpoch: db.prepare<[number, number, DbReal, DbReal, DbReal, DbReal, DbReal, DbReal, DbReal, DbReal]>(
      `INSERT OR REPLACE INTO trial_epochs (trial_id, epoch, loss, val_loss, mae, val_mae, mse, val_mse, lr, seconds)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    history: db.prepare<[number], EpochRow>(
      `SELECT epoch, loss, val_loss, mae, val_mae, mse, val_mse, lr, seconds
         FROM trial_epochs WHERE trial_id = ? ORDER BY epoch`,
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
   * Opens (creating if needed) a storage file. The directory must exist.
   * `:memory:` gives a private in-memory database (for tests; no WAL there).
   * Throws `UserError` when the file cannot be opened, is not a tune storage
   * or was written by a newer tune.
   */
  static open(path: string): SqliteStorage {
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
      db.pragma('journal_mode = WAL'); // the first read: fails here on a file that is not SQLite
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db, path);
      return new SqliteStorage(db, path);
    } catch (e) {
      db.close();
      if (hasCode(e, 'SQLITE_NOTADB')) throw notTuneStorage(path, 'the file is not a SQLite database');
      throw e;
    }
  }

  async createStudy(input: StudyInput): Promise<StudyRecord> {
    if (typeof input.name !== 'string' || input.name === '') throw new TypeError('a study name must be a non-empty string');
    if (input.direction !== 'min' && input.direction !== 'max') {
      throw new TypeError(`direction must be "min" or "max", got ${String(input.direction)}`);
    }
    const definitionJson = JSON.stringify(input.definition) as string | undefined;
    if (definitionJson === undefined) throw new TypeError('a study definition must be JSON-able data');
    try {
      const row = this.stmt.insertStudy.get(
        input.name,
        input.metric,
        input.direction,
        definitionJson,
        input.definitionHash,
        new Date().toISOString(),
      )!;
      return toStudy(row);
    } catch (e) {
      if (hasCode(e, 'SQLITE_CONSTRAINT_UNIQUE')) throw new StudyExistsError(input.name);
      throw e;
    }
  }

  async getStudy(name: string): Promise<StudyRecord | undefined> {
    const row = this.stmt.studyByName.get(name);
    return row && toStudy(row);
  }

  async listStudies(): Promise<StudySummary[]> {
    return this.stmt.studySummaries.all().map((row) => {
      const summary: Mutable<StudySummary> = {
        study: toStudy(row),
        counts: { running: row.running, complete: row.complete, failed: row.failed },
      };
      const best = decodeReal(row.best);
      if (best !== undefined) summary.best = best;
      return summary;
    });
  }

  async deleteStudy(name: string): Promise<boolean> {
    // Trials, metrics and epochs go with it (ON DELETE CASCADE).
    return this.stmt.deleteStudy.run(name).changes > 0;
  }

  async createTrial(studyId: number, trial: NewTrial): Promise<TrialRecord> {
    checkInteger(trial.number, 'a trial number');
    const paramsJson = encodeParams(trial.params);
    try {
      const { id } = this.stmt.insertTrial.get(studyId, trial.number, paramsJson, trial.backend, new Date().toISOString())!;
      return toTrial(this.stmt.trialById.get(id)!, {});
    } catch (e) {
      if (hasCode(e, 'SQLITE_CONSTRAINT_UNIQUE')) throw new TrialExistsError(studyId, trial.number);
      if (hasCode(e, 'SQLITE_CONSTRAINT_FOREIGNKEY')) throw new Error(`no study with id ${studyId}`);
      throw e;
    }
  }

  async reportEpoch(trialId: number, log: EpochLog): Promise<void> {
    checkInteger(log.epoch, 'an epoch');
    const args = [
      trialId,
      log.epoch,
      encodeReal(log.loss, 'loss'),
      encodeReal(log.val_loss, 'val_loss'),
      encodeReal(log.mae, 'mae'),
      encodeReal(log.val_mae, 'val_mae'),
      encodeReal(log.mse, 'mse'),
      encodeReal(log.val_mse, 'val_mse'),
      encodeReal(log.lr, 'lr'),
      encodeReal(log.seconds, 'seconds'),
    ] as const;
    this.db.transaction(() => {
      this.requireRunning(trialId);
      this.stmt.upsertEpoch.run(...args);
    })();
  }

  async finishTrial(trialId: number, outcome: TrialOutcome): Promise<TrialRecord> {
    if (outcome.state !== 'complete' && outcome.state !== 'failed') {
      throw new TypeError(`a trial finishes "complete" or "failed", not ${String(outcome.state)}`);
    }
    if (outcome.state === 'complete' && typeof outcome.value !== 'number') {
      throw new TypeError(`trial ${trialId}: a complete trial needs its objective value`);
    }
    if (!STOP_REASONS.includes(outcome.stopReason)) throw new TypeError(`unknown stop reason ${String(outcome.stopReason)}`);
    checkInteger(outcome.epochs, 'epochs');
    const update = {
      id: trialId,
      state: outcome.state,
      value: encodeReal(outcome.value, 'value'),
      epochs: outcome.epochs,
      stopReason: outcome.stopReason,
      error: outcome.error ?? null,
      durationS: encodeReal(outcome.durationS, 'durationS'),
      finishedAt: new Date().toISOString(),
    };
    const metrics = Object.entries(outcome.metrics).map(([name, v]) => [name, encodeReal(v, `metric "${name}"`)] as const);
    // State, summary and metrics together or not at all.
    return this.db.transaction(() => {
      this.requireRunning(trialId);
      this.stmt.finishTrial.run(update);
      for (const [name, value] of metrics) this.stmt.insertMetric.run(name, value, trialId);
      return this.loadTrial(trialId)!;
    })();
  }

  async getTrials(studyId: number): Promise<TrialRecord[]> {
    // Two queries for the whole study, inside one read transaction so they agree.
    return this.db.transaction(() => {
      const rows = this.stmt.trialsOfStudy.all(studyId);
      const metrics = groupMetrics(this.stmt.metricsOfStudy.all(studyId));
      return rows.map((row) => toTrial(row, metrics.get(row.id) ?? {}));
    })();
  }

  async getTrial(studyId: number, number: number): Promise<TrialRecord | undefined> {
    const row = this.stmt.trialByNumber.get(studyId, number);
    return row && toTrial(row, groupMetrics(this.stmt.metricsOfTrial.all(row.id)).get(row.id) ?? {});
  }

  async getHistory(trialId: number): Promise<EpochLog[]> {
    return this.stmt.history.all(trialId).map(toEpoch);
  }

  async rankTrials(studyId: number, options: RankOptions): Promise<TrialRecord[]> {
    if (options.direction !== 'min' && options.direction !== 'max') {
      throw new TypeError(`direction must be "min" or "max", got ${String(options.direction)}`);
    }
    if (options.limit !== undefined) checkInteger(options.limit, 'a rank limit');
    const rank = options.direction === 'min' ? this.stmt.rankAsc : this.stmt.rankDesc;
    return this.db.transaction(() => {
      // Sorting and limiting happen in SQL, on the trial_metrics_rank index.
      const rows = rank.all({ studyId, metric: options.metric, limit: options.limit ?? -1 });
      const metrics = groupMetrics(this.stmt.metricsOfTrials.all(JSON.stringify(rows.map((r) => r.id))));
      return rows.map((row) => toTrial(row, metrics.get(row.id) ?? {}));
    })();
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.db.pragma('optimize'); // keeps the query planner's statistics current; cheap
    this.db.close();
  }

  private requireRunning(trialId: number): void {
    const row = this.stmt.trialState.get(trialId);
    if (!row) throw new Error(`no trial with id ${trialId}`);
    if (row.state !== 'running') throw new TrialNotRunningError(trialId, row.state);
  }

  private loadTrial(trialId: number): TrialRecord | undefined {
    const row = this.stmt.trialById.get(trialId);
    return row && toTrial(row, groupMetrics(this.stmt.metricsOfTrial.all(trialId)).get(trialId) ?? {});
  }
}
