import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { latestAttempts } from '../../src/search';
import type { HistoryTrial } from '../../src/search';

const t = (number: number, slot: string, state: HistoryTrial['state'], retryOf?: number): HistoryTrial => ({
  number,
  slot,
  state,
  params: { n: number },
  ...(retryOf !== undefined ? { retryOf } : {}),
});

describe('latestAttempts', () => {
  test('empty history, empty result', () => {
    assert.deepEqual(latestAttempts([]), []);
  });

  test('one trial per slot, the highest number, in order of first appearance', () => {
    const history = [
      t(0, 'r:0', 'interrupted'),
      t(1, 'r:1', 'complete'),
      t(2, 'r:0', 'failed', 0),
      t(3, 'r:2', 'running'),
      t(4, 'r:0', 'complete', 2),
    ];
    assert.deepEqual(
      latestAttempts(history).map((x) => [x.slot, x.number, x.state]),
      [
        ['r:0', 4, 'complete'],
        ['r:1', 1, 'complete'],
        ['r:2', 3, 'running'],
      ],
    );
  });

  test('the highest number wins even if the history is out of order', () => {
    const history = [t(5, 'g:a', 'complete', 2), t(2, 'g:a', 'failed'), t(3, 'g:b', 'complete')];
    assert.deepEqual(
      latestAttempts(history).map((x) => x.number),
      [5, 3],
    );
  });

  test('returns the trials themselves, not copies', () => {
    const history = [t(0, 'x', 'complete')];
    assert.equal(latestAttempts(history)[0], history[0]);
  });
});
