import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/errors';
import { GridStrategy } from '../../src/search';
import type { HistoryTrial } from '../../src/search';
import { Space } from '../../src/space';

const SPACE = Space.parse({
  optimizer: { type: 'choice', values: ['sgd', 'momentum'] },
  momentum: { type: 'choice', values: [0.5, 0.9], when: { optimizer: ['momentum'] } },
});

describe('GridStrategy', () => {
  test('proposes every cell once, in grid order, then stops', () => {
    const strategy = new GridStrategy(SPACE);
    assert.equal(strategy.plannedTrials, 3);
    const history: HistoryTrial[] = [];
    for (;;) {
      const decision = strategy.next(history);
      if (decision.kind !== 'sample') {
        assert.deepEqual(decision, { kind: 'stop', reason: 'grid exhausted: all 3 combinations tried' });
        break;
      }
      assert.equal(decision.number, history.length);
      history.push({ number: decision.number, state: 'complete', params: decision.params });
    }
    assert.deepEqual(
      history.map((t) => t.params),
      SPACE.grid(),
    );
  });

  test('skips cells already in the history in any state, wherever they are in it', () => {
    const history: HistoryTrial[] = [
      { number: 0, state: 'failed', params: { optimizer: 'sgd' } },
      { number: 1, state: 'running', params: { momentum: 0.9, optimizer: 'momentum' } },
    ];
    assert.deepEqual(new GridStrategy(SPACE).next(history), {
      kind: 'sample',
      number: 2,
      params: { optimizer: 'momentum', momentum: 0.5 },
    });
  });

  test('stops at max_trials', () => {
    const strategy = new GridStrategy(SPACE, { maxTrials: 2 });
    assert.equal(strategy.plannedTrials, 2);
    const history: HistoryTrial[] = SPACE.grid()
      .slice(0, 2)
      .map((params, number) => ({ number, state: 'complete', params }));
    assert.deepEqual(strategy.next(history), { kind: 'stop', reason: 'max_trials (2) reached' });
  });

  test('trials outside the grid take a number but not a cell', () => {
    const history: HistoryTrial[] = [{ number: 0, state: 'complete', params: { optimizer: 'adam' } }];
    assert.deepEqual(new GridStrategy(SPACE).next(history), { kind: 'sample', number: 1, params: { optimizer: 'sgd' } });
  });

  test('refuses a space with a float without step, naming it', () => {
    const space = Space.parse({ layers: { type: 'int', min: 1, max: 2 }, dropout: { type: 'float', min: 0, max: 0.5 } });
    assert.throws(
      () => new GridStrategy(space),
      (e: unknown) => e instanceof UserError && e.field === 'dropout' && /float without step/.test(e.problem),
    );
  });
});
