/** Drawing a parameter set not tried before, shared by random search and Hyperband. */
import type { Params, Rng, Space } from '../space';

/** Draws before concluding that the untried part of the space is too small to hit by chance. */
export const MAX_DRAWS = 1000;
/** Up to this many cells, a nearly exhausted finite space is finished by listing what is left. */
const LIST_LIMIT = 100_000;

/** The keys of every parameter set in `trials`, whatever their state. */
export function triedKeys(space: Space, trials: readonly { readonly params: Params }[]): Set<string> {
  return new Set(trials.map((t) => space.key(t.params)));
}

/**
 * Whether a finite space has no untried set left. Only sets of this space
 * count: trials from an older version of the space do not use this one up.
 */
export function isExhausted(
  space: Space,
  trials: readonly { readonly params: Params }[],
  size: number = space.gridSize(),
): boolean {
  if (!Number.isFinite(size)) return false;
  return triedKeys(space, trials.filter((t) => space.contains(t.params))).size >= size;
}

/**
 * A draw from `rng` whose key is not in `tried`: sample up to MAX_DRAWS times,
 * then, for a small enough finite space, pick among the untried cells with the
 * same stream. Undefined when nothing untried was found. Deterministic in the
 * rng's seed and `tried`.
 */
export function drawUntried(space: Space, rng: Rng, tried: ReadonlySet<string>): Params | undefined {
  for (let attempt = 0; attempt < MAX_DRAWS; attempt++) {
    const params = space.sample(rng);
    if (!tried.has(space.key(params))) return params;
  }
  if (space.gridSize() <= LIST_LIMIT) {
    const untried: Params[] = [];
    for (const cell of space.cells()) if (!tried.has(space.key(cell))) untried.push(cell);
    return untried[Math.floor(rng() * untried.length)];
  }
  return undefined;
}
