import type { ParamValue } from '../space/types';
import type { Direction, TrialRecord } from '../trials/storage/types';
import { vsLinear } from './baseline';
import { openExistingStorage, resolveStudy } from './common';
import { compactTable, num, paramText, seconds } from './format';

export interface TopArgs {
  readonly storage: string;
  readonly study?: string;
  readonly metric?: string;
  readonly n: number;
  readonly json: boolean;
}

/** The JSON shape of a trial, shared by `top --json` and `show --json`. */
export function trialJson(t: TrialRecord): Record<string, unknown> {
  return {
    number: t.number,
    state: t.state,
    value: t.value ?? null,
    params: t.params,
    metrics: t.metrics,
    epochs: t.epochs ?? null,
    initial_epoch: t.initialEpoch,
    ...(t.rung ? { bracket: t.rung.bracket, round: t.rung.round, iteration: t.rung.iteration } : {}),
    ...(t.parent !== undefined ? { parent: t.parent } : {}),
    ...(t.retryOf !== undefined ? { retry_of: t.retryOf } : {}),
    stop_reason: t.stopReason ?? null,
    duration_s: t.durationS ?? null,
    backend: t.backend,
    ...(t.error ? { error: t.error } : {}),
  };
}

const SHOWN_METRICS = ['val_mae', 'val_mse', 'mae', 'test_mae'];

export async function topCommand(args: TopArgs): Promise<number> {
  const storage = await openExistingStorage(args.storage);
  try {
    const study = await resolveStudy(storage, args.storage, args.study, (l) => process.stderr.write(`${l}\n`));
    const metric = args.metric ?? study.metric;
    const direction: Direction = args.metric === undefined ? study.direction : 'min';
    const ranked = await storage.rankTrials(study.id, { metric, direction, limit: args.n });
    const { baseline } = study;
    const ratio = (t: TrialRecord): number | undefined => vsLinear(baseline, t.metrics, metric)?.ratio;
    if (args.json) {
      const json = {
        study: study.name,
        metric,
        direction,
        baseline: baseline ? { kind: baseline.kind, metrics: baseline.metrics } : null,
        trials: ranked.map((t) => ({ ...trialJson(t), vs_linear: ratio(t) ?? null })),
      };
      process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      return 0;
    }
    if (ranked.length === 0) {
      process.stdout.write(`study ${study.name}: no complete trial has ${metric}\n`);
      return 0;
    }
    const varying = varyingParams(ranked);
    const metrics = [metric, ...SHOWN_METRICS.filter((m) => m !== metric && ranked.some((t) => m in t.metrics))];
    const hyperband = ranked.some((t) => t.rung);
    const compared = baseline ? vsLinear(baseline, baseline.metrics, metric)?.metric : undefined;
    const vsHead = compared ? [compared === metric ? 'vs_linear' : `vs_linear (${compared})`] : [];
    const table = compactTable(['#', ...metrics, ...vsHead, ...(hyperband ? ['bracket', 'round', 'from'] : []), 'epochs', 'stop', 'time', ...varying]);
    if (baseline && compared) {
      // The baseline as its own row: the line every trial is measured against.
      const blank = (n: number): string[] => new Array<string>(n).fill('');
      table.push(['linear', ...metrics.map((m) => num(baseline.metrics[m])), '1.00', ...blank((hyperband ? 3 : 0) + 3 + varying.length)]);
    }
    for (const t of ranked) {
      const r = ratio(t);
      table.push([
        String(t.number),
        ...metrics.map((m) => num(t.metrics[m])),
        ...(compared ? [r === undefined ? '' : r.toFixed(2)] : []),
        ...(hyperband ? [String(t.rung?.bracket ?? ''), String(t.rung?.round ?? ''), t.parent !== undefined ? `#${t.parent}` : ''] : []),
        String(t.epochs ?? ''),
        t.stopReason ?? '',
        seconds(t.durationS),
        ...varying.map((p) => paramText(t.params[p])),
      ]);
    }
    process.stdout.write(`study ${study.name}: top ${ranked.length} by ${metric} (${direction})\n${table.toString()}\n`);
    return 0;
  } finally {
    await storage.close();
  }
}

/** Parameters whose value differs between the listed trials: the ones worth a column. */
export function varyingParams(trials: readonly TrialRecord[]): string[] {
  const names: string[] = [];
  for (const t of trials) for (const k of Object.keys(t.params)) if (!names.includes(k)) names.push(k);
  return names.filter((k) => new Set(trials.map((t): ParamValue | undefined => t.params[k])).size > 1);
}
