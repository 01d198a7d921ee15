import type { Params } from '../../space/types';
import type { HistoryTrial, TrialState } from '../../search/types';

/**
 * Where studies and trials live. SQLite implements it today; another engine
 * (PostgreSQL) implements the same contract without touching strategies or
 * the trainer. Async because a networked engine is.
 *
 * Contract:
 * - a trial is created `running` with its parameters in one write;
 * - per-epoch history is appended while it runs (like Optuna's `report`);
 * - `finishTrial` writes state, metrics and summary in one transaction and
 *   refuses a trial that is already finished;
 * - returned records are copies: later writes never change them.
 */
export type Direction = 'min' | 'max';

export interface StudyInput {
  readonly name: string;
  /** The objective: metric name and direction. */
  readonly metric: string;
  readonly direction: Direction;
  /** The normalised study definition (space, data, strategy, …) as JSON-able data. */
  readonly definition: unknown;
  /** A hash of `definition`, to detect a changed study file. */
  readonly definitionHash: string;
}

export interface StudyRecord extends StudyInput {
  readonly id: number;
  /** ISO-8601, UTC. */
  readonly createdAt: string;
}

export interface StudySummary {
  readonly study: StudyRecord;
  readonly counts: Readonly<Record<TrialState, number>>;
  /** Best objective value among complete trials, if any. */
  readonly best?: number;
}

export type StopReason = 'max_epochs' | 'early_stopping' | 'nan' | 'error';

/** One row of a trial's epoch history. Losses are in the training scale, mae/mse in the targets' units. */
export interface EpochLog {
  /** 0-based. */
  readonly epoch: number;
  readonly loss: number;
  readonly val_loss?: number;
  readonly mae: number;
  readonly val_mae?: number;
  readonly mse: number;
  readonly val_mse?: number;
  /** Learning rate in force during this epoch. */
  readonly lr: number;
  /** Wall time of this epoch, validation included. */
  readonly seconds: number;
}

export type Metrics = Readonly<Record<string, number>>;

export interface TrialRecord extends HistoryTrial {
  readonly id: number;
  readonly studyId: number;
  /** Which tfjs backend trained it: `tensorflow`, `wasm` or `cpu`. */
  readonly backend: string;
  readonly metrics: Metrics;
  readonly epochs?: number;
  readonly stopReason?: StopReason;
  readonly error?: string;
  readonly durationS?: number;
  readonly startedAt: string;
  readonly finishedAt?: string;
}

export interface NewTrial {
  readonly number: number;
  readonly params: Params;
  readonly backend: string;
}

export interface TrialOutcome {
  readonly state: Exclude<TrialState, 'running'>;
  readonly metrics: Metrics;
  /** The objective value; absent for failed trials. */
  readonly value?: number;
  readonly epochs: number;
  readonly stopReason: StopReason;
  readonly error?: string;
  readonly durationS: number;
}

export interface RankOptions {
  readonly metric: string;
  readonly direction: Direction;
  readonly limit?: number;
}

export interface Storage {
  /** Throws `StudyExistsError` if the name is taken. */
  createStudy(input: StudyInput): Promise<StudyRecord>;
  getStudy(name: string): Promise<StudyRecord | undefined>;
  /** Most recently created first. */
  listStudies(): Promise<StudySummary[]>;
  /** Deletes the study and all its trials. Returns whether it existed. */
  deleteStudy(name: string): Promise<boolean>;

  /** Creates a `running` trial. Throws if the number is taken in that study. */
  createTrial(studyId: number, trial: NewTrial): Promise<TrialRecord>;
  /** Appends (or replaces) one epoch of history for a running trial. */
  reportEpoch(trialId: number, log: EpochLog): Promise<void>;
  /** Finishes a running trial in one transaction; throws if it is not running. */
  finishTrial(trialId: number, outcome: TrialOutcome): Promise<TrialRecord>;

  /** All trials of a study in number order, without history. */
  getTrials(studyId: number): Promise<TrialRecord[]>;
  getTrial(studyId: number, number: number): Promise<TrialRecord | undefined>;
  getHistory(trialId: number): Promise<EpochLog[]>;
  /** Complete trials having `metric`, best first (ties: lower number first). */
  rankTrials(studyId: number, options: RankOptions): Promise<TrialRecord[]>;

  close(): Promise<void>;
}

export class StudyExistsError extends Error {
  constructor(readonly studyName: string) {
    super(`a study named "${studyName}" already exists`);
    this.name = 'StudyExistsError';
  }
}

/** `createTrial` with a number already taken in that study (another worker got there first). */
export class TrialExistsError extends Error {
  constructor(
    readonly studyId: number,
    readonly trialNumber: number,
  ) {
    super(`study ${studyId} already has a trial number ${trialNumber}`);
    this.name = 'TrialExistsError';
  }
}

/** `reportEpoch` or `finishTrial` on a trial that is finished: finished trials are read-only. */
export class TrialNotRunningError extends Error {
  constructor(
    readonly trialId: number,
    readonly state: TrialState,
  ) {
    super(`trial ${trialId} is ${state}, not running: a finished trial is read-only`);
    this.name = 'TrialNotRunningError';
  }
}
