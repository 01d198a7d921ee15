import type { HistoryTrial, TrialPlan, TrialState } from '../../search/types';
import type { LinearBaseline } from '../linear';

/**
 * Where studies and trials live. SQLite implements it today; another engine
 * (PostgreSQL) implements the same contract without touching strategies or
 * the trainer. Async because a networked engine is.
 *
 * Contract:
 * - a trial is created `running` with its parameters in one write, and
 *   storage gives it the next free number of its study;
 * - per-epoch history is appended while it runs (like Optuna's `report`);
 * - `finishTrial` writes state, metrics, summary and (optionally) the
 *   trial's checkpoint in one transaction and refuses a trial that is not
 *   running, so a crash leaves a trial either running or finished, never half;
 * - a `running` trial whose process died is moved to `interrupted` by
 *   `interruptTrial`; interrupted trials are final, a re-run is a new trial;
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
  /** The linear model fitted before the first trial (absent in studies stored by tune before it had one). */
  readonly baseline?: LinearBaseline;
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
  /**
   * Mean over 8 evenly spaced mini-batches of the epoch of the global L2 norm of the gradient
   * of the training loss (all trainable weights, training scale). Absent in
   * histories stored before tune measured it.
   */
  readonly grad_norm?: number;
  /** Wall time of this epoch, validation included. */
  readonly seconds: number;
}

export type Metrics = Readonly<Record<string, number>>;

/**
 * What the trainer observed about a trial beyond its metrics, for
 * `tune doctor`: why it stopped, whether its ReLUs died, how far apart
 * training and validation ended. JSON-able; every field optional so older
 * or failed trials simply lack it.
 */
export interface TrialDiagnostics {
  /** The callback that ended training early, by its index in the study's `callbacks` list. */
  readonly stoppedBy?: { readonly callback: 'early_stopping'; readonly index: number; readonly monitor: string };
  /**
   * Per hidden layer with a ReLU activation: the fraction of its units whose
   * output is 0 on every training row, before the first epoch of this trial
   * (after restoring a parent's weights) and for the returned model.
   */
  readonly deadReluStart?: readonly number[];
  readonly deadReluEnd?: readonly number[];
  /** val_mae − mae of the returned model, in the targets' units (positive: worse on validation). */
  readonly trainValGap?: number;
  /** The epoch (0-based) whose weights were returned when a callback restored best weights. */
  readonly restoredEpoch?: number;
}

/** Which process runs a trial, so a later run can tell a live one from an orphan. */
export interface WorkerId {
  readonly host: string;
  readonly pid: number;
}

export interface TrialRecord extends HistoryTrial {
  readonly id: number;
  readonly studyId: number;
  /** Which tfjs backend trained it: `tensorflow`, `wasm` or `cpu`. */
  readonly backend: string;
  readonly worker: WorkerId;
  readonly metrics: Metrics;
  /** The epoch training started from: the parent's last epoch for a continued trial, else 0. */
  readonly initialEpoch: number;
  /** The epoch training reached (counting from the start of the parent chain); trained = epochs − initialEpoch. */
  readonly epochs?: number;
  readonly stopReason?: StopReason;
  readonly error?: string;
  readonly durationS?: number;
  readonly diagnostics?: TrialDiagnostics;
  readonly startedAt: string;
  readonly finishedAt?: string;
}

export interface NewTrial extends TrialPlan {
  readonly backend: string;
  readonly worker: WorkerId;
  readonly initialEpoch: number;
}

export interface TrialOutcome {
  readonly state: 'complete' | 'failed';
  readonly metrics: Metrics;
  /** The objective value; absent for failed trials. */
  readonly value?: number;
  /** The epoch reached (see TrialRecord.epochs). */
  readonly epochs: number;
  readonly stopReason: StopReason;
  readonly error?: string;
  readonly durationS: number;
  readonly diagnostics?: TrialDiagnostics;
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
  /**
   * Stores the study's linear baseline (replacing any). Deterministic from the
   * study's data, so two workers writing it at once write the same thing.
   */
  setBaseline(studyId: number, baseline: LinearBaseline): Promise<void>;

  /**
   * Claims a plan: creates it `running` with the study's next free number,
   * unless another worker already holds it — any trial of the same slot for a
   * first attempt, another retry of the same attempt for a retry. Returns
   * undefined when the claim is lost (compare-and-set, as Optuna's claim);
   * the caller re-reads the history and asks its strategy again.
   */
  createTrial(studyId: number, trial: NewTrial): Promise<TrialRecord | undefined>;
  /** Renews a running trial's lease: its heartbeat becomes the database's clock. */
  heartbeat(trialId: number): Promise<void>;
  /**
   * Marks running trials of the study whose heartbeat is older than
   * `graceSeconds` by the database's clock as interrupted (a worker that was
   * killed, or a machine that vanished); returns those this call moved.
   * Losing the race to another worker doing the same is fine.
   */
  interruptStale(studyId: number, graceSeconds: number, reason: string): Promise<TrialRecord[]>;
  /** Appends (or replaces) one epoch of history for a running trial. */
  reportEpoch(trialId: number, log: EpochLog): Promise<void>;
  /**
   * Finishes a running trial in one transaction, with its checkpoint when
   * given (replacing any); throws if it is not running.
   */
  finishTrial(trialId: number, outcome: TrialOutcome, checkpoint?: Uint8Array): Promise<TrialRecord>;
  /** running → interrupted, keeping its history; `reason` is stored as its error. Throws if not running. */
  interruptTrial(trialId: number, reason: string): Promise<TrialRecord>;

  getCheckpoint(trialId: number): Promise<Uint8Array | undefined>;
  /** Trial ids of the study that hold a checkpoint, with its size in bytes. */
  listCheckpoints(studyId: number): Promise<{ trialId: number; bytes: number }[]>;
  deleteCheckpoints(trialIds: readonly number[]): Promise<void>;

  /**
   * Trials of a study in number order, without history; with `fromNumber`,
   * only those numbered that or more (finished trials never change, so a
   * caller that has them need not read them again).
   */
  getTrials(studyId: number, options?: { readonly fromNumber?: number }): Promise<TrialRecord[]>;
  getTrial(studyId: number, number: number): Promise<TrialRecord | undefined>;
  getHistory(trialId: number): Promise<EpochLog[]>;
  /** Complete trials having `metric`, best first (ties: lower number first). */
  rankTrials(studyId: number, options: RankOptions): Promise<TrialRecord[]>;

  /** Everything of one study, for `tune copy`; undefined if there is no such study. */
  exportStudy(name: string): Promise<StudyDump | undefined>;
  /** Writes a dump in one transaction, keeping trial numbers; throws `StudyExistsError` if the name is taken. */
  importStudy(dump: StudyDump): Promise<StudyRecord>;

  close(): Promise<void>;
}

/** A whole study as data: what `tune copy` moves between engines. */
export interface StudyDump {
  readonly study: StudyInput & { readonly createdAt: string; readonly baseline?: LinearBaseline };
  readonly trials: readonly TrialDump[];
}

export interface TrialDump extends Omit<TrialRecord, 'id' | 'studyId'> {
  readonly history: readonly EpochLog[];
  readonly checkpoint?: Uint8Array;
}

export class StudyExistsError extends Error {
  constructor(readonly studyName: string) {
    super(`a study named "${studyName}" already exists`);
    this.name = 'StudyExistsError';
  }
}

/**
 * Two trials of a study with one number. Should not happen: `createTrial`
 * picks the number under the write lock; this is what the engine's UNIQUE
 * constraint, the last line of defence, turns into.
 */
export class TrialExistsError extends Error {
  constructor(
    readonly studyId: number,
    readonly trialNumber: number,
  ) {
    super(`study ${studyId} already has a trial number ${trialNumber}`);
    this.name = 'TrialExistsError';
  }
}

/** `reportEpoch`, `finishTrial` or `interruptTrial` on a trial that is not running (complete, failed or interrupted): those are read-only. */
export class TrialNotRunningError extends Error {
  constructor(
    readonly trialId: number,
    readonly state: TrialState,
  ) {
    super(`trial ${trialId} is ${state}, not running: a finished trial is read-only`);
    this.name = 'TrialNotRunningError';
  }
}
