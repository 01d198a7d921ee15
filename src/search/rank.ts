import type { HistoryTrial } from './types';

/**
 * Complete trials with a finite objective value, best first for the
 * direction; ties go to the lower number. The one order `tune top`, the run
 * loop, `doctor`, `plot` and checkpoint pruning all mean by "best".
 */
export function bestFirst<T extends Pick<HistoryTrial, 'number' | 'state' | 'value'>>(
  trials: readonly T[],
  direction: 'min' | 'max',
): T[] {
  const sign = direction === 'min' ? 1 : -1;
  return trials
    .filter((t) => t.state === 'complete' && t.value !== undefined && Number.isFinite(t.value))
    .sort((a, b) => sign * (a.value! - b.value!) || a.number - b.number);
}
