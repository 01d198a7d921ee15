/**
 * Re-running trials that did not finish: a wrapper around any strategy, so
 * the strategies themselves only ever plan new slots.
 */
import { latestAttempts } from './attempts';
import type { Decision, HistoryTrial, Strategy, TrialPlan } from './types';

export interface RetryOptions {
  /**
   * Also re-run slots whose last attempt failed, if that attempt's number is
   * below this. `tune run --retry-failed` passes the first trial number of
   * the run, so each failed slot gets one more try per run (a retry that
   * fails again has a number of this run and is left alone).
   */
  readonly retryFailedBefore?: number;
}

/** The plan of `attempt`, again, as a re-run of it (same slot, parameters, budget, rung and parent). */
export function retryPlan(attempt: HistoryTrial): TrialPlan {
  return {
    slot: attempt.slot,
    params: attempt.params,
    ...(attempt.budget !== undefined ? { budget: attempt.budget } : {}),
    ...(attempt.rung !== undefined ? { rung: attempt.rung } : {}),
    ...(attempt.parent !== undefined ? { parent: attempt.parent } : {}),
    retryOf: attempt.number,
  };
}

/**
 * `inner`, except that a slot whose last attempt was interrupted (its process
 * died), or failed before `retryFailedBefore`, is re-run first, earliest slot
 * first, before anything new is planned. A `running` attempt is in flight in
 * another worker and is left alone.
 */
export function withRetries(inner: Strategy, options: RetryOptions = {}): Strategy {
  const before = options.retryFailedBefore ?? -Infinity;
  const wrapped: Strategy = {
    kind: inner.kind,
    ...(inner.plannedTrials !== undefined ? { plannedTrials: inner.plannedTrials } : {}),
    next(history: readonly HistoryTrial[]): Decision {
      for (const attempt of latestAttempts(history)) {
        if (attempt.state === 'interrupted' || (attempt.state === 'failed' && attempt.number < before)) {
          return { kind: 'run', trial: retryPlan(attempt) };
        }
      }
      return inner.next(history);
    },
  };
  const needed = inner.checkpointsNeeded;
  return needed ? { ...wrapped, checkpointsNeeded: (history) => needed.call(inner, history) } : wrapped;
}
