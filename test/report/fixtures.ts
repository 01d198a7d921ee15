/**
 * A small constructed study for the report tests: six complete trials, one
 * failed, a Hyperband-style continued trial, histories for all, and a space
 * with searched, fixed and constant parameters.
 */
import type { PlotInput, PlotStudy, PlotTrial } from '../../src/report/spec';
import type { EpochLog } from '../../src/trials/storage/types';

export const SPACE = {
  layers: { type: 'int', min: 1, max: 3, sampling: 'linear' },
  units: { type: 'fixed', value: 8 },
  learning_rate: { type: 'float', min: 0.0001, max: 0.1, sampling: 'log' },
  optimizer: { type: 'choice', values: ['sgd', 'momentum', 'adam'] },
  momentum: { type: 'float', min: 0.5, max: 0.9, sampling: 'linear', when: { optimizer: ['momentum'] } },
  batch_norm: { type: 'bool' },
  // Searched, but every trial below drew the same value: no panel.
  dropout: { type: 'float', min: 0, max: 0.2, sampling: 'linear' },
};

export const BASELINE = { metrics: { mae: 0.42, val_mae: 0.5, mse: 0.3, val_mse: 0.35 } };

export function study(overrides: Partial<PlotStudy> = {}): PlotStudy {
  return {
    name: 'constructed',
    metric: 'val_mae',
    direction: 'min',
    definition: { seed: 1, data: {}, objective: { metric: 'val_mae', direction: 'min' }, strategy: { kind: 'random' }, space: SPACE },
    baseline: BASELINE,
    ...overrides,
  };
}

function trial(number: number, value: number | undefined, params: PlotTrial['params'], extra: Partial<PlotTrial> = {}): PlotTrial {
  return { number, state: value === undefined ? 'failed' : 'complete', params, ...(value !== undefined ? { value } : {}), ...extra };
}

const common = { units: 8, dropout: 0.1 };

/** Best first by val_mae: #4 (0.2, continues #2), #1 (0.3), #2 (0.35), #5 (0.6), #0 (0.8), #3 (0.9); #6 failed. */
export const TRIALS: readonly PlotTrial[] = [
  trial(0, 0.8, { ...common, layers: 1, learning_rate: 0.0003, optimizer: 'sgd', batch_norm: false }),
  trial(1, 0.3, { ...common, layers: 2, learning_rate: 0.003, optimizer: 'momentum', momentum: 0.7, batch_norm: true }),
  trial(2, 0.35, { ...common, layers: 3, learning_rate: 0.01, optimizer: 'adam', batch_norm: false }),
  trial(3, 0.9, { ...common, layers: 1, learning_rate: 0.05, optimizer: 'sgd', batch_norm: true }),
  trial(4, 0.2, { ...common, layers: 3, learning_rate: 0.01, optimizer: 'adam', batch_norm: false }, { parent: 2, initialEpoch: 3 }),
  trial(5, 0.6, { ...common, layers: 2, learning_rate: 0.001, optimizer: 'momentum', momentum: 0.9, batch_norm: true }),
  trial(6, undefined, { ...common, layers: 2, learning_rate: 0.09, optimizer: 'sgd', batch_norm: false }),
];

/** `epochs` rows of history from `from` on, val_mae falling from `start` towards `end`. */
export function history(from: number, epochs: number, start: number, end: number): EpochLog[] {
  return Array.from({ length: epochs }, (_, i) => {
    const val = end + (start - end) * Math.exp(-(from + i) / 2);
    return { epoch: from + i, loss: val * 0.9, val_loss: val, mae: val * 0.9, val_mae: val, mse: val * val, val_mse: val * val, lr: 0.01, seconds: 0.1 };
  });
}

export const HISTORIES: ReadonlyMap<number, readonly EpochLog[]> = new Map([
  [0, history(0, 3, 1.2, 0.8)],
  [1, history(0, 6, 1.0, 0.3)],
  [2, history(0, 3, 0.9, 0.35)],
  [3, history(0, 3, 1.3, 0.9)],
  [4, history(3, 6, 0.9, 0.2)],
  [5, history(0, 6, 1.0, 0.6)],
]);

export function input(overrides: Partial<PlotInput> = {}): PlotInput {
  return { study: study(), trials: TRIALS, histories: HISTORIES, top: 3, ...overrides };
}
