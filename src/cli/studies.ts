import { baselineValue } from '../trials/linear';
import type { StudyRecord } from '../trials/storage/types';
import { openExistingStorage } from './common';
import { compactTable, num } from './format';

export interface StudiesArgs {
  readonly storage: string;
  readonly json: boolean;
}

/** The linear baseline's value of the study's own objective; undefined without a baseline or for a loss objective. */
function linearValue(study: StudyRecord): number | undefined {
  const base = study.baseline && baselineValue(study.baseline, study.metric);
  return base?.metric === study.metric ? base.value : undefined;
}

/** `tune studies`: every study with trial counts by state, its best value and the linear baseline's. */
export async function studiesCommand(args: StudiesArgs): Promise<number> {
  const storage = await openExistingStorage(args.storage);
  try {
    const studies = await storage.listStudies();
    if (args.json) {
      const rows = studies.map(({ study, counts, best }) => ({
        name: study.name,
        metric: study.metric,
        direction: study.direction,
        created_at: study.createdAt,
        trials: counts,
        best: best ?? null,
        linear: linearValue(study) ?? null,
      }));
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    if (studies.length === 0) {
      process.stdout.write(`${args.storage} holds no studies\n`);
      return 0;
    }
    const table = compactTable(['study', 'complete', 'failed', 'running', 'interrupted', 'objective', 'best', 'linear', 'vs_linear', 'created']);
    for (const { study, counts, best } of studies) {
      const linear = linearValue(study);
      table.push([
        study.name,
        String(counts.complete),
        String(counts.failed),
        String(counts.running),
        String(counts.interrupted),
        `${study.metric} (${study.direction})`,
        num(best),
        num(linear),
        best !== undefined && linear ? (best / linear).toFixed(2) : '',
        study.createdAt,
      ]);
    }
    process.stdout.write(`${table.toString()}\n`);
    return 0;
  } finally {
    await storage.close();
  }
}
