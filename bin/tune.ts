/**
 * The `tune` command line: parse arguments, call the library, map errors to
 * exit codes (2: the user's input is wrong; 1: tune itself failed). Nothing
 * else lives here.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../src/errors';
import { BACKENDS, type BackendName } from '../src/trials/backend-names';

// Commands load on use (require, not import: this is CommonJS): `tune top`
// should not pay for loading TensorFlow.js.
type Cli = typeof import('../src/cli/run') &
  typeof import('../src/cli/workers') &
  typeof import('../src/cli/top') &
  typeof import('../src/cli/plot') &
  typeof import('../src/cli/show') &
  typeof import('../src/cli/studies') &
  typeof import('../src/cli/copy') &
  typeof import('../src/cli/export') &
  typeof import('../src/cli/predict') &
  typeof import('../src/cli/doctor');
const cli = <K extends keyof Cli>(module: string, name: K): Cli[K] => (require(`../src/cli/${module}`) as Cli)[name];
const runCommand: Cli['runCommand'] = (a) => cli('run', 'runCommand')(a);
const runWorkers: Cli['runWorkers'] = (a) => cli('workers', 'runWorkers')(a);
const topCommand: Cli['topCommand'] = (a) => cli('top', 'topCommand')(a);
const plotCommand: Cli['plotCommand'] = (a) => cli('plot', 'plotCommand')(a);
const showCommand: Cli['showCommand'] = (a) => cli('show', 'showCommand')(a);
const studiesCommand: Cli['studiesCommand'] = (a) => cli('studies', 'studiesCommand')(a);
const copyCommand: Cli['copyCommand'] = (a) => cli('copy', 'copyCommand')(a);
const exportCommand: Cli['exportCommand'] = (a) => cli('export', 'exportCommand')(a);
const predictCommand: Cli['predictCommand'] = (a) => cli('predict', 'predictCommand')(a);
const doctorCommand: Cli['doctorCommand'] = (a) => cli('doctor', 'doctorCommand')(a);

const DEFAULT_STORAGE = 'tune.db';

async function main(argv: string[]): Promise<number> {
  let code = 0;
  const run = (p: Promise<number>): Promise<void> => p.then((c) => void (code = c));
  await yargs(argv)
    .scriptName('tune')
    .usage('$0 <command> [options]')
    .option('storage', {
      type: 'string',
      default: DEFAULT_STORAGE,
      describe: 'SQLite file (a path or sqlite:///abs/path.db) or postgresql://user:pass@host:5432/db',
      global: true,
    })
    .command(
      'run <file>',
      'run (or resume) the study a YAML file declares',
      (y) =>
        y
          .positional('file', { type: 'string', demandOption: true, describe: 'study file' })
          .option('max-trials', { type: 'number', describe: "total trials for the study (overrides the file's max_trials)" })
          .option('backend', { choices: BACKENDS, describe: 'tfjs backend (default: tensorflow, else wasm, else cpu)' })
          .option('overwrite', { type: 'boolean', default: false, describe: 'replace the study of the same name (its trials are deleted)' })
          .option('retry-failed', { type: 'boolean', default: false, describe: 'run failed parameter sets again' })
          .option('workers', { type: 'number', default: 1, describe: 'worker processes on this machine, sharing the storage' })
          .option('heartbeat', { type: 'number', describe: 'seconds between lease renewals of a running trial (default 10)' }),
      (a) => {
        const common = {
          file: a.file,
          storage: a.storage,
          ...(a.maxTrials !== undefined ? { maxTrials: positiveInt(a.maxTrials, '--max-trials') } : {}),
          ...(a.backend ? { backend: a.backend as BackendName } : {}),
          overwrite: a.overwrite,
          retryFailed: a.retryFailed,
        };
        const workers = positiveInt(a.workers, '--workers');
        return run(
          workers > 1
            ? runWorkers({ ...common, workers })
            : runCommand({ ...common, ...(a.heartbeat !== undefined ? { heartbeatSeconds: positive(a.heartbeat, '--heartbeat') } : {}) }),
        );
      },
    )
    .command(
      'worker <file>',
      'join a study from another shell or machine: claim and run its trials until it is done',
      (y) =>
        y
          .positional('file', { type: 'string', demandOption: true, describe: 'study file' })
          .option('max-trials', { type: 'number', describe: "total trials for the study (overrides the file's max_trials)" })
          .option('backend', { choices: BACKENDS, describe: 'tfjs backend (default: tensorflow, else wasm, else cpu)' })
          .option('heartbeat', { type: 'number', describe: 'seconds between lease renewals of a running trial (default 10)' })
          .option('retry-failed-before', { type: 'number', hidden: true })
          .option('quiet', { type: 'boolean', default: false, hidden: true }),
      (a) =>
        run(
          runCommand({
            file: a.file,
            storage: a.storage,
            ...(a.maxTrials !== undefined ? { maxTrials: positiveInt(a.maxTrials, '--max-trials') } : {}),
            ...(a.backend ? { backend: a.backend as BackendName } : {}),
            ...(a.heartbeat !== undefined ? { heartbeatSeconds: positive(a.heartbeat, '--heartbeat') } : {}),
            ...(a.retryFailedBefore !== undefined ? { retryFailedBefore: a.retryFailedBefore } : {}),
            quiet: a.quiet,
          }),
        ),
    )
    .command(
      'copy',
      'copy studies between storages (SQLite ↔ PostgreSQL)',
      (y) =>
        y
          .option('from', { type: 'string', demandOption: true, describe: 'storage to read' })
          .option('to', { type: 'string', demandOption: true, describe: 'storage to write' })
          .option('study', { type: 'string', describe: 'one study (default: all)' }),
      (a) => run(copyCommand({ from: a.from, to: a.to, ...(a.study !== undefined ? { study: a.study } : {}) })),
    )
    .command(
      'top',
      'complete trials, best first',
      (y) =>
        y
          .option('study', { type: 'string', describe: 'study name (default: the only or most recent)' })
          .option('metric', { type: 'string', describe: "rank by this metric (default: the study's objective)" })
          .option('n', { alias: 'limit', type: 'number', default: 10, describe: 'how many' })
          .option('json', { type: 'boolean', default: false }),
      (a) =>
        run(
          topCommand({
            storage: a.storage,
            ...(a.study !== undefined ? { study: a.study } : {}),
            ...(a.metric !== undefined ? { metric: a.metric } : {}),
            n: positiveInt(a.n, '-n'),
            json: a.json,
          }),
        ),
    )
    .command(
      'plot',
      "charts of a study: learning curves of the best trials, the objective by trial and by parameter, the linear baseline",
      (y) =>
        y
          .option('study', { type: 'string', describe: 'study name (default: the only or most recent)' })
          .option('out', { type: 'string', demandOption: true, describe: 'output file: FILE.svg, or FILE.html (a self-contained page)' })
          .option('top', { type: 'number', default: 5, describe: 'learning curves of this many best trials' }),
      (a) =>
        run(
          plotCommand({
            storage: a.storage,
            ...(a.study !== undefined ? { study: a.study } : {}),
            out: a.out,
            top: positiveInt(a.top, '--top'),
          }),
        ),
    )
    .command(
      'show <number>',
      "one trial: parameters, metrics, epoch history",
      (y) =>
        y
          .positional('number', { type: 'number', demandOption: true, describe: 'trial number' })
          .option('study', { type: 'string', describe: 'study name (default: the only or most recent)' })
          .option('json', { type: 'boolean', default: false }),
      (a) =>
        run(
          showCommand({
            storage: a.storage,
            ...(a.study !== undefined ? { study: a.study } : {}),
            number: nonNegativeInt(a.number, 'N'),
            json: a.json,
          }),
        ),
    )
    .command(
      'doctor',
      'what most likely held a study back, with evidence and the change to make',
      (y) =>
        y
          .option('study', { type: 'string', describe: 'study name (default: the only or most recent)' })
          .option('json', { type: 'boolean', default: false }),
      (a) =>
        run(
          doctorCommand({
            storage: a.storage,
            ...(a.study !== undefined ? { study: a.study } : {}),
            json: a.json,
          }),
        ),
    )
    .command(
      'studies',
      'studies in the storage, with trial counts and best values',
      (y) => y.option('json', { type: 'boolean', default: false }),
      (a) => run(studiesCommand({ storage: a.storage, json: a.json })),
    )
    .command(
      'export',
      "write a trial's model (tfjs layers format), scalers and manifest to a directory",
      (y) =>
        y
          .option('study', { type: 'string', describe: 'study name (default: the only or most recent)' })
          .option('trial', { type: 'number', describe: "trial number (default: the best by the study's objective)" })
          .option('out', { type: 'string', demandOption: true, describe: 'directory to write (created if missing)' })
          .option('json', { type: 'boolean', default: false }),
      (a) =>
        run(
          exportCommand({
            storage: a.storage,
            ...(a.study !== undefined ? { study: a.study } : {}),
            ...(a.trial !== undefined ? { trial: nonNegativeInt(a.trial, '--trial') } : {}),
            out: a.out,
            json: a.json,
          }),
        ),
    )
    .command(
      'predict <dir> <csv>',
      "an exported model's predictions for a CSV's rows, in the targets' units",
      (y) =>
        y
          .positional('dir', { type: 'string', demandOption: true, describe: 'directory written by tune export' })
          .positional('csv', { type: 'string', demandOption: true, describe: 'CSV with the feature columns (and the targets, for metrics)' })
          .option('out', { type: 'string', describe: 'CSV file for the predictions (default: stdout)' })
          .option('keep', {
            type: 'string',
            array: true,
            nargs: 1,
            describe: 'a CSV column to copy, as written, before the predictions (e.g. an id); repeatable',
          })
          .option('backend', { choices: BACKENDS, describe: 'tfjs backend (default: tensorflow, else wasm, else cpu)' })
          .option('json', { type: 'boolean', default: false, describe: 'metrics as JSON on stdout (with --out)' }),
      (a) =>
        run(
          predictCommand({
            dir: a.dir,
            csv: a.csv,
            ...(a.out !== undefined ? { out: a.out } : {}),
            ...(a.backend ? { backend: a.backend as BackendName } : {}),
            ...(a.keep !== undefined ? { keep: a.keep.map(String) } : {}),
            json: a.json,
          }),
        ),
    )
    .demandCommand(1, 'name a command: run, worker, top, show, studies, doctor, plot, export, predict or copy')
    .strict()
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError('', msg, 'see tune --help');
    })
    .help()
    .version(false)
    .parseAsync();
  return code;
}

function positiveInt(v: number, flag: string): number {
  if (!Number.isInteger(v) || v < 1) throw new UserError(flag, `must be a positive integer (got ${v})`, `pass ${flag} 1 or more`);
  return v;
}

function positive(v: number, flag: string): number {
  if (!(v > 0) || !Number.isFinite(v)) throw new UserError(flag, `must be a positive number (got ${v})`, `pass ${flag} 1 or more`);
  return v;
}

function nonNegativeInt(v: number, flag: string): number {
  if (!Number.isInteger(v) || v < 0) throw new UserError(flag, `must be a trial number (got ${v})`, 'pass 0 or more');
  return v;
}

// `tune top | head`: a closed pipe is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UserError) {
      process.stderr.write(`tune: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      const e = err instanceof Error ? err : new Error(String(err));
      process.stderr.write(`tune: internal error: ${e.message}\n${process.env.TUNE_DEBUG ? `${e.stack}\n` : ''}`);
      process.exitCode = 1;
    }
  },
);
