import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../../src/errors';
import { isPostgresUrl, openStorage, redactUrl, storagePath } from '../../../src/trials/storage';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tune-storage-url-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

describe('storage URLs', () => {
  test('plain paths and sqlite:// URLs name SQLite files', () => {
    assert.equal(storagePath('tune.db'), 'tune.db');
    assert.equal(storagePath('/data/tune.db'), '/data/tune.db');
    assert.equal(storagePath('C:\\data\\tune.db'), 'C:\\data\\tune.db');
    assert.equal(storagePath('sqlite:///data/tune.db'), '/data/tune.db');
    assert.equal(storagePath('sqlite://runs/tune.db'), 'runs/tune.db');
    assert.equal(storagePath('SQLite:///x.db'), '/x.db');
    assert.equal(storagePath(':memory:'), ':memory:');
    assert.equal(storagePath('sqlite://:memory:'), ':memory:');
  });

  test('postgresql:// and postgres:// name PostgreSQL databases, not SQLite files', () => {
    for (const url of ['postgresql://u@host/db', 'postgres://host/db', 'PostgreSQL://host/db']) {
      assert.ok(isPostgresUrl(url));
      assert.throws(() => storagePath(url), (e: unknown) => e instanceof UserError && /a PostgreSQL URL names a database, not a SQLite file/.test(e.message));
    }
    assert.ok(!isPostgresUrl('postgres.db'));
    assert.ok(!isPostgresUrl('sqlite:///postgres://x'));
  });

  test('unknown schemes and empty paths are refused with a UserError', async () => {
    assert.throws(() => storagePath('mysql://host/db'), (e: unknown) => e instanceof UserError && /unknown storage scheme "mysql:\/\/"/.test(e.message));
    await assert.rejects(openStorage('mysql://host/db'), UserError);
    assert.throws(() => storagePath('sqlite:tune.db'), (e: unknown) => e instanceof UserError && /sqlite:\/\/\/abs\/path/.test(e.message));
    assert.throws(() => storagePath('sqlite://'), (e: unknown) => e instanceof UserError && /names no file/.test(e.message));
    assert.throws(() => storagePath(''), UserError);
  });

  test('redactUrl drops the password, from the user info and from parameters', () => {
    assert.equal(redactUrl('postgresql://tune:secret@db.example:5432/runs'), 'postgresql://tune@db.example:5432/runs');
    assert.equal(redactUrl('postgres://tune@db/runs?sslmode=require'), 'postgres://tune@db/runs?sslmode=require');
    assert.equal(redactUrl('postgresql://db/runs?user=tune&password=secret&sslmode=require'), 'postgresql://db/runs?user=tune&sslmode=require');
    assert.equal(redactUrl('postgresql://tune:p%40ss@db/runs'), 'postgresql://tune@db/runs');
  });

  test('openStorage opens the file a sqlite:/// URL names', async () => {
    const file = path.join(root, 'via-url.db');
    const s = await openStorage(`sqlite://${file}`); // file is absolute, so this is sqlite:///…
    await s.createStudy({ name: 'u', metric: 'm', direction: 'min', definition: {}, definitionHash: 'h' });
    await s.close();
    assert.ok(fs.existsSync(file));
    const again = await openStorage(file);
    assert.equal((await again.getStudy('u'))!.name, 'u');
    await again.close();
  });
});
