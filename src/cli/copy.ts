import { UserError } from '../errors';
import { openStorage, redactUrl } from '../trials/storage';
import { StudyExistsError } from '../trials/storage/types';
import { openExistingStorage } from './common';

export interface CopyArgs {
  readonly from: string;
  readonly to: string;
  /** Default: every study in `from`. */
  readonly study?: string;
}

/**
 * `tune copy --from A --to B [--study NAME]`: moves whole studies (trials,
 * metrics, histories, checkpoints) between storages of any engines, each
 * study in one transaction on the receiving side.
 */
export async function copyCommand(args: CopyArgs): Promise<number> {
  const from = await openExistingStorage(args.from);
  const shownFrom = redactUrl(args.from);
  const shownTo = redactUrl(args.to);
  try {
    const names = args.study !== undefined ? [args.study] : (await from.listStudies()).map((s) => s.study.name).reverse();
    if (names.length === 0) throw new UserError('--from', `${shownFrom} holds no studies`, 'copy from a storage that has one');
    const to = await openStorage(args.to);
    try {
      for (const name of names) {
        const dump = await from.exportStudy(name);
        if (!dump) throw new UserError('--study', `no study named "${name}" in ${shownFrom}`, 'see tune studies --storage FROM');
        try {
          await to.importStudy(dump);
        } catch (err) {
          if (err instanceof StudyExistsError) {
            throw new UserError('--to', `${shownTo} already has a study named "${name}"`, 'delete it there first, or copy to another storage');
          }
          throw err;
        }
        process.stdout.write(`copied study ${name} (${dump.trials.length} trials) from ${shownFrom} to ${shownTo}\n`);
      }
    } finally {
      await to.close();
    }
    return 0;
  } finally {
    await from.close();
  }
}
