import type { EpochLog, StudyRecord, TrialRecord } from '../trials/storage/types';

/**
 * What `tune doctor` reads: a finished (or interrupted) study as storage
 * holds it, each trial with its epoch history. Pure data: the rules do no
 * I/O and load no tfjs, so they run on any study, old or new, anywhere.
 */
export type DoctorTrial = TrialRecord & { readonly history: readonly EpochLog[] };

export interface DoctorInput {
  readonly study: StudyRecord;
  readonly trials: readonly DoctorTrial[];
}

export type Severity = 'high' | 'medium' | 'low';

/** One likely cause of a disappointing study, with the numbers behind it and what to change. */
export interface Finding {
  /** Stable id of the rule that found it, e.g. `early-stopping-on-training-loss`. */
  readonly rule: string;
  readonly severity: Severity;
  /** One sentence: what is wrong. */
  readonly title: string;
  /** Plain sentences with numbers and trial numbers (`#3`). */
  readonly evidence: string[];
  /** The one-line change to the study file, in its YAML spelling. */
  readonly fix: string;
}

/** A check of the study. Never throws on missing data: it returns no finding instead. */
export type Rule = (input: DoctorInput) => Finding | undefined;
