/** Search strategies: the next trial's parameters, from the history alone. */
export { RandomStrategy, SPACE_EXHAUSTED, type RandomOptions } from './random';
export { GridStrategy, type GridOptions } from './grid';
export { createStrategy } from './factory';
export type { Decision, HistoryTrial, Strategy, StrategySpec, TrialState } from './types';
