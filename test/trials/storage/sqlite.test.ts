import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../src/errors';
import { SqliteStorage } from '../../../src/trials/storage/sqlite';
import { StudyExistsError, TrialExistsError, TrialNotRunningError, type TrialRecord } from '../../../src/trials/storage/types';
import { ISO_UTC, complete, count, create, epoch, failed, plan, raw, runChild, study, tempFiles, withStorage } from './fixtures';

const files = tempFiles('tune-storage-');
const freshPath = files.next;

describe('studies', () => {
  test('create and get round-trip, with ISO timestamps and fresh copies', async () => {
    await withStorage(freshPath(), async (s) => {
      const input = study('a', { direction: 'max', metric: 'r2' });
      const created = await s.createStudy(input);
      assert.equal(typeof created.id, 'number');
      assert.match(created.createdAt, ISO_UTC);
      assert.deepEqual({ ...created, id: 0, createdAt: '' }, { ...input, id: 0, createdAt: '' });

      const got = await s.getStudy('a');
      assert.deepEqual(got, created);
      assert.notEqual(got, created);
      (got!.definition as { data: { train: string } }).data.train = 'changed';
      assert.deepEqual((await s.getStudy('a'))!.definition, input.definition);
      assert.equal(await s.getStudy('nope'), undefined);
    });
  });

  test('a taken name is refused with StudyExistsError', async () => {
    await withStorage(freshPath(), async (s) => {
      await s.createStudy(study('dup'));
      await assert.rejects(s.createStudy(study('dup', { metric: 'other' })), (e: unknown) => {
        assert.ok(e instanceof StudyExistsError);
        assert.equal(e.studyName, 'dup');
        assert.match(e.message, /a study named "dup" already exists/);
        return true;
      });
      assert.equal((await s.listStudies()).length, 1);
    });
  });

  test('listStudies: most recent first, counts by state, best by direction', async () => {
    await withStorage(freshPath(), async (s) => {
      const lo = await s.createStudy(study('lo', { direction: 'min' }));
      const hi = await s.createStudy(study('hi', { direction: 'max' }));
      const empty = await s.createStudy(study('empty'));
      for (const st of [lo, hi]) {
        for (const v of [3, 1, 7]) {
          const t = await create(s, st.id, plan());
          await s.finishTrial(t.id, complete(v));
        }
        // A NaN objective never counts as best; neither does a failed, interrupted or running trial.
        const nan = await create(s, st.id, plan());
        await s.finishTrial(nan.id, complete(NaN));
        const bad = await create(s, st.id, plan());
        await s.finishTrial(bad.id, { state: 'failed', value: -100, metrics: {}, epochs: 1, stopReason: 'error', error: 'x', durationS: 0 });
        await create(s, st.id, plan());
        for (let i = 0; i < 2; i++) await s.interruptTrial((await create(s, st.id, plan())).id, 'worker died');
      }
      const list = await s.listStudies();
      assert.deepEqual(list.map((x) => x.study.name), ['empty', 'hi', 'lo']);
      assert.deepEqual(list[0], { study: empty, counts: { running: 0, complete: 0, failed: 0, interrupted: 0 } });
      assert.deepEqual(list[1], { study: hi, counts: { running: 1, complete: 4, failed: 1, interrupted: 2 }, best: 7 });
      assert.deepEqual(list[2], { study: lo, counts: { running: 1, complete: 4, failed: 1, interrupted: 2 }, best: 1 });
    });
  });

  test('deleteStudy cascades to trials, metrics and history, and reports whether it existed', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      const gone = await s.createStudy(study('gone'));
      const kept = await s.createStudy(study('kept'));
      for (const st of [gone, kept]) {
        const t = await create(s, st.id, plan({ params: { a: 1 } }));
        await s.reportEpoch(t.id, { epoch: 0, loss: 1, mae: 1, mse: 1, lr: 0.1, seconds: 0.1 });
        await s.finishTrial(t.id, complete(1));
      }
      assert.equal(await s.deleteStudy('gone'), true);
      assert.equal(await s.deleteStudy('gone'), false);
      assert.equal(await s.getStudy('gone'), undefined);
      assert.deepEqual(await s.getTrials(gone.id), []);
      assert.equal((await s.getTrials(kept.id)).length, 1);
    });
    assert.deepEqual(raw(file, (db) => ['trials', 'trial_metrics', 'trial_epochs'].map((t) => count(db, t))), [1, 1, 1]);
  });
});

describe('trials', () => {
  test('create, report, finish and read back', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('t'));
      const params = { zeta: 3, alpha: 'adam', mid: true, lr: 0.001 };
      const t = await create(s, st.id, plan({ slot: 'r:0', params, backend: 'tensorflow', worker: { host: 'box', pid: 4242 } }));
      assert.deepEqual(t, {
        id: t.id, studyId: st.id, number: 0, slot: 'r:0', state: 'running', params, backend: 'tensorflow',
        worker: { host: 'box', pid: 4242 }, metrics: {}, initialEpoch: 0, startedAt: t.startedAt,
      });
      for (const key of ['retryOf', 'budget', 'rung', 'parent', 'value', 'epochs', 'error', 'finishedAt']) {
        assert.ok(!(key in t), `absent ${key} is left out`);
      }
      assert.match(t.startedAt, ISO_UTC);
      assert.deepEqual(Object.keys(t.params), ['zeta', 'alpha', 'mid', 'lr'], 'parameter order is kept');

      const e0 = { epoch: 0, loss: 2, val_loss: 2.5, mae: 1, val_mae: 1.2, mse: 4, val_mse: 5, lr: 0.001, seconds: 0.25 };
      const e0again = { ...e0, loss: 1.9 };
      const e1 = { epoch: 1, loss: 1.5, mae: 0.9, mse: 3, lr: 0.0005, seconds: 0.2 };
      await s.reportEpoch(t.id, e1);
      await s.reportEpoch(t.id, e0);
      await s.reportEpoch(t.id, e0again); // replaces epoch 0
      assert.deepEqual(await s.getHistory(t.id), [e0again, e1]);

      const finished = await s.finishTrial(t.id, complete(2.5, { mae: 1.2 }));
      assert.equal(finished.state, 'complete');
      assert.equal(finished.value, 2.5);
      assert.deepEqual(finished.metrics, { val_loss: 2.5, mae: 1.2 });
      assert.deepEqual(Object.keys(finished.metrics), ['val_loss', 'mae'], 'metric order is kept');
      assert.equal(finished.epochs, 10);
      assert.equal(finished.stopReason, 'max_epochs');
      assert.equal(finished.durationS, 1.5);
      assert.equal(finished.error, undefined);
      assert.ok(!('error' in finished), 'absent fields are left out, not undefined');
      assert.match(finished.finishedAt!, ISO_UTC);
      assert.deepEqual(await s.getTrial(st.id, 0), finished);
      assert.equal(await s.getTrial(st.id, 1), undefined);
    });
  });

  test('getTrials: number order, metrics of each trial, no history, fresh copies', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('order'));
      const other = await s.createStudy(study('other'));
      // Another study's trials are created in between and never appear; trials finish out of order.
      const created = [];
      for (const n of [0, 1, 2, 3]) {
        created.push(await create(s, st.id, plan({ params: { n } })));
        await s.finishTrial((await create(s, other.id, plan())).id, complete(99));
      }
      for (const n of [2, 0, 3, 1]) {
        const t = created[n]!;
        await s.reportEpoch(t.id, { epoch: 0, loss: n, mae: n, mse: n, lr: 1, seconds: 1 });
        if (n !== 3) await s.finishTrial(t.id, complete(n * 10, { [`m${n}`]: n }));
      }

      const trials = await s.getTrials(st.id);
      assert.deepEqual(trials.map((t) => t.number), [0, 1, 2, 3]);
      assert.deepEqual(trials.map((t) => t.state), ['complete', 'complete', 'complete', 'running']);
      assert.deepEqual(trials.map((t) => t.metrics), [{ val_loss: 0, m0: 0 }, { val_loss: 10, m1: 1 }, { val_loss: 20, m2: 2 }, {}]);
      assert.deepEqual(trials.map((t) => t.params), [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }]);
      assert.deepEqual(Object.keys(trials[0]!.metrics), ['val_loss', 'm0'], 'metric order is kept');
      assert.ok(trials.every((t) => !('history' in t)));

      (trials[0]!.metrics as Record<string, number>).val_loss = -1;
      (trials[0]!.params as Record<string, number>).n = -1;
      const again = await s.getTrials(st.id);
      assert.equal(again[0]!.metrics.val_loss, 0);
      assert.equal(again[0]!.params.n, 0);
    });
  });

  test('a finished trial is read-only', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('ro'));
      const t = await create(s, st.id, plan());
      await s.reportEpoch(t.id, { epoch: 0, loss: 1, mae: 1, mse: 1, lr: 1, seconds: 1 });
      const done = await s.finishTrial(t.id, complete(1));
      const isNotRunning = (e: unknown) => e instanceof TrialNotRunningError && /trial \d+ is complete, not running/.test(e.message);
      await assert.rejects(s.finishTrial(t.id, complete(0.5, { extra: 1 })), isNotRunning);
      await assert.rejects(s.reportEpoch(t.id, { epoch: 0, loss: 9, mae: 9, mse: 9, lr: 9, seconds: 9 }), isNotRunning);
      await assert.rejects(s.reportEpoch(t.id, { epoch: 1, loss: 9, mae: 9, mse: 9, lr: 9, seconds: 9 }), isNotRunning);
      assert.deepEqual(await s.getTrial(st.id, 0), done);
      assert.deepEqual(await s.getHistory(t.id), [{ epoch: 0, loss: 1, mae: 1, mse: 1, lr: 1, seconds: 1 }]);
      await assert.rejects(s.finishTrial(999, complete(1)), /no trial with id 999/);
      await assert.rejects(s.reportEpoch(999, { epoch: 0, loss: 1, mae: 1, mse: 1, lr: 1, seconds: 1 }), /no trial with id 999/);
    });
  });

  test('a refused outcome leaves the trial running', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('bad'));
      const t = await create(s, st.id, plan());
      const { value: _dropped, ...noValue } = complete(1);
      await assert.rejects(s.finishTrial(t.id, noValue), /a complete trial needs its objective value/);
      await assert.rejects(s.finishTrial(t.id, { ...complete(1), metrics: { m: 'x' as unknown as number } }), /metric "m" must be a number/);
      const still = await s.getTrial(st.id, 0);
      assert.equal(still!.state, 'running');
      assert.deepEqual(still!.metrics, {});
      await s.finishTrial(t.id, complete(1));
    });
  });

  test('a failed trial keeps its error, stop reason and non-finite metrics', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('fail'));
      const t = await create(s, st.id, plan({ params: { lr: 10 }, backend: 'wasm' }));
      const error = 'Error: loss became NaN at epoch 3\n    at train (trainer.ts:42)';
      const failed = await s.finishTrial(t.id, {
        state: 'failed',
        metrics: { loss: NaN, mse: Infinity, score: -Infinity },
        epochs: 3,
        stopReason: 'nan',
        error,
        durationS: 0.75,
      });
      const expected = {
        id: t.id, studyId: st.id, number: 0, slot: t.slot, state: 'failed', params: { lr: 10 }, backend: 'wasm',
        worker: { host: 'h', pid: 1 }, initialEpoch: 0, metrics: { loss: NaN, mse: Infinity, score: -Infinity },
        epochs: 3, stopReason: 'nan', error, durationS: 0.75, startedAt: t.startedAt, finishedAt: failed.finishedAt,
      };
      assert.deepEqual(failed, expected); // deepEqual treats NaN as equal to NaN
      assert.ok(!('value' in failed));
      assert.deepEqual(await s.getTrials(st.id), [expected]);
    });
  });
});

describe('trial numbers', () => {
  test('storage numbers trials densely from 0, per study', async () => {
    await withStorage(freshPath(), async (s) => {
      const a = await s.createStudy(study('a'));
      const b = await s.createStudy(study('b'));
      const got: [string, number][] = [];
      for (const [st, name] of [[a, 'a'], [b, 'b'], [a, 'a'], [a, 'a'], [b, 'b'], [a, 'a']] as const) {
        const t = await create(s, st.id, plan());
        got.push([name, t.number]);
        // Finishing or interrupting a trial does not free its number.
        if (t.number % 2 === 0) await s.interruptTrial(t.id, 'x');
        else await s.finishTrial(t.id, complete(1));
      }
      assert.deepEqual(got, [['a', 0], ['b', 0], ['a', 1], ['a', 2], ['b', 1], ['a', 3]]);
      assert.deepEqual((await s.getTrials(a.id)).map((t) => t.number), [0, 1, 2, 3]);
      assert.deepEqual((await s.getTrials(b.id)).map((t) => t.number), [0, 1]);
    });
  });

  test('a refused trial takes no number; an unknown study is refused', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('r'));
      await assert.rejects(s.createTrial(st.id, plan({ params: { lr: NaN } })), /parameter "lr" is NaN/);
      await assert.rejects(s.createTrial(st.id, plan({ parent: 0 })), /parent: study \d+ has no trial number 0/);
      assert.equal((await create(s, st.id, plan())).number, 0);
      await assert.rejects(s.createTrial(12345, plan()), /no study with id 12345/);
    });
  });

  test('two connections on one file, creating trials alternately, never collide', async () => {
    const file = freshPath();
    const a = SqliteStorage.open(file);
    const b = SqliteStorage.open(file);
    try {
      const st = await a.createStudy(study('shared'));
      const taken: number[] = [];
      for (let i = 0; i < 20; i++) {
        const [s, host] = i % 2 === 0 ? [a, 'a'] : [b, 'b'];
        const t = await create(s, st.id, plan({ worker: { host, pid: i } }));
        taken.push(t.number);
        if (i % 3 === 0) await s.finishTrial(t.id, complete(i));
      }
      assert.deepEqual(taken, [...Array(20).keys()]);
      const trials = await b.getTrials(st.id);
      assert.deepEqual(trials.map((t) => t.worker.host), taken.map((n) => (n % 2 === 0 ? 'a' : 'b')));
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('four processes creating, reporting and finishing trials at once get distinct, dense numbers', async () => {
    const file = freshPath();
    const studyId = await withStorage(file, async (s) => (await s.createStudy(study('race'))).id);
    const perWorker = 40;
    const startAt = Date.now() + 1000; // all children start their loops together, after node's startup
    const body = `
      const s = SqliteStorage.open(process.env.FILE);
      while (Date.now() < Number(process.env.START_AT)) {}
      const mine = [];
      for (let i = 0; i < ${perWorker}; i++) {
        const t = await s.createTrial(${studyId}, {
          slot: 'r:' + process.env.WORKER + '.' + i, params: { i }, backend: 'cpu',
          worker: { host: 'w' + process.env.WORKER, pid: process.pid }, initialEpoch: 0,
        });
        await s.reportEpoch(t.id, { epoch: 0, loss: 1, mae: 1, mse: 1, lr: 1, seconds: 1 });
        await s.finishTrial(t.id, { state: 'complete', value: i, metrics: { val_loss: i }, epochs: 1, stopReason: 'max_epochs', durationS: 0 },
          new Uint8Array(4096).fill(i));
        mine.push(t.number);
      }
      await s.close();
      process.stdout.write(JSON.stringify(mine));`;
    const results = await Promise.all(
      [0, 1, 2, 3].map((w) => runChild(body, { FILE: file, START_AT: String(startAt), WORKER: String(w) })),
    );
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const numbers = results.flatMap((r) => JSON.parse(r.stdout) as number[]);
    assert.deepEqual([...numbers].sort((x, y) => x - y), [...Array(4 * perWorker).keys()]);
    await withStorage(file, async (s) => {
      const trials = await s.getTrials(studyId);
      assert.equal(trials.length, 4 * perWorker);
      assert.ok(trials.every((t) => t.state === 'complete'));
      assert.equal((await s.listCheckpoints(studyId)).length, 4 * perWorker);
    });
  });
});

describe('trial plans', () => {
  test('slot, retryOf, budget, rung, parent, worker and initialEpoch round-trip', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('hb'));
      const rung = { iteration: 0, bracket: 4, round: 0 };
      const first = await create(s, st.id, plan({ slot: 'h:0.4.0.0', params: { u: 8 }, budget: 1, rung }));
      await s.interruptTrial(first.id, 'worker died');
      const retry = await create(s, st.id, plan({ slot: 'h:0.4.0.0', params: { u: 8 }, budget: 1, rung, retryOf: 0 }));
      await s.finishTrial(retry.id, complete(0.5));
      const child = await create(s, st.id, {
        slot: 'h:0.4.1.0', params: { u: 8 }, backend: 'wasm', worker: { host: 'gpu-7', pid: 31337 },
        budget: 3, rung: { iteration: 0, bracket: 4, round: 1 }, parent: 1, initialEpoch: 1,
      });
      assert.deepEqual(child, {
        id: child.id, studyId: st.id, number: 2, slot: 'h:0.4.1.0', state: 'running', params: { u: 8 }, backend: 'wasm',
        worker: { host: 'gpu-7', pid: 31337 }, budget: 3, rung: { iteration: 0, bracket: 4, round: 1 }, parent: 1,
        initialEpoch: 1, metrics: {}, startedAt: child.startedAt,
      });
      assert.ok(!('retryOf' in child));
      assert.equal(retry.retryOf, 0);
      assert.ok(!('parent' in retry));
      const finished = await s.finishTrial(child.id, { ...complete(0.4), epochs: 3 });
      assert.equal(finished.epochs, 3);
      assert.equal(finished.initialEpoch, 1);

      const all = await s.getTrials(st.id);
      assert.deepEqual(all.map((t) => [t.number, t.slot, t.retryOf, t.parent, t.budget, t.rung?.round]), [
        [0, 'h:0.4.0.0', undefined, undefined, 1, 0],
        [1, 'h:0.4.0.0', 0, undefined, 1, 0],
        [2, 'h:0.4.1.0', undefined, 1, 3, 1],
      ]);
      assert.deepEqual(all[2], finished);
      assert.deepEqual(await s.getTrial(st.id, 2), finished);
      assert.deepEqual(await s.rankTrials(st.id, { metric: 'val_loss', direction: 'min' }), [finished, all[1]]);
      (all[2]!.rung as { round: number }).round = 99;
      (all[2]!.worker as { pid: number }).pid = 0;
      assert.deepEqual(await s.getTrial(st.id, 2), finished, 'returned records are copies');
    });
  });

  test('bad plans are refused before anything is written', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('bad'));
      await create(s, st.id, plan({ slot: 'g:a' }));
      const cases: [Parameters<typeof plan>[0], RegExp][] = [
        [{ slot: '' }, /slot must be a non-empty string/],
        [{ retryOf: 5 }, /retryOf: study \d+ has no trial number 5/],
        [{ slot: 'g:b', retryOf: 0 }, /trial 0 has slot "g:a", not "g:b": a retry re-runs the same slot/],
        [{ parent: 1 }, /parent: study \d+ has no trial number 1/],
        [{ parent: -1 }, /parent must be a non-negative integer/],
        [{ budget: 0 }, /budget must be at least 1/],
        [{ budget: 2.5 }, /budget must be a non-negative integer/],
        [{ rung: { iteration: 0, bracket: -1, round: 0 } }, /rung bracket must be a non-negative integer/],
        [{ worker: { host: 'h', pid: 1.5 } }, /worker pid must be a non-negative integer/],
        [{ worker: undefined as never }, /needs its worker/],
        [{ initialEpoch: -1 }, /initialEpoch must be a non-negative integer/],
      ];
      for (const [overrides, message] of cases) await assert.rejects(s.createTrial(st.id, plan(overrides)), message);
      assert.equal((await s.getTrials(st.id)).length, 1);
      assert.equal((await create(s, st.id, plan({ slot: 'g:a', retryOf: 0 }))).number, 1);
    });
  });
});

describe('interruptTrial', () => {
  test('running → interrupted, with the reason as its error and its history kept; final afterwards', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('int'));
      const t = await create(s, st.id, plan({ params: { a: 1 } }));
      await s.reportEpoch(t.id, epoch(0, 0.9));
      await s.reportEpoch(t.id, epoch(1, 0.8));
      const reason = 'worker h:1 is gone (no such process)';
      const it = await s.interruptTrial(t.id, reason);
      assert.equal(it.state, 'interrupted');
      assert.equal(it.error, reason);
      assert.match(it.finishedAt!, ISO_UTC);
      for (const key of ['value', 'epochs', 'stopReason', 'durationS']) assert.ok(!(key in it), `${key} stays absent`);
      assert.deepEqual({ ...it, state: 'running', error: undefined, finishedAt: undefined }, { ...t, error: undefined, finishedAt: undefined });
      assert.deepEqual(await s.getHistory(t.id), [epoch(0, 0.9), epoch(1, 0.8)]);
      assert.deepEqual(await s.getTrial(st.id, 0), it);

      const isInterrupted = (e: unknown) => e instanceof TrialNotRunningError && e.state === 'interrupted' && /is interrupted, not running/.test(e.message);
      await assert.rejects(s.interruptTrial(t.id, 'again'), isInterrupted);
      await assert.rejects(s.finishTrial(t.id, complete(1), new Uint8Array([1])), isInterrupted);
      await assert.rejects(s.reportEpoch(t.id, epoch(2)), isInterrupted);
      assert.deepEqual(await s.getTrial(st.id, 0), it);
      assert.equal(await s.getCheckpoint(t.id), undefined);
      assert.deepEqual(await s.rankTrials(st.id, { metric: 'val_loss', direction: 'min' }), []);
    });
  });

  test('a finished trial cannot be interrupted; unknown ids are refused', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('int2'));
      const done = await s.finishTrial((await create(s, st.id, plan())).id, complete(1));
      const bad = await s.finishTrial((await create(s, st.id, plan())).id, failed('oom'));
      await assert.rejects(s.interruptTrial(done.id, 'x'), (e: unknown) => e instanceof TrialNotRunningError && e.state === 'complete');
      await assert.rejects(s.interruptTrial(bad.id, 'x'), (e: unknown) => e instanceof TrialNotRunningError && e.state === 'failed');
      assert.deepEqual(await s.getTrials(st.id), [done, bad]);
      await assert.rejects(s.interruptTrial(999, 'x'), /no trial with id 999/);
    });
  });
});

describe('NaN and Infinity', () => {
  test('round-trip in objective, metrics and history; NaN is stored as the text tag', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      const st = await s.createStudy(study('nan'));
      const t = await create(s, st.id, plan());
      const log = { epoch: 0, loss: NaN, val_loss: NaN, mae: Infinity, mse: -Infinity, val_mse: 1e308, lr: 0, seconds: NaN };
      await s.reportEpoch(t.id, log);
      const history = await s.getHistory(t.id);
      assert.deepEqual(history, [log]);
      assert.ok(Number.isNaN(history[0]!.val_loss), 'a NaN val_loss stays NaN, not absent');
      assert.ok(!('val_mae' in history[0]!), 'an absent val_mae stays absent');

      const done = await s.finishTrial(t.id, { ...complete(NaN), metrics: { val_loss: NaN, up: Infinity, down: -Infinity }, durationS: NaN });
      assert.ok(Number.isNaN(done.value));
      assert.ok(Number.isNaN(done.durationS));
      assert.deepEqual(done.metrics, { val_loss: NaN, up: Infinity, down: -Infinity });
    });
    const stored = raw(file, (db) => ({
      value: db.prepare(`SELECT value, typeof(value) AS type FROM trials`).get(),
      metrics: db.prepare(`SELECT name, value, typeof(value) AS type FROM trial_metrics ORDER BY name`).all(),
    }));
    assert.deepEqual(stored.value, { value: 'NaN', type: 'text' });
    assert.deepEqual(stored.metrics, [
      { name: 'down', value: -Infinity, type: 'real' },
      { name: 'up', value: Infinity, type: 'real' },
      { name: 'val_loss', value: 'NaN', type: 'text' },
    ]);
  });

  test('parameters must be finite (JSON has no NaN)', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await s.createStudy(study('p'));
      await assert.rejects(s.createTrial(st.id, plan({ params: { lr: NaN } })), /parameter "lr" is NaN/);
      assert.equal(await s.getTrial(st.id, 0), undefined);
    });
  });
});

describe('rankTrials', () => {
  /** Trials of study `r` with val_loss values; 'run' = running, 'fail' = failed (with a metric). */
  async function rankFixture(s: SqliteStorage) {
    const st = await s.createStudy(study('r'));
    const other = await s.createStudy(study('other'));
    const values: (number | 'run' | 'fail' | 'none')[] = [0.5, 0.2, 0.5, 0.2, 'run', 'fail', NaN, 'none', Infinity, -Infinity, 0.9];
    const trials: TrialRecord[] = [];
    for (let n = 0; n < values.length; n++) trials.push(await create(s, st.id, plan({ params: { n } })));
    // Finished out of number order, so finishing order cannot stand in for number order.
    for (let n = values.length - 1; n >= 0; n--) {
      const v = values[n]!;
      const t = trials[n]!;
      if (v === 'run') continue;
      if (v === 'fail') await s.finishTrial(t.id, { state: 'failed', metrics: { val_loss: -5 }, epochs: 1, stopReason: 'error', error: 'boom', durationS: 1 });
      else if (v === 'none') await s.finishTrial(t.id, { ...complete(1), metrics: { other: 1 } });
      else await s.finishTrial(t.id, complete(v, { aux: n }));
    }
    // Another study's trials never appear.
    const o = await create(s, other.id, plan());
    await s.finishTrial(o.id, complete(-1000));
    return st;
  }

  test('min and max, ties broken by lower number, limit, metrics included', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await rankFixture(s);
      const min = await s.rankTrials(st.id, { metric: 'val_loss', direction: 'min' });
      assert.deepEqual(min.map((t) => t.number), [9, 1, 3, 0, 2, 10, 8]);
      const max = await s.rankTrials(st.id, { metric: 'val_loss', direction: 'max' });
      assert.deepEqual(max.map((t) => t.number), [8, 10, 0, 2, 1, 3, 9]);
      const top3 = await s.rankTrials(st.id, { metric: 'val_loss', direction: 'min', limit: 3 });
      assert.deepEqual(top3.map((t) => t.number), [9, 1, 3]);
      assert.deepEqual(top3[1]!.metrics, { val_loss: 0.2, aux: 1 });
      assert.deepEqual(top3[1], await s.getTrial(st.id, 1));
      assert.deepEqual(await s.rankTrials(st.id, { metric: 'val_loss', direction: 'min', limit: 0 }), []);
      assert.deepEqual((await s.rankTrials(st.id, { metric: 'aux', direction: 'max', limit: 2 })).map((t) => t.number), [10, 9]);
      assert.deepEqual(await s.rankTrials(st.id, { metric: 'missing', direction: 'min' }), []);
    });
  });

  test('matches a JS sort on a few thousand trials, and the query uses the rank index', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      const st = await s.createStudy(study('big'));
      let seed = 42;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      const values: number[] = [];
      for (let n = 0; n < 3000; n++) {
        const v = Math.round(rand() * 500) / 10; // many ties
        values.push(v);
        const t = await create(s, st.id, plan());
        await s.finishTrial(t.id, complete(v));
      }
      const expected = values
        .map((v, n) => ({ v, n }))
        .sort((a, b) => b.v - a.v || a.n - b.n)
        .slice(0, 50)
        .map((x) => x.n);
      const got = await s.rankTrials(st.id, { metric: 'val_loss', direction: 'max', limit: 50 });
      assert.deepEqual(got.map((t) => t.number), expected);
      assert.deepEqual(got.map((t) => t.value), expected.map((n) => values[n]));

      // The plan walks trial_metrics_rank in value order: no full sort of the study.
      for (const key of ['rankAsc', 'rankDesc'] as const) {
        const source = s['stmt'][key].source;
        const plan = raw(file, (db) =>
          (db.prepare(`EXPLAIN QUERY PLAN ${source}`).all({ studyId: st.id, metric: 'val_loss', limit: 10 }) as { detail: string }[]).map(
            (r) => r.detail,
          ),
        );
        assert.ok(plan.some((d) => /trial_metrics_rank/.test(d)), plan.join('; '));
        assert.ok(!plan.some((d) => /TEMP B-TREE FOR ORDER BY/.test(d)), plan.join('; '));
      }
    });
  });
});

describe('files and schema', () => {
  test('reopening a file keeps the data; two connections see each other', async () => {
    const file = freshPath();
    const before = await withStorage(file, async (s) => {
      const st = await s.createStudy(study('persist'));
      const t = await create(s, st.id, plan({ params: { a: 'b' } }));
      await s.reportEpoch(t.id, { epoch: 0, loss: 1, mae: 2, mse: 3, lr: 4, seconds: 5 });
      await s.finishTrial(t.id, complete(0.25));
      await create(s, st.id, plan());
      return { study: st, trials: await s.getTrials(st.id), history: await s.getHistory(t.id) };
    });
    const a = SqliteStorage.open(file);
    const b = SqliteStorage.open(file);
    try {
      assert.deepEqual(await a.getStudy('persist'), before.study);
      assert.deepEqual(await a.getTrials(before.study.id), before.trials);
      assert.deepEqual(await a.getHistory(before.trials[0]!.id), before.history);
      const running = before.trials[1]!;
      await a.finishTrial(running.id, complete(0.1));
      assert.equal((await b.getTrial(before.study.id, 1))!.state, 'complete');
      await assert.rejects(b.finishTrial(running.id, complete(0.1)), TrialNotRunningError);
    } finally {
      await a.close();
      await b.close();
    }
    assert.equal(raw(file, (db) => db.pragma('journal_mode', { simple: true })), 'wal');
  });

  test('pruned checkpoints give their pages back: a new file vacuums incrementally', async () => {
    const file = freshPath();
    const pages = (): { count: number; free: number } =>
      raw(file, (db) => ({ count: db.pragma('page_count', { simple: true }) as number, free: db.pragma('freelist_count', { simple: true }) as number }));
    await withStorage(file, async (s) => {
      const st = await s.createStudy(study('vacuum'));
      const ids: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t = await create(s, st.id, plan({ slot: `r:${i}` }));
        // 2 MB each, like a 3×300 MLP's checkpoint with its Adam moments.
        await s.finishTrial(t.id, complete(i), new Uint8Array(2_000_000).fill(i + 1));
        ids.push(t.id);
      }
      const full = pages();
      await s.deleteCheckpoints(ids.slice(0, 2));
      const pruned = pages();
      assert.equal(pruned.free, 0);
      // Two of three 2 MB blobs gone: the file is about a third of what it was.
      assert.ok(pruned.count < full.count / 2, `${pruned.count} pages after, ${full.count} before`);
      assert.equal((await s.getCheckpoint(ids[2]!))?.length, 2_000_000);
    });
    assert.equal(raw(file, (db) => db.pragma('auto_vacuum', { simple: true })), 2);
  });

  test('a SQLite file of another application is refused and left untouched', () => {
    const file = freshPath();
    raw(file, (db) => db.exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ann')`));
    assert.throws(() => SqliteStorage.open(file), (e: unknown) => e instanceof UserError && /not a tune storage: .*other tables \(users\) and no tune_meta/.test(e.message));
    const tables = raw(file, (db) => db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table'`).pluck().all());
    assert.deepEqual(tables, ['users']);
  });

  test('a file that is not SQLite, or a missing directory, is refused clearly', () => {
    const text = path.join(files.dir, 'notes.txt');
    fs.writeFileSync(text, 'these are not the tables you are looking for\n'.repeat(200));
    assert.throws(() => SqliteStorage.open(text), (e: unknown) => e instanceof UserError && /not a tune storage: the file is not a SQLite database/.test(e.message));
    assert.throws(
      () => SqliteStorage.open(path.join(files.dir, 'no', 'such', 'dir', 'x.db')),
      (e: unknown) => e instanceof UserError && /cannot open the storage/.test(e.message),
    );
  });

  test(':memory: works and is private to its connection', async () => {
    await withStorage(':memory:', async (s) => {
      const st = await s.createStudy(study('mem'));
      assert.equal((await s.listStudies()).length, 1);
      assert.equal((await s.getStudy('mem'))!.id, st.id);
    });
    await withStorage(':memory:', async (s) => assert.deepEqual(await s.listStudies(), []));
  });

  test('close is idempotent and later calls fail', async () => {
    const s = SqliteStorage.open(freshPath());
    await s.close();
    await s.close();
    await assert.rejects(s.listStudies(), /not open/);
  });
});

describe('claims', () => {
  test('a plan someone holds is lost: undefined, nothing written, no number used', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      const st = await s.createStudy(study('claim'));
      const other = await s.createStudy(study('other'));
      const first = await create(s, st.id, plan({ slot: 'g:a' }));
      assert.equal(await s.createTrial(st.id, plan({ slot: 'g:a' })), undefined, 'a second first attempt');
      await s.interruptTrial(first.id, 'worker died');
      const retry = await create(s, st.id, plan({ slot: 'g:a', retryOf: 0 }));
      assert.equal(retry.number, 1);
      assert.equal(await s.createTrial(st.id, plan({ slot: 'g:a', retryOf: 0 })), undefined, 'a second retry of 0');
      assert.equal(await s.createTrial(st.id, plan({ slot: 'g:a' })), undefined, 'a first attempt at a slot only a retry is running');
      await s.finishTrial(retry.id, failed());
      assert.equal((await create(s, st.id, plan({ slot: 'g:a', retryOf: 1 }))).number, 2, 'the retry can be retried');
      // Slots are per study.
      assert.equal((await create(s, other.id, plan({ slot: 'g:a' }))).number, 0);
      assert.equal((await create(s, st.id, plan({ slot: 'g:b' }))).number, 3, 'lost claims took no number');
      // A retry's mistakes are still errors, not lost claims.
      await assert.rejects(s.createTrial(st.id, plan({ slot: 'g:b', retryOf: 0 })), /trial 0 has slot "g:a", not "g:b"/);
      await assert.rejects(s.createTrial(st.id, plan({ slot: 'g:a', retryOf: 9 })), /has no trial number 9/);
      assert.deepEqual((await s.getTrials(st.id)).map((t) => [t.number, t.slot, t.retryOf]), [
        [0, 'g:a', undefined],
        [1, 'g:a', 0],
        [2, 'g:a', 1],
        [3, 'g:b', undefined],
      ]);
    });
    assert.equal(raw(file, (db) => count(db, 'trials')), 5);
  });

  test('the unique indexes hold a claim a writer did not check; a number taken twice is TrialExistsError', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      const st = await s.createStudy(study('defence'));
      await create(s, st.id, plan({ slot: 'g:a' }));
      await create(s, st.id, plan({ slot: 'g:a', retryOf: 0 }));
      // Blind the engine's own checks: the indexes alone turn the inserts into lost claims.
      const stmt = s['stmt'] as unknown as Record<string, { get(...a: unknown[]): unknown }>;
      const saved = { slotClaimed: stmt.slotClaimed!, retryClaimed: stmt.retryClaimed!, nextNumber: stmt.nextNumber! };
      stmt.slotClaimed = stmt.retryClaimed = { get: () => undefined };
      try {
        assert.equal(await s.createTrial(st.id, plan({ slot: 'g:a' })), undefined);
        assert.equal(await s.createTrial(st.id, plan({ slot: 'g:a', retryOf: 0 })), undefined);
        stmt.nextNumber = { get: () => ({ number: 1 }) };
        await assert.rejects(s.createTrial(st.id, plan({ slot: 'g:z' })), (e: unknown) => e instanceof TrialExistsError && e.trialNumber === 1);
      } finally {
        Object.assign(stmt, saved);
      }
      assert.equal((await s.getTrials(st.id)).length, 2);
    });
    // And against raw SQL.
    raw(file, (db) => {
      const insert = db.prepare(
        `INSERT INTO trials (study_id, number, slot, retry_of, state, params_json, backend, worker_host, worker_pid, started_at)
         VALUES (1, ?, ?, ?, 'running', '{}', 'cpu', 'h', 1, 'now')`,
      );
      assert.throws(() => insert.run(7, 'g:a', null), /UNIQUE constraint failed: trials\.study_id, trials\.slot/);
      assert.throws(() => insert.run(7, 'g:a', 0), /UNIQUE constraint failed: trials\.study_id, trials\.retry_of/);
      insert.run(7, 'g:a', 1); // a retry of the retry is a new claim
    });
  });

  test('two connections racing for the same plans: each is created once, the loser gets undefined', async () => {
    const file = freshPath();
    const a = SqliteStorage.open(file);
    const b = SqliteStorage.open(file);
    try {
      const st = await a.createStudy(study('race2'));
      const won: Record<string, string[]> = { a: [], b: [] };
      for (let i = 0; i < 30; i++) {
        const slot = `g:${i}`;
        // Alternate who asks first; both ask for the same plan.
        const order: [string, SqliteStorage][] = i % 2 === 0 ? [['a', a], ['b', b]] : [['b', b], ['a', a]];
        const got = await Promise.all(order.map(([, s]) => s.createTrial(st.id, plan({ slot, worker: { host: 'x', pid: i } }))));
        assert.equal(got.filter((t) => t !== undefined).length, 1, slot);
        order.forEach(([name], k) => got[k] && won[name]!.push(slot));
      }
      assert.equal(won.a!.length + won.b!.length, 30);
      // Both retry trial 0 (interrupted): one retry.
      await a.interruptTrial((await a.getTrial(st.id, 0))!.id, 'worker died');
      const retries = await Promise.all([a, b].map((s) => s.createTrial(st.id, plan({ slot: 'g:0', retryOf: 0 }))));
      assert.deepEqual(retries.map((t) => t?.number), [30, undefined]);
      const trials = await b.getTrials(st.id);
      assert.deepEqual(trials.map((t) => t.number), [...Array(31).keys()]);
      assert.equal(new Set(trials.filter((t) => t.retryOf === undefined).map((t) => t.slot)).size, 30);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('four processes racing for the same plans and retries: each claimed exactly once, losers get undefined, no errors', async () => {
    const file = freshPath();
    const studyId = await withStorage(file, async (s) => (await s.createStudy(study('race4'))).id);
    const slots = 60;
    const startAt = Date.now() + 1000;
    // Every worker asks for every first attempt, then for a retry of every failed first attempt.
    const body = `
      const s = SqliteStorage.open(process.env.FILE);
      while (Date.now() < Number(process.env.START_AT)) {}
      const worker = { host: 'w' + process.env.WORKER, pid: process.pid };
      const won = [], retried = [];
      let lostFirst = 0, lostRetry = 0;
      for (let i = 0; i < ${slots}; i++) {
        const t = await s.createTrial(${studyId}, { slot: 'g:' + i, params: { i }, backend: 'cpu', worker, initialEpoch: 0 });
        if (!t) { lostFirst++; continue; }
        won.push(t.slot);
        await s.finishTrial(t.id, { state: 'failed', metrics: {}, epochs: 0, stopReason: 'error', error: 'x', durationS: 0 });
      }
      for (let i = 0; i < ${slots}; i++) {
        const attempt = (await s.getTrials(${studyId})).find((t) => t.slot === 'g:' + i && t.retryOf === undefined);
        if (!attempt || attempt.state === 'running') continue; // not finished yet by its winner: someone else's retry
        const t = await s.createTrial(${studyId}, { slot: attempt.slot, retryOf: attempt.number, params: { i }, backend: 'cpu', worker, initialEpoch: 0 });
        if (!t) { lostRetry++; continue; }
        retried.push(attempt.number);
      }
      await s.close();
      process.stdout.write(JSON.stringify({ won, retried, lostFirst, lostRetry }));`;
    const results = await Promise.all(
      [0, 1, 2, 3].map((w) => runChild(body, { FILE: file, START_AT: String(startAt), WORKER: String(w) })),
    );
    for (const r of results) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
    }
    const outs = results.map((r) => JSON.parse(r.stdout) as { won: string[]; retried: number[]; lostFirst: number; lostRetry: number });
    const won = outs.flatMap((o) => o.won);
    assert.deepEqual([...won].sort(), [...Array(slots).keys()].map((i) => `g:${i}`).sort(), 'every slot won exactly once');
    assert.equal(outs.reduce((n, o) => n + o.lostFirst, 0), 3 * slots, 'the three others lost each slot');
    await withStorage(file, async (s) => {
      const trials = await s.getTrials(studyId);
      assert.deepEqual(trials.map((t) => t.number), [...Array(trials.length).keys()], 'dense numbers');
      const firsts = trials.filter((t) => t.retryOf === undefined);
      const retries = trials.filter((t) => t.retryOf !== undefined);
      assert.equal(firsts.length, slots);
      assert.equal(new Set(firsts.map((t) => t.slot)).size, slots);
      // The last worker to reach the retries finds every attempt finished and asks for them all.
      assert.equal(retries.length, slots, 'every attempt retried');
      assert.equal(new Set(retries.map((t) => t.retryOf)).size, slots, 'no attempt retried twice');
      assert.deepEqual(
        retries.map((t) => t.retryOf).sort((x, y) => x! - y!),
        outs.flatMap((o) => o.retried).sort((x, y) => x - y),
      );
      for (const r of retries) assert.equal(r.slot, trials[r.retryOf!]!.slot);
    });
  });

  test("four SQLite writers hammering one file never surface 'database is locked'", async () => {
    const file = freshPath();
    const studyId = await withStorage(file, async (s) => (await s.createStudy(study('hammer'))).id);
    const cycles = 250;
    const startAt = Date.now() + 1000;
    // Each cycle: claim a trial (a quarter of the slots are shared, so claims collide),
    // 3 epochs with heartbeats, a read of the study, finish it with a checkpoint;
    // now and then sweep stale trials (a write transaction too).
    const body = `
      const s = SqliteStorage.open(process.env.FILE);
      while (Date.now() < Number(process.env.START_AT)) {}
      const w = Number(process.env.WORKER);
      let done = 0, lost = 0;
      for (let i = 0; i < ${cycles}; i++) {
        const slot = i % 4 === 0 ? 'shared:' + i : 'w' + w + ':' + i;
        const t = await s.createTrial(${studyId}, { slot, params: { i, w }, backend: 'cpu', worker: { host: 'w' + w, pid: process.pid }, initialEpoch: 0 });
        if (!t) { lost++; continue; }
        for (let e = 0; e < 3; e++) {
          await s.reportEpoch(t.id, { epoch: e, loss: 1 / (e + 1), val_loss: NaN, mae: 1, mse: 1, lr: 0.1, seconds: 0.01 });
          await s.heartbeat(t.id);
        }
        if (i % 10 === 0) await s.getTrials(${studyId});
        if (i % 25 === 0) await s.interruptStale(${studyId}, 3600, 'stale');
        await s.finishTrial(t.id, { state: 'complete', value: i, metrics: { val_loss: i, w }, epochs: 3, stopReason: 'max_epochs', durationS: 0 },
          new Uint8Array(2048).fill(w));
        done++;
      }
      await s.close();
      process.stdout.write(JSON.stringify({ done, lost }));`;
    const results = await Promise.all(
      [0, 1, 2, 3].map((w) => runChild(body, { FILE: file, START_AT: String(startAt), WORKER: String(w) })),
    );
    for (const r of results) {
      assert.doesNotMatch(r.stderr, /database is locked|SQLITE_BUSY/);
      assert.equal(r.code, 0, r.stderr);
    }
    const outs = results.map((r) => JSON.parse(r.stdout) as { done: number; lost: number });
    const shared = Math.ceil(cycles / 4);
    assert.equal(outs.reduce((n, o) => n + o.lost, 0), 3 * shared, 'each shared slot won by one worker');
    await withStorage(file, async (s) => {
      const trials = await s.getTrials(studyId);
      assert.equal(trials.length, 4 * cycles - 3 * shared);
      assert.ok(trials.every((t) => t.state === 'complete'));
      assert.equal((await s.getHistory(trials[0]!.id)).length, 3);
      assert.equal((await s.listCheckpoints(studyId)).length, trials.length);
    });
    assert.equal(raw(file, (db) => db.pragma('integrity_check', { simple: true })), 'ok');
  });
});

describe('leases: heartbeat and interruptStale', () => {
  /** heartbeat_at of a trial, read behind the engine's back. */
  const beat = (file: string, id: number) =>
    raw(file, (db) => db.prepare(`SELECT heartbeat_at FROM trials WHERE id = ?`).pluck().get(id) as number | null);
  /** Moves a trial's heartbeat `seconds` into the past. */
  const age = (file: string, id: number, seconds: number) =>
    raw(file, (db) => db.prepare(`UPDATE trials SET heartbeat_at = heartbeat_at - ? WHERE id = ?`).run(seconds, id));

  test('createTrial sets the heartbeat, heartbeat renews it (running trials only, never an error)', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      const st = await s.createStudy(study('beat'));
      const before = Date.now() / 1000;
      const t = await create(s, st.id, plan());
      const at = beat(file, t.id)!;
      assert.equal(typeof at, 'number');
      assert.ok(Math.abs(at - before) < 5, `REAL unix seconds by the database's clock: ${at} vs ${before}`);
      assert.equal(raw(file, (db) => db.prepare(`SELECT typeof(heartbeat_at) FROM trials WHERE id = ?`).pluck().get(t.id)), 'real');
      age(file, t.id, 100);
      await s.heartbeat(t.id);
      assert.ok(Math.abs(beat(file, t.id)! - at) < 5, 'renewed to now');

      const done = await s.finishTrial(t.id, complete(1));
      age(file, t.id, 100);
      const old = beat(file, t.id);
      await s.heartbeat(t.id); // no longer running: left alone, silently
      assert.equal(beat(file, t.id), old);
      await s.heartbeat(987654); // no such trial: the same
      assert.deepEqual(await s.getTrial(st.id, 0), done);
      await assert.rejects(s.heartbeat(1.5), /a trial id must be an integer/);
    });
  });

  test('interruptStale interrupts the running trials of the study whose lease ran out, once', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      const st = await s.createStudy(study('stale'));
      const other = await s.createStudy(study('other'));
      const dead = await create(s, st.id, plan({ params: { k: 'dead' } }));
      const alive = await create(s, st.id, plan({ params: { k: 'alive' } }));
      const finished = await s.finishTrial((await create(s, st.id, plan())).id, complete(1));
      const never = await create(s, st.id, plan({ params: { k: 'never' } }));
      const elsewhere = await create(s, other.id, plan());
      await s.reportEpoch(dead.id, epoch(0, 0.7));
      age(file, dead.id, 120);
      age(file, finished.id, 120);
      age(file, elsewhere.id, 120);
      age(file, alive.id, 30);
      raw(file, (db) => db.prepare(`UPDATE trials SET heartbeat_at = NULL WHERE id = ?`).run(never.id)); // a pre-schema-3 writer's trial

      const reason = 'no heartbeat for 60 s: its worker is gone';
      const moved = await s.interruptStale(st.id, 60, reason);
      assert.deepEqual(moved.map((t) => t.number), [dead.number, never.number], 'number order');
      for (const t of moved) {
        assert.equal(t.state, 'interrupted');
        assert.equal(t.error, reason);
        assert.match(t.finishedAt!, ISO_UTC);
        assert.deepEqual(await s.getTrial(st.id, t.number), t);
      }
      assert.deepEqual({ ...moved[0], state: 'running', error: undefined, finishedAt: undefined }, { ...dead, error: undefined, finishedAt: undefined });
      assert.deepEqual(await s.getHistory(dead.id), [epoch(0, 0.7)], 'history kept');
      assert.equal((await s.getTrial(st.id, alive.number))!.state, 'running');
      assert.deepEqual(await s.getTrial(st.id, finished.number), finished);
      assert.equal((await s.getTrial(other.id, 0))!.state, 'running', 'other studies are not swept');

      // Moved once: a second sweep (or another worker's) finds nothing.
      assert.deepEqual(await s.interruptStale(st.id, 60, reason), []);
      // Its worker finds out when it finishes; its heartbeat is ignored.
      await s.heartbeat(dead.id);
      await assert.rejects(s.finishTrial(dead.id, complete(1)), (e: unknown) => e instanceof TrialNotRunningError && e.state === 'interrupted');

      // A grace of 0 sweeps every running trial that did not beat in this very millisecond.
      assert.deepEqual((await s.interruptStale(st.id, 0, 'sweep')).map((t) => t.number), [alive.number]);
      await assert.rejects(s.interruptStale(st.id, -1, 'x'), RangeError);
      await assert.rejects(s.interruptStale(st.id, NaN, 'x'), RangeError);
      await assert.rejects(s.interruptStale(st.id, Infinity, 'x'), RangeError);
      assert.deepEqual(await s.interruptStale(12345, 0, 'x'), []);
    });
  });

  test('two connections sweeping together: each stale trial is moved by exactly one', async () => {
    const file = freshPath();
    const a = SqliteStorage.open(file);
    const b = SqliteStorage.open(file);
    try {
      const st = await a.createStudy(study('sweep'));
      const ids: number[] = [];
      for (let i = 0; i < 10; i++) ids.push((await create(i % 2 ? a : b, st.id, plan())).id);
      for (const id of ids) age(file, id, 600);
      const [x, y] = await Promise.all([a.interruptStale(st.id, 60, 'a'), b.interruptStale(st.id, 60, 'b')]);
      assert.equal(x.length + y.length, 10);
      assert.deepEqual([...x, ...y].map((t) => t.id).sort((p, q) => p - q), ids);
      assert.ok((await a.getTrials(st.id)).every((t) => t.state === 'interrupted'));
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('export and import', () => {
  /**
   * A study with every kind of trial: complete with NaN/±Infinity metrics,
   * history with NaN and absent values and a checkpoint; failed; interrupted
   * and its retry; a Hyperband child of a parent; one still running.
   */
  async function richStudy(s: SqliteStorage, name: string) {
    const st = await s.createStudy(study(name, { direction: 'max', metric: 'r2', definition: { space: { lr: { kind: 'float', log: true } }, nested: [1, 'two', null] } }));
    const rung = { iteration: 0, bracket: 2, round: 0 };
    const a = await create(s, st.id, plan({ slot: 'h:0.2.0.0', params: { lr: 0.01, opt: 'adam', bn: true }, budget: 1, rung, backend: 'wasm', worker: { host: 'gpu-1', pid: 11 } }));
    await s.reportEpoch(a.id, { epoch: 0, loss: 1, val_loss: NaN, mae: Infinity, mse: -Infinity, lr: 0.01, seconds: 0.5 });
    await s.reportEpoch(a.id, { epoch: 1, loss: 0.5, val_loss: 0.6, mae: 0.4, val_mae: 0.45, mse: 0.3, val_mse: 0.35, lr: 0.005, seconds: 0.25 });
    await s.finishTrial(a.id, { state: 'complete', value: 0.8, metrics: { r2: 0.8, val_loss: NaN, up: Infinity, down: -Infinity }, epochs: 2, stopReason: 'early_stopping', durationS: NaN },
      new Uint8Array([0, 1, 2, 253, 254, 255]));
    const b = await create(s, st.id, plan({ slot: 'h:0.2.0.1', params: { lr: 10 }, budget: 1, rung }));
    await s.finishTrial(b.id, { state: 'failed', metrics: { loss: NaN }, epochs: 1, stopReason: 'nan', error: 'loss became NaN\n  at epoch 1', durationS: 0.1 }, new Uint8Array(0));
    const c = await create(s, st.id, plan({ slot: 'h:0.2.0.2', params: { lr: 0.1 }, budget: 1, rung }));
    await s.interruptTrial(c.id, 'worker died');
    const c2 = await create(s, st.id, plan({ slot: 'h:0.2.0.2', params: { lr: 0.1 }, budget: 1, rung, retryOf: c.number }));
    await s.finishTrial(c2.id, complete(0.7, { r2: 0.7 }), new Uint8Array(5000).fill(7));
    const child = await create(s, st.id, plan({ slot: 'h:0.2.1.0', params: { lr: 0.01, opt: 'adam', bn: true }, budget: 3, rung: { ...rung, round: 1 }, parent: a.number, initialEpoch: 2 }));
    await s.reportEpoch(child.id, epoch(2, 0.3));
    return st;
  }

  test('a dump holds the study and every trial with all fields, metrics, history and checkpoints, as copies', async () => {
    await withStorage(freshPath(), async (s) => {
      const st = await richStudy(s, 'rich');
      const dump = (await s.exportStudy('rich'))!;
      assert.deepEqual(dump.study, { name: 'rich', metric: 'r2', direction: 'max', definition: st.definition, definitionHash: st.definitionHash, createdAt: st.createdAt });
      const trials = await s.getTrials(st.id);
      assert.equal(dump.trials.length, 5);
      for (const [i, t] of dump.trials.entries()) {
        const { id, studyId: _studyId, ...record } = trials[i]!;
        const { history, checkpoint, ...rest } = t;
        assert.deepEqual(rest, record, `trial ${i}: every field of its record but the ids`);
        assert.deepEqual(history, await s.getHistory(id));
        assert.deepEqual(checkpoint, await s.getCheckpoint(id));
        assert.ok(!('id' in t) && !('studyId' in t));
      }
      assert.ok(Number.isNaN(dump.trials[0]!.history[0]!.val_loss));
      assert.deepEqual(dump.trials[0]!.metrics, { r2: 0.8, val_loss: NaN, up: Infinity, down: -Infinity });
      assert.equal(Object.getPrototypeOf(dump.trials[0]!.checkpoint), Uint8Array.prototype);
      assert.deepEqual(dump.trials[1]!.checkpoint, new Uint8Array(0));
      assert.ok(!('checkpoint' in dump.trials[2]!), 'no checkpoint: the key is left out');
      assert.equal(dump.trials[4]!.state, 'running');
      dump.trials[0]!.checkpoint!.fill(9);
      (dump.trials[0]!.params as Record<string, unknown>).lr = 1;
      assert.deepEqual((await s.exportStudy('rich'))!.trials[0]!.checkpoint, new Uint8Array([0, 1, 2, 253, 254, 255]), 'copies');
      assert.equal(await s.exportStudy('nope'), undefined);
    });
  });

  test('export → import into another file → export gives the same dump; the copy works as a study', async () => {
    const source = freshPath();
    const target = freshPath();
    const dump = await withStorage(source, async (s) => {
      await richStudy(s, 'rich');
      return (await s.exportStudy('rich'))!;
    });
    await withStorage(target, async (s) => {
      await richStudy(s, 'already-here'); // so that ids differ from the source's
      const imported = await s.importStudy(dump);
      assert.deepEqual(await s.getStudy('rich'), imported);
      assert.deepEqual({ ...imported, id: 0 }, { ...dump.study, id: 0 });
      const again = (await s.exportStudy('rich'))!;
      assert.deepEqual(again, dump);
      assert.notDeepEqual((await s.getTrials(imported.id)).map((t) => t.id), (await withStorage(source, (x) => x.getTrials(1))).map((t) => t.id));

      // Numbering, claims and rankings carry on from the imported trials.
      assert.equal(await s.createTrial(imported.id, plan({ slot: 'h:0.2.0.0' })), undefined);
      assert.equal(await s.createTrial(imported.id, plan({ slot: 'h:0.2.0.2', retryOf: 2 })), undefined);
      assert.equal((await create(s, imported.id, plan({ slot: 'h:0.2.1.1' }))).number, 5);
      assert.deepEqual((await s.rankTrials(imported.id, { metric: 'r2', direction: 'max' })).map((t) => t.number), [0, 3]);
      assert.deepEqual(
        (await s.listStudies()).find((x) => x.study.name === 'rich')!.counts,
        { running: 2, complete: 2, failed: 1, interrupted: 1 },
      );
      // The imported running trial has a lease from the import: swept after its grace.
      const running = (await s.getTrial(imported.id, 4))!;
      assert.deepEqual(await s.interruptStale(imported.id, 3600, 'x'), []);
      raw(target, (db) => db.prepare(`UPDATE trials SET heartbeat_at = heartbeat_at - 7200 WHERE id = ?`).run(running.id));
      assert.deepEqual((await s.interruptStale(imported.id, 3600, 'copied while running')).map((t) => t.number), [4]);
    });
    assert.equal(raw(target, (db) => db.pragma('integrity_check', { simple: true })), 'ok');
  });

  test('import refuses a taken name with StudyExistsError, and a bad dump, writing nothing', async () => {
    const file = freshPath();
    await withStorage(file, async (s) => {
      await richStudy(s, 'rich');
      const dump = (await s.exportStudy('rich'))!;
      await assert.rejects(s.importStudy(dump), (e: unknown) => e instanceof StudyExistsError && e.studyName === 'rich');
      // The same dump under another name: a second copy in the same file.
      const copy = await s.importStudy({ ...dump, study: { ...dump.study, name: 'copy' } });
      const copied = (await s.exportStudy('copy'))!;
      assert.deepEqual({ ...copied, study: { ...copied.study, name: 'rich' } }, dump);
      assert.notEqual(copy.id, (await s.getStudy('rich'))!.id);

      const named = (name: string, trials: typeof dump.trials) => ({ study: { ...dump.study, name }, trials });
      const t = dump.trials;
      const bad: [string, ReturnType<typeof named>, RegExp][] = [
        ['two trials with one number', named('b1', [t[0]!, { ...t[1]!, number: 0 }]), /two trials number 0/],
        ['a retry of a missing trial', named('b2', [t[3]!]), /retryOf 2 is not in the dump/],
        ['a missing parent', named('b3', [t[4]!]), /parent 0 is not in the dump/],
        ['two first attempts at a slot', named('b4', [t[0]!, { ...t[1]!, slot: t[0]!.slot }]), /two first attempts at slot "h:0.2.0.0"/],
        ['an unknown state', named('b5', [{ ...t[0]!, state: 'paused' as never }]), /unknown state paused/],
        ['a NaN parameter', named('b6', [{ ...t[0]!, params: { lr: NaN } }]), /parameter "lr" is NaN/],
        ['a bad epoch', named('b7', [{ ...t[0]!, history: [{ ...t[0]!.history[0]!, epoch: -1 }] }]), /epoch must be a non-negative integer/],
        ['two epochs with one number', named('b8', [{ ...t[0]!, history: [t[0]!.history[0]!, t[0]!.history[0]!] }]), /UNIQUE constraint failed: trial_epochs/],
      ];
      const before = raw(file, (db) => ['studies', 'trials', 'trial_metrics', 'trial_epochs', 'checkpoints'].map((x) => count(db, x)));
      for (const [what, d, message] of bad) {
        await assert.rejects(s.importStudy(d), message, what);
        assert.equal(await s.getStudy(d.study.name), undefined, what);
      }
      assert.deepEqual(raw(file, (db) => ['studies', 'trials', 'trial_metrics', 'trial_epochs', 'checkpoints'].map((x) => count(db, x))), before);
    });
  });
});
