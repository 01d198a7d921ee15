/** tune as a library: the same pieces the CLI uses. */
export { UserError } from './errors';
export * from './space';
export * from './search';
export { prepareStudy, type PreparedStudy } from './study/prepare';
export { loadStudyFile, parseStudy, type StudyConfig } from './study/config';
export { runStudy, type RunObserver, type RunOptions, type RunSummary } from './study/optimize';
export { trainModel, type TrainInput, type TrainResult } from './trials/train';
export { initBackend, BACKENDS, type BackendName } from './trials/backend';
export { openStorage, SqliteStorage } from './trials/storage';
export type * from './trials/storage/types';
export { createCallbacks, EarlyStopping, ReduceLROnPlateau } from './trials/callbacks';
export { CosineDecay, Warmup } from './trials/schedules';
export { baselineValue, fitLinearBaseline, predictLinear, type LinearBaseline } from './trials/linear';
export { examine, renderReport, RULES, type DoctorInput, type Finding, type Report, type Rule } from './doctor';
