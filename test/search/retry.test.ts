import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { withRetries } from '../../src/search';
import type { Decision, HistoryTrial, Strategy } from '../../src/search';

/** An inner strategy that records what it was asked and always plans a fresh slot. */
function fake(): Strategy & { calls: number } {
  const strategy = {
    kind: 'fake',
    plannedTrials: 7,
    calls: 0,
    next(history: readonly HistoryTrial[]): Decision {
      strategy.calls++;
      return { kind: 'run', trial: { slot: `f:${history.length}`, params: { x: history.length } } };
    },
    checkpointsNeeded(history: readonly HistoryTrial[]): ReadonlySet<number> {
      return new Set(history.map((t) => t.number));
    },
  };
  return strategy;
}

const RUNG = { iteration: 0, bracket: 2, round: 1 };

function t(number: number, slot: string, state: HistoryTrial['state'], extra: Partial<HistoryTrial> = {}): HistoryTrial {
  return { number, slot, state, params: { slot }, ...extra };
}

describe('withRetries', () => {
  test('keeps the inner kind, plannedTrials and checkpointsNeeded', () => {
    const inner = fake();
    const wrapped = withRetries(inner, {});
    assert.equal(wrapped.kind, 'fake');
    assert.equal(wrapped.plannedTrials, 7);
    assert.deepEqual(wrapped.checkpointsNeeded?.([t(3, 'a', 'complete')]), new Set([3]));
    const bare = withRetries({ kind: 'bare', next: () => ({ kind: 'wait' }) });
    assert.equal(bare.checkpointsNeeded, undefined);
    assert.equal(bare.plannedTrials, undefined);
  });

  test('nothing to retry: asks the inner strategy', () => {
    const inner = fake();
    const history = [t(0, 'a', 'complete'), t(1, 'b', 'running'), t(2, 'c', 'failed')];
    assert.deepEqual(withRetries(inner).next(history), { kind: 'run', trial: { slot: 'f:3', params: { x: 3 } } });
    assert.equal(inner.calls, 1);
  });

  test('an interrupted slot is re-run with the same plan, as a retry of its last attempt', () => {
    const inner = fake();
    const history = [
      t(0, 'h:0.2.0.0', 'complete', { budget: 1 }),
      t(1, 'h:0.2.1.0', 'interrupted', { budget: 3, rung: RUNG, parent: 0 }),
    ];
    assert.deepEqual(withRetries(inner).next(history), {
      kind: 'run',
      trial: { slot: 'h:0.2.1.0', params: { slot: 'h:0.2.1.0' }, budget: 3, rung: RUNG, parent: 0, retryOf: 1 },
    });
    assert.equal(inner.calls, 0);
  });

  test('the earliest slot first; a slot whose last attempt finished is left alone', () => {
    const history = [
      t(0, 'a', 'interrupted'),
      t(1, 'b', 'interrupted'),
      t(2, 'c', 'interrupted'),
      t(3, 'a', 'complete', { retryOf: 0 }),
      t(4, 'c', 'interrupted', { retryOf: 2 }),
    ];
    assert.deepEqual(withRetries(fake()).next(history), {
      kind: 'run',
      trial: { slot: 'b', params: { slot: 'b' }, retryOf: 1 },
    });
    // b done: c's last attempt (4) is next.
    history.push(t(5, 'b', 'complete', { retryOf: 1 }));
    assert.deepEqual(withRetries(fake()).next(history), {
      kind: 'run',
      trial: { slot: 'c', params: { slot: 'c' }, retryOf: 4 },
    });
  });

  test('a running attempt is in flight elsewhere: not retried', () => {
    const inner = fake();
    const history = [t(0, 'a', 'interrupted'), t(1, 'a', 'running', { retryOf: 0 })];
    assert.equal((withRetries(inner).next(history) as { trial: { slot: string } }).trial.slot, 'f:2');
    assert.equal(inner.calls, 1);
  });

  test('failed slots are retried only before retryFailedBefore, so once per run', () => {
    const history = [t(0, 'a', 'failed'), t(1, 'b', 'complete'), t(2, 'c', 'failed')];
    // Without the option, failures are final.
    assert.equal((withRetries(fake()).next(history) as { trial: { slot: string } }).trial.slot, 'f:3');
    // A run starting at trial 3 (--retry-failed) re-runs both, earliest first.
    const run = withRetries(fake(), { retryFailedBefore: 3 });
    assert.deepEqual(run.next(history), { kind: 'run', trial: { slot: 'a', params: { slot: 'a' }, retryOf: 0 } });
    history.push(t(3, 'a', 'failed', { retryOf: 0 })); // fails again in this run: not retried again
    assert.deepEqual(run.next(history), { kind: 'run', trial: { slot: 'c', params: { slot: 'c' }, retryOf: 2 } });
    history.push(t(4, 'c', 'complete', { retryOf: 2 }));
    assert.equal((run.next(history) as { trial: { slot: string } }).trial.slot, 'f:5');
    // The next run (starting at 5) tries a once more.
    assert.deepEqual(withRetries(fake(), { retryFailedBefore: 5 }).next(history), {
      kind: 'run',
      trial: { slot: 'a', params: { slot: 'a' }, retryOf: 3 },
    });
  });

  test('an interrupted slot comes before a later failed one, and after an earlier one', () => {
    const history = [t(0, 'a', 'failed'), t(1, 'b', 'interrupted')];
    assert.equal((withRetries(fake(), { retryFailedBefore: 2 }).next(history) as { trial: { slot: string } }).trial.slot, 'a');
    assert.equal((withRetries(fake(), { retryFailedBefore: 0 }).next(history) as { trial: { slot: string } }).trial.slot, 'b');
  });
});
