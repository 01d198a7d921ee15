import { UserError } from '../errors';
import { StudyExistsError, type StudyRecord, type Storage } from '../trials/storage/types';
import { changedSections } from './config';
import type { PreparedStudy } from './prepare';

/**
 * The stored study the file declares: created if new; refused if it changed
 * (with the sections that changed); replaced when `overwrite`.
 */
export async function openStudy(prepared: PreparedStudy, storage: Storage, overwrite: boolean): Promise<StudyRecord> {
  const { config, definition, definitionHash } = prepared;
  const existing = await storage.getStudy(config.name);
  if (existing && existing.definitionHash !== definitionHash) {
    if (!overwrite) {
      const changed = changedSections(existing.definition, definition);
      throw new UserError(
        'name',
        `study "${config.name}" already exists in this storage with a different ${changed.join(', ') || 'definition'}`,
        'rename the study to start a new one, or pass --overwrite to replace it (its trials are deleted)',
        config.file,
      );
    }
    await storage.deleteStudy(config.name);
  } else if (existing) {
    if (!overwrite) return existing;
    await storage.deleteStudy(config.name);
  }
  try {
    return await storage.createStudy({
      name: config.name,
      metric: config.objective.metric,
      direction: config.objective.direction,
      definition,
      definitionHash,
    });
  } catch (err) {
    // Another worker created it a moment ago: join it, if it is the same study.
    if (!(err instanceof StudyExistsError) || overwrite) throw err;
    return openStudy(prepared, storage, false);
  }
}
