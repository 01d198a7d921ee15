import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bestFirst } from '../../src/search/rank';
import type { TrialState } from '../../src/search/types';

const t = (number: number, state: TrialState, value?: number) => ({ number, state, ...(value !== undefined ? { value } : {}) });

test('bestFirst: complete trials with a finite value, best first for the direction, ties to the lower number', () => {
  const trials = [t(0, 'complete', 0.3), t(1, 'failed'), t(2, 'complete', 0.1), t(3, 'running'), t(4, 'complete', 0.3), t(5, 'complete', NaN), t(6, 'interrupted', 0.01)];
  assert.deepEqual(bestFirst(trials, 'min').map((x) => x.number), [2, 0, 4]);
  assert.deepEqual(bestFirst(trials, 'max').map((x) => x.number), [0, 4, 2]);
  assert.deepEqual(bestFirst([], 'min'), []);
});
