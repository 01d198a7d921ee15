/** Search strategies: the next trial to run, from the history alone. */
export { RandomStrategy, SPACE_EXHAUSTED, randomSlot, type RandomOptions } from './random';
export { GridStrategy, type GridOptions } from './grid';
export {
  HyperbandStrategy,
  bracketSize,
  hyperbandSlot,
  numBrackets,
  parseHyperbandSlot,
  roundEpochs,
  schedule,
  type HyperbandOptions,
  type HyperbandSchedule,
  type ScheduleBracket,
  type ScheduleRound,
} from './hyperband';
export { withRetries, retryPlan, type RetryOptions } from './retry';
export { latestAttempts } from './attempts';
export { bestFirst } from './rank';
export { createStrategy } from './factory';
export type { Decision, HistoryTrial, Rung, Strategy, StrategySpec, TrialPlan, TrialState } from './types';
