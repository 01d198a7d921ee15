import { existsSync } from 'node:fs';
import { UserError } from '../errors';
import { openStorage, redactUrl, storagePath } from '../trials/storage';
import type { StudyRecord, Storage } from '../trials/storage/types';

/**
 * The study a command is about: the named one, else the only one, else the
 * most recent (and `note` says so, since that is a guess).
 */
export async function resolveStudy(
  storage: Storage,
  storageUrl: string,
  name: string | undefined,
  note: (line: string) => void,
): Promise<StudyRecord> {
  storageUrl = redactUrl(storageUrl);
  if (name !== undefined) {
    const study = await storage.getStudy(name);
    if (study) return study;
    const names = (await storage.listStudies()).map((s) => s.study.name);
    throw new UserError(
      '--study',
      `no study named "${name}" in ${storageUrl}`,
      names.length ? `use one of: ${names.join(', ')}` : 'run a study first: tune run STUDY.yaml',
    );
  }
  const studies = await storage.listStudies();
  const latest = studies[0];
  if (!latest) {
    throw new UserError('--storage', `${storageUrl} holds no studies`, 'run one first (tune run STUDY.yaml), or pass --storage FILE');
  }
  if (studies.length > 1) {
    note(`${storageUrl} holds ${studies.length} studies; showing the most recent, "${latest.study.name}" (choose with --study NAME)`);
  }
  return latest.study;
}

/**
 * Opens a storage that must already exist: reading commands should not
 * leave an empty database behind when the path has a typo.
 */
export async function openExistingStorage(url: string): Promise<Storage> {
  const path = isServerUrl(url) ? undefined : storagePath(url);
  if (path !== undefined && path !== ':memory:' && !existsSync(path)) {
    throw new UserError('--storage', `no storage at ${path}`, 'run a study first (tune run STUDY.yaml) or pass --storage FILE');
  }
  return openStorage(url);
}

/** A database server's URL, as opposed to a SQLite file. */
export function isServerUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}
