/**
 * What storage does for a strategy, in memory: numbers each planned trial
 * and records it, so search tests can drive a strategy without training.
 */
import assert from 'node:assert/strict';
import type { Decision, HistoryTrial, Strategy, TrialPlan, TrialState } from '../../src/search';

/** The plan of a `run` decision; fails the test on anything else. */
export function planned(decision: Decision): TrialPlan {
  assert.equal(decision.kind, 'run', JSON.stringify(decision));
  return (decision as { trial: TrialPlan }).trial;
}

/** Appends `plan` as the next trial, in `state` (with `value` when complete). */
export function record(history: HistoryTrial[], plan: TrialPlan, state: TrialState = 'complete', value?: number): HistoryTrial {
  const trial: HistoryTrial = { ...plan, number: history.length, state, ...(value !== undefined ? { value } : {}) };
  history.push(trial);
  return trial;
}

/** A trial with a slot of its own, for hand-made histories. */
export function trial(number: number, params: HistoryTrial['params'], state: TrialState = 'complete', slot = `x:${number}`): HistoryTrial {
  return { number, state, params, slot };
}

/**
 * Runs a strategy to the end (or `limit` decisions), every trial completing
 * at once with `value(params, plan)`. Returns the history and the decision
 * that ended it.
 */
export function runAll(
  strategy: Strategy,
  value: (plan: TrialPlan, number: number) => number = (_plan, number) => number,
  limit = 10_000,
): { history: HistoryTrial[]; end: Decision } {
  const history: HistoryTrial[] = [];
  for (let i = 0; i < limit; i++) {
    const decision = strategy.next(history);
    if (decision.kind !== 'run') return { history, end: decision };
    record(history, decision.trial, 'complete', value(decision.trial, history.length));
  }
  assert.fail(`no end after ${limit} decisions`);
}
