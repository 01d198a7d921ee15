/**
 * Early stopping that ends trials too soon: on the training loss while the
 * validation error was still falling (the training loss of a mini-batch
 * SGD run is noisy and moves slowly, so "no improvement by min_delta for a
 * few epochs" happens long before the model is done), or with a patience too
 * short for how slowly the trials learn.
 */
import { EarlyStopping, type EarlyStoppingArgs, type TrainingControl } from '../../trials/callbacks';
import { median, num, pct, plural, span, trialRefs, yamlNumber } from '../format';
import {
  type EarlyStoppingSpec,
  earlyStoppingsOf,
  epochsReached,
  finishedTrials,
  fmtLr,
  isTrainingMetric,
  maxEpochs,
  numberParam,
  param,
  rankedTrials,
  relativeSlope,
  series,
  validationMetric,
} from '../read';
import type { DoctorInput, DoctorTrial, Finding } from '../types';

/** A validation best this close to the stop (in epochs) means the curve had not turned yet. */
export const RECENT_BEST_EPOCHS = 3;
/** Epochs over which "still falling" is measured, at the stop: enough to average out epoch-to-epoch noise. */
export const TREND_EPOCHS = 5;
/** Falling by 1% or more over TREND_EPOCHS (least-squares trend) is progress, not noise around a plateau. */
export const STILL_FALLING = 0.01;
/**
 * Patience too short: a callback on a validation metric (or on a training one
 * when there is no validation data) stops `patience` flat epochs after its
 * best by construction, so what tells a pause from a floor is the descent
 * before that best. Falling by 3% or more over the TREND_EPOCHS up to it is a
 * curve in mid-descent…
 */
export const PAUSED_FALL = 0.03;
/** …stopped before using half its epochs… */
export const EARLY_SHARE = 0.5;
/** …with a patience under a tenth of the epochs: a longer wait costs little and may ride out the pause. */
export const SHORT_PATIENCE_SHARE = 0.1;
/** A problem that hits a quarter of the trials (or the best one) shapes the study's result: high severity. */
export const WIDE_SHARE = 0.25;

/** A callback control for replaying early stopping on a stored history: no weights, only the stop flag. */
class ReplayControl implements TrainingControl<null> {
  stopTraining = false;
  getLearningRate(): number {
    return 0;
  }
  setLearningRate(): void {}
  snapshotWeights(): null {
    return null;
  }
  restoreWeights(): void {}
  releaseWeights(): void {}
}

/**
 * Which early_stopping callback ended a trial: the one its diagnostics name;
 * else the one that stops at the trial's last epoch when the study's
 * early_stopping callbacks are replayed (tune's own Keras-exact class) on its
 * history, for a trial that started from scratch; else the only one there is.
 */
export function stoppingCallback(trial: DoctorTrial, specs: readonly EarlyStoppingSpec[]): EarlyStoppingSpec | undefined {
  if (trial.stopReason !== 'early_stopping' || specs.length === 0) return undefined;
  const by = trial.diagnostics?.stoppedBy;
  if (by) return specs.find((s) => s.index === by.index) ?? specs.find((s) => s.monitor === by.monitor);
  if (trial.parent === undefined && trial.initialEpoch === 0 && trial.history.length > 0) {
    const replayed = replay(trial, specs);
    if (replayed) return replayed;
  }
  return specs.length === 1 ? specs[0] : undefined;
}

function replay(trial: DoctorTrial, specs: readonly EarlyStoppingSpec[]): EarlyStoppingSpec | undefined {
  const runs: { spec: EarlyStoppingSpec; cb: EarlyStopping; control: ReplayControl }[] = [];
  for (const spec of specs) {
    try {
      const control = new ReplayControl();
      const cb = new EarlyStopping(spec.args as EarlyStoppingArgs);
      cb.onTrainBegin(control);
      runs.push({ spec, cb, control });
    } catch {
      // A definition this version cannot read: that callback is not replayed.
    }
  }
  if (runs.length === 0) return undefined;
  const last = trial.history.length - 1;
  for (let i = 0; i <= last; i++) {
    const h = trial.history[i]!;
    const logs = { ...h, learning_rate: h.lr } as unknown as Record<string, number | undefined>;
    for (const r of runs) r.cb.onEpochEnd(h.epoch, logs, r.control);
    const stopper = runs.find((r) => r.control.stopTraining);
    // A replay that stops elsewhere than the stored stop disagrees with the trainer: trust neither.
    if (stopper) return i === last ? stopper.spec : undefined;
  }
  return undefined;
}

interface Stopped {
  readonly trial: DoctorTrial;
  readonly spec: EarlyStoppingSpec;
  readonly reached: number;
  readonly max: number | undefined;
  /** Relative fall of the curve over the last TREND_EPOCHS (positive: falling). */
  readonly recentFall: number;
  /** Relative fall of the monitored metric over the TREND_EPOCHS up to its best (positive: falling). */
  readonly fallToBest: number;
  /** Epochs between the curve's best and the stop. */
  readonly sinceBest: number;
  /** The monitored metric's improvement over its last `patience` epochs (positive: lower), when known. */
  readonly monitorGain: number | undefined;
}

/** Relative fall of the least-squares trend over `values` (positive when falling). */
function fall(values: readonly number[]): number {
  return values.length < 2 ? 0 : -relativeSlope(values) * (values.length - 1);
}

function measure(trial: DoctorTrial, spec: EarlyStoppingSpec, curveMetric: string): Stopped | undefined {
  const curve = series(trial.history, curveMetric);
  if (curve.length < 2) return undefined;
  const recent = curve.slice(-TREND_EPOCHS);
  const best = argmin(curve);
  const monitored = series(trial.history, spec.monitor);
  const monitorBest = argmin(monitored);
  const k = Math.max(1, spec.patience);
  const monitorGain = monitored.length > k ? monitored[monitored.length - 1 - k]! - monitored[monitored.length - 1]! : undefined;
  return {
    trial,
    spec,
    reached: epochsReached(trial),
    max: maxEpochs(trial),
    recentFall: fall(recent),
    fallToBest: fall(monitored.slice(Math.max(0, monitorBest + 1 - TREND_EPOCHS), monitorBest + 1)),
    sinceBest: curve.length - 1 - best,
    monitorGain,
  };
}

/** Index of the lowest value (the last one on ties, as a plateau's best is its latest). */
function argmin(values: readonly number[]): number {
  let best = 0;
  values.forEach((v, i) => {
    if (v <= values[best]!) best = i;
  });
  return best;
}

function describe(spec: EarlyStoppingSpec): string {
  return `early_stopping on \`${spec.monitor}\` (callbacks[${spec.index}]: min_delta ${num(spec.min_delta)}, patience ${spec.patience})`;
}

function stopSentence(group: readonly Stopped[], total: number, spec: EarlyStoppingSpec, tail: string): string {
  const maxes = group.map((s) => s.max).filter((m): m is number => m !== undefined);
  const of = maxes.length ? ` of ${span(maxes)}` : '';
  const numbers = group.map((s) => s.trial.number);
  return `${group.length} of ${plural(total, 'trial')} ${group.length === 1 ? 'was' : 'were'} stopped by ${describe(spec)} after ${span(group.map((s) => s.reached))}${of} epochs ${tail}: ${trialRefs(numbers)}.`;
}

/** Patience for the fix: a fifth of the epochs, between 2 and 20, and more than now. */
function suggestedPatience(group: readonly Stopped[], current: number): number {
  const maxes = group.map((s) => s.max).filter((m): m is number => m !== undefined);
  const max = maxes.length ? median(maxes) : 100;
  const p = Math.min(20, Math.max(2, Math.round(max / 5)));
  return Math.max(p, current + 1);
}

export function earlyStoppingRule(input: DoctorInput): Finding | undefined {
  const specs = earlyStoppingsOf(input);
  if (specs.length === 0) return undefined;
  const finished = finishedTrials(input);
  const val = validationMetric(input);
  const stopped: Stopped[] = [];
  for (const trial of finished) {
    const spec = stoppingCallback(trial, specs);
    if (!spec) continue;
    const m = measure(trial, spec, val ?? spec.monitor);
    if (m) stopped.push(m);
  }
  // Stopped on a training metric while validation still improved.
  const onTraining = val
    ? stopped.filter(
        (s) => isTrainingMetric(s.spec.monitor) && (s.sinceBest < RECENT_BEST_EPOCHS || s.recentFall >= STILL_FALLING),
      )
    : [];
  // A validation monitor (or a training one without validation data) that stopped a curve in mid-descent, early, with a short patience.
  const tooShort = stopped.filter(
    (s) =>
      (!isTrainingMetric(s.spec.monitor) || !val) &&
      s.max !== undefined &&
      s.reached < EARLY_SHARE * s.max &&
      s.spec.patience < SHORT_PATIENCE_SHARE * s.max &&
      s.fallToBest >= PAUSED_FALL,
  );
  if (onTraining.length === 0 && tooShort.length === 0) return undefined;

  const best = rankedTrials(input)[0];
  const flagged = [...onTraining, ...tooShort];
  const wide = flagged.length >= WIDE_SHARE * finished.length || (best !== undefined && flagged.some((s) => s.trial === best));
  const curveName = val ?? 'the monitored metric';
  const evidence: string[] = [];

  const main = onTraining.length ? onTraining : tooShort;
  const spec = mostCommonSpec(main);
  const group = main.filter((s) => s.spec === spec);
  if (onTraining.length) {
    const fallen = median(group.map((s) => s.recentFall));
    const tail =
      fallen >= STILL_FALLING
        ? `while ${curveName} was still falling (by ${pct(fallen)} over their last ${TREND_EPOCHS} epochs, median)`
        : `while ${curveName} was still at its best or within ${plural(RECENT_BEST_EPOCHS - 1, 'epoch')} of it`;
    evidence.push(stopSentence(group, finished.length, spec, tail));
  } else {
    const tail = `right after a pause in a descent: \`${spec.monitor}\` had fallen by ${pct(median(group.map((s) => s.fallToBest)))} over the ${TREND_EPOCHS} epochs up to its last best (median), then improved by less than min_delta for ${plural(spec.patience, 'epoch')}`;
    evidence.push(stopSentence(group, finished.length, spec, tail));
  }
  const others = flagged.filter((s) => !group.includes(s));
  if (others.length) {
    evidence.push(`${plural(others.length, 'more trial')} stopped the same way by other early_stopping callbacks: ${trialRefs(others.map((s) => s.trial.number))}.`);
  }

  // The pace: min_delta per `patience` epochs is a speed limit the trials were under.
  const gains = group.map((s) => s.monitorGain).filter((g): g is number => g !== undefined);
  if (onTraining.length && spec.min_delta > 0 && gains.length) {
    const lrs = group.map((s) => numberParam(s.trial, 'learning_rate')).filter((v): v is number => v !== undefined);
    const gain = median(gains);
    const opts = [...new Set(group.map((s) => String(param(s.trial, 'optimizer'))))];
    const at = lrs.length ? ` (${opts.join('/')} at learning rate ${lrs.length > 1 && Math.min(...lrs) !== Math.max(...lrs) ? `${fmtLr(Math.min(...lrs))}–${fmtLr(Math.max(...lrs))}` : fmtLr(lrs[0]!)})` : '';
    evidence.push(
      `min_delta ${num(spec.min_delta)} with patience ${spec.patience} asks \`${spec.monitor}\` to improve by ${num(spec.min_delta)} within ${plural(Math.max(1, spec.patience), 'epoch')}; these trials${at} ${gain >= 0 ? `improved it by ${num(Number(gain.toPrecision(2)))}` : `saw it rise by ${num(Number((-gain).toPrecision(2)))}`} (median) over ${spec.patience > 1 ? `their last ${spec.patience} epochs` : 'their last epoch'}: ${gain >= 0 ? 'slow progress' : 'epoch-to-epoch noise'} of the training loss, not a plateau of the model.`,
    );
  }

  if (best && flagged.some((s) => s.trial === best)) {
    const b = flagged.find((s) => s.trial === best)!;
    const v = val ? series(best.history, val).at(-1) : undefined;
    evidence.push(
      `The best trial, #${best.number}, is one of them: stopped after ${b.reached}${b.max !== undefined ? ` of ${b.max}` : ''} epochs${v !== undefined ? ` with ${val} ${num(v)}` : ''}.`,
    );
  }

  // A validation-based early stopping that never got its turn.
  if (onTraining.length) {
    const idle = specs.filter((s) => !isTrainingMetric(s.monitor) && !stopped.some((t) => t.spec === s));
    const longest = Math.max(...stopped.map((s) => s.reached));
    for (const s of idle) {
      evidence.push(
        `early_stopping on \`${s.monitor}\` (callbacks[${s.index}], patience ${s.patience}) stopped no trial: the one on \`${spec.monitor}\` ended every early-stopped run first (the longest after ${plural(longest, 'epoch')}).`,
      );
    }
  }

  const patience = suggestedPatience(group, spec.patience);
  let title: string;
  let fix: string;
  if (onTraining.length) {
    const monitor = val && val.endsWith('loss') ? val : 'val_loss';
    title = `Early stopping watches the training \`${spec.monitor}\` and ended trials while ${curveName} was still improving`;
    fix = `callbacks: - early_stopping: { monitor: ${monitor}, patience: ${patience}, restore_best_weights: true }`;
  } else {
    title = `Early stopping's patience (${spec.patience}) is too short: it ended trials early, at the first pause in \`${spec.monitor}\``;
    fix = `callbacks: - early_stopping: { monitor: ${spec.monitor}, min_delta: ${yamlNumber(spec.min_delta / 10)}, patience: ${patience}${spec.restore_best_weights || !isTrainingMetric(spec.monitor) ? ', restore_best_weights: true' : ''} }`;
  }
  return { rule: 'early-stopping', severity: wide ? 'high' : 'medium', title, evidence, fix };
}

function mostCommonSpec(group: readonly Stopped[]): EarlyStoppingSpec {
  const counts = new Map<EarlyStoppingSpec, number>();
  for (const s of group) counts.set(s.spec, (counts.get(s.spec) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].index - b[0].index)[0]![0];
}
