import type { Params } from '../space/types';

/**
 * What a strategy sees of a study: its trials, in number order. Strategies
 * decide the next trial from this history alone (Optuna's samplers see only
 * FrozenTrials), so they are pure and testable without training anything.
 * Their own bookkeeping (grid cell, bracket, round) lives on the trials as
 * `slot` and `rung` and is rebuilt from the history, never kept aside.
 */
export type TrialState = 'running' | 'complete' | 'failed' | 'interrupted';

/** Where a Hyperband trial sits: iteration, bracket (largest first), round within the bracket. */
export interface Rung {
  readonly iteration: number;
  readonly bracket: number;
  readonly round: number;
}

export interface HistoryTrial {
  /** 0-based, dense, unique within a study; assigned by storage when the trial is created. */
  readonly number: number;
  readonly state: TrialState;
  readonly params: Params;
  /** The objective value, for complete trials. */
  readonly value?: number;
  /**
   * The unit of work this trial is an attempt at, named by the strategy
   * (`r:7` = random draw 7, `g:<key>` = a grid cell, `h:0.4.1.3` = Hyperband
   * iteration 0, bracket 4, round 1, place 3). A re-run of an interrupted or
   * failed trial is a new trial with the same slot.
   */
  readonly slot: string;
  /** The earlier attempt at the same slot that this trial re-runs. */
  readonly retryOf?: number;
  /** Train until this many epochs in all (a Hyperband round's budget); absent: the `epochs` parameter. */
  readonly budget?: number;
  readonly rung?: Rung;
  /** The trial whose checkpoint (weights, optimizer and callback state) this one continues. */
  readonly parent?: number;
}

/** A trial a strategy wants run. Storage gives it its number. */
export interface TrialPlan {
  readonly slot: string;
  readonly params: Params;
  readonly budget?: number;
  readonly rung?: Rung;
  readonly parent?: number;
  readonly retryOf?: number;
}

export type Decision =
  /** Run this trial next. */
  | { readonly kind: 'run'; readonly trial: TrialPlan }
  /** Nothing to start now, but the study is not over (others are running). */
  | { readonly kind: 'wait' }
  /** The study is finished: budget spent or space exhausted. */
  | { readonly kind: 'stop'; readonly reason: string };

export interface Strategy {
  /** A short name for reports, e.g. `random`. */
  readonly kind: string;
  /** The planned number of trials (slots), when known (for progress and ETA). */
  readonly plannedTrials?: number;
  /**
   * The next trial, from the history alone. `history` holds every trial in
   * number order, retries included; use `latestAttempts` for one per slot.
   */
  next(history: readonly HistoryTrial[]): Decision;
  /**
   * Trials (by number) whose checkpoints this strategy may still continue
   * from: Hyperband parents not yet promoted, or promoted but whose child
   * has not completed. Others may be deleted (the runner keeps the best few).
   */
  checkpointsNeeded?(history: readonly HistoryTrial[]): ReadonlySet<number>;
}

/**
 * The `strategy:` section of a study file, once schema-validated. The study's
 * seed and objective direction are passed alongside.
 */
export type StrategySpec =
  | { readonly kind: 'random'; readonly max_trials: number }
  | { readonly kind: 'grid'; readonly max_trials?: number }
  | { readonly kind: 'hyperband'; readonly max_epochs: number; readonly factor: number; readonly iterations: number };
