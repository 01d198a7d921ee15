import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/errors';
import { RandomStrategy, SPACE_EXHAUSTED } from '../../src/search';
import type { Decision, HistoryTrial, Strategy } from '../../src/search';
import { Space } from '../../src/space';
import type { Params } from '../../src/space';

const CONTINUOUS = Space.parse({
  lr: { type: 'float', min: 1e-4, max: 1e-1, sampling: 'log' },
  units: { type: 'int', min: 16, max: 512 },
});

/** A space of exactly 4 parameter sets. */
const FOUR = Space.parse({ a: { type: 'choice', values: ['x', 'y'] }, b: { type: 'bool' } });

function sampled(decision: Decision): { number: number; params: Params } {
  assert.equal(decision.kind, 'sample', JSON.stringify(decision));
  return decision as { number: number; params: Params };
}

/** Runs a strategy to the end (or `limit` trials), every trial completing. */
function run(strategy: Strategy, limit = 1000): { history: HistoryTrial[]; end: Decision } {
  const history: HistoryTrial[] = [];
  for (let i = 0; i < limit; i++) {
    const decision = strategy.next(history);
    if (decision.kind !== 'sample') return { history, end: decision };
    assert.equal(decision.number, history.length);
    history.push({ number: decision.number, state: 'complete', params: decision.params, value: i });
  }
  return { history, end: { kind: 'wait' } };
}

describe('RandomStrategy', () => {
  test('stops at max_trials', () => {
    const { history, end } = run(new RandomStrategy(CONTINUOUS, { seed: 1, maxTrials: 20 }));
    assert.equal(history.length, 20);
    assert.deepEqual(end, { kind: 'stop', reason: 'max_trials (20) reached' });
    for (const t of history) assert.ok(CONTINUOUS.contains(t.params));
  });

  test('a space of 4 with max_trials 10 gives 4 distinct trials, then stops', () => {
    const strategy = new RandomStrategy(FOUR, { seed: 7, maxTrials: 10 });
    assert.equal(strategy.plannedTrials, 4);
    const { history, end } = run(strategy);
    assert.equal(history.length, 4);
    assert.equal(new Set(history.map((t) => FOUR.key(t.params))).size, 4);
    assert.deepEqual(end, { kind: 'stop', reason: SPACE_EXHAUSTED });
    assert.equal(SPACE_EXHAUSTED, 'search space exhausted');
  });

  test('does not repeat running or failed trials either', () => {
    const strategy = new RandomStrategy(FOUR, { seed: 3, maxTrials: 10 });
    const first = sampled(strategy.next([]));
    for (const state of ['running', 'failed'] as const) {
      const next = sampled(strategy.next([{ number: 0, state, params: first.params }]));
      assert.notEqual(FOUR.key(next.params), FOUR.key(first.params));
    }
  });

  test('is deterministic per seed, and trials differ from each other', () => {
    const a = run(new RandomStrategy(CONTINUOUS, { seed: 42, maxTrials: 10 })).history;
    const b = run(new RandomStrategy(CONTINUOUS, { seed: 42, maxTrials: 10 })).history;
    const c = run(new RandomStrategy(CONTINUOUS, { seed: 43, maxTrials: 10 })).history;
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.map((t) => t.params), c.map((t) => t.params));
    assert.equal(new Set(a.map((t) => CONTINUOUS.key(t.params))).size, 10);
  });

  test('trial k depends on the seed and k, not on how the history got there', () => {
    const natural = run(new RandomStrategy(CONTINUOUS, { seed: 5, maxTrials: 4 })).history;
    const trial3 = natural[3];
    assert.ok(trial3);
    // A fresh instance (a resumed study) with the first three trials, in other states.
    const resumed = natural.slice(0, 3).map((t, i) => ({ ...t, state: i === 0 ? 'failed' : 'running' }) as HistoryTrial);
    assert.deepEqual(sampled(new RandomStrategy(CONTINUOUS, { seed: 5, maxTrials: 4 }).next(resumed)).params, trial3.params);
    // Three unrelated trials (say, enqueued by hand): trial 3 is still the same draw.
    const other: HistoryTrial[] = [0, 1, 2].map((number) => ({
      number,
      state: 'complete',
      params: { lr: 0.01, units: 100 + number },
    }));
    const decision = sampled(new RandomStrategy(CONTINUOUS, { seed: 5, maxTrials: 4 }).next(other));
    assert.equal(decision.number, 3);
    assert.deepEqual(decision.params, trial3.params);
  });

  test('finishes a nearly exhausted space with the one set left', () => {
    const big = Space.parse({ a: { type: 'int', min: 1, max: 2000 } });
    const history: HistoryTrial[] = [];
    for (let a = 1; a <= 2000; a++) if (a !== 1234) history.push({ number: history.length, state: 'complete', params: { a } });
    const strategy = new RandomStrategy(big, { seed: 1, maxTrials: 5000 });
    assert.deepEqual(sampled(strategy.next(history)).params, { a: 1234 });
    history.push({ number: history.length, state: 'complete', params: { a: 1234 } });
    assert.deepEqual(strategy.next(history), { kind: 'stop', reason: SPACE_EXHAUSTED });
  });

  test('trials outside the current space do not use it up', () => {
    const strategy = new RandomStrategy(FOUR, { seed: 1, maxTrials: 10 });
    const stale: HistoryTrial[] = [0, 1, 2, 3].map((number) => ({ number, state: 'complete', params: { a: 'z', b: true } }));
    assert.equal(strategy.next(stale).kind, 'sample');
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
