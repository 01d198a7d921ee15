/** The strategy a study's `search:` section asks for. */
import type { Space } from '../space';
import { GridStrategy } from './grid';
import { RandomStrategy } from './random';
import type { Strategy, StrategySpec } from './types';

export function createStrategy(space: Space, spec: StrategySpec, seed: number): Strategy {
  switch (spec.kind) {
    case 'random':
      return new RandomStrategy(space, { seed, maxTrials: spec.max_trials });
    case 'grid':
      return new GridStrategy(space, spec.max_trials !== undefined ? { maxTrials: spec.max_trials } : {});
    default: {
      // A new kind in StrategySpec without a case here fails to compile.
      const unknown: never = spec;
      throw new Error(`unknown search kind ${JSON.stringify((unknown as { kind?: unknown }).kind)}`);
    }
  }
}
