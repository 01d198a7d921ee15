import type { Params } from '../space/types';

/**
 * What a strategy sees of a study: its trials, in number order. Strategies
 * decide the next trial from this history alone (Optuna's samplers see only
 * FrozenTrials), so they are pure and testable without training anything.
 */
export type TrialState = 'running' | 'complete' | 'failed';

export interface HistoryTrial {
  /** 0-based, dense, unique within a study. */
  readonly number: number;
  readonly state: TrialState;
  readonly params: Params;
  /** The objective value, for complete trials. */
  readonly value?: number;
}

export type Decision =
  /** Run a new trial with these parameters; `number` is the trial number it gets. */
  | { readonly kind: 'sample'; readonly number: number; readonly params: Params }
  /** Nothing to start now, but the study is not over (others are running). */
  | { readonly kind: 'wait' }
  /** The study is finished: budget spent or space exhausted. */
  | { readonly kind: 'stop'; readonly reason: string };

export interface Strategy {
  /** A short name for reports, e.g. `random`. */
  readonly kind: string;
  /** The planned number of trials, when known (for progress and ETA). */
  readonly plannedTrials?: number;
  next(history: readonly HistoryTrial[]): Decision;
}

/**
 * The `search:` section of a study file, once schema-validated: which strategy
 * and its budget. The study's seed is passed alongside (it seeds more than
 * the search).
 */
export type StrategySpec =
  | { readonly kind: 'random'; readonly max_trials: number }
  | { readonly kind: 'grid'; readonly max_trials?: number };
