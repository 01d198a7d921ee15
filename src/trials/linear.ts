import type { Dataset, Scaler, Split } from '../data/dataset';

/**
 * The study's linear baseline: least squares on the training split, in the
 * scale the models train on (standardized when the study standardizes), with
 * an intercept and a tiny ridge term so collinear or constant features still
 * have a solution. It is what a network has to beat, what
 * `residual_of_linear` subtracts, and what `tune export` ships beside the
 * network. Pure arithmetic in float64: no tfjs.
 */
export interface LinearBaseline {
  readonly kind: 'least_squares';
  /** Ridge λ actually added to the normal equations' diagonal (intercept excluded). */
  readonly ridge: number;
  readonly features: readonly string[];
  readonly targets: readonly string[];
  readonly xScaler: Scaler;
  readonly yScaler: Scaler;
  /** coef[j][t]: weight of feature j for target t, in the training scale. */
  readonly coef: readonly (readonly number[])[];
  /** One per target, in the training scale. */
  readonly intercept: readonly number[];
  /**
   * The same metrics a trial reports, in the targets' own units: `mae`, `mse`,
   * `val_mae`, `val_mse`, `test_mae`, `test_mse` (those whose split exists);
   * and `loss`, `val_loss` in the training scale when the study's loss is one
   * for every trial (a loss that is searched has no single baseline value).
   */
  readonly metrics: Readonly<Record<string, number>>;
}

/** λ relative to the number of training rows: tiny next to XᵀX's diagonal (≈ rows for standardized data). */
const RIDGE_PER_ROW = 1e-6;

/** A training loss, in the training scale: Keras' definitions, as the trainer's (`train.ts`). */
export type BaselineLoss = 'mae' | 'mse' | 'huber';

export function fitLinearBaseline(data: Dataset, loss?: BaselineLoss): LinearBaseline {
  const f = data.features.length;
  const t = data.targets.length;
  const p = f + 1; // the last column is the intercept
  const n = data.train.rows;
  const ata = new Float64Array(p * p);
  const aty = new Float64Array(p * t);
  const row = new Float64Array(p);
  const { x, y } = data.train;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) row[j] = x[i * f + j]!;
    row[f] = 1;
    for (let a = 0; a < p; a++) {
      const ra = row[a]!;
      if (ra === 0) continue;
      for (let b = a; b < p; b++) ata[a * p + b]! += ra * row[b]!;
      for (let k = 0; k < t; k++) aty[a * t + k]! += ra * y[i * t + k]!;
    }
  }
  for (let a = 0; a < p; a++) for (let b = 0; b < a; b++) ata[a * p + b] = ata[b * p + a]!;
  const ridge = RIDGE_PER_ROW * Math.max(n, 1);
  for (let j = 0; j < f; j++) ata[j * p + j]! += ridge;
  const solution = solveSymmetric(ata, aty, p, t);
  const coef = Array.from({ length: f }, (_, j) => Array.from({ length: t }, (_, k) => solution[j * t + k]!));
  const intercept = Array.from({ length: t }, (_, k) => solution[f * t + k]!);
  const partial = { coef, intercept };
  const metrics: Record<string, number> = {};
  const splits: [string, Split | undefined][] = [
    ['', data.train],
    ['val_', data.validation],
    ['test_', data.test],
  ];
  for (const [prefix, split] of splits) {
    if (!split) continue;
    const errors = linearErrors(partial, split, data.yScaler);
    metrics[`${prefix}mae`] = errors.mae;
    metrics[`${prefix}mse`] = errors.mse;
    // Trials report loss and val_loss, not a test loss.
    if (loss && prefix !== 'test_') metrics[`${prefix}loss`] = errors.loss[loss];
  }
  return {
    kind: 'least_squares',
    ridge,
    features: [...data.features],
    targets: [...data.targets],
    xScaler: data.xScaler,
    yScaler: data.yScaler,
    coef,
    intercept,
    metrics,
  };
}

/** Predictions of the linear part for rows of features in the training scale, row-major. */
export function predictLinear(
  model: Pick<LinearBaseline, 'coef' | 'intercept'>,
  x: ArrayLike<number>,
  rows: number,
): Float64Array {
  const f = model.coef.length;
  const t = model.intercept.length;
  const out = new Float64Array(rows * t);
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < t; k++) {
      let s = model.intercept[k]!;
      for (let j = 0; j < f; j++) s += x[i * f + j]! * model.coef[j]![k]!;
      out[i * t + k] = s;
    }
  }
  return out;
}

/** MAE and MSE in the targets' own units, averaged over rows and targets, as trials report them. */
function linearErrors(
  model: Pick<LinearBaseline, 'coef' | 'intercept'>,
  split: Split,
  yScaler: Scaler,
): { mae: number; mse: number; loss: Record<BaselineLoss, number> } {
  const t = model.intercept.length;
  const pred = predictLinear(model, split.x, split.rows);
  let abs = 0;
  let sq = 0;
  // The same in the training scale, as a loss is computed (Huber with delta 1).
  let absScaled = 0;
  let sqScaled = 0;
  let huber = 0;
  for (let i = 0; i < split.rows; i++) {
    for (let k = 0; k < t; k++) {
      const d = pred[i * t + k]! - split.y[i * t + k]!;
      const e = d * yScaler.std[k]!;
      abs += Math.abs(e);
      sq += e * e;
      const a = Math.abs(d);
      absScaled += a;
      sqScaled += d * d;
      huber += a <= 1 ? 0.5 * d * d : a - 0.5;
    }
  }
  const count = split.rows * t;
  return { mae: abs / count, mse: sq / count, loss: { mae: absScaled / count, mse: sqScaled / count, huber: huber / count } };
}

/**
 * Solves A·X = B for a symmetric positive-definite A (p×p) and B (p×t) by
 * Cholesky. The ridge term keeps A positive definite even for a constant or
 * duplicated feature column.
 */
function solveSymmetric(a: Float64Array, b: Float64Array, p: number, t: number): Float64Array {
  const l = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * p + j]!;
      for (let k = 0; k < j; k++) s -= l[i * p + k]! * l[j * p + k]!;
      if (i === j) {
        // The intercept's pivot has no ridge; guard it against round-off all the same.
        l[i * p + i] = Math.sqrt(Math.max(s, 1e-300));
      } else {
        l[i * p + j] = s / l[j * p + j]!;
      }
    }
  }
  const x = new Float64Array(p * t);
  for (let k = 0; k < t; k++) {
    const z = new Float64Array(p);
    for (let i = 0; i < p; i++) {
      let s = b[i * t + k]!;
      for (let j = 0; j < i; j++) s -= l[i * p + j]! * z[j]!;
      z[i] = s / l[i * p + i]!;
    }
    for (let i = p - 1; i >= 0; i--) {
      let s = z[i]!;
      for (let j = i + 1; j < p; j++) s -= l[j * p + i]! * x[j * t + k]!;
      x[i * t + k] = s / l[i * p + i]!;
    }
  }
  return x;
}

/**
 * The baseline's value of a metric, for comparing trials with it: the metric
 * itself when the baseline has it, else its MAE counterpart (`val_loss` →
 * `val_mae`, `loss` → `mae`), since a loss depends on each trial's loss
 * function. Returns the metric compared too, so displays can say which.
 */
export function baselineValue(
  baseline: Pick<LinearBaseline, 'metrics'>,
  metric: string,
): { metric: string; value: number } | undefined {
  const direct = baseline.metrics[metric];
  if (direct !== undefined) return { metric, value: direct };
  const fallback = metric.replace(/loss$/, 'mae');
  const value = baseline.metrics[fallback];
  return value !== undefined ? { metric: fallback, value } : undefined;
}
