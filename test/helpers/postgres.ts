/**
 * A throwaway PostgreSQL cluster for tests: initdb into a temp directory, a
 * server on a free loopback port (trust auth, user `tune`, fsync off), one
 * fresh database per `createDatabase()`, and `stop()` that kills the server
 * and removes the directory.
 *
 * The server binaries (initdb, pg_ctl) are looked up on PATH, then in
 * /usr/lib/postgresql/<version>/bin (Debian's layout, newest first). When
 * they are missing `startPostgres` THROWS: a missing server is a test
 * failure, never a silent skip (CI installs Debian's `postgresql`, see
 * .ci/run).
 *
 * initdb refuses to run as root, so as root every server command runs as the
 * `postgres` user through `runuser -u postgres --`, in a directory chowned to
 * it; as any other user they run directly.
 *
 * Usage, once per test file:
 *
 *     let pg: PgCluster;
 *     before(async () => { pg = await startPostgres(); });
 *     after(() => pg?.stop());
 *     … const url = await pg.createDatabase();
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface PgCluster {
  /** The loopback port the server listens on. */
  readonly port: number;
  /** `postgresql://tune@127.0.0.1:PORT/<db>`. */
  url(db: string): string;
  /** Creates a fresh, empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Runs one statement as the superuser `tune` on database `db` (default: `postgres`). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[], db?: string): Promise<R[]>;
  /** Stops the server at once (`-m immediate`) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** The directory holding initdb and pg_ctl (searched in `searchPath`, then under `root`); throws when there is none. */
export function findPostgresBin(searchPath = process.env.PATH ?? '', root = '/usr/lib/postgresql'): string {
  const hasBoth = (dir: string) => ['initdb', 'pg_ctl'].every((b) => isExecutable(path.join(dir, b)));
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir && hasBoth(dir)) return dir;
  }
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const dir = path.join(root, v, 'bin');
    if (hasBoth(dir)) return dir;
  }
  throw new Error(
    `PostgreSQL server binaries (initdb, pg_ctl) were found neither on PATH nor in ${root}/*/bin: ` +
      'install PostgreSQL 15 (Debian: apt-get install -y postgresql) — the PostgreSQL storage tests need a server',
  );
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** A port nothing listens on right now (the kernel's pick for port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** [command, args] running `bin/name args` as the postgres user when we are root. */
function asServerUser(bin: string, name: string, args: string[]): [string, string[]] {
  const file = path.join(bin, name);
  return isRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
}

function postgresOwner(): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root, but there is no `postgres` user to run the test server as (initdb refuses root)');
  }
}

let databases = 0;

export async function startPostgres(): Promise<PgCluster> {
  const bin = findPostgresBin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tune-pg-'));
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  if (isRoot) {
    const { uid, gid } = postgresOwner();
    fs.chownSync(dir, uid, gid);
  }
  let running = false;
  let stopped = false;

  const stopSync = () => {
    if (running) {
      running = false;
      try {
        const [cmd, args] = asServerUser(bin, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        execFileSync(cmd, args, { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // A test file that dies before its after() must not leave a server behind.
  process.once('exit', stopSync);

  try {
    const [initCmd, initArgs] = asServerUser(bin, 'initdb', ['-D', data, '-A', 'trust', '-U', 'tune', '-E', 'UTF8', '--locale=C', '--no-sync']);
    await run(initCmd, initArgs, { cwd: dir });

    // The port is free when we look; another process may take it before the
    // server binds it, so try a few.
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const options = [
        `-p ${port}`,
        `-k ${dir}`,
        '-c listen_addresses=127.0.0.1',
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=100',
      ].join(' ');
      // -l: the server's output goes to a file, not to our pipes (which would keep execFile waiting).
      const [cmd, args] = asServerUser(bin, 'pg_ctl', ['-D', data, '-l', log, '-o', options, '-w', '-t', '30', 'start']);
      try {
        await run(cmd, args, { cwd: dir });
        running = true;
        break;
      } catch (e) {
        const serverLog = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
        if (attempt < 3 && /could not bind|Address already in use/i.test(serverLog)) continue;
        throw new Error(`the test PostgreSQL server did not start: ${(e as Error).message}\n${serverLog}`);
      }
    }

    const url = (db: string) => `postgresql://tune@127.0.0.1:${port}/${db}`;
    const query = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], db = 'postgres'): Promise<R[]> => {
      const client = new pg.Client({ connectionString: url(db) });
      await client.connect();
      try {
        return (await client.query<R>(sql, params)).rows;
      } finally {
        await client.end();
      }
    };
    return {
      port,
      url,
      query,
      async createDatabase(name?: string) {
        const db = name ?? `t${++databases}_${process.pid}`;
        if (!/^[a-z_][a-z0-9_]*$/.test(db)) throw new Error(`a test database name must be a plain identifier, got ${db}`);
        await query(`CREATE DATABASE ${db}`);
        return url(db);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        process.removeListener('exit', stopSync);
        if (running) {
          running = false;
          const [cmd, args] = asServerUser(bin, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
          await run(cmd, args).catch(() => undefined);
        }
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    stopped = true;
    process.removeListener('exit', stopSync);
    stopSync();
    throw e;
  }
}
