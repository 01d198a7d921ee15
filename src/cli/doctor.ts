import { examine, renderReport, reportJson } from '../doctor';
import type { DoctorTrial } from '../doctor/types';
import { openExistingStorage, resolveStudy } from './common';

export interface DoctorArgs {
  readonly storage: string;
  readonly study?: string;
  readonly json: boolean;
}

/** `tune doctor`: what most likely held a study back, with evidence and the change to make. Reads only. */
export async function doctorCommand(args: DoctorArgs): Promise<number> {
  const storage = await openExistingStorage(args.storage);
  try {
    const study = await resolveStudy(storage, args.storage, args.study, (l) => process.stderr.write(`${l}\n`));
    const trials: DoctorTrial[] = [];
    for (const t of await storage.getTrials(study.id)) trials.push({ ...t, history: await storage.getHistory(t.id) });
    const report = examine({ study, trials });
    process.stdout.write(args.json ? `${JSON.stringify(reportJson(report), null, 2)}\n` : `${renderReport(report).join('\n')}\n`);
    return 0;
  } finally {
    await storage.close();
  }
}
