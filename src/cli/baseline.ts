import { baselineValue, type LinearBaseline } from '../trials/linear';
import type { Metrics } from '../trials/storage/types';
import { num } from './format';

/** A trial's metric next to the linear baseline's. */
export interface VsLinear {
  /** The metric compared: the one asked for, or its MAE counterpart for a loss. */
  readonly metric: string;
  readonly value: number;
  readonly linear: number;
  /** value / linear: below 1 beats the linear model (for errors, lower is better). */
  readonly ratio: number;
}

export function vsLinear(baseline: LinearBaseline | undefined, metrics: Metrics, metric: string): VsLinear | undefined {
  const base = baseline && baselineValue(baseline, metric);
  const value = base && metrics[base.metric];
  if (!base || value === undefined || !(base.value > 0)) return undefined;
  return { metric: base.metric, value, linear: base.value, ratio: value / base.value };
}

/** `0.25× linear (75% lower)`: how a ratio reads in a sentence. */
export function ratioText(ratio: number): string {
  const pct = Math.round(Math.abs(1 - ratio) * 100);
  const change = pct === 0 ? 'no better than linear' : ratio < 1 ? `${pct}% lower` : 'worse than linear';
  return `${ratio.toFixed(2)}× linear (${change})`;
}

/**
 * The run's closing comparison: `best #3 val_mae 0.0325 vs linear 0.1301: 0.25× linear (75% lower);
 * test_mae 0.0331 vs 0.1297: 0.26× linear (74% lower)`. Undefined without a baseline.
 */
export function vsLinearLine(
  baseline: LinearBaseline | undefined,
  best: { number: number; metrics: Metrics } | undefined,
  metric: string,
): string | undefined {
  if (!baseline) return undefined;
  if (!best) return `linear baseline: ${metric} ${num(baselineValue(baseline, metric)?.value)}; no complete trial to compare`;
  const parts: string[] = [];
  const objective = vsLinear(baseline, best.metrics, metric);
  if (objective) {
    parts.push(`best #${best.number} ${objective.metric} ${num(objective.value)} vs linear ${num(objective.linear)}: ${ratioText(objective.ratio)}`);
  }
  const test = vsLinear(baseline, best.metrics, 'test_mae');
  if (test) parts.push(`test_mae ${num(test.value)} vs ${num(test.linear)}: ${ratioText(test.ratio)}`);
  return parts.length ? parts.join('; ') : undefined;
}
