/**
 * A reduce_lr_on_plateau that never got to act: its patience is longer than
 * the runs last, typically because an early_stopping with a shorter patience
 * ends every run first (Keras counts both from the same plateau).
 */
import { num, plural, yamlNumber } from '../format';
import { earlyStoppingsOf, finishedTrials, finite, reduceLrsOf } from '../read';
import type { DoctorInput, Finding } from '../types';

/** A learning rate this much lower than the epoch before counts as a reduction (float32 round-off is far smaller). */
const DROP = 1e-6;

export function reduceLrNeverActedRule(input: DoctorInput): Finding | undefined {
  const trials = finishedTrials(input).filter((t) => t.history.length > 0);
  if (trials.length === 0) return undefined;
  const dropped = trials.some((t) =>
    t.history.some((h, i) => i > 0 && finite(h.lr) && finite(t.history[i - 1]!.lr) && h.lr < t.history[i - 1]!.lr * (1 - DROP)),
  );
  if (dropped) return undefined;
  const longest = Math.max(...trials.map((t) => t.history.length));
  const stoppers = earlyStoppingsOf(input);
  for (const spec of reduceLrsOf(input)) {
    const first = stoppers.find((s) => s.monitor === spec.monitor && s.patience <= spec.patience);
    // Keras reduces once `patience` epochs in a row fail to improve: a run needs at least patience + 1 epochs.
    const tooLong = longest <= spec.patience + 1;
    if (!first && !tooLong) continue;
    const evidence = [
      `reduce_lr_on_plateau (callbacks[${spec.index}]: monitor \`${spec.monitor}\`, factor ${num(spec.factor)}, patience ${spec.patience}) never lowered the learning rate in any of ${plural(trials.length, 'trial')}; the longest ran ${plural(longest, 'epoch')}.`,
    ];
    if (first) {
      evidence.push(
        `early_stopping on \`${first.monitor}\` (callbacks[${first.index}]) has patience ${first.patience}: it ends a run after ${plural(first.patience, 'epoch')} without improvement, before this callback's ${spec.patience} are up.`,
      );
    }
    const patience = Math.max(1, Math.floor((first ? first.patience : longest) / 2));
    // With an early stopping of patience 1 there is no shorter patience: that one has to grow too.
    const also = first && patience >= first.patience ? `  # and early_stopping's patience above ${patience}` : '';
    return {
      rule: 'reduce-lr-never-acted',
      severity: 'low',
      title: `reduce_lr_on_plateau never acted: its patience (${spec.patience}) is longer than the runs last`,
      evidence,
      fix: `callbacks: - reduce_lr_on_plateau: { monitor: ${spec.monitor}, factor: ${yamlNumber(spec.factor)}, patience: ${patience}, min_lr: ${yamlNumber(spec.min_lr)} }${also}`,
    };
  }
  return undefined;
}
