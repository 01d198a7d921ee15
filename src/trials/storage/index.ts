import { UserError } from '../../errors';
import { PostgresStorage } from './postgres';
import { SqliteStorage } from './sqlite';
import type { Storage } from './types';

export * from './types';
export { SqliteStorage, SCHEMA_VERSION } from './sqlite';
export { PostgresStorage, SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION, redactUrl } from './postgres';

/**
 * Opens the storage a URL names:
 *
 * - a plain path (`tune.db`, `/data/tune.db`, `C:\data\tune.db`): a SQLite
 *   file, relative paths against the working directory;
 * - `sqlite:///abs/path.db`: the absolute path `/abs/path.db` (three slashes,
 *   as in SQLAlchemy and Optuna);
 * - `sqlite://rel/path.db`: the relative path `rel/path.db`;
 * - `:memory:` or `sqlite://:memory:`: a private in-memory database;
 * - `postgresql://USER:PASSWORD@HOST:PORT/DATABASE` (or `postgres://…`, with
 *   libpq-style parameters such as `?sslmode=require`): a PostgreSQL
 *   database, which must exist; tune creates its tables in it.
 *
 * The path after `sqlite://` is taken literally (no %-decoding, no query
 * string). Every refusal is a `UserError`, one line; for PostgreSQL it names
 * the URL without its password (`redactUrl`) and says what to fix.
 */
export async function openStorage(url: string): Promise<Storage> {
  if (isPostgresUrl(url)) return PostgresStorage.open(url);
  return SqliteStorage.open(storagePath(url));
}

/** Whether `url` names a PostgreSQL database (`postgresql://` or `postgres://`). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** The SQLite path `url` names (exported for tests and messages); throws a `UserError` for any other URL. */
export function storagePath(url: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  let path: string;
  if (scheme === undefined) {
    if (/^sqlite:/i.test(url)) {
      throw new UserError('', `"${url}" is not a storage URL tune understands`, 'write sqlite:///abs/path.db or sqlite://relative/path.db');
    }
    path = url;
  } else if (scheme === 'sqlite') {
    path = url.slice('sqlite://'.length);
  } else if (scheme === 'postgresql' || scheme === 'postgres') {
    throw new UserError('', 'a PostgreSQL URL names a database, not a SQLite file', 'open it with openStorage(url)');
  } else {
    throw new UserError(
      '',
      `unknown storage scheme "${scheme}://"`,
      'use a SQLite file (a path, sqlite:///abs/path.db or sqlite://relative/path.db) or postgresql://USER@HOST:PORT/DATABASE',
    );
  }
  if (path === '') throw new UserError('', `the storage URL "${url}" names no file`, 'add a path, e.g. sqlite:///abs/path/tune.db');
  return path;
}
