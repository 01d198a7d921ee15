/**
 * Random search: each slot an independent draw from the space, skipping
 * parameter sets already in the history. Draw k (slot `r:k`) comes from an
 * rng seeded with (seed, k) alone, and k counts slots, not trials, so a study
 * resumed after a crash, run by several workers, or with retried trials,
 * proposes the same draw k as an uninterrupted one given the same history.
 */
import seedrandom from 'seedrandom';
import { UserError } from '../errors';
import type { Space } from '../space';
import { latestAttempts } from './attempts';
import { checkMaxTrials, maxTrialsReached } from './budget';
import { drawUntried, isExhausted, MAX_DRAWS, triedKeys } from './draw';
import type { Decision, HistoryTrial, Strategy } from './types';

export interface RandomOptions {
  readonly seed: number;
  /** The number of slots (draws); retries of a draw do not count again. */
  readonly maxTrials: number;
}

export const SPACE_EXHAUSTED = 'search space exhausted';

/** The slot of random draw k. */
export function randomSlot(k: number): string {
  return `r:${k}`;
}

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

  /**
   * A slot whose last attempt was interrupted still counts as drawn (and its
   * parameters as tried): re-running it is `withRetries`' job.
   */
  next(history: readonly HistoryTrial[]): Decision {
    const space = this.#space;
    if (isExhausted(space, history, this.#size)) return { kind: 'stop', reason: SPACE_EXHAUSTED };
    const slots = new Set(latestAttempts(history).map((t) => t.slot));
    if (slots.size >= this.#maxTrials) return { kind: 'stop', reason: maxTrialsReached(this.#maxTrials) };

    let k = slots.size;
    // Only if slots were named by hand out of order: never reuse one.
    while (slots.has(randomSlot(k))) k++;
    const params = drawUntried(space, seedrandom(`${this.#seed}:random:${k}`), triedKeys(space, history));
    if (params) return { kind: 'run', trial: { slot: randomSlot(k), params } };
    return { kind: 'stop', reason: `no untried parameter set found in ${MAX_DRAWS} random draws` };
  }
}
