import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/errors';
import {
  bracketSize,
  HyperbandStrategy,
  numBrackets,
  parseHyperbandSlot,
  roundEpochs,
  schedule,
  withRetries,
} from '../../src/search';
import type { HistoryTrial, HyperbandOptions, TrialPlan } from '../../src/search';
import { Space } from '../../src/space';
import type { Params } from '../../src/space';
import { planned, record, runAll } from './fake-storage';

/**
 * Schedules as Keras Tuner's HyperbandOracle computes them
 * (keras_tuner/tuners/hyperband.py), per bracket in run order:
 * [bracket, [[size, epochs] for each round]], with
 *   _get_num_brackets: count epochs = max_epochs, /factor, … while ≥ 1
 *   _get_size(b, r):   ceil(ceil(1 + math.log(max_epochs, factor)) / (b + 1) * factor ** (b - r))
 *   _get_epochs(b, r): ceil(max_epochs / factor ** (b - r))
 * computed with /usr/bin/python3 using those exact expressions, and again
 * with exact integer logarithms and fractions: the two agree for all four.
 * (Python's math.log(81, 3) is exactly 4.0, so KT is right here, while
 * JavaScript's Math.log(81) / Math.log(3) is 4.000000000000001. KT itself is
 * off where Python's log is not exact, e.g. math.log(15625, 5) =
 * 6.000000000000001, giving bracket 0 size 8 instead of 7; see the test below.)
 */
const TABLES: Array<{ maxEpochs: number; factor: number; configurations: number; trials: number; epochs: number; table: Array<[number, Array<[number, number]>]> }> = [
  {
    maxEpochs: 81,
    factor: 3,
    configurations: 143,
    trials: 211,
    epochs: 1767,
    table: [
      [4, [[81, 1], [27, 3], [9, 9], [3, 27], [1, 81]]],
      [3, [[34, 3], [12, 9], [4, 27], [2, 81]]],
      [2, [[15, 9], [5, 27], [2, 81]]],
      [1, [[8, 27], [3, 81]]],
      [0, [[5, 81]]],
    ],
  },
  {
    maxEpochs: 27,
    factor: 3,
    configurations: 49,
    trials: 70,
    epochs: 375,
    table: [
      [3, [[27, 1], [9, 3], [3, 9], [1, 27]]],
      [2, [[12, 3], [4, 9], [2, 27]]],
      [1, [[6, 9], [2, 27]]],
      [0, [[4, 27]]],
    ],
  },
  {
    maxEpochs: 100,
    factor: 3,
    configurations: 172,
    trials: 254,
    epochs: 2672,
    table: [
      [4, [[98, 2], [33, 4], [11, 12], [4, 34], [2, 100]]],
      [3, [[41, 4], [14, 12], [5, 34], [2, 100]]],
      [2, [[18, 12], [6, 34], [2, 100]]],
      [1, [[9, 34], [3, 100]]],
      [0, [[6, 100]]],
    ],
  },
  {
    maxEpochs: 9,
    factor: 3,
    configurations: 17,
    trials: 23,
    epochs: 75,
    table: [
      [2, [[9, 1], [3, 3], [1, 9]]],
      [1, [[5, 3], [2, 9]]],
      [0, [[3, 9]]],
    ],
  },
];

const CONTINUOUS = Space.parse({
  lr: { type: 'float', min: 1e-4, max: 1e-1, sampling: 'log' },
  units: { type: 'int', min: 16, max: 512 },
});

/** A deterministic pseudo-objective in [0, 1) from the parameters alone (FNV-1a of their key). */
function score(params: Params): number {
  let h = 0x811c9dc5;
  for (const c of CONTINUOUS.key(params)) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h / 2 ** 32;
}

function strategy(options: Partial<HyperbandOptions> = {}, space = CONTINUOUS): HyperbandStrategy {
  return new HyperbandStrategy(space, { seed: 42, maxEpochs: 81, factor: 3, iterations: 1, direction: 'min', ...options });
}

/** The plan a trial was created from (what next() returned for it). */
function planOf(t: HistoryTrial): TrialPlan {
  const { number: _n, state: _s, value: _v, ...plan } = t;
  return plan;
}

function rungKey(t: HistoryTrial): string {
  const r = t.rung;
  assert.ok(r, t.slot);
  return `${r.iteration}.${r.bracket}.${r.round}`;
}

describe('Hyperband schedule', () => {
  for (const { maxEpochs, factor, configurations, trials, epochs, table } of TABLES) {
    test(`max_epochs ${maxEpochs}, factor ${factor}: Keras Tuner's table`, () => {
      assert.equal(numBrackets(maxEpochs, factor), table.length);
      for (const [b, rounds] of table) {
        rounds.forEach(([size, e], r) => {
          assert.equal(bracketSize(maxEpochs, factor, b, r), size, `size b${b} r${r}`);
          assert.equal(roundEpochs(maxEpochs, factor, b, r), e, `epochs b${b} r${r}`);
        });
      }
      const s = schedule(maxEpochs, factor);
      assert.deepEqual(
        s.brackets.map((b) => [b.bracket, b.rounds.map((r) => [r.size, r.epochs])]),
        table,
      );
      s.brackets.forEach((b) => assert.deepEqual(b.rounds.map((r) => r.round), b.rounds.map((_, i) => i)));
      assert.equal(s.configurations, configurations);
      assert.equal(s.trials, trials);
      assert.equal(s.epochs, epochs);
    });
  }

  test('log_factor is exact where floating point is not', () => {
    // Math.log(x) / Math.log(factor) overshoots for these; a naive ceil gives one more.
    assert.ok(Math.log(81) / Math.log(3) > 4 && Math.log(9) / Math.log(3) > 2);
    assert.equal(bracketSize(81, 3, 0, 0), 5);
    assert.equal(bracketSize(9, 3, 0, 0), 3);
    assert.equal(bracketSize(729, 3, 0, 0), 7);
    // Keras Tuner (Python) computes ceil(1 + 6.000000000000001) = 8 here; exact is 7.
    assert.equal(numBrackets(15625, 5), 7);
    assert.equal(bracketSize(15625, 5, 0, 0), 7);
    assert.equal(bracketSize(15625, 5, 1, 0), 18);
  });

  test('edge cases: max_epochs 1, and just below and above a power', () => {
    assert.deepEqual(
      schedule(1, 3).brackets.map((b) => b.rounds),
      [[{ round: 0, size: 1, epochs: 1 }]],
    );
    assert.equal(numBrackets(26, 3), 3);
    assert.equal(numBrackets(27, 3), 4);
    assert.equal(numBrackets(28, 3), 4);
    assert.equal(bracketSize(28, 3, 0, 0), 5); // ceil(1 + 3.03…) = 5
  });

  test('rejects bad schedules and rungs', () => {
    for (const [maxEpochs, factor, field] of [
      [0, 3, 'max_epochs'],
      [2.5, 3, 'max_epochs'],
      [81, 1, 'factor'],
      [81, 2.5, 'factor'],
    ] as const) {
      assert.throws(
        () => numBrackets(maxEpochs, factor),
        (e: unknown) => e instanceof UserError && e.field === field,
      );
    }
    assert.throws(() => bracketSize(81, 3, 5, 0), RangeError);
    assert.throws(() => roundEpochs(81, 3, 2, 3), RangeError);
  });
});

describe('HyperbandStrategy', () => {
  test('a whole run of 81/3: 143 configurations, 211 trials, best promoted, then stop', () => {
    const s = strategy();
    assert.equal(s.plannedTrials, 211);
    const { history, end } = runAll(s, (plan) => score(plan.params));
    assert.deepEqual(end, { kind: 'stop', reason: 'hyperband finished: 1 iteration(s), 211 trials' });
    assert.equal(history.length, 211);
    assert.deepEqual(s.next(history), end);

    const fresh = history.filter((t) => t.parent === undefined);
    assert.equal(fresh.length, 143);
    assert.equal(new Set(fresh.map((t) => CONTINUOUS.key(t.params))).size, 143);
    for (const t of fresh) assert.ok(CONTINUOUS.contains(t.params));

    // Slots, rungs and budgets follow the table, brackets in order 4..0, rounds in order.
    const table = TABLES[0]?.table ?? [];
    let n = 0;
    for (const [b, rounds] of table) {
      rounds.forEach(([size, epochs], r) => {
        for (let j = 0; j < size; j++, n++) {
          const t = history[n] as HistoryTrial;
          assert.equal(t.slot, `h:0.${b}.${r}.${j}`);
          assert.deepEqual(t.rung, { iteration: 0, bracket: b, round: r });
          assert.deepEqual(parseHyperbandSlot(t.slot), { rung: t.rung, place: j });
          assert.equal(t.budget, epochs);
          assert.equal(t.parent === undefined, r === 0);
        }
      });
    }

    // Each round after the first continues the best of the round before, best first.
    const byRung = new Map<string, HistoryTrial[]>();
    for (const t of history) byRung.set(rungKey(t), [...(byRung.get(rungKey(t)) ?? []), t]);
    for (const [key, round] of byRung) {
      const [i, b, r] = key.split('.').map(Number) as [number, number, number];
      if (r === 0) continue;
      const previous = byRung.get(`${i}.${b}.${r - 1}`) ?? [];
      const best = [...previous].sort((x, y) => (x.value as number) - (y.value as number));
      assert.deepEqual(
        round.map((t) => t.parent),
        best.slice(0, round.length).map((t) => t.number),
        key,
      );
      for (const t of round) assert.deepEqual(t.params, history[t.parent as number]?.params);
    }
    // Parents chain back to a round-0 configuration of the same bracket.
    const last = history.find((t) => t.slot === 'h:0.4.4.0') as HistoryTrial;
    const chain: number[] = [];
    for (let t: HistoryTrial | undefined = last; t; t = t.parent === undefined ? undefined : history[t.parent]) chain.push(t.rung?.round ?? -1);
    assert.deepEqual(chain, [4, 3, 2, 1, 0]);
  });

  test('direction max promotes the highest values', () => {
    const { history } = runAll(strategy({ maxEpochs: 9, direction: 'max' }), (plan) => score(plan.params));
    const round0 = history.filter((t) => t.slot.startsWith('h:0.2.0.'));
    const round1 = history.filter((t) => t.slot.startsWith('h:0.2.1.'));
    const best = [...round0].sort((x, y) => (y.value as number) - (x.value as number)).slice(0, 3);
    assert.deepEqual(
      round1.map((t) => t.parent),
      best.map((t) => t.number),
    );
  });

  test('ties go to the lower trial number', () => {
    const { history } = runAll(strategy({ maxEpochs: 9 }), () => 1);
    assert.deepEqual(
      history.filter((t) => t.slot.startsWith('h:0.2.1.')).map((t) => t.parent),
      [0, 1, 2],
    );
    assert.deepEqual(
      history.filter((t) => t.slot.startsWith('h:0.2.2.')).map((t) => t.parent),
      [9],
    );
  });

  test('plans depend on the history alone: every prefix gives the same next plan', () => {
    const { history } = runAll(strategy(), (plan) => score(plan.params));
    for (let p = 0; p < history.length; p++) {
      assert.deepEqual(strategy().next(history.slice(0, p)), { kind: 'run', trial: planOf(history[p] as HistoryTrial) }, `prefix ${p}`);
    }
  });

  test('seeded: the same seed gives the same configurations, another seed others', () => {
    const a = runAll(strategy({ maxEpochs: 9 })).history;
    const b = runAll(strategy({ maxEpochs: 9 })).history;
    const c = runAll(strategy({ maxEpochs: 9, seed: 43 })).history;
    assert.deepEqual(a, b);
    assert.notDeepEqual(a[0]?.params, c[0]?.params);
  });

  test('round 0 runs in parallel; a later round waits for the whole previous one', () => {
    const s = strategy({ maxEpochs: 9 });
    const history: HistoryTrial[] = [];
    // Nine configurations handed out while none has finished.
    for (let j = 0; j < 9; j++) record(history, planned(s.next(history)), 'running');
    assert.deepEqual(s.next(history), { kind: 'wait' });
    const finish = (n: number, state: HistoryTrial['state'], value?: number): void => {
      history[n] = { ...(history[n] as HistoryTrial), state, ...(value !== undefined ? { value } : {}) };
    };
    for (let n = 0; n < 8; n++) finish(n, n === 3 ? 'failed' : 'complete', 10 - n);
    assert.deepEqual(s.next(history), { kind: 'wait' });
    finish(8, 'complete', 5);
    // 7 (value 3), 6 (4), 5 (5) — and 8 (5) loses the tie to 5.
    const first = planned(s.next(history));
    assert.deepEqual(first, {
      slot: 'h:0.2.1.0',
      params: history[7]?.params,
      budget: 3,
      rung: { iteration: 0, bracket: 2, round: 1 },
      parent: 7,
    });
    record(history, first, 'running');
    assert.equal(planned(s.next(history)).parent, 6);
    record(history, planned(s.next(history)), 'running');
    assert.equal(planned(s.next(history)).parent, 5);
    record(history, planned(s.next(history)), 'complete', 1);
    // Round 1 is fully created, but round 2 needs all of it.
    assert.deepEqual(s.next(history), { kind: 'wait' });
    finish(9, 'complete', 2);
    finish(10, 'complete', 0.5);
    const last = planned(s.next(history));
    assert.equal(last.parent, 10);
    assert.equal(last.budget, 9);
    record(history, last, 'running');
    // Brackets run one after another: bracket 1 waits for bracket 2's last trial.
    assert.deepEqual(s.next(history), { kind: 'wait' });
    finish(12, 'complete', 0.1);
    assert.equal(planned(s.next(history)).slot, 'h:0.1.0.0');
  });

  test('failed trials are not promoted: a round gets fewer trials, and the bracket goes on', () => {
    const s = strategy({ maxEpochs: 9 });
    const history: HistoryTrial[] = [];
    // Bracket 2: only 2 of 9 complete, so round 1 has 2 trials (not 3), round 2 one.
    for (let j = 0; j < 9; j++) record(history, planned(s.next(history)), j === 2 || j === 5 ? 'complete' : 'failed', j);
    const r1 = [planned(s.next(history))];
    record(history, r1[0] as TrialPlan, 'complete', 1);
    r1.push(planned(s.next(history)));
    record(history, r1[1] as TrialPlan, 'failed');
    assert.deepEqual(
      r1.map((p) => [p.slot, p.parent]),
      [
        ['h:0.2.1.0', 2],
        ['h:0.2.1.1', 5],
      ],
    );
    const r2 = planned(s.next(history));
    assert.deepEqual([r2.slot, r2.parent], ['h:0.2.2.0', 9]);
    record(history, r2, 'failed');
    assert.equal(planned(s.next(history)).slot, 'h:0.1.0.0');
    const { end } = (() => {
      for (;;) {
        const d = s.next(history);
        if (d.kind !== 'run') return { end: d };
        record(history, d.trial, 'failed');
      }
    })();
    // All of bracket 1 and 0's new configurations fail: no promotions at all.
    assert.deepEqual(end, { kind: 'stop', reason: 'hyperband finished: 1 iteration(s), 20 trials' });
  });

  test('a finite space that runs out gives brackets fewer configurations', () => {
    const four = Space.parse({ a: { type: 'choice', values: ['x', 'y'] }, b: { type: 'bool' } });
    const { history, end } = runAll(strategy({ maxEpochs: 9 }, four), (_plan, n) => n);
    // Bracket 2: 4 configurations (of 9), 3 promoted, then 1; brackets 1 and 0: nothing new to try.
    assert.deepEqual(
      history.map((t) => t.slot),
      ['h:0.2.0.0', 'h:0.2.0.1', 'h:0.2.0.2', 'h:0.2.0.3', 'h:0.2.1.0', 'h:0.2.1.1', 'h:0.2.1.2', 'h:0.2.2.0'],
    );
    assert.equal(new Set(history.slice(0, 4).map((t) => four.key(t.params))).size, 4);
    assert.deepEqual(end, {
      kind: 'stop',
      reason: 'hyperband finished: 1 iteration(s), 8 trials; the search space ran out after 4 configurations',
    });
  });

  test('iterations repeat the brackets with new configurations', () => {
    const s = strategy({ maxEpochs: 9, iterations: 2 });
    assert.equal(s.plannedTrials, 46);
    const { history, end } = runAll(s, (plan) => score(plan.params));
    assert.equal(history.length, 46);
    assert.equal(history[23]?.slot, 'h:1.2.0.0');
    assert.deepEqual(history[23]?.rung, { iteration: 1, bracket: 2, round: 0 });
    const fresh = history.filter((t) => t.parent === undefined);
    assert.equal(fresh.length, 34);
    assert.equal(new Set(fresh.map((t) => CONTINUOUS.key(t.params))).size, 34);
    assert.deepEqual(end, { kind: 'stop', reason: 'hyperband finished: 2 iteration(s), 46 trials' });
  });

  test('an interrupted trial in round 1 blocks the round; withRetries re-runs it with the same parent', () => {
    const s = strategy({ maxEpochs: 9 });
    const history: HistoryTrial[] = [];
    for (let j = 0; j < 9; j++) record(history, planned(s.next(history)), 'complete', j);
    const child = planned(s.next(history));
    assert.equal(child.parent, 0);
    record(history, child, 'interrupted');
    record(history, planned(s.next(history)), 'complete', 1); // h:0.2.1.1, parent 1
    record(history, planned(s.next(history)), 'complete', 2); // h:0.2.1.2, parent 2
    // Round 2 needs the interrupted slot finished; alone, the strategy waits.
    assert.deepEqual(s.next(history), { kind: 'wait' });
    assert.ok(s.checkpointsNeeded(history).has(0), 'the parent checkpoint is kept for the re-run');
    const retried = withRetries(s);
    assert.deepEqual(retried.checkpointsNeeded?.(history), s.checkpointsNeeded(history));
    assert.equal(retried.plannedTrials, 23);
    const again = planned(retried.next(history));
    assert.deepEqual(again, { ...child, retryOf: 9 });
    assert.deepEqual(again, {
      slot: 'h:0.2.1.0',
      params: history[0]?.params,
      budget: 3,
      rung: { iteration: 0, bracket: 2, round: 1 },
      parent: 0,
      retryOf: 9,
    });
    record(history, again, 'complete', 0.5);
    // Round 2 promotes the best of round 1, the retry (trial 12) included.
    const top = planned(retried.next(history));
    assert.deepEqual([top.slot, top.parent, top.budget], ['h:0.2.2.0', 12, 9]);
  });

  test('a failed round-0 trial retried by --retry-failed after its round moved on can still be promoted', () => {
    const s = strategy({ maxEpochs: 9 });
    const history: HistoryTrial[] = [];
    // Round 0: only 0 and 1 complete; round 1 gets those two (of 3).
    for (let j = 0; j < 9; j++) record(history, planned(s.next(history)), j < 2 ? 'complete' : 'failed', j);
    record(history, planned(s.next(history)), 'complete', 5); // h:0.2.1.0 from 0
    record(history, planned(s.next(history)), 'complete', 6); // h:0.2.1.1 from 1
    // A later run (starting at 11) retries the failed ones, earliest first.
    const run = withRetries(s, { retryFailedBefore: 11 });
    const retry = planned(run.next(history));
    assert.deepEqual([retry.slot, retry.retryOf], ['h:0.2.0.2', 2]);
    record(history, retry, 'running');
    // In flight: round 1 may not grow until it finishes; the next failed slot is retried meanwhile.
    assert.deepEqual([planned(run.next(history)).slot], ['h:0.2.0.3']);
    history[11] = { ...(history[11] as HistoryTrial), state: 'complete', value: -1 };
    for (let j = 3; j < 9; j++) record(history, planned(run.next(history)), 'failed');
    // Now the retried trial 11 fills round 1's third place.
    const third = planned(run.next(history));
    assert.deepEqual([third.slot, third.parent], ['h:0.2.1.2', 11]);
  });

  test('checkpointsNeeded shrinks as rounds complete', () => {
    const s = strategy({ maxEpochs: 9 });
    const history: HistoryTrial[] = [];
    const needed = (): number[] => [...s.checkpointsNeeded(history)].sort((a, b) => a - b);
    assert.deepEqual(needed(), []);
    for (let j = 0; j < 9; j++) record(history, planned(s.next(history)), 'complete', 9 - j);
    // Round 0 complete, nothing promoted yet: all may be.
    assert.deepEqual(needed(), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    record(history, planned(s.next(history)), 'running'); // from 8
    assert.deepEqual(needed(), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    record(history, planned(s.next(history)), 'complete', 3); // from 7
    record(history, planned(s.next(history)), 'complete', 2); // from 6
    // Round 1 full: the rest of round 0 is out; 8 stays while its child runs; round 1's complete ones may be promoted.
    assert.deepEqual(needed(), [8, 10, 11]);
    history[9] = { ...(history[9] as HistoryTrial), state: 'complete', value: 1 };
    assert.deepEqual(needed(), [9, 10, 11]);
    record(history, planned(s.next(history)), 'complete', 0); // round 2 from 9
    assert.deepEqual(needed(), []);
    // Bracket 1 (5 configurations → 2): same again.
    for (let j = 0; j < 5; j++) record(history, planned(s.next(history)), 'complete', j);
    assert.deepEqual(needed(), [13, 14, 15, 16, 17]);
    record(history, planned(s.next(history)), 'failed'); // from 13
    record(history, planned(s.next(history)), 'complete', 1); // from 14
    // Last round: nothing is promoted from it; the failed child keeps its parent.
    assert.deepEqual(needed(), [13]);
    // Bracket 0 (no promotions); at the end only the failed child's parent is left, for --retry-failed.
    for (let d = s.next(history); d.kind === 'run'; d = s.next(history)) record(history, d.trial, 'complete', 1);
    assert.equal(history.length, 23);
    assert.deepEqual(needed(), [13]);
  });

  test('a whole run keeps few checkpoints: at most one round and its parents', () => {
    const s = strategy();
    const history: HistoryTrial[] = [];
    let most = 0;
    for (;;) {
      const d = s.next(history);
      if (d.kind !== 'run') break;
      record(history, d.trial, 'complete', score(d.trial.params));
      const needed = s.checkpointsNeeded(history);
      most = Math.max(most, needed.size);
      for (const n of needed) assert.equal(history[n]?.state, 'complete');
    }
    assert.equal(most, 81);
    assert.deepEqual(s.checkpointsNeeded(history), new Set());
  });

  test('ignores trials of other strategies except for not repeating their parameters', () => {
    const first = planned(strategy({ maxEpochs: 9 }).next([]));
    const foreign: HistoryTrial = { number: 0, slot: 'r:0', state: 'complete', params: first.params, value: 0 };
    const next = planned(strategy({ maxEpochs: 9 }).next([foreign]));
    assert.equal(next.slot, 'h:0.2.0.0');
    assert.notDeepEqual(next.params, first.params);
    assert.deepEqual(strategy({ maxEpochs: 9 }).checkpointsNeeded([foreign]), new Set());
  });

  test('rejects bad options, naming the field', () => {
    for (const [options, field] of [
      [{ maxEpochs: 0 }, 'max_epochs'],
      [{ factor: 1 }, 'factor'],
      [{ iterations: 0 }, 'iterations'],
      [{ iterations: 1.5 }, 'iterations'],
      [{ seed: Number.NaN }, 'seed'],
    ] as const) {
      assert.throws(
        () => strategy(options),
        (e: unknown) => e instanceof UserError && e.field === field,
        field,
      );
    }
  });
});
