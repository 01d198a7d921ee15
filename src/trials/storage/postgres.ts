/**
 * The PostgreSQL engine behind `Storage`, on node-postgres (`pg`) with a small
 * pool. Same contract and the same schema version as the SQLite engine
 * (./sqlite.ts); what differs, and what a caller or reader should know:
 *
 * - URL: `postgresql://USER:PASSWORD@HOST:PORT/DATABASE` (or `postgres://`),
 *   anything libpq-style `pg` accepts (`?sslmode=…`, `?host=/socket/dir`).
 *   The database must exist; tune creates its tables in it (in the current
 *   schema, so `?options=-c%20search_path%3Dtune` keeps them apart). Tables
 *   of other applications in the same schema are fine, unless one has a name
 *   tune uses.
 * - Problems with the server or the database (cannot connect, wrong password,
 *   no such database, not a tune schema, written by a newer tune) are
 *   `UserError`s naming the URL without its password. Misuse by code throws
 *   plain errors and the typed errors of ./types, with SQLite's messages.
 * - NaN and ±Infinity are native `double precision` values (no text tag).
 *   PostgreSQL orders NaN above everything; ranking and "best" skip NaN.
 * - JSON (definition, parameters, baseline, diagnostics) is `json`, which
 *   keeps the text as written, so key order survives as in SQLite.
 * - Timestamps are `timestamptz` written by the database's clock (`now()`),
 *   not this process' (SQLite uses the process clock except for heartbeats),
 *   so workers on several machines agree; an import keeps the dump's
 *   createdAt, startedAt and finishedAt. They read back as ISO-8601 UTC
 *   strings with milliseconds, as SQLite's.
 * - Claims (`createTrial`) lock the study row (FOR NO KEY UPDATE: it
 *   serialises claims and numbering in a study without blocking writes that
 *   only reference the study), check the slot, take MAX(number)+1 and insert,
 *   in one transaction. Partial unique indexes on (study_id, slot) for first
 *   attempts and (study_id, retry_of) for retries back the check up: a
 *   violation is a lost claim (undefined), as is a failed check.
 * - `interruptStale` locks stale running trials with FOR UPDATE SKIP LOCKED:
 *   two workers reclaiming at once never wait on each other, and a trial
 *   whose owner is writing to it right now (reportEpoch holds FOR SHARE,
 *   finishTrial an UPDATE) is skipped rather than waited for.
 * - `heartbeat` on a trial that is not running (or does not exist) is
 *   ignored, as in SQLite: the worker learns on its next write.
 * - Heartbeats are not part of a dump: imported trials get this database's
 *   clock, so a trial imported `running` (nobody runs it here) is
 *   interrupted by the first interruptStale after its grace. A running trial
 *   without a heartbeat (only by hand) counts as stale. Same as SQLite.
 * - Checkpoints are `bytea` (stored uncompressed) in their own table.
 * - A connection the server drops fails the call that was using it (a
 *   plain error; deadlocks and serialization failures are retried 3 times);
 *   the pool opens a new one for the next call. Never a process crash.
 */
import pg from 'pg';
import { UserError } from '../../errors';
import type { TrialState } from '../../search/types';
import { faultPoint } from './fault';
import {
  StudyExistsError,
  TrialExistsError,
  TrialNotRunningError,
  type EpochLog,
  type Metrics,
  type NewTrial,
  type RankOptions,
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
  type NewTrialRow,
  optionalInteger,
  optionalJson,
} from './encode';
import {
  groupHistory,
  toDumpTrial,
  toEpoch,
  toStudy,
  toSummary,
  toTrial as toTrialOf,
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
 * One step of the PostgreSQL schema: it upgrades a database at schema `from`
 * to schema `to` (0 = a database without tune's tables). PostgreSQL storage
 * starts at schema 3, SQLite's schema when it was added: the first step
 * creates that schema whole (SQLite's 1 and 2 never existed here); later
 * steps go one version at a time, numbered as SQLite's matching migration.
 * A shipped step is never edited; a change is a new step appended here.
 */
export interface PgMigration {
  readonly from: number;
  readonly to: number;
  readonly sql: string;
}

export const MIGRATIONS: readonly PgMigration[] = Object.freeze([
  {
    from: 0,
    to: 3,
    sql: `
  CREATE TABLE tune_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
  );
  INSERT INTO tune_meta (key, value) VALUES ('application', 'tune');

  CREATE TABLE studies (
    id              bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name            text        NOT NULL,
    metric          text        NOT NULL,
    direction       text        NOT NULL CHECK (direction IN ('min', 'max')),
    definition_json json        NOT NULL,
    definition_hash text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT studies_name_unique UNIQUE (name)
  );
  CREATE INDEX studies_created ON studies (created_at DESC, id DESC);

  -- retry_of and parent are trial numbers of the same study (checked by
  -- createTrial, not by a foreign key). json keeps the text as written, so
  -- parameter order survives.
  CREATE TABLE trials (
    id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    study_id       bigint      NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    number         bigint      NOT NULL CHECK (number >= 0),
    slot           text        NOT NULL CHECK (slot <> ''),
    retry_of       bigint      CHECK (retry_of >= 0 AND retry_of < number),
    state          text        NOT NULL CHECK (state IN ('running', 'complete', 'failed', 'interrupted')),
    params_json    json        NOT NULL,
    backend        text        NOT NULL,
    worker_host    text        NOT NULL,
    worker_pid     bigint      NOT NULL CHECK (worker_pid >= 0),
    budget         bigint      CHECK (budget >= 1),
    rung_iteration bigint      CHECK (rung_iteration >= 0),
    rung_bracket   bigint      CHECK (rung_bracket >= 0),
    rung_round     bigint      CHECK (rung_round >= 0),
    parent         bigint      CHECK (parent >= 0 AND parent < number),
    initial_epoch  bigint      NOT NULL DEFAULT 0 CHECK (initial_epoch >= 0),
    value          double precision,
    epochs         bigint,
    stop_reason    text        CHECK (stop_reason IN ('max_epochs', 'early_stopping', 'nan', 'error')),
    error          text,
    duration_s     double precision,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    heartbeat_at   timestamptz,
    CONSTRAINT trials_number_unique UNIQUE (study_id, number),
    -- a rung is all three or nothing
    CHECK ((rung_iteration IS NULL) = (rung_bracket IS NULL) AND (rung_bracket IS NULL) = (rung_round IS NULL))
  );
  -- Claims: one first attempt per slot, one retry per attempt.
  CREATE UNIQUE INDEX trials_claim_first ON trials (study_id, slot) WHERE retry_of IS NULL;
  CREATE UNIQUE INDEX trials_claim_retry ON trials (study_id, retry_of) WHERE retry_of IS NOT NULL;
  CREATE INDEX trials_slot ON trials (study_id, slot);
  CREATE INDEX trials_running ON trials (study_id, heartbeat_at) WHERE state = 'running';

  -- study_id is copied from trials so that one index serves "all metrics of
  -- a study" and ranking a study by one metric; position keeps the order the
  -- metrics were given in.
  CREATE TABLE trial_metrics (
    trial_id bigint           NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    study_id bigint           NOT NULL,
    name     text             NOT NULL,
    value    double precision NOT NULL,
    position integer          NOT NULL,
    PRIMARY KEY (trial_id, name)
  );
  CREATE INDEX trial_metrics_rank ON trial_metrics (study_id, name, value);

  CREATE TABLE trial_epochs (
    trial_id bigint           NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    epoch    bigint           NOT NULL CHECK (epoch >= 0),
    loss     double precision NOT NULL,
    val_loss double precision,
    mae      double precision NOT NULL,
    val_mae  double precision,
    mse      double precision NOT NULL,
    val_mse  double precision,
    lr       double precision NOT NULL,
    seconds  double precision NOT NULL,
    PRIMARY KEY (trial_id, epoch)
  );

  -- bytes is kept so that listing checkpoints never reads them; weights do
  -- not compress, so they are stored as they are (EXTERNAL: out of line, no
  -- compression attempt).
  CREATE TABLE checkpoints (
    trial_id   bigint      PRIMARY KEY REFERENCES trials (id) ON DELETE CASCADE,
    data       bytea       NOT NULL,
    bytes      bigint      GENERATED ALWAYS AS (octet_length(data)) STORED,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  ALTER TABLE checkpoints ALTER COLUMN data SET STORAGE EXTERNAL;
  `,
  },
  {
    // SQLite's 4: the study's linear baseline, a trial's diagnostics and each
    // epoch's gradient norm. Nullable, so adding them rewrites no rows.
    from: 3,
    to: 4,
    sql: `
  ALTER TABLE studies ADD COLUMN baseline_json json;
  ALTER TABLE trials ADD COLUMN diagnostics_json json;
  ALTER TABLE trial_epochs ADD COLUMN grad_norm double precision;
  `,
  },
]);

/** The newest schema this code reads and writes (the same number as SQLite's). */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.to;

/** Tune's tables: a schema holding any of them without tune_meta is not tune's. */
const TUNE_TABLES = ['tune_meta', 'studies', 'trials', 'trial_metrics', 'trial_epochs', 'checkpoints'];

/** pg_advisory_xact_lock(classid, objid): 'tune' as an int4, and the schema. */
const LOCK_CLASS = 0x74756e65;

const POOL_SIZE = 4;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Brings the database to the newest schema of `migrations`, or refuses it.
 * One transaction under an advisory lock: two processes opening a fresh
 * database at once do not both create it (the second waits, then finds it
 * done), and a failure anywhere leaves the database as it was.
 */
async function migrate(client: pg.PoolClient, where: string, migrations: readonly PgMigration[]): Promise<void> {
  const target = migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.to;
  await client.query('BEGIN');
  try {
    const { rows } = await client.query<{ schema: string | null }>(`SELECT current_schema() AS schema`);
    const schema = rows[0]!.schema;
    if (schema === null) {
      throw new UserError('', 'no schema to create tune\'s tables in: search_path names no existing schema', 'create the schema, or fix search_path', where);
    }
    await client.query(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, [LOCK_CLASS, schema]);
    let version = await storedVersion(client, where, schema);
    if (version > target) {
      throw new UserError(
        '',
        `this storage was written by a newer tune (schema ${version}); this tune reads up to schema ${target}`,
        'upgrade tune',
        where,
      );
    }
    while (version < target) {
      const step = migrations.find((m) => m.from === version);
      if (!step) throw new Error(`no PostgreSQL migration from schema ${version}`);
      await client.query(step.sql);
      await client.query(
        `INSERT INTO tune_meta (key, value) VALUES ('schema_version', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [String(step.to)],
      );
      version = step.to;
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (pgCode(e) === '42501') {
      throw new UserError('', `cannot create tune's tables: ${oneLine((e as Error).message)}`, 'grant the user CREATE on the database\'s schema, or use a database it owns', where);
    }
    throw e;
  }
}

/** 0 for a schema without tune's tables; the stored version for a tune schema; throws otherwise. */
async function storedVersion(client: pg.PoolClient, where: string, schema: string): Promise<number> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relname = ANY ($2)
      ORDER BY c.relname`,
    [schema, TUNE_TABLES],
  );
  const tables = rows.map((r) => r.name);
  if (tables.length === 0) return 0;
  if (!tables.includes('tune_meta')) {
    throw notTuneStorage(where, `schema "${schema}" has tables named like tune's (${tables.join(', ')}) but no tune_meta table`);
  }
  const meta = new Map((await client.query<{ key: string; value: string }>(`SELECT key, value FROM tune_meta`)).rows.map((r) => [r.key, r.value]));
  const version = Number(meta.get('schema_version'));
  if (meta.get('application') !== 'tune' || !Number.isInteger(version) || version < 1) {
    throw notTuneStorage(where, 'its tune_meta table does not name a tune schema version');
  }
  return version;
}

function notTuneStorage(where: string, why: string): UserError {
  return new UserError('', `not a tune storage: ${why}`, 'point tune at another database (or schema), or at an existing tune storage', where);
}

// ---------------------------------------------------------------------------
// URLs and connection errors
// ---------------------------------------------------------------------------

/** `url` without its password (in the user info or a `password=` parameter), for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    for (const key of [...u.searchParams.keys()]) {
      if (/^(password|sslpassword)$/i.test(key)) u.searchParams.delete(key);
    }
    return u.toString();
  } catch {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1@').replace(/([?&](ssl)?password=)[^&#]*/gi, '$1***');
  }
}

function connectError(url: string, e: unknown): UserError {
  const where = redactUrl(url);
  const code = pgCode(e);
  let message = oneLine(e instanceof Error ? e.message : String(e));
  const password = passwordOf(url);
  if (password) message = message.split(password).join('***');
  let fix: string;
  switch (code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ECONNRESET':
    case 'ENOENT':
      fix = 'check that the PostgreSQL server is running and that the host and port in the URL are right';
      break;
    case '28P01':
    case '28000':
      fix = 'check the user and password in the URL (or PGPASSWORD / ~/.pgpass)';
      break;
    case '3D000':
      fix = `create the database first (createdb ${databaseOf(url) ?? 'NAME'}), or name an existing one in the URL`;
      break;
    case '53300':
      fix = 'the server has no free connections: close some, or raise max_connections';
      break;
    default:
      fix = /timeout/i.test(message)
        ? 'check that the server is reachable (firewall, host, port)'
        : 'check the URL: postgresql://USER:PASSWORD@HOST:PORT/DATABASE';
  }
  return new UserError('', `cannot connect to PostgreSQL: ${message}`, fix, where);
}

function passwordOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return (u.password && decodeURIComponent(u.password)) || u.searchParams.get('password') || undefined;
  } catch {
    return undefined;
  }
}

function databaseOf(url: string): string | undefined {
  try {
    const db = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
    return db || undefined;
  } catch {
    return undefined;
  }
}

function connectTimeoutMs(url: string): number {
  try {
    const s = Number(new URL(url).searchParams.get('connect_timeout'));
    return Number.isFinite(s) && s > 0 ? s * 1000 : CONNECT_TIMEOUT_MS;
  } catch {
    return CONNECT_TIMEOUT_MS;
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

function pgCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isUniqueViolation(e: unknown, constraint?: string): boolean {
  return pgCode(e) === '23505' && (constraint === undefined || (e as { constraint?: string }).constraint === constraint);
}

/** bigint columns come back as numbers (ids, numbers, counts all fit); anything past 2^53 is refused, not rounded. */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`tune storage: integer ${text} is too large for JavaScript`);
  return n;
}

const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === pg.types.builtins.INT8 && format !== 'binary') return parseInt8;
    return pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};

// ---------------------------------------------------------------------------
// Encoding (the checks are ./encode.ts's, shared with the SQLite engine)
// ---------------------------------------------------------------------------

function newTrialParams(row: NewTrialRow): unknown[] {
  return [
    row.slot, row.retryOf, row.paramsJson, row.backend, row.workerHost, row.workerPid,
    row.budget, row.rungIteration, row.rungBracket, row.rungRound, row.parent, row.initialEpoch,
  ];
}

/**
 * A dump's trials in number order, each checked alone and then across the
 * dump as createTrial checks them (the SQLite engine's rules and messages):
 * numbers unique, retryOf and parent name trials of the dump, a retry has its
 * attempt's slot, one first attempt per slot and one retry per attempt.
 */
function checkDump(trials: readonly TrialDump[]): { trial: TrialDump; row: NewTrialRow }[] {
  if (!Array.isArray(trials)) throw new TypeError('a study dump needs its trials array');
  const checked = trials.map((t) => {
    checkDumpTrial(t);
    if (t.checkpoint !== undefined && !(t.checkpoint instanceof Uint8Array)) throw new TypeError('a checkpoint must be a Uint8Array');
    return { trial: t, row: encodeNewTrial(t) };
  });
  checked.sort((a, b) => a.trial.number - b.trial.number);
  checkDumpLinks(checked.map(({ trial, row }) => ({ ...row, number: trial.number })));
  return checked;
}

// ---------------------------------------------------------------------------
// Rows (./rows.ts makes them records)
// ---------------------------------------------------------------------------

/**
 * How this engine's rows decode: pg returns doubles as numbers (NaN and
 * ±Infinity included), json columns parsed (a fresh object per read), int8
 * as numbers (TYPES) and timestamps as the ISO text the SELECT makes (iso).
 */
const DECODER: RowDecoder<number, unknown> = {
  real: (v) => (v === null ? undefined : v),
  json: (v) => v,
};

type StudyRow = StudyRowOf<unknown>;
type StudySummaryRow = StudySummaryRowOf<number, unknown>;
interface TrialRow extends TrialRowOf<number, unknown> {
  /** The trial's metrics in the order given (NULL when it has none). */
  metric_names?: string[] | null;
  metric_values?: number[] | null;
}
type EpochRow = EpochRowOf<number>;

/** A timestamptz as ISO-8601 UTC with milliseconds, like `Date.toISOString()`. */
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const STUDY_COLUMNS = `s.id, s.name, s.metric, s.direction, s.definition_json, s.definition_hash, ${iso('s.created_at')} AS created_at, s.baseline_json`;
const TRIAL_COLUMNS = `t.id, t.study_id, t.number, t.slot, t.retry_of, t.state, t.params_json, t.backend,
  t.worker_host, t.worker_pid, t.budget, t.rung_iteration, t.rung_bracket, t.rung_round, t.parent, t.initial_epoch,
  t.value, t.epochs, t.stop_reason, t.error, t.duration_s, t.diagnostics_json,
  ${iso('t.started_at')} AS started_at, ${iso('t.finished_at')} AS finished_at`;
/** The metrics of trial `t`, as two arrays in the order given. */
const METRICS_OF_T = `LEFT JOIN LATERAL (
    SELECT array_agg(name ORDER BY position) AS metric_names, array_agg(value ORDER BY position) AS metric_values
      FROM trial_metrics WHERE trial_id = t.id) m ON true`;
/** Trials of study $1 numbered $2 or more, with their metrics: one scan of their metrics, grouped, not a query per trial. */
const TRIALS_OF_STUDY = `
  SELECT ${TRIAL_COLUMNS}, m.metric_names, m.metric_values
    FROM trials t
    LEFT JOIN (SELECT tm.trial_id, array_agg(tm.name ORDER BY tm.position) AS metric_names, array_agg(tm.value ORDER BY tm.position) AS metric_values
                 FROM trial_metrics tm JOIN trials t2 ON t2.id = tm.trial_id
                WHERE t2.study_id = $1 AND t2.number >= $2 GROUP BY tm.trial_id) m ON m.trial_id = t.id
   WHERE t.study_id = $1 AND t.number >= $2
   ORDER BY t.number`;
const EPOCH_COLUMNS = `epoch, loss, val_loss, mae, val_mae, mse, val_mse, lr, seconds, grad_norm`;

function toMetrics(row: TrialRow): Metrics {
  const names = row.metric_names ?? [];
  const values = row.metric_values ?? [];
  // Object.fromEntries defines own properties, so even a metric named "__proto__" is kept.
  return Object.fromEntries(names.map((name, i) => [name, values[i]!])) as Metrics;
}

/** A trial row with its metrics, as selected with METRICS_OF_T or TRIALS_OF_STUDY. */
function toTrial(row: TrialRow): TrialRecord {
  return toTrialOf(row, toMetrics(row), DECODER);
}

type Queryable = Pick<pg.PoolClient, 'query'>;

/** Error for a trial that is not running, or does not exist. */
async function notRunning(db: Queryable, trialId: number): Promise<Error> {
  const { rows } = await db.query<{ state: TrialState }>(`SELECT state FROM trials WHERE id = $1`, [trialId]);
  const row = rows[0];
  if (!row) return new Error(`no trial with id ${trialId}`);
  if (row.state !== 'running') return new TrialNotRunningError(trialId, row.state);
  return new Error(`trial ${trialId} changed under a concurrent write; try again`);
}

/**
 * Listens for 'error' on a checked-out client until the returned function is
 * called. A connection lost between two queries of a transaction makes pg
 * emit 'error' on the client, which would crash the process with nobody
 * listening (the pool listens only to idle clients); this way the next query
 * fails instead, and the transaction's caller gets that error.
 */
function guard(client: pg.PoolClient): () => void {
  const ignore = () => undefined;
  client.on('error', ignore);
  return () => client.off('error', ignore);
}

// ---------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------

export class PostgresStorage implements Storage {
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    /** The URL it was opened with, without its password. */
    readonly url: string,
  ) {}

  /**
   * Connects (a pool of up to 4 connections) and creates or upgrades tune's
   * tables. Throws `UserError` when the server cannot be reached or refuses
   * the login, the database does not exist, it holds tables named like
   * tune's that are not tune's, or it was written by a newer tune.
   */
  static async open(url: string): Promise<PostgresStorage> {
    return PostgresStorage.openWith(url, MIGRATIONS);
  }

  /** `open` with another list of migrations (tests). */
  private static async openWith(url: string, migrations: readonly PgMigration[]): Promise<PostgresStorage> {
    const where = redactUrl(url);
    let pool: pg.Pool;
    let client: pg.PoolClient;
    try {
      pool = new pg.Pool({
        connectionString: url,
        max: POOL_SIZE,
        connectionTimeoutMillis: connectTimeoutMs(url),
        idleTimeoutMillis: 10_000,
        allowExitOnIdle: true,
        application_name: 'tune',
        types: TYPES,
      });
    } catch (e) {
      throw connectError(url, e);
    }
    // An idle connection the server drops emits 'error' on the pool; the next
    // query opens a new one (or fails and says why), so nothing to do here.
    pool.on('error', () => undefined);
    try {
      client = await pool.connect();
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw connectError(url, e);
    }
    const detach = guard(client);
    try {
      await migrate(client, where, migrations);
      detach();
      client.release();
    } catch (e) {
      detach();
      client.release(true);
      await pool.end().catch(() => undefined);
      throw e;
    }
    return new PostgresStorage(pool, where);
  }

  private get db(): pg.Pool {
    if (this.closed) throw new Error(`the PostgreSQL storage ${this.url} is not open (closed)`);
    return this.pool;
  }

  /**
   * Runs `fn` in a transaction on one connection; retried (up to 3 times)
   * on a deadlock or serialization failure, as Optuna retries numbering.
   */
  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>, readOnly = false): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.db.connect();
      const detach = guard(client);
      let broken = false;
      try {
        await client.query(readOnly ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        const code = pgCode(e);
        if (attempt < 3 && (code === '40P01' || code === '40001')) continue;
        throw e;
      } finally {
        detach();
        client.release(broken || undefined);
      }
    }
  }

  async createStudy(input: StudyInput): Promise<StudyRecord> {
    const definitionJson = checkStudyInput(input);
    try {
      const { rows } = await this.db.query<StudyRow>(
        `INSERT INTO studies AS s (name, metric, direction, definition_json, definition_hash)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING ${STUDY_COLUMNS}`,
        [input.name, input.metric, input.direction, definitionJson, input.definitionHash],
      );
      return toStudy(rows[0]!, DECODER);
    } catch (e) {
      if (isUniqueViolation(e, 'studies_name_unique')) throw new StudyExistsError(input.name);
      throw e;
    }
  }

  async getStudy(name: string): Promise<StudyRecord | undefined> {
    const { rows } = await this.db.query<StudyRow>(`SELECT ${STUDY_COLUMNS} FROM studies s WHERE s.name = $1`, [name]);
    return rows[0] && toStudy(rows[0], DECODER);
  }

  async listStudies(): Promise<StudySummary[]> {
    const { rows } = await this.db.query<StudySummaryRow>(
      `SELECT ${STUDY_COLUMNS},
              COUNT(t.id) FILTER (WHERE t.state = 'running')     AS running,
              COUNT(t.id) FILTER (WHERE t.state = 'complete')    AS complete,
              COUNT(t.id) FILTER (WHERE t.state = 'failed')      AS failed,
              COUNT(t.id) FILTER (WHERE t.state = 'interrupted') AS interrupted,
              CASE s.direction
                WHEN 'min' THEN MIN(t.value) FILTER (WHERE t.state = 'complete' AND t.value <> 'NaN')
                ELSE            MAX(t.value) FILTER (WHERE t.state = 'complete' AND t.value <> 'NaN')
              END AS best
         FROM studies s LEFT JOIN trials t ON t.study_id = s.id
        GROUP BY s.id
        ORDER BY s.created_at DESC, s.id DESC`,
    );
    return rows.map((row) => toSummary(row, DECODER));
  }

  async deleteStudy(name: string): Promise<boolean> {
    // Trials, metrics, epochs and checkpoints go with it (ON DELETE CASCADE).
    const result = await this.db.query(`DELETE FROM studies WHERE name = $1`, [name]);
    return (result.rowCount ?? 0) > 0;
  }

  async setBaseline(studyId: number, baseline: LinearBaseline): Promise<void> {
    const json = encodeJson(baseline, 'a baseline');
    // One statement: a concurrent writer of the same baseline just writes it again.
    const result = await this.db.query(`UPDATE studies SET baseline_json = $2 WHERE id = $1`, [studyId, json]);
    if (result.rowCount === 0) throw new Error(`no study with id ${studyId}`);
  }

  async createTrial(studyId: number, trial: NewTrial): Promise<TrialRecord | undefined> {
    const row = encodeNewTrial(trial);
    let number = -1;
    try {
      return await this.tx(async (c) => {
        // The study row lock serialises claims and numbering within the study.
        const study = await c.query(`SELECT id FROM studies WHERE id = $1 FOR NO KEY UPDATE`, [studyId]);
        if (study.rowCount === 0) throw new Error(`no study with id ${studyId}`);
        const { rows } = await c.query<{ next: number; retried_slot: string | null; parent_exists: boolean; taken: boolean }>(
          `SELECT (SELECT COALESCE(MAX(number), -1) + 1 FROM trials WHERE study_id = $1) AS next,
                  (SELECT slot FROM trials WHERE study_id = $1 AND number = $2) AS retried_slot,
                  EXISTS (SELECT 1 FROM trials WHERE study_id = $1 AND number = $3) AS parent_exists,
                  CASE WHEN $2::bigint IS NULL
                       THEN EXISTS (SELECT 1 FROM trials WHERE study_id = $1 AND slot = $4)
                       ELSE EXISTS (SELECT 1 FROM trials WHERE study_id = $1 AND retry_of = $2)
                  END AS taken`,
          [studyId, row.retryOf, row.parent, row.slot],
        );
        const check = rows[0]!;
        // In SQLite's order: a plan's retry link is checked, then the claim, then its parent.
        if (row.retryOf !== null) {
          if (check.retried_slot === null) throw new Error(`retryOf: study ${studyId} has no trial number ${row.retryOf}`);
          if (check.retried_slot !== row.slot) {
            throw new Error(`retryOf: trial ${row.retryOf} has slot "${check.retried_slot}", not "${row.slot}": a retry re-runs the same slot`);
          }
        }
        if (check.taken) return undefined; // another worker holds this slot (or this retry)
        if (row.parent !== null && !check.parent_exists) throw new Error(`parent: study ${studyId} has no trial number ${row.parent}`);
        number = check.next;
        const inserted = await c.query<TrialRow>(
          `INSERT INTO trials AS t (study_id, number, slot, retry_of, state, params_json, backend, worker_host, worker_pid,
                                   budget, rung_iteration, rung_bracket, rung_round, parent, initial_epoch, started_at, heartbeat_at)
           VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now(), now())
           RETURNING ${TRIAL_COLUMNS}`,
          [studyId, number, ...newTrialParams(row)],
        );
        return toTrial(inserted.rows[0]!);
      });
    } catch (e) {
      // The partial unique indexes: someone claimed it first after all.
      if (isUniqueViolation(e, 'trials_claim_first') || isUniqueViolation(e, 'trials_claim_retry')) return undefined;
      if (isUniqueViolation(e, 'trials_number_unique')) throw new TrialExistsError(studyId, number);
      throw e;
    }
  }

  async heartbeat(trialId: number): Promise<void> {
    checkTrialId(trialId);
    // One statement. A trial that is no longer running (or was deleted with
    // its study) is left alone, silently, as SQLite does: its worker finds
    // out on its next write.
    await this.db.query(`UPDATE trials SET heartbeat_at = now() WHERE id = $1 AND state = 'running'`, [trialId]);
  }

  async interruptStale(studyId: number, graceSeconds: number, reason: string): Promise<TrialRecord[]> {
    checkStaleSweep(graceSeconds, reason);
    // SKIP LOCKED: a trial another worker is reclaiming, or its owner is
    // writing to, is left alone; nobody waits. The stale rows are locked
    // first, then moved, in one statement.
    const { rows } = await this.db.query<TrialRow>(
      `WITH stale AS (
         SELECT id FROM trials
          WHERE study_id = $1 AND state = 'running'
            AND (heartbeat_at IS NULL OR heartbeat_at < now() - make_interval(secs => $2))
          FOR UPDATE SKIP LOCKED
       ), moved AS (
         UPDATE trials u SET state = 'interrupted', error = $3, finished_at = now()
           FROM stale WHERE u.id = stale.id AND u.state = 'running'
         RETURNING u.*
       )
       SELECT ${TRIAL_COLUMNS}, m.metric_names, m.metric_values
         FROM moved t ${METRICS_OF_T}
        ORDER BY t.number`,
      [studyId, graceSeconds, reason],
    );
    return rows.map(toTrial);
  }

  async reportEpoch(trialId: number, log: EpochLog): Promise<void> {
    checkTrialId(trialId);
    const values = encodeEpoch(log, checkReal);
    // One statement: lock the trial (FOR SHARE: a concurrent finish waits,
    // then we see it finished), write the epoch only if it is running.
    const { rows } = await this.db.query<{ state: TrialState | null; written: boolean }>(
      `WITH cur AS (SELECT id, state FROM trials WHERE id = $1 FOR SHARE),
       ins AS (
         INSERT INTO trial_epochs (trial_id, ${EPOCH_COLUMNS})
         SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM cur WHERE state = 'running'
         ON CONFLICT (trial_id, epoch) DO UPDATE
           SET loss = excluded.loss, val_loss = excluded.val_loss, mae = excluded.mae, val_mae = excluded.val_mae,
               mse = excluded.mse, val_mse = excluded.val_mse, lr = excluded.lr, seconds = excluded.seconds,
               grad_norm = excluded.grad_norm
         RETURNING 1
       )
       SELECT (SELECT state FROM cur) AS state, EXISTS (SELECT 1 FROM ins) AS written`,
      [trialId, ...values],
    );
    const { state, written } = rows[0]!;
    if (state === null) throw new Error(`no trial with id ${trialId}`);
    if (state !== 'running') throw new TrialNotRunningError(trialId, state);
    if (!written) throw new Error(`trial ${trialId}: epoch ${log.epoch} was not written`);
  }

  async finishTrial(trialId: number, outcome: TrialOutcome, checkpoint?: Uint8Array): Promise<TrialRecord> {
    checkTrialId(trialId);
    checkOutcome(trialId, outcome);
    const value = checkReal(outcome.value, 'value');
    const durationS = checkReal(outcome.durationS, 'durationS');
    const diagnostics = optionalJson(outcome.diagnostics, 'diagnostics');
    const entries = Object.entries(outcome.metrics);
    const names = entries.map(([name]) => name);
    const metricValues = entries.map(([name, v]) => checkReal(v, `metric "${name}"`));
    const data = checkpoint === undefined ? undefined : checkpointBuffer(checkpoint);
    // State, summary, metrics and checkpoint together or not at all.
    return this.tx(async (c) => {
      const updated = await c.query(
        `UPDATE trials
            SET state = $2, value = $3, epochs = $4, stop_reason = $5, error = $6, duration_s = $7, diagnostics_json = $8,
                finished_at = now()
          WHERE id = $1 AND state = 'running'`,
        [trialId, outcome.state, value, outcome.epochs, outcome.stopReason, outcome.error ?? null, durationS, diagnostics],
      );
      if (updated.rowCount === 0) throw await notRunning(c, trialId);
      if (names.length > 0) {
        await c.query(
          `INSERT INTO trial_metrics (trial_id, study_id, name, value, position)
           SELECT t.id, t.study_id, m.name, m.value, m.position
             FROM trials t, unnest($2::text[], $3::float8[]) WITH ORDINALITY AS m (name, value, position)
            WHERE t.id = $1`,
          [trialId, names, metricValues],
        );
      }
      if (data !== undefined) {
        await c.query(
          `INSERT INTO checkpoints (trial_id, data) VALUES ($1, $2)
           ON CONFLICT (trial_id) DO UPDATE SET data = excluded.data, created_at = excluded.created_at`,
          [trialId, data],
        );
        faultPoint('checkpoint-write');
      }
      return (await this.loadTrial(c, trialId))!;
    });
  }

  async interruptTrial(trialId: number, reason: string): Promise<TrialRecord> {
    checkTrialId(trialId);
    if (typeof reason !== 'string') throw new TypeError('an interruption reason must be a string');
    const { rows } = await this.db.query<TrialRow>(
      `WITH moved AS (
         UPDATE trials SET state = 'interrupted', error = $2, finished_at = now()
          WHERE id = $1 AND state = 'running'
         RETURNING *
       )
       SELECT ${TRIAL_COLUMNS}, m.metric_names, m.metric_values FROM moved t ${METRICS_OF_T}`,
      [trialId, reason],
    );
    if (rows.length === 0) throw await notRunning(this.db, trialId);
    return toTrial(rows[0]!);
  }

  async getCheckpoint(trialId: number): Promise<Uint8Array | undefined> {
    checkTrialId(trialId);
    const { rows } = await this.db.query<{ data: Buffer }>(`SELECT data FROM checkpoints WHERE trial_id = $1`, [trialId]);
    // A plain Uint8Array over its own ArrayBuffer: `.buffer` is exactly the checkpoint.
    return rows[0] && new Uint8Array(rows[0].data);
  }

  async listCheckpoints(studyId: number): Promise<{ trialId: number; bytes: number }[]> {
    const { rows } = await this.db.query<{ trialId: number; bytes: number }>(
      `SELECT c.trial_id AS "trialId", c.bytes
         FROM checkpoints c JOIN trials t ON t.id = c.trial_id
        WHERE t.study_id = $1
        ORDER BY t.number`,
      [studyId],
    );
    return rows;
  }

  async deleteCheckpoints(trialIds: readonly number[]): Promise<void> {
    for (const id of trialIds) checkTrialId(id);
    // One statement, so one transaction. Ids without a checkpoint are ignored.
    if (trialIds.length > 0) await this.db.query(`DELETE FROM checkpoints WHERE trial_id = ANY ($1::bigint[])`, [trialIds]);
  }

  async getTrials(studyId: number, options: { fromNumber?: number } = {}): Promise<TrialRecord[]> {
    // One query, metrics included.
    const { rows } = await this.db.query<TrialRow>(TRIALS_OF_STUDY, [studyId, options.fromNumber ?? 0]);
    return rows.map(toTrial);
  }

  async getTrial(studyId: number, number: number): Promise<TrialRecord | undefined> {
    const { rows } = await this.db.query<TrialRow>(
      `SELECT ${TRIAL_COLUMNS}, m.metric_names, m.metric_values FROM trials t ${METRICS_OF_T}
        WHERE t.study_id = $1 AND t.number = $2`,
      [studyId, number],
    );
    return rows[0] && toTrial(rows[0]);
  }

  async getHistory(trialId: number): Promise<EpochLog[]> {
    checkTrialId(trialId);
    const { rows } = await this.db.query<EpochRow>(`SELECT ${EPOCH_COLUMNS} FROM trial_epochs WHERE trial_id = $1 ORDER BY epoch`, [trialId]);
    return rows.map((row) => toEpoch(row, DECODER));
  }

  async rankTrials(studyId: number, options: RankOptions): Promise<TrialRecord[]> {
    checkRankOptions(options);
    const order = options.direction === 'min' ? 'ASC' : 'DESC';
    // Sorting and limiting in SQL, on trial_metrics_rank; metrics are then
    // read for the kept trials only. LIMIT NULL means no limit.
    const { rows } = await this.db.query<TrialRow>(
      `WITH ranked AS (
         SELECT r.trial_id, r.value AS rank_value, t.number AS rank_number
           FROM trial_metrics r JOIN trials t ON t.id = r.trial_id
          WHERE r.study_id = $1 AND r.name = $2 AND r.value <> 'NaN' AND t.state = 'complete'
          ORDER BY r.value ${order}, t.number ASC
          LIMIT $3
       )
       SELECT ${TRIAL_COLUMNS}, m.metric_names, m.metric_values
         FROM ranked JOIN trials t ON t.id = ranked.trial_id ${METRICS_OF_T}
        ORDER BY ranked.rank_value ${order}, ranked.rank_number ASC`,
      [studyId, options.metric, options.limit ?? null],
    );
    return rows.map(toTrial);
  }

  async exportStudy(name: string): Promise<StudyDump | undefined> {
    // One snapshot (REPEATABLE READ), so the parts agree.
    return this.tx(async (c) => {
      const studies = await c.query<StudyRow>(`SELECT ${STUDY_COLUMNS} FROM studies s WHERE s.name = $1`, [name]);
      const studyRow = studies.rows[0];
      if (!studyRow) return undefined;
      const study = toStudy(studyRow, DECODER);
      const trials = (await c.query<TrialRow>(TRIALS_OF_STUDY, [study.id, 0])).rows.map(toTrial);
      const epochs = await c.query<EpochRow & { trial_id: number }>(
        `SELECT e.trial_id, ${EPOCH_COLUMNS.split(', ').map((col) => `e.${col}`).join(', ')}
           FROM trial_epochs e JOIN trials t ON t.id = e.trial_id
          WHERE t.study_id = $1
          ORDER BY e.trial_id, e.epoch`,
        [study.id],
      );
      const history = groupHistory(epochs.rows, DECODER);
      const checkpoints = await c.query<{ trial_id: number; data: Buffer }>(
        `SELECT c.trial_id, c.data FROM checkpoints c JOIN trials t ON t.id = c.trial_id WHERE t.study_id = $1`,
        [study.id],
      );
      const data = new Map(checkpoints.rows.map((r) => [r.trial_id, r.data]));
      const { id: _id, ...input } = study;
      return {
        study: input,
        trials: trials.map((t) => toDumpTrial(t, history.get(t.id) ?? [], data.get(t.id))),
      };
    }, true);
  }

  async importStudy(dump: StudyDump): Promise<StudyRecord> {
    checkDumpStudy(dump);
    const definitionJson = checkStudyInput(dump.study);
    const baselineJson = optionalJson(dump.study.baseline, 'the study\'s baseline');
    // Everything is validated and laid out in columns before the transaction.
    const trials = checkDump(dump.trials);
    const cols = {
      number: [] as number[], slot: [] as string[], retryOf: [] as (number | null)[], state: [] as string[],
      params: [] as string[], backend: [] as string[], workerHost: [] as string[], workerPid: [] as number[],
      budget: [] as (number | null)[], rungIteration: [] as (number | null)[], rungBracket: [] as (number | null)[],
      rungRound: [] as (number | null)[], parent: [] as (number | null)[], initialEpoch: [] as number[],
      value: [] as (number | null)[], epochs: [] as (number | null)[], stopReason: [] as (string | null)[],
      error: [] as (string | null)[], durationS: [] as (number | null)[], diagnostics: [] as (string | null)[],
      startedAt: [] as string[], finishedAt: [] as (string | null)[],
    };
    for (const { trial: t, row } of trials) {
      const what = `trial ${t.number}`;
      cols.number.push(t.number);
      cols.slot.push(row.slot);
      cols.retryOf.push(row.retryOf);
      cols.state.push(t.state);
      cols.params.push(row.paramsJson);
      cols.backend.push(row.backend);
      cols.workerHost.push(row.workerHost);
      cols.workerPid.push(row.workerPid);
      cols.budget.push(row.budget);
      cols.rungIteration.push(row.rungIteration);
      cols.rungBracket.push(row.rungBracket);
      cols.rungRound.push(row.rungRound);
      cols.parent.push(row.parent);
      cols.initialEpoch.push(row.initialEpoch);
      cols.value.push(checkReal(t.value, `${what}: value`));
      cols.epochs.push(optionalInteger(t.epochs, `${what}: epochs`));
      cols.stopReason.push(t.stopReason ?? null);
      cols.error.push(t.error ?? null);
      cols.durationS.push(checkReal(t.durationS, `${what}: durationS`));
      cols.diagnostics.push(optionalJson(t.diagnostics, `${what}: diagnostics`));
      cols.startedAt.push(t.startedAt);
      cols.finishedAt.push(t.finishedAt ?? null);
    }
    const metric = { number: [] as number[], name: [] as string[], value: [] as number[], position: [] as number[] };
    const epoch = { number: [] as number[], values: [] as (readonly unknown[])[] };
    for (const { trial: t } of trials) {
      Object.entries(t.metrics).forEach(([name, v], i) => {
        metric.number.push(t.number);
        metric.name.push(name);
        metric.value.push(checkReal(v, `metric "${name}"`)!);
        metric.position.push(i + 1);
      });
      for (const log of t.history) {
        epoch.number.push(t.number);
        epoch.values.push(encodeEpoch(log, checkReal));
      }
    }
    const column = (i: number) => epoch.values.map((v) => v[i]);

    try {
      return await this.tx(async (c) => {
        const inserted = await c.query<StudyRow>(
          `INSERT INTO studies AS s (name, metric, direction, definition_json, definition_hash, created_at, baseline_json)
           VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7)
           RETURNING ${STUDY_COLUMNS}`,
          [dump.study.name, dump.study.metric, dump.study.direction, definitionJson, dump.study.definitionHash, dump.study.createdAt, baselineJson],
        );
        const study = toStudy(inserted.rows[0]!, DECODER);
        if (dump.trials.length === 0) return study;
        // Whole columns at once (unnest), not a statement per row.
        const ids = await c.query<{ id: number; number: number }>(
          `INSERT INTO trials (study_id, number, slot, retry_of, state, params_json, backend, worker_host, worker_pid,
                               budget, rung_iteration, rung_bracket, rung_round, parent, initial_epoch,
                               value, epochs, stop_reason, error, duration_s, diagnostics_json, started_at, finished_at, heartbeat_at)
           SELECT $1, u.number, u.slot, u.retry_of, u.state, u.params::json, u.backend, u.worker_host, u.worker_pid,
                  u.budget, u.rung_iteration, u.rung_bracket, u.rung_round, u.parent, u.initial_epoch,
                  u.value, u.epochs, u.stop_reason, u.error, u.duration_s, u.diagnostics::json,
                  u.started_at::timestamptz, u.finished_at::timestamptz, now()
             FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[],
                         $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[],
                         $16::float8[], $17::bigint[], $18::text[], $19::text[], $20::float8[], $21::text[], $22::text[], $23::text[])
               AS u (number, slot, retry_of, state, params, backend, worker_host, worker_pid,
                     budget, rung_iteration, rung_bracket, rung_round, parent, initial_epoch,
                     value, epochs, stop_reason, error, duration_s, diagnostics, started_at, finished_at)
           ORDER BY u.number
           RETURNING id, number`,
          [
            study.id, cols.number, cols.slot, cols.retryOf, cols.state, cols.params, cols.backend, cols.workerHost, cols.workerPid,
            cols.budget, cols.rungIteration, cols.rungBracket, cols.rungRound, cols.parent, cols.initialEpoch,
            cols.value, cols.epochs, cols.stopReason, cols.error, cols.durationS, cols.diagnostics, cols.startedAt, cols.finishedAt,
          ],
        );
        const idOf = new Map(ids.rows.map((r) => [r.number, r.id]));
        if (metric.name.length > 0) {
          await c.query(
            `INSERT INTO trial_metrics (trial_id, study_id, name, value, position)
             SELECT u.trial_id, $1, u.name, u.value, u.position
               FROM unnest($2::bigint[], $3::text[], $4::float8[], $5::int[]) AS u (trial_id, name, value, position)`,
            [study.id, metric.number.map((n) => idOf.get(n)!), metric.name, metric.value, metric.position],
          );
        }
        if (epoch.number.length > 0) {
          await c.query(
            `INSERT INTO trial_epochs (trial_id, ${EPOCH_COLUMNS})
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::float8[], $4::float8[], $5::float8[], $6::float8[],
                                  $7::float8[], $8::float8[], $9::float8[], $10::float8[], $11::float8[])`,
            [epoch.number.map((n) => idOf.get(n)!), ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(column)],
          );
        }
        // One statement per checkpoint: each is sent as binary, not as hex inside an array.
        for (const { trial: t } of trials) {
          if (t.checkpoint === undefined) continue;
          await c.query(`INSERT INTO checkpoints (trial_id, data) VALUES ($1, $2)`, [idOf.get(t.number)!, checkpointBuffer(t.checkpoint)]);
        }
        return study;
      });
    } catch (e) {
      if (isUniqueViolation(e, 'studies_name_unique')) throw new StudyExistsError(dump.study.name);
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async loadTrial(c: Queryable, trialId: number): Promise<TrialRecord | undefined> {
    const { rows } = await c.query<TrialRow>(
      `SELECT ${TRIAL_COLUMNS}, m.metric_names, m.metric_values FROM trials t ${METRICS_OF_T} WHERE t.id = $1`,
      [trialId],
    );
    return rows[0] && toTrial(rows[0]);
  }
}
