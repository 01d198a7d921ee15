import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/errors';
import { RandomStrategy, SPACE_EXHAUSTED, withRetries } from '../../src/search';
import type { HistoryTrial } from '../../src/search';
import { Space } from '../../src/space';
import { planned, record, runAll, trial } from './fake-storage';

const CONTINUOUS = Space.parse({
  lr: { type: 'float', min: 1e-4, max: 1e-1, sampling: 'log' },
  units: { type: 'int', min: 16, max: 512 },
});

/** A space of exactly 4 parameter sets. */
const FOUR = Space.parse({ a: { type: 'choice', values: ['x', 'y'] }, b: { type: 'bool' } });

describe('RandomStrategy', () => {
  test('stops at max_trials; draw k is slot r:k, with no budget, rung or parent', () => {
    const { history, end } = runAll(new RandomStrategy(CONTINUOUS, { seed: 1, maxTrials: 20 }));
    assert.equal(history.length, 20);
    assert.deepEqual(end, { kind: 'stop', reason: 'max_trials (20) reached' });
    history.forEach((t, k) => {
      assert.ok(CONTINUOUS.contains(t.params));
      assert.deepEqual(Object.keys(t).sort(), ['number', 'params', 'slot', 'state', 'value']);
      assert.equal(t.slot, `r:${k}`);
    });
  });

  test('a space of 4 with max_trials 10 gives 4 distinct trials, then stops', () => {
    const strategy = new RandomStrategy(FOUR, { seed: 7, maxTrials: 10 });
    assert.equal(strategy.plannedTrials, 4);
    const { history, end } = runAll(strategy);
    assert.equal(history.length, 4);
    assert.equal(new Set(history.map((t) => FOUR.key(t.params))).size, 4);
    assert.deepEqual(end, { kind: 'stop', reason: SPACE_EXHAUSTED });
    assert.equal(SPACE_EXHAUSTED, 'search space exhausted');
  });

  test('does not repeat running, failed or interrupted trials either', () => {
    const strategy = new RandomStrategy(FOUR, { seed: 3, maxTrials: 10 });
    const first = planned(strategy.next([]));
    for (const state of ['running', 'failed', 'interrupted'] as const) {
      const next = planned(strategy.next([{ ...first, number: 0, state }]));
      assert.notEqual(FOUR.key(next.params), FOUR.key(first.params));
      assert.equal(next.slot, 'r:1');
    }
  });

  test('is deterministic per seed, and trials differ from each other', () => {
    const a = runAll(new RandomStrategy(CONTINUOUS, { seed: 42, maxTrials: 10 })).history;
    const b = runAll(new RandomStrategy(CONTINUOUS, { seed: 42, maxTrials: 10 })).history;
    const c = runAll(new RandomStrategy(CONTINUOUS, { seed: 43, maxTrials: 10 })).history;
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.map((t) => t.params), c.map((t) => t.params));
    assert.equal(new Set(a.map((t) => CONTINUOUS.key(t.params))).size, 10);
  });

  test('draw k depends on the seed and k, not on how the history got there', () => {
    const natural = runAll(new RandomStrategy(CONTINUOUS, { seed: 5, maxTrials: 4 })).history;
    const draw3 = natural[3];
    assert.ok(draw3);
    // A fresh instance (a resumed study) with the first three trials, in other states.
    const resumed = natural.slice(0, 3).map((t, i) => ({ ...t, state: i === 0 ? 'failed' : 'running' }) as HistoryTrial);
    assert.deepEqual(planned(new RandomStrategy(CONTINUOUS, { seed: 5, maxTrials: 4 }).next(resumed)).params, draw3.params);
    // Three unrelated trials (say, enqueued by hand): the next is still draw 3.
    const other = [0, 1, 2].map((number) => trial(number, { lr: 0.01, units: 100 + number }));
    assert.deepEqual(planned(new RandomStrategy(CONTINUOUS, { seed: 5, maxTrials: 4 }).next(other)), {
      slot: 'r:3',
      params: draw3.params,
    });
  });

  test('retries do not shift later draws: k counts slots, not trials', () => {
    const strategy = new RandomStrategy(CONTINUOUS, { seed: 11, maxTrials: 5 });
    const plain = runAll(strategy).history;
    // Draw 1 was interrupted, then re-run as trial 2 (which failed, and was re-run again as trial 3).
    const history: HistoryTrial[] = [];
    record(history, planned(strategy.next(history)));
    const one = planned(strategy.next(history));
    record(history, one, 'interrupted');
    record(history, { ...one, retryOf: 1 }, 'failed');
    record(history, { ...one, retryOf: 2 }, 'complete', 0.5);
    const next = planned(strategy.next(history));
    assert.deepEqual(next, { slot: 'r:2', params: plain[2]?.params });
    // Without the retries, the same draw.
    assert.deepEqual(planned(strategy.next(history.slice(0, 2))), next);
  });

  test('max_trials counts slots: retries do not use up the budget', () => {
    const strategy = new RandomStrategy(CONTINUOUS, { seed: 2, maxTrials: 2 });
    const history: HistoryTrial[] = [];
    const first = planned(strategy.next(history));
    record(history, first, 'interrupted');
    record(history, { ...first, retryOf: 0 }, 'complete', 1);
    assert.equal(planned(strategy.next(history)).slot, 'r:1');
    record(history, planned(strategy.next(history)));
    assert.deepEqual(strategy.next(history), { kind: 'stop', reason: 'max_trials (2) reached' });
  });

  test('with withRetries, an interrupted draw is re-run before the next draw', () => {
    const inner = new RandomStrategy(CONTINUOUS, { seed: 2, maxTrials: 3 });
    const history: HistoryTrial[] = [];
    const first = planned(inner.next(history));
    record(history, first, 'interrupted');
    assert.deepEqual(planned(withRetries(inner).next(history)), { ...first, retryOf: 0 });
  });

  test('finishes a nearly exhausted space with the one set left', () => {
    const big = Space.parse({ a: { type: 'int', min: 1, max: 2000 } });
    const history: HistoryTrial[] = [];
    for (let a = 1; a <= 2000; a++) if (a !== 1234) history.push(trial(history.length, { a }));
    const strategy = new RandomStrategy(big, { seed: 1, maxTrials: 5000 });
    assert.deepEqual(planned(strategy.next(history)), { slot: 'r:1999', params: { a: 1234 } });
    history.push(trial(history.length, { a: 1234 }));
    assert.deepEqual(strategy.next(history), { kind: 'stop', reason: SPACE_EXHAUSTED });
  });

  test('trials outside the current space do not use it up', () => {
    const strategy = new RandomStrategy(FOUR, { seed: 1, maxTrials: 10 });
    const stale = [0, 1, 2, 3].map((number) => trial(number, { a: 'z', b: true }));
    assert.equal(strategy.next(stale).kind, 'run');
  });

  test('never reuses a slot named out of order', () => {
    const strategy = new RandomStrategy(CONTINUOUS, { seed: 1, maxTrials: 10 });
    const history = [trial(0, { lr: 0.01, units: 20 }, 'complete', 'r:1')];
    assert.equal(planned(strategy.next(history)).slot, 'r:2');
  });

  test('plannedTrials is max_trials for an infinite space', () => {
    assert.equal(new RandomStrategy(CONTINUOUS, { seed: 1, maxTrials: 12 }).plannedTrials, 12);
  });

  test('rejects a budget that is not a positive whole number', () => {
    for (const maxTrials of [0, -1, 2.5, Number.NaN]) {
      assert.throws(
        () => new RandomStrategy(CONTINUOUS, { seed: 1, maxTrials }),
        (e: unknown) => e instanceof UserError && e.field === 'max_trials',
      );
    }
  });
});
