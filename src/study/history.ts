import type { Storage, TrialRecord } from '../trials/storage/types';

/**
 * A study's trials read again, given those read before: finished trials never
 * change, so only those from the first that may still (the first running one,
 * else the next number) are read. Cheap at 100,000 trials.
 */
export async function rereadTrials(storage: Storage, studyId: number, known: readonly TrialRecord[]): Promise<TrialRecord[]> {
  const open = known.findIndex((t) => t.state === 'running');
  const keep = open === -1 ? known.length : open;
  const from = keep < known.length ? known[keep]!.number : (known[known.length - 1]?.number ?? -1) + 1;
  return [...known.slice(0, keep), ...(await storage.getTrials(studyId, { fromNumber: from }))];
}
