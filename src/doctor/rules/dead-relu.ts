/**
 * Dead ReLUs: units whose output is 0 on every training row pass no gradient
 * and never come back. The trainer records the dead share of each ReLU layer
 * before the first epoch and for the returned model (`diagnostics`).
 */
import { median, pct, plural, trialRefs } from '../format';
import { finishedTrials, finite, param, rankedTrials } from '../read';
import type { DoctorInput, DoctorTrial, Finding } from '../types';

/** A layer with half its units dead has lost half its capacity. */
export const DEAD_LAYER = 0.5;
/** Flag the study when at least a quarter of its ReLU trials (with diagnostics) have such a layer: then it is the setup, not a seed. */
export const DEAD_SHARE = 0.25;
/** Half or more of the ReLU trials, or the best trial: high severity. */
export const DEAD_SHARE_HIGH = 0.5;
/** A rise of 10 points from start to end: training killed those units (large updates, a large linear error to chase). */
export const GREW_BY = 0.1;

interface Dead {
  readonly trial: DoctorTrial;
  /** 0-based index of the worst layer at the end. */
  readonly layer: number;
  readonly end: number;
  readonly start: number | undefined;
}

function worstLayer(trial: DoctorTrial): Dead | undefined {
  const end = trial.diagnostics?.deadReluEnd;
  if (!Array.isArray(end) || end.length === 0 || !end.every(finite)) return undefined;
  let layer = 0;
  end.forEach((v, i) => {
    if (v > end[layer]!) layer = i;
  });
  const startList = trial.diagnostics?.deadReluStart;
  const start = Array.isArray(startList) && finite(startList[layer]) ? startList[layer] : undefined;
  return { trial, layer, end: end[layer]!, start };
}

function describe(d: Dead): string {
  const at = d.start !== undefined ? `${pct(d.start)} → ${pct(d.end)}` : pct(d.end);
  return `#${d.trial.number} (layer ${d.layer + 1}: ${at})`;
}

export function deadReluRule(input: DoctorInput): Finding | undefined {
  const relu = finishedTrials(input)
    .filter((t) => param(t, 'activation') === 'relu')
    .map(worstLayer)
    .filter((d): d is Dead => d !== undefined);
  if (relu.length === 0) return undefined;
  const dead = relu.filter((d) => d.end >= DEAD_LAYER).sort((a, b) => b.end - a.end || a.trial.number - b.trial.number);
  if (dead.length === 0 || dead.length < DEAD_SHARE * relu.length) return undefined;
  const shown = dead.slice(0, 6).map(describe).join(', ');
  const evidence = [
    `${dead.length} of ${plural(relu.length, 'ReLU trial')} ended with a layer at least ${pct(DEAD_LAYER)} dead (units whose output is 0 on every training row): ${shown}${dead.length > 6 ? ` and ${dead.length - 6} more` : ''}.`,
  ];
  const grew = dead.filter((d) => d.start !== undefined && d.end - d.start >= GREW_BY);
  if (grew.length) {
    evidence.push(
      `In ${grew.length} of them the dead share grew during training (median +${Math.round(median(grew.map((d) => d.end - d.start!)) * 100)} points), so the updates killed them: ${trialRefs(grew.map((d) => d.trial.number))}.`,
    );
  }
  const best = rankedTrials(input)[0];
  const bestDead = best && dead.find((d) => d.trial === best);
  if (bestDead) {
    evidence.push(`The best trial, #${best.number}, is one of them: layer ${bestDead.layer + 1} ends ${pct(bestDead.end)} dead, so it works with a fraction of its units.`);
  }
  return {
    rule: 'dead-relu',
    severity: bestDead || dead.length >= DEAD_SHARE_HIGH * relu.length ? 'high' : 'medium',
    title: `Many ReLU units are dead at the end of training in ${plural(dead.length, 'trial')}`,
    evidence,
    fix: 'space: { activation: { type: choice, values: [leaky_relu, elu, gelu] } }',
  };
}
