/**
 * `tune doctor`: reads a finished study and says, with numbers and trial
 * numbers, what most likely held it back and what to change in the study
 * file. Pure: no I/O, no tfjs.
 */
import type { TrialState } from '../search/types';
import { baselineValue } from '../trials/linear';
import { earlyStoppingRule } from './rules/early-stopping';
import { deadReluRule } from './rules/dead-relu';
import { learningRateTooHighRule, learningRateTooLowRule } from './rules/learning-rate';
import { linearPartNotHandedRule, noBetterThanLinearRule, sameAsymptoteRule, versus } from './rules/linear';
import { overfittingRule } from './rules/overfitting';
import { reduceLrNeverActedRule } from './rules/reduce-lr';
import { finite, param, rankedTrials, validationMetric } from './read';
import { num, pct, ratio } from './format';
import type { DoctorInput, Finding, Rule, Severity } from './types';

export type { DoctorInput, DoctorTrial, Finding, Rule, Severity } from './types';

/** Every rule, in the order findings of equal severity are listed. */
export const RULES: readonly Rule[] = [
  noBetterThanLinearRule,
  earlyStoppingRule,
  sameAsymptoteRule,
  linearPartNotHandedRule,
  learningRateTooHighRule,
  learningRateTooLowRule,
  deadReluRule,
  overfittingRule,
  reduceLrNeverActedRule,
];

const RANK: Readonly<Record<Severity, number>> = { high: 0, medium: 1, low: 2 };

export interface Summary {
  readonly study: string;
  readonly metric: string;
  readonly direction: string;
  readonly trials: number;
  readonly counts: Readonly<Record<TrialState, number>>;
  readonly best?: { readonly number: number; readonly value: number };
  /** The linear model's value of the objective (or its MAE counterpart) and the best trial's ratio to it. */
  readonly baseline?: { readonly metric: string; readonly value: number; readonly best?: number; readonly ratio?: number };
  /** Finished trials by how they ended: `max_epochs`, `early_stopping on loss`, `nan`, … */
  readonly stops: Readonly<Record<string, number>>;
  /**
   * The largest dead-ReLU share of any layer at the end of any trial that
   * measured it: evidence either way, since "my ReLUs died" is a common suspicion.
   */
  readonly deadRelu?: { readonly max: number; readonly trials: number };
}

export interface Report {
  readonly summary: Summary;
  /** Most severe first; rules' order within a severity. */
  readonly findings: Finding[];
  /** What could not be checked, and why (missing baseline, diagnostics, validation data). */
  readonly notes: string[];
}

/** Runs every rule; a rule that throws becomes a note, so one bad rule never hides the others. */
export function diagnose(input: DoctorInput, rules: readonly Rule[] = RULES): { findings: Finding[]; errors: string[] } {
  const found: { finding: Finding; order: number }[] = [];
  const errors: string[] = [];
  rules.forEach((rule, order) => {
    try {
      const finding = rule(input);
      if (finding) found.push({ finding, order });
    } catch (err) {
      errors.push(`the ${rule.name || 'unnamed'} check failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  found.sort((a, b) => RANK[a.finding.severity] - RANK[b.finding.severity] || a.order - b.order);
  return { findings: found.map((f) => f.finding), errors };
}

export function summarize(input: DoctorInput): Summary {
  const counts: Record<TrialState, number> = { running: 0, complete: 0, failed: 0, interrupted: 0 };
  for (const t of input.trials) if (t.state in counts) counts[t.state] += 1;
  const best = rankedTrials(input)[0];
  let baseline: Summary['baseline'];
  const base = input.study.baseline && baselineValue(input.study.baseline, input.study.metric);
  if (base && finite(base.value)) {
    const bestValue = best && (best.metrics[base.metric] ?? (base.metric === input.study.metric ? best.value : undefined));
    baseline = {
      metric: base.metric,
      value: base.value,
      ...(finite(bestValue) ? { best: bestValue, ...(base.value > 0 ? { ratio: bestValue / base.value } : {}) } : {}),
    };
  }
  const stops: Record<string, number> = {};
  for (const t of input.trials) {
    if (!t.stopReason) continue;
    const by = t.diagnostics?.stoppedBy;
    const key = by && t.stopReason === 'early_stopping' ? `early_stopping on ${by.monitor}` : t.stopReason;
    stops[key] = (stops[key] ?? 0) + 1;
  }
  const dead = input.trials.map((t) => t.diagnostics?.deadReluEnd).filter((d): d is readonly number[] => Array.isArray(d) && d.every(finite));
  const deadMax = dead.length ? Math.max(0, ...dead.flat()) : undefined;
  return {
    study: input.study.name,
    metric: input.study.metric,
    direction: input.study.direction,
    trials: input.trials.length,
    counts,
    ...(best ? { best: { number: best.number, value: best.value! } } : {}),
    ...(baseline ? { baseline } : {}),
    stops,
    ...(deadMax !== undefined ? { deadRelu: { max: deadMax, trials: dead.length } } : {}),
  };
}

/** What the rules could not look at in this study, as sentences. */
export function missingEvidence(input: DoctorInput): string[] {
  const notes: string[] = [];
  if (input.trials.length === 0) return ['the study has no trials yet: run it first (tune run STUDY.yaml)'];
  if (!input.trials.some((t) => t.state === 'complete')) notes.push('no trial completed: the checks that compare results had nothing to compare');
  if (!input.study.baseline) {
    notes.push('no linear baseline is stored with this study (it was run by a tune without one): the comparisons with the linear model were skipped');
  }
  const relu = input.trials.filter((t) => param(t, 'activation') === 'relu' && t.state !== 'running');
  if (relu.length && !relu.some((t) => Array.isArray(t.diagnostics?.deadReluEnd))) {
    notes.push('no trial recorded its dead-ReLU fractions: the dead-ReLU check was skipped');
  }
  if (!validationMetric(input)) {
    notes.push('the trials logged no validation metrics: the checks that read validation curves (early stopping, over-fitting) had none');
  }
  if (input.trials.some((t) => t.state === 'complete' && t.history.length === 0)) {
    notes.push('some complete trials have no epoch history: the curve-based checks skipped them');
  }
  return notes;
}

export function examine(input: DoctorInput): Report {
  const { findings, errors } = diagnose(input);
  return { summary: summarize(input), findings, notes: [...missingEvidence(input), ...errors] };
}

/** The report as plain text lines: a header, the findings most severe first, then what was not checked. */
export function renderReport(report: Report): string[] {
  const { summary: s, findings, notes } = report;
  const lines = [`study ${s.study}: objective ${s.metric} (${s.direction})`];
  const parts = (['complete', 'failed', 'interrupted', 'running'] as const).filter((k) => s.counts[k] > 0).map((k) => `${s.counts[k]} ${k}`);
  lines.push(`trials: ${s.trials}${parts.length ? ` (${parts.join(', ')})` : ''}`);
  const best = s.best ? `best: #${s.best.number}, ${s.metric} ${num(s.best.value)}` : 'best: none (no complete trial)';
  if (s.baseline) {
    const vs =
      s.baseline.ratio !== undefined
        ? ` (best ${s.baseline.metric === s.metric ? '' : `${s.baseline.metric} ${num(s.baseline.best)}, `}ratio ${ratio(s.baseline.ratio)}: ${versus(s.baseline.ratio)})`
        : '';
    lines.push(`${best}; linear model: ${s.baseline.metric} ${num(s.baseline.value)}${vs}`);
  } else {
    lines.push(`${best}; linear model: not stored with this study`);
  }
  const stops = Object.entries(s.stops).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (stops.length) lines.push(`ended: ${stops.map(([k, n]) => `${n} ${k}`).join(', ')}`);
  if (s.deadRelu) lines.push(`dead ReLUs at the end: at most ${pct(s.deadRelu.max)} of a layer's units (${s.deadRelu.trials} trials measured)`);
  lines.push('');
  if (findings.length === 0) {
    lines.push('No problems found by the checks that could run.');
  } else {
    lines.push(`${findings.length === 1 ? '1 finding' : `${findings.length} findings`}, most severe first:`);
    findings.forEach((f, i) => {
      lines.push('', `${i + 1}. [${f.severity}] ${f.title}`);
      for (const e of f.evidence) lines.push(`   - ${e}`);
      lines.push(`   fix: ${f.fix}`);
    });
  }
  if (notes.length) {
    lines.push('', 'not checked:');
    for (const n of notes) lines.push(`  - ${n}`);
  }
  return lines;
}

/** The findings plus header data as JSON-able data, for `tune doctor --json`. */
export function reportJson(report: Report): Record<string, unknown> {
  return { summary: report.summary, findings: report.findings, notes: report.notes };
}
