import { prepareStudy } from '../study/prepare';
import { runStudy } from '../study/optimize';
import type { BackendName } from '../trials/backend-names';
import { openStorage, redactUrl } from '../trials/storage';
import { vsLinearLine } from './baseline';
import { num } from './format';
import { runObserver } from './progress';

export interface RunArgs {
  readonly file: string;
  readonly storage: string;
  readonly maxTrials?: number;
  readonly backend?: BackendName;
  readonly overwrite?: boolean;
  readonly retryFailed?: boolean;
  /** Internal, set by `--workers` for its children: re-run failed trials numbered below this. */
  readonly retryFailedBefore?: number;
  /** A worker started by `--workers`: no display of its own (the coordinator shows one). */
  readonly quiet?: boolean;
  readonly heartbeatSeconds?: number;
}

import { EXIT_INTERRUPTED } from './exit';

/**
 * `tune run FILE`: validate everything first, then open storage and run.
 * The first Ctrl-C (or SIGTERM) marks the running trial interrupted, saves
 * and says how to resume; a second one exits at once.
 */
export async function runCommand(args: RunArgs): Promise<number> {
  const prepared = prepareStudy(args.file);
  const storage = await openStorage(args.storage);
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (abort.signal.aborted) process.exit(EXIT_INTERRUPTED);
    process.stderr.write(`\n${signal}: stopping after saving the running trial as interrupted (again to quit at once)\n`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await runStudy(prepared, storage, {
      ...(args.maxTrials !== undefined ? { maxTrials: args.maxTrials } : {}),
      ...(args.backend ? { backend: args.backend } : {}),
      ...(args.overwrite ? { overwrite: true } : {}),
      ...(args.retryFailed ? { retryFailed: true } : {}),
      ...(args.retryFailedBefore !== undefined ? { retryFailedBefore: args.retryFailedBefore } : {}),
      ...(args.heartbeatSeconds !== undefined ? { heartbeatSeconds: args.heartbeatSeconds } : {}),
      signal: abort.signal,
      observer: args.quiet ? {} : runObserver(prepared.config.objective.metric),
    });
    const { metric } = prepared.config.objective;
    const best = summary.best ? `best trial #${summary.best.number}: ${metric}=${num(summary.best.value)}` : 'no complete trial';
    const resume = `tune run ${args.file}${args.storage === 'tune.db' ? '' : ` --storage ${redactUrl(args.storage)}`}`;
    switch (summary.end) {
      case 'interrupted':
        process.stderr.write(`study ${summary.study.name} interrupted (${summary.reason}); resume with: ${resume}\n`);
        return EXIT_INTERRUPTED;
      case 'failures':
        process.stderr.write(
          `study ${summary.study.name} stopped: ${summary.reason}. Fix the cause, then: ${resume} --retry-failed\n`,
        );
        return 1;
      case 'finished':
        process.stdout.write(
          `study ${summary.study.name} ${summary.ran === 0 ? 'is complete' : 'done'} (${summary.reason}); ${summary.ran} trials run now; ${best}; backend ${summary.backend}; storage ${redactUrl(args.storage)}\n`,
        );
        {
          const vs = vsLinearLine(prepared.baseline, summary.best, metric);
          if (vs) process.stdout.write(`${vs}\n`);
        }
        return 0;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await storage.close();
  }
}
