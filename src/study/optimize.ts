import { UserError } from '../errors';
import { createStrategy } from '../search';
import type { Params } from '../space/types';
import { initBackend, type BackendName } from '../trials/backend';
import { resolveModelConfig } from '../trials/knobs';
import type { EpochLog, StudyRecord, Storage, TrialOutcome, TrialRecord } from '../trials/storage/types';
import { trainModel } from '../trials/train';
import { changedSections } from './config';
import type { PreparedStudy } from './prepare';

/** What a run tells whoever displays it. All optional: the library runs silently. */
export interface RunObserver {
  studyStarted?(info: { study: StudyRecord; backend: BackendName; planned?: number; done: number; resumed: boolean }): void;
  trialStarted?(info: { number: number; params: Params; epochs: number }): void;
  epochEnded?(info: { number: number; log: EpochLog; epochs: number }): void;
  trialFinished?(info: { trial: TrialRecord; best?: TrialRecord }): void;
  studyFinished?(summary: RunSummary): void;
}

export interface RunOptions {
  /** Overrides the study file's `max_trials` (the study's total, not this run's). */
  readonly maxTrials?: number;
  readonly backend?: BackendName;
  /** Replace an existing study of the same name whose definition differs. */
  readonly overwrite?: boolean;
  readonly observer?: RunObserver;
}

export interface RunSummary {
  readonly study: StudyRecord;
  readonly backend: BackendName;
  /** Trials this run finished. */
  readonly ran: number;
  readonly stopReason: string;
  readonly best?: TrialRecord;
}

/**
 * The study loop: ask the strategy → create the trial → train → tell storage.
 * Strategy, trainer and storage know nothing of each other; this is where
 * they meet. Re-running a study continues it: the strategy sees the stored
 * history and picks up at the next trial number.
 */
export async function runStudy(prepared: PreparedStudy, storage: Storage, options: RunOptions = {}): Promise<RunSummary> {
  const { config } = prepared;
  const backend = (await initBackend(options.backend)).name;
  const study = await openStudy(prepared, storage, options.overwrite ?? false);
  const strategyConfig =
    options.maxTrials !== undefined ? { ...config.strategy, max_trials: options.maxTrials } : config.strategy;
  const strategy = createStrategy(config.space, strategyConfig, config.seed);
  const { metric, direction } = config.objective;
  const better = (a: TrialRecord, b: TrialRecord | undefined): boolean =>
    b === undefined || (direction === 'min' ? a.value! < b.value! : a.value! > b.value!);

  let trials = await storage.getTrials(study.id);
  let best: TrialRecord | undefined;
  for (const t of trials) if (t.state === 'complete' && t.value !== undefined && better(t, best)) best = t;
  options.observer?.studyStarted?.({
    study,
    backend,
    ...(strategy.plannedTrials !== undefined ? { planned: strategy.plannedTrials } : {}),
    done: trials.filter((t) => t.state !== 'running').length,
    resumed: trials.length > 0,
  });

  let ran = 0;
  let stopReason = '';
  for (;;) {
    const decision = strategy.next(trials);
    if (decision.kind === 'stop') {
      stopReason = decision.reason;
      break;
    }
    if (decision.kind === 'wait') {
      // One process, nothing running: a strategy that waits here would wait forever.
      stopReason = 'strategy is waiting for running trials';
      break;
    }
    const modelConfig = resolveModelConfig(decision.params);
    const trial = await storage.createTrial(study.id, { number: decision.number, params: decision.params, backend });
    options.observer?.trialStarted?.({ number: trial.number, params: trial.params, epochs: modelConfig.epochs });
    const started = performance.now();
    let outcome: TrialOutcome;
    try {
      const result = await trainModel({
        config: modelConfig,
        data: prepared.dataset,
        callbacks: config.callbacks,
        seed: `${config.seed}:trial:${trial.number}`,
        onEpoch: async (log) => {
          await storage.reportEpoch(trial.id, log);
          options.observer?.epochEnded?.({ number: trial.number, log, epochs: modelConfig.epochs });
        },
      });
      const value = result.metrics[metric];
      const failed = result.error !== undefined || value === undefined || !Number.isFinite(value);
      outcome = {
        state: failed ? 'failed' : 'complete',
        metrics: result.metrics,
        ...(failed ? {} : { value }),
        epochs: result.epochs,
        stopReason: result.stopReason,
        ...(failed ? { error: result.error ?? `objective ${metric} is ${value}` } : {}),
        durationS: (performance.now() - started) / 1000,
      };
    } catch (err) {
      outcome = {
        state: 'failed',
        metrics: {},
        epochs: 0,
        stopReason: 'error',
        error: err instanceof Error ? err.message : String(err),
        durationS: (performance.now() - started) / 1000,
      };
    }
    const finished = await storage.finishTrial(trial.id, outcome);
    ran++;
    if (finished.state === 'complete' && better(finished, best)) best = finished;
    options.observer?.trialFinished?.({ trial: finished, ...(best ? { best } : {}) });
    trials = [...trials, finished];
  }
  const summary: RunSummary = { study, backend, ran, stopReason, ...(best ? { best } : {}) };
  options.observer?.studyFinished?.(summary);
  return summary;
}

async function openStudy(prepared: PreparedStudy, storage: Storage, overwrite: boolean): Promise<StudyRecord> {
  const { config, definition, definitionHash } = prepared;
  const existing = await storage.getStudy(config.name);
  if (existing && existing.definitionHash !== definitionHash) {
    if (!overwrite) {
      const changed = changedSections(existing.definition, definition);
      throw new UserError(
        'name',
        `study "${config.name}" already exists in this storage with a different ${changed.join(', ') || 'definition'}`,
        'rename the study to start a new one, or pass --overwrite to replace it (its trials are deleted)',
        config.file,
      );
    }
    await storage.deleteStudy(config.name);
  } else if (existing) {
    return existing;
  }
  return storage.createStudy({
    name: config.name,
    metric: config.objective.metric,
    direction: config.objective.direction,
    definition,
    definitionHash,
  });
}
