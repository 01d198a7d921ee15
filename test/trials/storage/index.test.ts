import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../../src/errors';
import { openStorage, storagePath } from '../../../src/trials/storage';

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

  test('PostgreSQL, unknown schemes and empty paths are refused with a UserError', () => {
    for (const url of ['postgresql://u@host/db', 'postgres://host/db']) {
      assert.throws(() => openStorage(url), (e: unknown) => e instanceof UserError && /PostgreSQL storage is not implemented yet/.test(e.message));
    }
    assert.throws(() => storagePath('mysql://host/db'), (e: unknown) => e instanceof UserError && /unknown storage scheme "mysql:\/\/"/.test(e.message));
    assert.throws(() => storagePath('sqlite:tune.db'), (e: unknown) => e instanceof UserError && /sqlite:\/\/\/abs\/path/.test(e.message));
    assert.throws(() => storagePath('sqlite://'), (e: unknown) => e instanceof UserError && /names no file/.test(e.message));
    assert.throws(() => storagePath(''), UserError);
  });

  test('openStorage opens the file a sqlite:/// URL names', async () => {
    const file = path.join(root, 'via-url.db');
    const s = openStorage(`sqlite://${file}`); // file is absolute, so this is sqlite:///…
    await s.createStudy({ name: 'u', metric: 'm', direction: 'min', definition: {}, definitionHash: 'h' });
    await s.close();
    assert.ok(fs.existsSync(file));
    const again = openStorage(file);
    assert.equal((await again.getStudy('u'))!.name, 'u');
    await again.close();
  });
});
