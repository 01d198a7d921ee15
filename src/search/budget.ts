/** Checks shared by the strategies: a trial budget must be a count. */
import { UserError } from '../errors';

export function checkMaxTrials(maxTrials: number): void {
  if (!Number.isSafeInteger(maxTrials) || maxTrials < 1) {
    throw new UserError('max_trials', `max_trials must be a whole number of at least 1, got ${maxTrials}`, 'set e.g. max_trials: 20');
  }
}

export function maxTrialsReached(maxTrials: number): string {
  return `max_trials (${maxTrials}) reached`;
}
