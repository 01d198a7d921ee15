/**
 * A slot is a unit of work (a random draw, a grid cell, a Hyperband place);
 * each run of it is a trial, and a re-run of an interrupted or failed trial is
 * a new trial with the same slot. Strategies reason about slots.
 */
import type { HistoryTrial } from './types';

/**
 * One trial per slot: the attempt with the highest number, in the order the
 * slots first appear in `history`. So a slot retried twice counts once, with
 * the state of its last try.
 */
export function latestAttempts(history: readonly HistoryTrial[]): HistoryTrial[] {
  const latest = new Map<string, HistoryTrial>();
  for (const trial of history) {
    const seen = latest.get(trial.slot);
    // A Map keeps first-insertion order when a key's value is replaced.
    if (!seen || trial.number > seen.number) latest.set(trial.slot, trial);
  }
  return [...latest.values()];
}
