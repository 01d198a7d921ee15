import { UserError } from '../errors';
import type { EpochLog, TrialDiagnostics } from '../trials/storage/types';
import { openExistingStorage, resolveStudy } from './common';
import { ratioText, vsLinear } from './baseline';
import { compactTable, num, paramText, seconds } from './format';
import { trialJson } from './top';

export interface ShowArgs {
  readonly storage: string;
  readonly study?: string;
  readonly number: number;
  readonly json: boolean;
}

const HISTORY_COLUMNS: readonly (keyof EpochLog)[] = ['epoch', 'loss', 'val_loss', 'mae', 'val_mae', 'mse', 'val_mse', 'lr', 'grad_norm', 'seconds'];

function vsText(vs: ReturnType<typeof vsLinear>): string {
  return vs ? `; ${vs.metric} ${ratioText(vs.ratio)}, linear ${num(vs.linear)}` : '';
}

const percent = (f: number): string => `${Math.round(f * 100)}%`;

/** What the trainer observed, in a few words per line. */
function diagnosticLines(d: TrialDiagnostics | undefined): string[] {
  if (!d) return [];
  const lines: string[] = [];
  if (d.stoppedBy) lines.push(`  stopped by callbacks[${d.stoppedBy.index}] ${d.stoppedBy.callback} on ${d.stoppedBy.monitor}`);
  if (d.restoredEpoch !== undefined) lines.push(`  best weights restored from epoch ${d.restoredEpoch + 1}`);
  if (d.deadReluStart || d.deadReluEnd) {
    const list = (f: readonly number[] | undefined): string => (f ? f.map(percent).join(', ') : '?');
    lines.push(`  dead ReLU units per layer: ${list(d.deadReluStart)} at the start, ${list(d.deadReluEnd)} at the end`);
  }
  if (d.trainValGap !== undefined) lines.push(`  val_mae − mae: ${num(d.trainValGap)}`);
  return lines;
}

/** `tune show N`: one trial's parameters, metrics and epoch history. */
export async function showCommand(args: ShowArgs): Promise<number> {
  const storage = await openExistingStorage(args.storage);
  try {
    const study = await resolveStudy(storage, args.storage, args.study, (l) => process.stderr.write(`${l}\n`));
    const trial = await storage.getTrial(study.id, args.number);
    if (!trial) {
      const count = (await storage.getTrials(study.id)).length;
      throw new UserError(
        'N',
        `study ${study.name} has no trial ${args.number}`,
        count ? `give a trial number from 0 to ${count - 1}` : 'run the study first',
      );
    }
    const history = await storage.getHistory(trial.id);
    if (args.json) {
      const diagnostics = trial.diagnostics ?? null;
      const vs = vsLinear(study.baseline, trial.metrics, study.metric);
      process.stdout.write(`${JSON.stringify({ ...trialJson(trial), vs_linear: vs?.ratio ?? null, diagnostics, history }, null, 2)}\n`);
      return 0;
    }
    const lines = [
      `study ${study.name}, trial ${trial.number}: ${trial.state}${trial.error ? ` (${trial.error})` : ''}`,
      `  backend ${trial.backend}, epochs ${trial.initialEpoch}→${trial.epochs ?? '…'} (${trial.stopReason ?? trial.state}), ${seconds(trial.durationS)}`,
      ...(trial.rung
        ? [`  hyperband iteration ${trial.rung.iteration}, bracket ${trial.rung.bracket}, round ${trial.rung.round}, budget ${trial.budget ?? '?'} epochs${trial.parent !== undefined ? `, continues trial ${trial.parent}` : ''}`]
        : []),
      ...(trial.retryOf !== undefined ? [`  re-runs trial ${trial.retryOf}`] : []),
      `  objective ${study.metric} = ${num(trial.value)}${vsText(vsLinear(study.baseline, trial.metrics, study.metric))}`,
      ...diagnosticLines(trial.diagnostics),
      '',
      'parameters:',
      ...Object.entries(trial.params).map(([k, v]) => `  ${k}: ${paramText(v)}`),
      '',
      'metrics (targets\' units):',
      ...Object.entries(trial.metrics).map(([k, v]) => `  ${k}: ${num(v)}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (history.length) {
      const columns = HISTORY_COLUMNS.filter((c) => history.some((h) => h[c] !== undefined));
      const table = compactTable(columns);
      for (const h of history) {
        table.push(columns.map((c) => (c === 'epoch' ? String(h.epoch + 1) : c === 'seconds' ? seconds(h[c]) : num(h[c]))));
      }
      process.stdout.write(`\nhistory (loss in the training scale):\n${table.toString()}\n`);
    }
    return 0;
  } finally {
    await storage.close();
  }
}
