import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStrategy, GridStrategy, HyperbandStrategy, RandomStrategy } from '../../src/search';
import { Space } from '../../src/space';

const SPACE = Space.parse({ a: { type: 'int', min: 1, max: 5 }, b: { type: 'bool' } });

test('random spec gives a random strategy with its budget and the given seed', () => {
  const continuous = Space.parse({ lr: { type: 'float', min: 1e-4, max: 1e-1, sampling: 'log' } });
  const strategy = createStrategy(continuous, { kind: 'random', max_trials: 3 }, 9, 'min');
  assert.ok(strategy instanceof RandomStrategy);
  assert.equal(strategy.kind, 'random');
  assert.equal(strategy.plannedTrials, 3);
  assert.deepEqual(strategy.next([]), new RandomStrategy(continuous, { seed: 9, maxTrials: 3 }).next([]));
  assert.notDeepEqual(strategy.next([]), new RandomStrategy(continuous, { seed: 10, maxTrials: 3 }).next([]));
});

test('grid spec gives a grid strategy, with or without a budget', () => {
  const unbounded = createStrategy(SPACE, { kind: 'grid' }, 1, 'max');
  assert.ok(unbounded instanceof GridStrategy);
  assert.equal(unbounded.plannedTrials, 10);
  assert.equal(createStrategy(SPACE, { kind: 'grid', max_trials: 4 }, 1, 'max').plannedTrials, 4);
});

test('hyperband spec gives a hyperband strategy with the seed and direction', () => {
  const spec = { kind: 'hyperband', max_epochs: 9, factor: 3, iterations: 2 } as const;
  const strategy = createStrategy(SPACE, spec, 4, 'max');
  assert.ok(strategy instanceof HyperbandStrategy);
  assert.equal(strategy.kind, 'hyperband');
  assert.equal(strategy.plannedTrials, 46);
  const same = new HyperbandStrategy(SPACE, { seed: 4, maxEpochs: 9, factor: 3, iterations: 2, direction: 'max' });
  assert.deepEqual(strategy.next([]), same.next([]));
  assert.ok(strategy.checkpointsNeeded);
});
