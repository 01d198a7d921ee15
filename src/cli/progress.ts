import { SingleBar } from 'cli-progress';
import type { RunObserver } from '../study/optimize';
import type { LinearBaseline } from '../trials/linear';
import type { TrialRecord } from '../trials/storage/types';
import { vsLinear } from './baseline';
import { num, seconds } from './format';

/**
 * How a run shows itself. On a terminal: one live bar (trial k/N, epoch,
 * current loss, best so far, ETA). In a pipe or CI: one line per trial,
 * nothing that redraws.
 */
export function runObserver(metric: string, out: NodeJS.WriteStream = process.stdout): RunObserver {
  const live = Boolean(process.stderr.isTTY) && !process.env.CI;
  return live ? liveObserver(metric) : lineObserver(metric, out);
}

/** `b4 r1 ← #12` for a Hyperband trial: bracket, round, and the trial it continues. */
export function rungText(trial: TrialRecord): string {
  if (!trial.rung) return '';
  const parent = trial.parent !== undefined ? ` ← #${trial.parent}` : '';
  return `b${trial.rung.bracket} r${trial.rung.round}${parent}`;
}

function startLine(study: string, planned: number | undefined, done: number, resumed: boolean, orphans: number, backend: string): string {
  const parts = [`study ${study}: ${planned ?? '?'} trials planned`];
  if (resumed) parts.push(`resuming after ${done} finished`);
  if (orphans) parts.push(`${orphans} left running by a dead process marked interrupted, to run again`);
  parts.push(`backend ${backend}`);
  return `${parts.join(', ')}\n`;
}

/** `#4 0.01648 (0.13× linear)`: the best so far, against the study's linear baseline when it has one. */
function bestText(metric: string, best: TrialRecord, baseline: LinearBaseline | undefined, withName: boolean): string {
  const vs = vsLinear(baseline, best.metrics, metric);
  const ratio = vs ? ` (${vs.ratio.toFixed(2)}× linear)` : '';
  return `#${best.number} ${withName ? `${metric}=` : ''}${num(best.value)}${ratio}`;
}

function trialLine(
  metric: string,
  trial: TrialRecord,
  done: number,
  planned: number | undefined,
  best: TrialRecord | undefined,
  baseline: LinearBaseline | undefined,
): string {
  const of = planned !== undefined ? `/${planned}` : '';
  const rung = rungText(trial);
  const result =
    trial.state === 'complete'
      ? `${metric}=${num(trial.value)}`
      : `failed: ${trial.error ?? trial.stopReason ?? 'unknown error'}`;
  const bestPart = best ? `  best ${bestText(metric, best, baseline, false)}` : '';
  return `trial ${done}${of} #${trial.number}${rung ? ` [${rung}]` : ''}  ${result}  epochs=${trial.epochs ?? 0} (${trial.stopReason ?? ''})  ${seconds(trial.durationS)}${bestPart}`;
}

function lineObserver(metric: string, out: NodeJS.WritableStream): RunObserver {
  let planned: number | undefined;
  let done = 0;
  let baseline: LinearBaseline | undefined;
  return {
    studyStarted({ study, backend, planned: p, done: d, resumed, orphans }) {
      planned = p;
      done = d;
      baseline = study.baseline;
      out.write(startLine(study.name, p, d, resumed, orphans, backend));
    },
    trialFinished({ trial, best }) {
      done++;
      out.write(`${trialLine(metric, trial, done, planned, best, baseline)}\n`);
    },
    warning(message) {
      process.stderr.write(`warning: ${message}\n`);
    },
  };
}

function liveObserver(metric: string): RunObserver {
  let planned = 0;
  let done = 0;
  let best = '–';
  let baseline: LinearBaseline | undefined;
  const bar = new SingleBar({
    format: 'trial {trial}/{total} |{bar}| epoch {epoch}/{epochs}  loss {loss}  best {best}  ETA {eta_formatted}',
    barsize: 20,
    hideCursor: true,
    clearOnComplete: false,
    stream: process.stderr,
    etaBuffer: 50,
  });
  return {
    studyStarted({ study, backend, planned: p, done: d, resumed, orphans }) {
      planned = p ?? 0;
      done = d;
      baseline = study.baseline;
      process.stderr.write(startLine(study.name, p, d, resumed, orphans, backend));
      bar.start(Math.max(planned, 1), done, { trial: done + 1, epoch: 0, epochs: '?', loss: '–', best });
    },
    trialStarted({ trial, epochs }) {
      bar.update(done, { trial: done + 1, epoch: trial.initialEpoch, epochs, loss: '–' });
    },
    epochEnded({ log, epochs }) {
      // Fractional progress inside a trial keeps the ETA moving between trials.
      bar.update(done + (log.epoch + 1) / epochs, { epoch: log.epoch + 1, epochs, loss: num(log.loss) });
    },
    trialFinished({ trial, best: b }) {
      done++;
      if (b) best = bestText(metric, b, baseline, true);
      bar.update(done, { best });
      if (trial.state === 'failed') process.stderr.write(`\ntrial #${trial.number} failed: ${trial.error}\n`);
    },
    warning(message) {
      process.stderr.write(`\nwarning: ${message}\n`);
    },
    studyFinished() {
      bar.stop();
    },
  };
}
