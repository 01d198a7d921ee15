import { openExistingStorage } from './common';
import { compactTable, num } from './format';

export interface StudiesArgs {
  readonly storage: string;
  readonly json: boolean;
}

/** `tune studies`: every study with trial counts by state and its best value. */
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
      }));
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    if (studies.length === 0) {
      process.stdout.write(`${args.storage} holds no studies\n`);
      return 0;
    }
    const table = compactTable(['study', 'complete', 'failed', 'running', 'interrupted', 'objective', 'best', 'created']);
    for (const { study, counts, best } of studies) {
      table.push([
        study.name,
        String(counts.complete),
        String(counts.failed),
        String(counts.running),
        String(counts.interrupted),
        `${study.metric} (${study.direction})`,
        num(best),
        study.createdAt,
      ]);
    }
    process.stdout.write(`${table.toString()}\n`);
    return 0;
  } finally {
    await storage.close();
  }
}
