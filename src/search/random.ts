/**
 * Random search: each trial an independent draw from the space, skipping
 * parameter sets already in the history. Trial k's draw comes from an rng
 * seeded with (seed, k) alone, so a study resumed after a crash, or run by
 * several workers, proposes the same trial k as an uninterrupted one given
 * the same history.
 */
import seedrandom from 'seedrandom';
import { UserError } from '../errors';
import type { Params, Space } from '../space';
import { checkMaxTrials, maxTrialsReached } from './budget';
import type { Decision, HistoryTrial, Strategy } from './types';

export interface RandomOptions {
  readonly seed: number;
  readonly maxTrials: number;
}

/** Draws per trial before concluding that the untried part of the space is too small to hit by chance. */
const MAX_ATTEMPTS = 1000;
/** Up to this many cells, a nearly exhausted finite space is finished by listing what is left. */
const LIST_LIMIT = 100_000;

export const SPACE_EXHAUSTED = 'search space exhausted';

export class RandomStrategy implements Strategy {
  readonly kind = 'random';
  readonly plannedTrials: number;
  readonly #space: Space;
  readonly #seed: number;
  readonly #maxTrials: number;
  /** Infinity for a space with a float without step. */
  readonly #size: number;

  constructor(space: Space, options: RandomOptions) {
    checkMaxTrials(options.maxTrials);
    if (!Number.isFinite(options.seed)) {
      throw new UserError('seed', `seed must be a number, got ${options.seed}`, 'set e.g. seed: 42');
    }
    this.#space = space;
    this.#seed = options.seed;
    this.#maxTrials = options.maxTrials;
    this.#size = space.gridSize();
    this.plannedTrials = Math.min(options.maxTrials, this.#size);
  }

  next(history: readonly HistoryTrial[]): Decision {
    const space = this.#space;
    const tried = new Set(history.map((t) => space.key(t.params)));
    // Trials from an older version of the space do not use up this one.
    if (Number.isFinite(this.#size)) {
      const triedHere = new Set(history.filter((t) => space.contains(t.params)).map((t) => space.key(t.params)));
      if (triedHere.size >= this.#size) return { kind: 'stop', reason: SPACE_EXHAUSTED };
    }
    if (history.length >= this.#maxTrials) return { kind: 'stop', reason: maxTrialsReached(this.#maxTrials) };

    const number = history.length;
    const rng = seedrandom(`${this.#seed}:random:${number}`);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const params = space.sample(rng);
      if (!tried.has(space.key(params))) return { kind: 'sample', number, params };
    }
    // Few untried sets left: draw among them directly (still from the same stream).
    if (this.#size <= LIST_LIMIT) {
      const untried: Params[] = [];
      for (const cell of space.cells()) if (!tried.has(space.key(cell))) untried.push(cell);
      const params = untried[Math.floor(rng() * untried.length)];
      if (params) return { kind: 'sample', number, params };
    }
    return { kind: 'stop', reason: `no untried parameter set found in ${MAX_ATTEMPTS} random draws` };
  }
}
