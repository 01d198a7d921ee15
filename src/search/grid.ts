/**
 * Grid search: every combination of the space, in the space's grid order,
 * each proposed once. The next trial is the first cell not in the history, so
 * a failed or abandoned cell is not retried and a resumed study carries on
 * where it stopped.
 */
import type { Params, Space } from '../space';
import { checkMaxTrials, maxTrialsReached } from './budget';
import type { Decision, HistoryTrial, Strategy } from './types';

export interface GridOptions {
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
    if (this.#maxTrials !== undefined && history.length >= this.#maxTrials) {
      return { kind: 'stop', reason: maxTrialsReached(this.#maxTrials) };
    }
    return { kind: 'sample', number: history.length, params: untried };
  }
}
