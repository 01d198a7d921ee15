/** The strategy a study's `strategy:` section asks for. */
import type { Space } from '../space';
import { GridStrategy } from './grid';
import { HyperbandStrategy } from './hyperband';
import { RandomStrategy } from './random';
import type { Strategy, StrategySpec } from './types';

/**
 * `seed` is the study's seed; `direction` its objective's (only Hyperband
 * uses it, to promote the best trials). Retries are not included: wrap the
 * result in `withRetries`.
 */
export function createStrategy(space: Space, spec: StrategySpec, seed: number, direction: 'min' | 'max'): Strategy {
  switch (spec.kind) {
    case 'random':
      return new RandomStrategy(space, { seed, maxTrials: spec.max_trials });
    case 'grid':
      return new GridStrategy(space, spec.max_trials !== undefined ? { maxTrials: spec.max_trials } : {});
    case 'hyperband':
      return new HyperbandStrategy(space, {
        seed,
        maxEpochs: spec.max_epochs,
        factor: spec.factor,
        iterations: spec.iterations,
        direction,
      });
    default: {
      // A new kind in StrategySpec without a case here fails to compile.
      const unknown: never = spec;
      throw new Error(`unknown search kind ${JSON.stringify((unknown as { kind?: unknown }).kind)}`);
    }
  }
}
