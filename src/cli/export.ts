import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../errors';
import { initBackend } from '../trials/backend';
import { decodeCheckpoint } from '../trials/checkpoint';
import { exportTrial, MANIFEST_FILE } from '../trials/export';
import type { LinearBaseline } from '../trials/linear';
import type { StudyRecord, Storage, TrialRecord } from '../trials/storage/types';
import { openExistingStorage, resolveStudy } from './common';
import { num } from './format';

export interface ExportArgs {
  readonly storage: string;
  readonly study?: string;
  /** Default: the best complete trial by the study's objective. */
  readonly trial?: number;
  readonly out: string;
  /**
   * The study file the study was run from, for studies whose storage holds
   * no linear baseline (stored before it kept one): its data files, checked
   * against the hashes stored with the study, give the scalers again.
   */
  readonly json: boolean;
}

/** `tune export`: one trial's model, weights and preprocessing, written to a directory. */
export async function exportCommand(args: ExportArgs): Promise<number> {
  if (existsSync(args.out) && !statSync(args.out).isDirectory()) {
    throw new UserError('--out', `${args.out} is a file, not a directory`, 'give a directory to write the export in (created if missing)');
  }
  const storage = await openExistingStorage(args.storage);
  try {
    const study = await resolveStudy(storage, args.storage, args.study, (l) => process.stderr.write(`${l}\n`));
    const trial = await pickTrial(storage, study, args.trial);
    const bytes = await storage.getCheckpoint(trial.id);
    if (!bytes) throw await noCheckpoint(storage, study, trial);
    const scaling = studyScaling(study);
    await initBackend();
    const manifest = await exportTrial(
      {
        study: { name: study.name, metric: study.metric, direction: study.direction },
        trial,
        checkpoint: decodeCheckpoint(bytes),
        scaling,
      },
      args.out,
    );
    if (args.json) {
      process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
    } else {
      process.stdout.write(
        `exported trial ${trial.number} of study ${study.name} (${study.metric} ${num(trial.value)}) to ${args.out}: ${[
          ...manifest.files.map((f) => f.name),
          MANIFEST_FILE,
        ].join(', ')}\n`,
      );
    }
    return 0;
  } finally {
    await storage.close();
  }
}

async function pickTrial(storage: Storage, study: StudyRecord, number: number | undefined): Promise<TrialRecord> {
  if (number === undefined) {
    const [best] = await storage.rankTrials(study.id, { metric: study.metric, direction: study.direction, limit: 1 });
    if (!best) {
      throw new UserError('--trial', `study ${study.name} has no complete trial to export`, 'run the study until a trial completes');
    }
    return best;
  }
  const trial = await storage.getTrial(study.id, number);
  if (!trial) {
    const count = (await storage.getTrials(study.id)).length;
    throw new UserError(
      '--trial',
      `study ${study.name} has no trial ${number}`,
      count ? `give a trial number from 0 to ${count - 1}` : 'run the study first',
    );
  }
  if (trial.state !== 'complete') {
    throw new UserError(
      '--trial',
      `trial ${number} of study ${study.name} is ${trial.state}: only complete trials can be exported`,
      'leave out --trial to export the best one',
    );
  }
  return trial;
}

/** The refusal for a trial whose weights were not kept, naming the trials that have them. */
async function noCheckpoint(storage: Storage, study: StudyRecord, trial: TrialRecord): Promise<UserError> {
  const ids = new Set((await storage.listCheckpoints(study.id)).map((c) => c.trialId));
  const kept = (await storage.getTrials(study.id))
    .filter((t) => ids.has(t.id) && t.state === 'complete')
    .map((t) => t.number);
  return new UserError(
    '--trial',
    `trial ${trial.number} of study ${study.name} has no stored weights: only the best 3 complete trials keep their weights`,
    kept.length
      ? `export one of trials ${kept.join(', ')} (--trial N), or leave out --trial for the best`
      : 'run the study again to train a trial that keeps its weights',
  );
}

/**
 * The study's features, targets, scalers and linear part, stored with the
 * study before its first trial. A study stored by a tune before it kept them
 * gets them from one more `tune run` of its file: a finished study only
 * stores them and exits.
 */
function studyScaling(study: StudyRecord): LinearBaseline {
  if (study.baseline) return study.baseline;
  throw new UserError(
    'study',
    `study ${study.name} was stored by a tune that did not keep its scalers and linear baseline`,
    'run `tune run STUDY.yaml` on its study file once more (a finished study stores them and exits), then export',
  );
}
