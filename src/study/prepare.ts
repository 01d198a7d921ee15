import { readCsvTable } from '../data/csv';
import { buildDataset, type Dataset } from '../data/dataset';
import { UserError } from '../errors';
import { KNOBS } from '../trials/knobs';
import { type BaselineLoss, fitLinearBaseline, type LinearBaseline } from '../trials/linear';
import { type StudyConfig, hashDefinition, loadStudyFile, studyDefinition } from './config';

/** Everything a run needs that can be checked without storage: a bad file fails here, storage untouched. */
export interface PreparedStudy {
  readonly config: StudyConfig;
  readonly dataset: Dataset;
  readonly definition: Record<string, unknown>;
  readonly definitionHash: string;
  /** Least squares on the training split: what every trial is compared with. */
  readonly baseline: LinearBaseline;
}

/**
 * The loss every trial trains with, when there is one: fixed in the space, or
 * left out (the knob's default). Undefined when the space searches it.
 */
function studyLoss(config: StudyConfig): BaselineLoss | undefined {
  if (!config.space.has('loss')) return KNOBS.loss!.default as BaselineLoss;
  const spec = config.space.spec('loss');
  return spec.kind === 'fixed' && spec.when === undefined ? (spec.value as BaselineLoss) : undefined;
}

export function prepareStudy(file: string): PreparedStudy {
  const config = loadStudyFile(file);
  try {
    const { data } = config;
    const dataset = buildDataset(
      {
        train: readCsvTable(data.train.path, data.train.shown, 'data.train'),
        ...(data.validation
          ? { validation: readCsvTable(data.validation.path, data.validation.shown, 'data.validation') }
          : {}),
        ...(data.test ? { test: readCsvTable(data.test.path, data.test.shown, 'data.test') } : {}),
      },
      {
        targets: data.targets,
        ...(data.features ? { features: data.features } : {}),
        standardize: data.standardize,
        ...(data.split !== undefined ? { split: data.split } : {}),
        seed: config.seed,
      },
    );
    const definition = studyDefinition(config);
    return {
      config,
      dataset,
      definition,
      definitionHash: hashDefinition(definition),
      baseline: fitLinearBaseline(dataset, studyLoss(config)),
    };
  } catch (err) {
    if (err instanceof UserError) throw err.within(file);
    throw err;
  }
}
