/**
 * Learning rates out of range, read off the training-loss curves: too low and
 * the loss barely moves while other trials (or the linear model) show it
 * could go much lower; too high and it turns NaN, climbs, or bounces from
 * epoch to epoch.
 */
import { floorOneDigit, median, num, pct, plural, span, yamlNumber } from '../format';
import {
  completeTrials,
  finishedTrials,
  finite,
  fmtLr,
  numberParam,
  optimizerText,
  param,
  rankedTrials,
  series,
  spaceOf,
} from '../read';
import type { DoctorInput, DoctorTrial, Finding, Severity } from '../types';

/** Fewer epochs than this say nothing about a trend (and early stopping's own rule covers short runs). */
export const MIN_EPOCHS_FOR_TREND = 10;
/** Training loss falling by less than 10% from the first epoch to its lowest over ≥10 epochs is barely learning… */
export const FLAT_LOSS_FALL = 0.1;
/** …when the trial ends 25% or more above the lowest training MAE another trial or the linear model reached: it could go lower. */
export const FAR_ABOVE = 1.25;
/** The last training loss this many times its lowest: the run went uphill. */
export const DIVERGE_FACTOR = 1.5;
/** Oscillation: the training loss rises in more than 40% of epochs… */
export const OSCILLATION_SHARE = 0.4;
/** …by more than 5% (median of the rises): bouncing, not the small noise of a converged run. */
export const OSCILLATION_JUMP = 0.05;
/** Fewer epochs than this cannot show an oscillation. */
export const MIN_EPOCHS_FOR_OSCILLATION = 6;
/** Shares of trials for severity: a quarter (or the best trial) is high; a tenth is medium. */
export const HIGH_SHARE = 0.25;
export const MEDIUM_SHARE = 0.1;

function severityOf(flagged: readonly DoctorTrial[], population: number, best: DoctorTrial | undefined, floor: Severity): Severity {
  if (flagged.length >= HIGH_SHARE * population || (best !== undefined && flagged.includes(best))) return 'high';
  if (flagged.length >= MEDIUM_SHARE * population || floor === 'medium') return 'medium';
  return 'low';
}

function lrSpan(trials: readonly DoctorTrial[]): string | undefined {
  const lrs = trials.map((t) => numberParam(t, 'learning_rate')).filter(finite);
  if (!lrs.length) return undefined;
  const lo = Math.min(...lrs);
  const hi = Math.max(...lrs);
  return lo === hi ? fmtLr(lo) : `${fmtLr(lo)}–${fmtLr(hi)}`;
}

function optimizers(trials: readonly DoctorTrial[]): string {
  return [...new Set(trials.map((t) => String(param(t, 'optimizer'))))].join(', ');
}

/** `#4 (sgd, lr 0.028)`, for the first few; the rest as "and N more". */
function detailed(trials: readonly DoctorTrial[], extra: (t: DoctorTrial) => string = () => '', shown = 4): string {
  const head = trials.slice(0, shown).map((t) => `#${t.number} (${optimizerText(t)}${extra(t)})`);
  const rest = trials.length - head.length;
  return rest > 0 ? `${head.join(', ')} and ${rest} more` : head.join(', ');
}

function finalMae(t: DoctorTrial): number | undefined {
  const m = t.metrics['mae'];
  if (finite(m)) return m;
  return series(t.history, 'mae').at(-1);
}

export function learningRateTooLowRule(input: DoctorInput): Finding | undefined {
  const complete = completeTrials(input);
  const flat: { trial: DoctorTrial; fall: number; mae: number; reference: number }[] = [];
  for (const trial of complete) {
    const loss = series(trial.history, 'loss');
    if (loss.length < MIN_EPOCHS_FOR_TREND || loss[0]! <= 0) continue;
    const fall = (loss[0]! - Math.min(...loss)) / loss[0]!;
    if (fall >= FLAT_LOSS_FALL) continue;
    const mae = finalMae(trial);
    if (mae === undefined) continue;
    const others = complete.filter((t) => t !== trial).map(finalMae).filter(finite);
    const linear = input.study.baseline?.metrics['mae'];
    const candidates = [...others, ...(finite(linear) ? [linear] : [])];
    if (!candidates.length) continue;
    const reference = Math.min(...candidates);
    if (mae > FAR_ABOVE * reference) flat.push({ trial, fall, mae, reference });
  }
  if (flat.length === 0) return undefined;
  const trials = flat.map((f) => f.trial);
  const best = rankedTrials(input)[0];
  const linear = input.study.baseline?.metrics['mae'];
  const bestOther = Math.min(...flat.map((f) => f.reference));
  const evidence = [
    `${flat.length} of ${plural(complete.length, 'complete trial')} barely trained: their training loss fell by only ${span(flat.map((f) => Math.round(f.fall * 1000) / 10))}% over ${span(flat.map((f) => f.trial.history.length))} epochs and they ended at mae ${span(flat.map((f) => f.mae))}, against ${num(bestOther)} reached ${finite(linear) && linear === bestOther ? 'by the linear model' : 'by another trial'}: ${detailed(trials)}.`,
  ];
  const grads = trials
    .map((t) => series(t.history, 'grad_norm'))
    .filter((g) => g.length >= 2 && g[0]! > 0)
    .map((g) => Math.abs(g[g.length - 1]! / g[0]! - 1));
  if (grads.length) {
    evidence.push(`Their mean gradient norm changed by only ${pct(median(grads))} from the first epoch to the last (median): the weights hardly moved.`);
  }
  const rest = complete.filter((t) => !trials.includes(t));
  const flatLr = lrSpan(trials);
  const restLr = lrSpan(rest);
  if (flatLr && restLr) {
    evidence.push(`They used learning rate ${flatLr} (${optimizers(trials)}); the trials that did train used ${restLr}.`);
  }
  const allAdam = trials.every((t) => param(t, 'optimizer') === 'adam');
  let fix: string;
  if (allAdam) {
    const top = Math.max(...trials.map((t) => numberParam(t, 'learning_rate')).filter(finite), 1e-5);
    const min = floorOneDigit(top * 10);
    fix = `space: { learning_rate: { type: float, min: ${yamlNumber(min)}, max: ${yamlNumber(Math.max(min * 100, 1e-2))}, sampling: log } }`;
  } else {
    const hasOptimizer = 'optimizer' in spaceOf(input);
    fix = `space: { ${hasOptimizer ? 'optimizer: adam, ' : ''}learning_rate: { type: float, min: 1.0e-4, max: 1.0e-2, sampling: log } }`;
  }
  return {
    rule: 'learning-rate-too-low',
    severity: severityOf(trials, complete.length, best, 'low'),
    title: `The learning rate is too low for ${flat.length === complete.length ? 'every trial' : plural(flat.length, 'trial')}: the training loss stayed nearly flat`,
    evidence,
    fix,
  };
}

type Trouble = 'nan' | 'diverged' | 'oscillating';

interface Troubled {
  readonly trial: DoctorTrial;
  readonly kind: Trouble;
  /** nan: the epoch (1-based) it appeared; diverged: last/lowest; oscillating: share of rising epochs. */
  readonly a: number;
  /** oscillating: median relative rise. */
  readonly b: number;
}

function trouble(trial: DoctorTrial): Troubled | undefined {
  const nanAt = trial.history.findIndex((h) => !finite(h.loss));
  if (trial.stopReason === 'nan' || nanAt >= 0 || (trial.state === 'failed' && /\b(nan|infinity)\b/i.test(trial.error ?? ''))) {
    const epoch = nanAt >= 0 ? trial.history[nanAt]!.epoch + 1 : trial.epochs ?? NaN;
    return { trial, kind: 'nan', a: epoch, b: 0 };
  }
  const loss = series(trial.history, 'loss');
  if (loss.length >= 3) {
    const lowest = Math.min(...loss);
    const last = loss[loss.length - 1]!;
    if (lowest > 0 && last > DIVERGE_FACTOR * lowest) return { trial, kind: 'diverged', a: last / lowest, b: 0 };
  }
  if (loss.length >= MIN_EPOCHS_FOR_OSCILLATION) {
    const rises: number[] = [];
    for (let i = 1; i < loss.length; i++) if (loss[i]! > loss[i - 1]! && loss[i - 1]! > 0) rises.push(loss[i]! / loss[i - 1]! - 1);
    const share = rises.length / (loss.length - 1);
    if (share > OSCILLATION_SHARE && median(rises) > OSCILLATION_JUMP) return { trial, kind: 'oscillating', a: share, b: median(rises) };
  }
  return undefined;
}

export function learningRateTooHighRule(input: DoctorInput): Finding | undefined {
  const finished = finishedTrials(input).filter((t) => t.history.length > 0 || t.stopReason === 'nan');
  const found = finished.map(trouble).filter((t): t is Troubled => t !== undefined);
  // A climbing or bouncing loss is not the learning rate's doing when the same
  // optimizer trained smoothly at that rate or higher (noise, a loss, a schedule);
  // a NaN always counts.
  const smooth = finished.filter((t) => !found.some((f) => f.trial === t));
  const troubled = found.filter((f) => {
    if (f.kind === 'nan') return true;
    const lr = numberParam(f.trial, 'learning_rate');
    const opt = param(f.trial, 'optimizer');
    return !smooth.some((t) => param(t, 'optimizer') === opt && (numberParam(t, 'learning_rate') ?? -Infinity) >= (lr ?? Infinity));
  });
  if (troubled.length === 0) return undefined;
  const by = (kind: Trouble): Troubled[] => troubled.filter((t) => t.kind === kind);
  const evidence: string[] = [];
  const nan = by('nan');
  if (nan.length) {
    evidence.push(
      `${plural(nan.length, 'trial')} ended in a non-finite loss (NaN or Infinity): ${detailed(
        nan.map((t) => t.trial),
        (t) => {
          const e = nan.find((n) => n.trial === t)!.a;
          return Number.isFinite(e) ? `, at epoch ${e}` : '';
        },
      )}.`,
    );
  }
  const diverged = by('diverged');
  if (diverged.length) {
    evidence.push(
      `The training loss of ${plural(diverged.length, 'trial')} climbed: it ended ${num(median(diverged.map((d) => d.a)))}× above its lowest (median): ${detailed(diverged.map((d) => d.trial))}.`,
    );
  }
  const osc = by('oscillating');
  if (osc.length) {
    evidence.push(
      `The training loss of ${plural(osc.length, 'trial')} bounced: it rose in ${pct(median(osc.map((o) => o.a)))} of epochs, by ${pct(median(osc.map((o) => o.b)))} (median): ${detailed(osc.map((o) => o.trial))}.`,
    );
  }
  const trials = troubled.map((t) => t.trial);
  const rest = finished.filter((t) => !trials.includes(t));
  const badLr = lrSpan(trials);
  const goodLr = lrSpan(rest);
  if (badLr) {
    evidence.push(`They used learning rate ${badLr} (${optimizers(trials)})${goodLr ? `; the trials that trained smoothly used ${goodLr}` : ''}.`);
  }
  const lrs = trials.map((t) => numberParam(t, 'learning_rate')).filter(finite);
  const smoothLrs = rest.map((t) => numberParam(t, 'learning_rate')).filter(finite);
  // Half the lowest troubled rate, or the highest rate that trained smoothly if that is higher
  // (and still below the trouble): the new range keeps what worked.
  const lowestBad = lrs.length ? Math.min(...lrs) : undefined;
  const highestSmooth = smoothLrs.length ? Number(Math.max(...smoothLrs).toPrecision(2)) : undefined;
  const max =
    lowestBad === undefined
      ? 1e-3
      : Math.max(floorOneDigit(lowestBad / 2), highestSmooth !== undefined && highestSmooth < lowestBad ? highestSmooth : 0);
  const min = max > 1e-4 ? 1e-4 : floorOneDigit(max / 100);
  const space = spaceOf(input);
  const sgdLike = trials.some((t) => param(t, 'optimizer') !== 'adam');
  const fix = `space: { ${sgdLike && 'optimizer' in space ? 'optimizer: adam, ' : ''}learning_rate: { type: float, min: ${yamlNumber(min)}, max: ${yamlNumber(max)}, sampling: log } }`;
  const best = rankedTrials(input)[0];
  return {
    rule: 'learning-rate-too-high',
    severity: severityOf(trials, finished.length, best, nan.length ? 'medium' : 'low'),
    title: `The learning rate is too high for ${plural(trials.length, 'trial')}: the training loss ${[nan.length ? 'turned NaN' : '', diverged.length ? 'climbed' : '', osc.length ? 'bounced' : ''].filter((s) => s).join(', ')}`,
    evidence,
    fix,
  };
}
