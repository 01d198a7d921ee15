/**
 * The study against its linear baseline (least squares fitted before the
 * first trial): on mostly linear data a network that ends where the linear
 * model is has learned the linear part and nothing more. The fix is to give
 * it the linear part for free (`residual_of_linear`, `linear_skip`) so its
 * capacity goes to what the linear model misses.
 */
import { baselineValue } from '../../trials/linear';
import { median, num, pct, plural, ratio, span, trialRefs } from '../format';
import { completeTrials, finite, param, relativeSlope, series, spaceOf, varyingRanges } from '../read';
import type { DoctorInput, DoctorTrial, Finding } from '../types';

/**
 * A network "beats" the linear model when its error is at least 5% lower:
 * smaller gains are within the seed-to-seed spread of a small MLP and do not
 * pay for a model that is harder to train, ship and explain.
 */
export const LINEAR_MARGIN = 0.05;
/** Ending within ±5% of the linear model's error counts as "at the linear level". */
export const ASYMPTOTE_BAND = 0.05;
/** "Most trials": this share of the complete trials… */
export const ASYMPTOTE_SHARE = 0.6;
/** …and at least this many, so two lucky trials do not make a pattern. */
export const ASYMPTOTE_MIN_TRIALS = 3;
/**
 * A linear model that explains at least this share of the target's variance
 * on validation makes the target "mostly linear": the case where networks
 * spend their capacity re-learning the linear part.
 */
export const MOSTLY_LINEAR_R2 = 0.8;
/**
 * The best network removed less than this share of the linear model's error:
 * most of the nonlinear part is still unlearned. (Handing the network the
 * linear part removes ~80% of it on the example data.)
 */
export const LINEAR_GAIN_WANTED = 0.5;
/** Epochs at the end of a curve over which it counts as flat. */
export const TAIL_EPOCHS = 10;

/** Parameters whose spread shows the level does not depend on the architecture or the optimizer. */
const SHAPE_PARAMS = ['layers', 'units', 'learning_rate', 'dropout', 'l2', 'batch_size'];

interface Comparison {
  readonly metric: string;
  readonly value: number;
  /** Complete trials with that metric, and its value. */
  readonly trials: readonly { trial: DoctorTrial; value: number }[];
}

/** The linear baseline's value of the objective (or its MAE counterpart), and the trials' values of the same metric. */
export function linearComparison(input: DoctorInput): Comparison | undefined {
  const { study } = input;
  if (!study.baseline || study.direction !== 'min') return undefined;
  const base = baselineValue(study.baseline, study.metric);
  if (!base || !finite(base.value) || base.value <= 0) return undefined;
  const trials = completeTrials(input)
    .map((trial) => ({ trial, value: trial.metrics[base.metric] ?? (base.metric === study.metric ? trial.value : undefined) }))
    .filter((t): t is { trial: DoctorTrial; value: number } => finite(t.value));
  return { metric: base.metric, value: base.value, trials };
}

/** How a ratio to the linear model reads: `3% better`, `8% worse`. */
export function versus(r: number): string {
  if (r < 1) return `${pct(1 - r)} better`;
  if (r > 1) return `${pct(r - 1)} worse`;
  return 'the same';
}

/** The `space:` additions that hand the linear part to the network, leaving out what the space already has. */
function linearFix(input: DoctorInput, withOptimizer: boolean): string {
  const space = spaceOf(input);
  const parts: string[] = [];
  if (!('residual_of_linear' in space)) parts.push('residual_of_linear: true');
  if (!('linear_skip' in space)) parts.push('linear_skip: { type: bool }');
  if (withOptimizer) {
    const opt = space['optimizer'];
    const fixedAdam = opt === 'adam' || (typeof opt === 'object' && opt !== null && (opt as { value?: unknown }).value === 'adam');
    if (opt !== undefined && !fixedAdam) parts.push('optimizer: adam');
    const lr = space['learning_rate'];
    const searched = typeof lr === 'object' && lr !== null && (lr as { type?: unknown }).type === 'float';
    if (!searched) parts.push('learning_rate: { type: float, min: 1.0e-4, max: 1.0e-2, sampling: log }');
  }
  if (parts.length === 0) parts.push('residual_of_linear: true, linear_skip: true');
  return `space: { ${parts.join(', ')} }`;
}

export function noBetterThanLinearRule(input: DoctorInput): Finding | undefined {
  const cmp = linearComparison(input);
  if (!cmp || cmp.trials.length === 0) return undefined;
  const best = cmp.trials.reduce((a, b) => (b.value < a.value || (b.value === a.value && b.trial.number < a.trial.number) ? b : a));
  const r = best.value / cmp.value;
  if (r <= 1 - LINEAR_MARGIN) return undefined;
  const ratios = cmp.trials.map((t) => t.value / cmp.value);
  const worse = cmp.trials.filter((t) => t.value > cmp.value);
  const evidence = [
    `The best of ${plural(cmp.trials.length, 'complete trial')}, #${best.trial.number}, reached ${cmp.metric} ${num(best.value)}; the linear model (least squares on the training split) gets ${num(cmp.value)}: ratio ${ratio(r)}, ${versus(r)}.`,
    `${worse.length} of ${cmp.trials.length} complete trials are worse than the linear model (median ratio ${ratio(median(ratios))})${worse.length ? `: ${trialRefs(worse.map((t) => t.trial.number))}` : ''}.`,
  ];
  const space = spaceOf(input);
  if ('residual_of_linear' in space || 'linear_skip' in space) {
    evidence.push('The space already offers residual_of_linear/linear_skip; if trials with them do no better, the nonlinear part may be too small or too noisy to learn from this data.');
  }
  return {
    rule: 'no-better-than-linear',
    severity: 'high',
    title: `No trial beats the linear model by more than ${pct(LINEAR_MARGIN)} on ${cmp.metric}`,
    evidence,
    fix: linearFix(input, true),
  };
}

export function sameAsymptoteRule(input: DoctorInput): Finding | undefined {
  const cmp = linearComparison(input);
  if (!cmp || cmp.trials.length < ASYMPTOTE_MIN_TRIALS) return undefined;
  const near = cmp.trials.filter((t) => Math.abs(t.value / cmp.value - 1) <= ASYMPTOTE_BAND);
  if (near.length < ASYMPTOTE_MIN_TRIALS || near.length < ASYMPTOTE_SHARE * cmp.trials.length) return undefined;
  const evidence = [
    `${near.length} of ${cmp.trials.length} complete trials ended with ${cmp.metric} within ${pct(ASYMPTOTE_BAND)} of the linear model's ${num(cmp.value)} (${span(near.map((t) => t.value))}): ${trialRefs(near.map((t) => t.trial.number))}.`,
  ];
  const ranges = varyingRanges(
    near.map((t) => t.trial),
    SHAPE_PARAMS,
  );
  if (ranges.length) {
    evidence.push(`They differ in ${ranges.join(', ')} and still end at the same level: the networks learned the linear part and little else.`);
  }
  const curves = near.map((t) => series(t.trial.history, cmp.metric)).filter((c) => c.length >= 2);
  if (curves.length) {
    const tails = curves.map((c) => Math.abs(relativeSlope(c.slice(-TAIL_EPOCHS)) * (Math.min(c.length, TAIL_EPOCHS) - 1)));
    evidence.push(
      `Their ${cmp.metric} curves went from ${num(median(curves.map((c) => c[0]!)))} after the first epoch to ${num(median(curves.map((c) => c[c.length - 1]!)))} and flattened there (median change ${pct(median(tails))} over the last ${TAIL_EPOCHS} epochs or fewer).`,
    );
  }
  return {
    rule: 'same-asymptote-as-linear',
    severity: 'medium',
    title: `Most trials converge to the linear model's level (${cmp.metric} ≈ ${num(cmp.value)})${ranges.length ? ', whatever their size and optimizer settings' : ''}`,
    evidence,
    fix: linearFix(input, false),
  };
}

/** Share of the target's variance (training scale of each target) the linear model explains on validation. */
function linearR2(input: DoctorInput): number | undefined {
  const baseline = input.study.baseline;
  const mse = baseline?.metrics['val_mse'];
  const std = baseline?.yScaler?.std;
  if (!finite(mse) || !Array.isArray(std) || std.length === 0) return undefined;
  const variance = std.reduce((a, s) => a + s * s, 0) / std.length;
  return variance > 0 ? 1 - mse / variance : undefined;
}

/** Whether any trial got the linear part for free. */
function usedLinearPath(trial: DoctorTrial): boolean {
  return param(trial, 'residual_of_linear') === true || param(trial, 'linear_skip') === true;
}

/**
 * The target is mostly linear, the networks did beat the linear model but
 * removed less than half its error, and none was handed the linear part:
 * what the seed's author saw (0.6× linear, whatever the width or depth).
 */
export function linearPartNotHandedRule(input: DoctorInput): Finding | undefined {
  const cmp = linearComparison(input);
  const r2 = linearR2(input);
  if (!cmp || cmp.trials.length === 0 || r2 === undefined || r2 < MOSTLY_LINEAR_R2) return undefined;
  if (cmp.trials.some((t) => usedLinearPath(t.trial))) return undefined;
  const best = cmp.trials.reduce((a, b) => (b.value < a.value || (b.value === a.value && b.trial.number < a.trial.number) ? b : a));
  const r = best.value / cmp.value;
  // Not better than linear at all is the rule above's finding; half the error gone is a success.
  if (r > 1 - LINEAR_MARGIN || r <= 1 - LINEAR_GAIN_WANTED) return undefined;
  const ranges = varyingRanges(
    cmp.trials.map((t) => t.trial),
    SHAPE_PARAMS,
  );
  return {
    rule: 'linear-part-not-handed',
    severity: 'medium',
    title: `The target is mostly linear and every network had to learn the linear part itself: the best removed only ${pct(1 - r)} of the linear model's error`,
    evidence: [
      `The linear model explains ${pct(r2)} of the target's variance on validation (val_mse ${num(input.study.baseline!.metrics['val_mse'])}).`,
      `The best trial, #${best.trial.number}, reached ${cmp.metric} ${num(best.value)} against the linear model's ${num(cmp.value)} (ratio ${ratio(r)})${ranges.length ? `; the ${plural(cmp.trials.length, 'trial')} differ in ${ranges.join(', ')}` : ''}.`,
      `No trial had residual_of_linear or linear_skip: each network spent its units reproducing a linear function before it could learn the rest.`,
    ],
    fix: linearFix(input, true),
  };
}
