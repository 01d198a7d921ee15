import { SingleBar } from 'cli-progress';
import type { RunObserver } from '../study/optimize';
import type { TrialRecord } from '../trials/storage/types';
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

function trialLine(metric: string, trial: TrialRecord, planned: number | undefined, best?: TrialRecord): string {
  const of = planned !== undefined ? `/${planned}` : '';
  const result =
    trial.state === 'complete'
      ? `${metric}=${num(trial.value)}`
      : `failed: ${trial.error ?? trial.stopReason ?? 'unknown error'}`;
  const bestText = best ? `  best #${best.number} ${num(best.value)}` : '';
  return `trial ${trial.number + 1}${of}  ${result}  epochs=${trial.epochs ?? 0} (${trial.stopReason ?? ''})  ${seconds(trial.durationS)}${bestText}`;
}

function lineObserver(metric: string, out: NodeJS.WritableStream): RunObserver {
  let planned: number | undefined;
  return {
    studyStarted({ study, backend, planned: p, done, resumed }) {
      planned = p;
      const of = p !== undefined ? `${p} trials planned` : 'trials';
      out.write(
        `study ${study.name}: ${of}, ${resumed ? `resuming after ${done} finished, ` : ''}backend ${backend}\n`,
      );
    },
    trialFinished({ trial, best }) {
      out.write(`${trialLine(metric, trial, planned, best)}\n`);
    },
  };
}

function liveObserver(metric: string): RunObserver {
  let planned = 0;
  let done = 0;
  let best = '–';
  const bar = new SingleBar({
    format: 'trial {trial}/{total} |{bar}| epoch {epoch}/{epochs}  loss {loss}  best {best}  ETA {eta_formatted}',
    barsize: 20,
    hideCursor: true,
    clearOnComplete: false,
    stream: process.stderr,
    etaBuffer: 50,
  });
  return {
    studyStarted({ study, backend, planned: p, done: d, resumed }) {
      planned = p ?? 0;
      done = d;
      process.stderr.write(
        `study ${study.name}: ${p ?? '?'} trials planned, ${resumed ? `resuming after ${d} finished, ` : ''}backend ${backend}\n`,
      );
      bar.start(Math.max(planned, 1), done, { trial: done + 1, epoch: 0, epochs: '?', loss: '–', best });
    },
    trialStarted({ number, epochs }) {
      bar.update(done, { trial: number + 1, epoch: 0, epochs, loss: '–' });
    },
    epochEnded({ log, epochs }) {
      // Fractional progress inside a trial keeps the ETA moving between trials.
      bar.update(done + (log.epoch + 1) / epochs, { epoch: log.epoch + 1, epochs, loss: num(log.loss) });
    },
    trialFinished({ trial, best: b }) {
      done++;
      if (b) best = `#${b.number} ${metric}=${num(b.value)}`;
      bar.update(done, { best });
      if (trial.state === 'failed') process.stderr.write(`\ntrial ${trial.number + 1} failed: ${trial.error}\n`);
    },
    studyFinished() {
      bar.stop();
    },
  };
}
