import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/errors';
import { GridStrategy, withRetries } from '../../src/search';
import type { HistoryTrial } from '../../src/search';
import { Space } from '../../src/space';
import { planned, record, runAll, trial } from './fake-storage';

const SPACE = Space.parse({
  optimizer: { type: 'choice', values: ['sgd', 'momentum'] },
  momentum: { type: 'choice', values: [0.5, 0.9], when: { optimizer: ['momentum'] } },
});

describe('GridStrategy', () => {
  test('proposes every cell once, in grid order, slot g:<key>, then stops', () => {
    const strategy = new GridStrategy(SPACE);
    assert.equal(strategy.plannedTrials, 3);
    const { history, end } = runAll(strategy);
    assert.deepEqual(end, { kind: 'stop', reason: 'grid exhausted: all 3 combinations tried' });
    assert.deepEqual(
      history.map((t) => t.params),
      SPACE.grid(),
    );
    assert.deepEqual(
      history.map((t) => t.slot),
      ['g:[["optimizer","sgd"]]', 'g:[["momentum",0.5],["optimizer","momentum"]]', 'g:[["momentum",0.9],["optimizer","momentum"]]'],
    );
    for (const t of history) assert.equal(t.slot, `g:${SPACE.key(t.params)}`);
  });

  test('skips cells already in the history in any state, wherever they are in it', () => {
    const history: HistoryTrial[] = [
      trial(0, { optimizer: 'sgd' }, 'failed'),
      trial(1, { momentum: 0.9, optimizer: 'momentum' }, 'running'),
      trial(2, { optimizer: 'adam' }, 'interrupted'),
    ];
    const params = { optimizer: 'momentum', momentum: 0.5 };
    assert.deepEqual(new GridStrategy(SPACE).next(history), {
      kind: 'run',
      trial: { slot: `g:${SPACE.key(params)}`, params },
    });
  });

  test('stops at max_trials, counting slots, not retries', () => {
    const strategy = new GridStrategy(SPACE, { maxTrials: 2 });
    assert.equal(strategy.plannedTrials, 2);
    const history: HistoryTrial[] = [];
    const first = planned(strategy.next(history));
    record(history, first, 'interrupted');
    record(history, { ...first, retryOf: 0 }, 'failed');
    record(history, { ...first, retryOf: 1 });
    record(history, planned(strategy.next(history)));
    assert.equal(history.length, 4);
    assert.deepEqual(strategy.next(history), { kind: 'stop', reason: 'max_trials (2) reached' });
  });

  test('an interrupted cell is re-run through withRetries, not by the grid', () => {
    const strategy = new GridStrategy(SPACE);
    const history: HistoryTrial[] = [];
    const first = planned(strategy.next(history));
    record(history, first, 'interrupted');
    assert.deepEqual(planned(strategy.next(history)).params, { optimizer: 'momentum', momentum: 0.5 });
    assert.deepEqual(planned(withRetries(strategy).next(history)), { ...first, retryOf: 0 });
  });

  test('trials outside the grid take a slot but not a cell', () => {
    const history = [trial(0, { optimizer: 'adam' })];
    assert.deepEqual(planned(new GridStrategy(SPACE).next(history)).params, { optimizer: 'sgd' });
    assert.deepEqual(new GridStrategy(SPACE, { maxTrials: 1 }).next(history), { kind: 'stop', reason: 'max_trials (1) reached' });
  });

  test('refuses a space with a float without step, naming it', () => {
    const space = Space.parse({ layers: { type: 'int', min: 1, max: 2 }, dropout: { type: 'float', min: 0, max: 0.5 } });
    assert.throws(
      () => new GridStrategy(space),
      (e: unknown) => e instanceof UserError && e.field === 'dropout' && /float without step/.test(e.problem),
    );
  });
});
