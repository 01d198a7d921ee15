import { UserError } from '../../errors';
import { SqliteStorage } from './sqlite';
import type { Storage } from './types';

export * from './types';
export { SqliteStorage, SCHEMA_VERSION } from './sqlite';

/**
 * Opens the storage a URL names:
 *
 * - a plain path (`tune.db`, `/data/tune.db`, `C:\data\tune.db`): a SQLite
 *   file, relative paths against the working directory;
 * - `sqlite:///abs/path.db`: the absolute path `/abs/path.db` (three slashes,
 *   as in SQLAlchemy and Optuna);
 * - `sqlite://rel/path.db`: the relative path `rel/path.db`;
 * - `:memory:` or `sqlite://:memory:`: a private in-memory database.
 *
 * The path after `sqlite://` is taken literally (no %-decoding, no query
 * string). `postgresql://` / `postgres://` are recognised but not implemented
 * yet. Every refusal is a `UserError`.
 */
export function openStorage(url: string): Storage {
  return SqliteStorage.open(storagePath(url));
}

/** The SQLite path `url` names (exported for tests and messages). */
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
    throw new UserError('', 'PostgreSQL storage is not implemented yet', 'use a SQLite file: a path or sqlite:///abs/path.db');
  } else {
    throw new UserError('', `unknown storage scheme "${scheme}://"`, 'use a SQLite file: a path, sqlite:///abs/path.db or sqlite://relative/path.db');
  }
  if (path === '') throw new UserError('', `the storage URL "${url}" names no file`, 'add a path, e.g. sqlite:///abs/path/tune.db');
  return path;
}
