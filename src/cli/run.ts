import { prepareStudy } from '../study/prepare';
import { runStudy } from '../study/optimize';
import type { BackendName } from '../trials/backend';
import { openStorage } from '../trials/storage';
import { num } from './format';
import { runObserver } from './progress';

export interface RunArgs {
  readonly file: string;
  readonly storage: string;
  readonly maxTrials?: number;
  readonly backend?: BackendName;
  readonly overwrite?: boolean;
}

/** `tune run FILE`: validate everything first, then open storage and run. */
export async function runCommand(args: RunArgs): Promise<number> {
  const prepared = prepareStudy(args.file);
  const storage = openStorage(args.storage);
  try {
    const summary = await runStudy(prepared, storage, {
      ...(args.maxTrials !== undefined ? { maxTrials: args.maxTrials } : {}),
      ...(args.backend ? { backend: args.backend } : {}),
      ...(args.overwrite ? { overwrite: true } : {}),
      observer: runObserver(prepared.config.objective.metric),
    });
    const { metric } = prepared.config.objective;
    const best = summary.best ? `best trial #${summary.best.number}: ${metric}=${num(summary.best.value)}` : 'no complete trial';
    process.stdout.write(
      `study ${summary.study.name} ${summary.ran === 0 ? 'is complete' : 'done'} (${summary.stopReason}); ${summary.ran} trials run now; ${best}; backend ${summary.backend}; storage ${args.storage}\n`,
    );
    return 0;
  } finally {
    await storage.close();
  }
}
