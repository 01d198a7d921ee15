import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { TrialNotRunningError } from '../../../src/trials/storage/types';
import { complete, count, create, epoch, failed, plan, raw, runChild, study, tempFiles, withStorage } from './fixtures';

const files = tempFiles('tune-checkpoint-');

/** `n` random bytes as a plain Uint8Array (not a Buffer). */
function randomCheckpoint(n: number): Uint8Array {
  const b = randomBytes(n);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

describe('checkpoints', () => {
  test('finishTrial stores the checkpoint with the outcome; 3 MB of random bytes round-trip exactly', async () => {
    const file = files.next();
    await withStorage(file, async (s) => {
      const st = await s.createStudy(study('c'));
      const t = await create(s, st.id, plan());
      assert.equal(await s.getCheckpoint(t.id), undefined);
      const bytes = randomCheckpoint(3 * 1024 * 1024);
      const sent = bytes.slice();
      const done = await s.finishTrial(t.id, complete(0.5), bytes);
      assert.equal(done.state, 'complete');
      bytes.fill(0); // the caller's array is not kept

      const got = await s.getCheckpoint(t.id);
      assert.ok(got instanceof Uint8Array);
      assert.equal(Object.getPrototypeOf(got), Uint8Array.prototype, 'a plain Uint8Array, not a Buffer');
      assert.equal(got.byteOffset, 0);
      assert.equal(got.buffer.byteLength, sent.byteLength, 'its .buffer is exactly the checkpoint');
      assert.ok(Buffer.from(got).equals(Buffer.from(sent)));
      got.fill(7); // a copy: changing it changes nothing stored
      assert.ok(Buffer.from((await s.getCheckpoint(t.id))!).equals(Buffer.from(sent)));
      assert.deepEqual(await s.listCheckpoints(st.id), [{ trialId: t.id, bytes: sent.byteLength }]);
    });
    const stored = raw(file, (db) => db.prepare(`SELECT typeof(data) AS type, length(data) AS n, bytes FROM checkpoints`).get());
    assert.deepEqual(stored, { type: 'blob', n: 3 * 1024 * 1024, bytes: 3 * 1024 * 1024 });
  });

  test('a view into a larger buffer stores only the view; an empty checkpoint is stored as empty', async () => {
    await withStorage(files.next(), async (s) => {
      const st = await s.createStudy(study('v'));
      const whole = new Uint8Array([9, 9, 1, 2, 3, 9]);
      const a = await create(s, st.id, plan());
      await s.finishTrial(a.id, complete(1), whole.subarray(2, 5));
      assert.deepEqual(await s.getCheckpoint(a.id), new Uint8Array([1, 2, 3]));
      const b = await create(s, st.id, plan());
      await s.finishTrial(b.id, failed(), Buffer.alloc(0)); // a Buffer is a Uint8Array too; failed trials may keep one
      assert.deepEqual(await s.getCheckpoint(b.id), new Uint8Array(0));
      assert.deepEqual(await s.listCheckpoints(st.id), [{ trialId: a.id, bytes: 3 }, { trialId: b.id, bytes: 0 }]);
    });
  });

  test('without a checkpoint none is stored; a non-Uint8Array is refused and the trial stays running', async () => {
    await withStorage(files.next(), async (s) => {
      const st = await s.createStudy(study('n'));
      const a = await create(s, st.id, plan());
      await s.finishTrial(a.id, complete(1));
      assert.equal(await s.getCheckpoint(a.id), undefined);
      const b = await create(s, st.id, plan());
      await assert.rejects(s.finishTrial(b.id, complete(1), [1, 2, 3] as unknown as Uint8Array), /a checkpoint must be a Uint8Array/);
      assert.equal((await s.getTrial(st.id, 1))!.state, 'running');
      assert.deepEqual(await s.listCheckpoints(st.id), []);
      assert.equal(await s.getCheckpoint(12345), undefined);
    });
  });

  test('a checkpoint already there is replaced by the one finishTrial writes', async () => {
    const file = files.next();
    await withStorage(file, async (s) => {
      const st = await s.createStudy(study('r'));
      const t = await create(s, st.id, plan());
      // A stale row for a running trial, written behind the engine's back.
      raw(file, (db) =>
        db.prepare(`INSERT INTO checkpoints (trial_id, data, bytes, created_at) VALUES (?, ?, 4, 'then')`).run(t.id, Buffer.from([1, 1, 1, 1])),
      );
      assert.deepEqual(await s.getCheckpoint(t.id), new Uint8Array([1, 1, 1, 1]));
      await s.finishTrial(t.id, complete(1), new Uint8Array([2, 2]));
      assert.deepEqual(await s.getCheckpoint(t.id), new Uint8Array([2, 2]));
      assert.deepEqual(await s.listCheckpoints(st.id), [{ trialId: t.id, bytes: 2 }]);
    });
    assert.deepEqual(
      raw(file, (db) => db.prepare(`SELECT COUNT(*) AS n, MIN(created_at) <> 'then' AS fresh FROM checkpoints`).get()),
      { n: 1, fresh: 1 },
    );
  });

  test('a finished trial refuses another finish, and its checkpoint is unchanged', async () => {
    await withStorage(files.next(), async (s) => {
      const st = await s.createStudy(study('ro'));
      const t = await create(s, st.id, plan());
      const first = randomCheckpoint(10_000);
      const done = await s.finishTrial(t.id, complete(1), first);
      await assert.rejects(
        s.finishTrial(t.id, complete(0.1), randomCheckpoint(20_000)),
        (e: unknown) => e instanceof TrialNotRunningError && e.state === 'complete',
      );
      assert.deepEqual(await s.getCheckpoint(t.id), first);
      assert.deepEqual(await s.listCheckpoints(st.id), [{ trialId: t.id, bytes: 10_000 }]);
      assert.deepEqual(await s.getTrial(st.id, 0), done);
    });
  });

  test('listCheckpoints is per study, in number order; deleteCheckpoints removes only those named', async () => {
    await withStorage(files.next(), async (s) => {
      const a = await s.createStudy(study('a'));
      const b = await s.createStudy(study('b'));
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = await create(s, a.id, plan());
        const o = await create(s, b.id, plan());
        ids.push(t.id);
        if (i !== 2) await s.finishTrial(t.id, complete(i), new Uint8Array(i + 1).fill(i));
        await s.finishTrial(o.id, complete(i), new Uint8Array([42]));
      }
      const expected = [0, 1, 3, 4].map((i) => ({ trialId: ids[i]!, bytes: i + 1 }));
      assert.deepEqual(await s.listCheckpoints(a.id), expected);
      assert.equal((await s.listCheckpoints(b.id)).length, 5);
      assert.deepEqual(await s.listCheckpoints(12345), []);

      // ids[2] has none and 999999 is no trial: both are ignored.
      await s.deleteCheckpoints([ids[0]!, ids[2]!, ids[3]!, 999999]);
      assert.deepEqual(await s.listCheckpoints(a.id), [expected[1], expected[3]]);
      assert.equal(await s.getCheckpoint(ids[0]!), undefined);
      assert.deepEqual(await s.getCheckpoint(ids[4]!), new Uint8Array(5).fill(4));
      await s.deleteCheckpoints([]);
      assert.equal((await s.listCheckpoints(b.id)).length, 5);
      await assert.rejects(s.deleteCheckpoints([ids[1]!, 1.5]), /a trial id must be an integer/);
      assert.equal((await s.listCheckpoints(a.id)).length, 2, 'a refused list deletes nothing');
      // The trials themselves are untouched.
      assert.equal((await s.getTrials(a.id)).filter((t) => t.state === 'complete').length, 4);
    });
  });

  test('deleting a study deletes its checkpoints (cascade)', async () => {
    const file = files.next();
    await withStorage(file, async (s) => {
      for (const name of ['gone', 'kept']) {
        const st = await s.createStudy(study(name));
        for (let i = 0; i < 3; i++) await s.finishTrial((await create(s, st.id, plan())).id, complete(i), randomCheckpoint(1000));
      }
      assert.equal(await s.deleteStudy('gone'), true);
      assert.equal((await s.listCheckpoints((await s.getStudy('kept'))!.id)).length, 3);
    });
    assert.deepEqual(raw(file, (db) => [count(db, 'trials'), count(db, 'checkpoints')]), [3, 3]);
  });
});

describe('crash safety', () => {
  test('kill -9 between writing the checkpoint and committing leaves the trial running, with no checkpoint and no metrics', async () => {
    const file = files.next();
    const { studyId, trialId } = await withStorage(file, async (s) => {
      const st = await s.createStudy(study('crash'));
      const t = await create(s, st.id, plan());
      await s.reportEpoch(t.id, epoch(0));
      return { studyId: st.id, trialId: t.id };
    });
    const r = await runChild(
      `const s = SqliteStorage.open(process.env.FILE);
       await s.finishTrial(${trialId}, { state: 'complete', value: 1, metrics: { val_loss: 1 }, epochs: 1, stopReason: 'max_epochs', durationS: 1 },
         new Uint8Array(1024 * 1024).fill(3));
       console.log('not reached');`,
      { FILE: file, TUNE_FAULT: 'checkpoint-write' },
    );
    assert.equal(r.signal, 'SIGKILL', `the child should have killed itself: ${r.stderr}`);
    assert.equal(r.stdout, '');
    await withStorage(file, async (s) => {
      const t = (await s.getTrial(studyId, 0))!;
      assert.equal(t.state, 'running');
      assert.deepEqual(t.metrics, {});
      assert.ok(!('value' in t) && !('finishedAt' in t));
      assert.equal(await s.getCheckpoint(trialId), undefined);
      assert.deepEqual(await s.listCheckpoints(studyId), []);
      assert.deepEqual(await s.getHistory(trialId), [epoch(0)]);
      // The orphan is then interrupted and re-run as a new trial of the same slot.
      await s.interruptTrial(trialId, 'worker died');
      const rerun = await create(s, studyId, plan({ slot: t.slot, retryOf: 0 }));
      assert.equal(rerun.number, 1);
    });
    assert.equal(raw(file, (db) => db.pragma('integrity_check', { simple: true })), 'ok');
  });

  test('the fault point is a no-op unless TUNE_FAULT names it', async () => {
    const file = files.next();
    const trialId = await withStorage(file, async (s) => (await create(s, (await s.createStudy(study('f'))).id, plan())).id);
    const r = await runChild(
      `const s = SqliteStorage.open(process.env.FILE);
       await s.finishTrial(${trialId}, { state: 'failed', metrics: {}, epochs: 0, stopReason: 'error', durationS: 0 }, new Uint8Array([1]));
       await s.close();
       console.log('done');`,
      { FILE: file, TUNE_FAULT: 'some-other-point' },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'done');
    await withStorage(file, async (s) => assert.deepEqual(await s.getCheckpoint(trialId), new Uint8Array([1])));
  });
});

describe('timing', () => {
  test('bookkeeping of one trial: createTrial (10 params) + 50 reportEpoch + finishTrial (8 metrics), reported, not asserted', async (t) => {
    const n = 200;
    await withStorage(files.next(), async (s) => {
      const st = await s.createStudy(study('book'));
      const params = { units: 32, layers: 2, lr: 0.001, optimizer: 'adam', dropout: 0.1, batch: 64, act: 'relu', l2: 1e-4, bn: true, epochs: 50 };
      const metrics = { val_loss: 0.5, loss: 0.4, mae: 0.3, val_mae: 0.35, mse: 0.2, val_mse: 0.25, r2: 0.9, val_r2: NaN };
      const start = performance.now();
      for (let i = 0; i < n; i++) {
        const trial = await create(s, st.id, plan({ params: { ...params, units: i } }));
        for (let e = 0; e < 50; e++) {
          await s.reportEpoch(trial.id, { epoch: e, loss: 1 / (e + 1), val_loss: 1, mae: 0.5, val_mae: 0.6, mse: 0.25, val_mse: 0.3, lr: 0.001, seconds: 0.01 });
        }
        await s.finishTrial(trial.id, { state: 'complete', value: 0.5, metrics, epochs: 50, stopReason: 'max_epochs', durationS: 1 });
      }
      const ms = (performance.now() - start) / n;
      t.diagnostic(`one trial's bookkeeping (file, WAL, synchronous=NORMAL), mean of ${n}: ${ms.toFixed(3)} ms`);
      assert.equal((await s.getTrials(st.id)).length, n);
    });
  });

  test('time to write a 2.5 MB checkpoint via finishTrial (reported, not asserted)', async (t) => {
    const size = 2.5 * 1024 * 1024;
    await withStorage(files.next(), async (s) => {
      const st = await s.createStudy(study('time'));
      const ms: number[] = [];
      for (let i = 0; i < 7; i++) {
        const trial = await create(s, st.id, plan());
        const bytes = randomCheckpoint(size);
        const start = performance.now();
        await s.finishTrial(trial.id, complete(i), bytes);
        ms.push(performance.now() - start);
      }
      const bare: number[] = [];
      for (let i = 0; i < 7; i++) {
        const trial = await create(s, st.id, plan());
        const start = performance.now();
        await s.finishTrial(trial.id, complete(i));
        bare.push(performance.now() - start);
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      t.diagnostic(
        `finishTrial with a 2.5 MB checkpoint (file, WAL, synchronous=NORMAL): median ${median(ms).toFixed(2)} ms ` +
          `[${ms.map((x) => x.toFixed(1)).join(', ')}]; without a checkpoint: median ${median(bare).toFixed(2)} ms`,
      );
      assert.equal((await s.listCheckpoints(st.id)).length, 7);
    });
  });
});
