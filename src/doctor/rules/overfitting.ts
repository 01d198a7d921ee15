/**
 * Over-fitting in the trials that matter: the best ones do much better on
 * the training data than on validation data.
 */
import { num, plural, ratio } from '../format';
import { earlyStoppingsOf, finite, isTrainingMetric, rankedTrials, series, spaceOf } from '../read';
import type { DoctorInput, DoctorTrial, Finding } from '../types';

/** The best trials looked at: the ones a user would pick from. */
export const TOP_TRIALS = 5;
/** val_mae at least 1.5× the training mae… */
export const OVERFIT_RATIO = 1.5;
/**
 * …and a gap of at least a tenth of the linear model's val_mae (the error
 * scale of this data), so near-perfect fits with tiny absolute gaps do not
 * count. Without a baseline the ratio alone decides.
 */
export const OVERFIT_MIN_GAP = 0.1;
/** At least half of the best trials over-fit: it is the study's pattern, not one trial's. */
export const OVERFIT_SHARE = 0.5;
/** A validation curve that ends 5% above its lowest while training kept improving has turned. */
export const VAL_TURN = 0.05;

interface Gap {
  readonly trial: DoctorTrial;
  readonly train: number;
  readonly val: number;
}

function gapOf(trial: DoctorTrial): Gap | undefined {
  const train = trial.metrics['mae'];
  if (!finite(train)) return undefined;
  const direct = trial.metrics['val_mae'];
  const gap = trial.diagnostics?.trainValGap;
  const val = finite(direct) ? direct : finite(gap) ? train + gap : undefined;
  return val === undefined ? undefined : { trial, train, val };
}

export function overfittingRule(input: DoctorInput): Finding | undefined {
  const top = rankedTrials(input).slice(0, TOP_TRIALS);
  const gaps = top.map(gapOf).filter((g): g is Gap => g !== undefined);
  if (gaps.length === 0) return undefined;
  const linearVal = input.study.baseline?.metrics['val_mae'];
  const minGap = finite(linearVal) ? OVERFIT_MIN_GAP * linearVal : 0;
  const over = gaps.filter((g) => g.val >= OVERFIT_RATIO * g.train && g.val - g.train >= minGap && g.val > 0);
  if (over.length === 0 || over.length < OVERFIT_SHARE * gaps.length) return undefined;
  const evidence = [
    `${over.length} of the ${plural(gaps.length, 'best trial')} do much better on training than on validation data: ${over
      .slice(0, 5)
      .map((g) => `#${g.trial.number} mae ${num(g.train)} vs val_mae ${num(g.val)} (×${ratio(g.val / Math.max(g.train, Number.MIN_VALUE))})`)
      .join(', ')}.`,
  ];
  for (const g of over) {
    const val = series(g.trial.history, 'val_mae');
    const train = series(g.trial.history, 'mae');
    if (val.length < 3 || train.length < 3) continue;
    let low = 0;
    val.forEach((v, i) => {
      if (v < val[low]!) low = i;
    });
    const last = val[val.length - 1]!;
    if (low < val.length - 1 && last >= (1 + VAL_TURN) * val[low]! && train[train.length - 1]! < train[low]!) {
      evidence.push(
        `#${g.trial.number}'s val_mae bottomed at ${num(val[low])} after epoch ${low + 1} and ended at ${num(last)} after ${val.length}, while its training mae kept falling (${num(train[low])} → ${num(train[train.length - 1])}).`,
      );
      break;
    }
  }
  const space = spaceOf(input);
  const regularized = 'dropout' in space || 'l2' in space;
  if (!regularized) evidence.push('The space has neither dropout nor l2: nothing holds the networks back.');
  const restores = earlyStoppingsOf(input).some((s) => !isTrainingMetric(s.monitor) && s.restore_best_weights);
  if (!restores) evidence.push('No early_stopping on a validation metric restores the best weights, so each trial returns its last epoch\'s model.');
  const fix = !regularized
    ? 'space: { dropout: { type: float, min: 0.1, max: 0.5 }, l2: { type: float, min: 1.0e-5, max: 1.0e-2, sampling: log } }'
    : !restores
      ? 'callbacks: - early_stopping: { monitor: val_loss, patience: 20, restore_best_weights: true }'
      : 'space: { dropout: { type: float, min: 0.2, max: 0.6 }, l2: { type: float, min: 1.0e-4, max: 1.0e-1, sampling: log } }';
  const best = top[0];
  return {
    rule: 'overfitting',
    severity: best !== undefined && over.some((g) => g.trial === best) ? 'high' : 'medium',
    title: `The best trials over-fit: validation error is ${ratio(Math.min(...over.map((g) => g.val / Math.max(g.train, Number.MIN_VALUE))))}× or more their training error`,
    evidence,
    fix,
  };
}
