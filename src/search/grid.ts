/**
 * Grid search: every combination of the space, in the space's grid order,
 * each proposed once, as slot `g:<space.key(cell)>`. The next trial is the
 * first cell whose parameters are in no trial of the history (any state), so
 * a resumed study carries on where it stopped; re-running an interrupted or
 * failed cell is `withRetries`' job.
 */
import type { Params, Space } from '../space';
import { latestAttempts } from './attempts';
import { checkMaxTrials, maxTrialsReached } from './budget';
import type { Decision, HistoryTrial, Strategy } from './types';

export interface GridOptions {
  /** The number of slots (cells) to run at most; retries do not count again. */
  readonly maxTrials?: number;
}

export class GridStrategy implements Strategy {
  readonly kind = 'grid';
  readonly plannedTrials: number;
  readonly #space: Space;
  readonly #maxTrials: number | undefined;
  readonly #size: number;

  /** Throws a UserError naming the parameter when the space is not finite. */
  constructor(space: Space, options: GridOptions = {}) {
    space.assertFinite();
    if (options.maxTrials !== undefined) checkMaxTrials(options.maxTrials);
    this.#space = space;
    this.#maxTrials = options.maxTrials;
    this.#size = space.gridSize();
    this.plannedTrials = Math.min(this.#size, options.maxTrials ?? Infinity);
  }

  next(history: readonly HistoryTrial[]): Decision {
    const space = this.#space;
    const tried = new Set(history.map((t) => space.key(t.params)));
    let untried: Params | undefined;
    for (const cell of space.cells()) {
      if (!tried.has(space.key(cell))) {
        untried = cell;
        break;
      }
    }
    if (!untried) return { kind: 'stop', reason: `grid exhausted: all ${this.#size} combinations tried` };
    if (this.#maxTrials !== undefined && latestAttempts(history).length >= this.#maxTrials) {
      return { kind: 'stop', reason: maxTrialsReached(this.#maxTrials) };
    }
    return { kind: 'run', trial: { slot: `g:${space.key(untried)}`, params: untried } };
  }
}
