import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { diagnose, examine, missingEvidence, renderReport, reportJson, RULES, summarize } from '../../src/doctor';
import type { DoctorInput, DoctorTrial, Finding, Rule } from '../../src/doctor/types';
import { curve, studyRecord, trainLike, trial, wiggle } from './builders';

const es = (args: Record<string, unknown>) => ({
  early_stopping: { monitor: 'val_loss', min_delta: 0, patience: 0, mode: 'auto', baseline: null, restore_best_weights: false, start_from_epoch: 0, ...args },
});
const SEED_CALLBACKS = [
  { reduce_lr_on_plateau: { monitor: 'loss', factor: 0.7, patience: 30, mode: 'auto', min_delta: 1e-4, cooldown: 0, min_lr: 1e-4 } },
  es({ monitor: 'loss', min_delta: 0.0005, patience: 5 }),
  es({ monitor: 'val_loss', patience: 60 }),
];

/** The seed post end to end: SGD lr 0.01, MAE loss, early stopping on loss; every trial ends near the linear model's 0.13. */
function seedStudy(): DoctorInput {
  const trials: DoctorTrial[] = Array.from({ length: 6 }, (_, k) => {
    const run = trainLike(SEED_CALLBACKS, 200, (i) => {
      const loss = 0.13 + 0.3 * Math.exp(-i / 2) + 0.0003 * wiggle(i, k) - 0.00003 * i;
      const val = 0.13 * (1 + 0.3 * 0.9 ** i) + 0.0002 * wiggle(i, k + 7);
      return { loss, mae: loss, val_loss: val, val_mae: val, lr: 0.01 };
    });
    return trial(k, { params: { optimizer: 'sgd', learning_rate: 0.01, loss: 'mae', layers: 2 + (k % 3), units: 100 + 100 * k, epochs: 200 }, ...run });
  });
  const failed = trial(6, { state: 'failed', stopReason: 'error', error: 'out of memory', params: { units: 600 } });
  return {
    study: studyRecord({
      callbacks: SEED_CALLBACKS,
      space: { optimizer: { type: 'fixed', value: 'sgd' }, learning_rate: { type: 'fixed', value: 0.01 }, layers: { type: 'int', min: 2, max: 4 } },
      baseline: { mae: 0.128, val_mae: 0.13, val_mse: 0.03 },
    }),
    trials: [...trials, failed],
  };
}

describe('doctor report', () => {
  test('the seed study: linear, early stopping and the idle ReduceLROnPlateau, most severe first', () => {
    const report = examine(seedStudy());
    assert.deepEqual(
      report.findings.map((f) => [f.rule, f.severity]),
      [
        ['no-better-than-linear', 'high'],
        ['early-stopping', 'high'],
        ['same-asymptote-as-linear', 'medium'],
        ['reduce-lr-never-acted', 'low'],
      ],
    );
    assert.ok(report.notes.includes('no trial recorded its dead-ReLU fractions: the dead-ReLU check was skipped'), report.notes.join('\n'));
    const lines = renderReport(report);
    assert.equal(lines[0], 'study doc: objective val_mae (min)');
    assert.equal(lines[1], 'trials: 7 (6 complete, 1 failed)');
    assert.match(lines[2]!, /^best: #\d, val_mae 0\.13\d*; linear model: val_mae 0\.13 \(best ratio 1\.0\d: \d(\.\d)?% worse\)$/);
    // How the trials ended, from their stop reasons (these carry no diagnostics, so no monitor).
    assert.match(lines[3]!, /^ended: \d+ early_stopping(, \d+ [a-z_]+)*$/);
    assert.equal(lines[5], '4 findings, most severe first:');
    assert.equal(lines[7], '1. [high] No trial beats the linear model by more than 5% on val_mae');
    assert.ok(lines.includes('   fix: space: { residual_of_linear: true, linear_skip: { type: bool }, optimizer: adam, learning_rate: { type: float, min: 1.0e-4, max: 1.0e-2, sampling: log } }'));
    assert.ok(lines.includes('   fix: callbacks: - early_stopping: { monitor: val_loss, patience: 20, restore_best_weights: true }'));
    assert.ok(lines.some((l) => /^\d\. \[high\] Early stopping watches the training `loss`/.test(l)));
    assert.deepEqual(lines.slice(-2), ['not checked:', '  - no trial recorded its dead-ReLU fractions: the dead-ReLU check was skipped']);
    assert.ok(lines.every((l) => !l.includes('undefined') && !l.includes('NaN')), lines.join('\n'));
  });

  test('findings are ordered by severity, then by rule order; a throwing rule becomes a note', () => {
    const make =
      (rule: string, severity: Finding['severity']): Rule =>
      () => ({ rule, severity, title: rule, evidence: [], fix: '' });
    const broken: Rule = function brokenRule() {
      throw new Error('boom');
    };
    const { findings, errors } = diagnose(seedStudy(), [make('a', 'low'), make('b', 'high'), broken, make('c', 'medium'), make('d', 'high'), () => undefined]);
    assert.deepEqual(findings.map((f) => f.rule), ['b', 'd', 'c', 'a']);
    assert.deepEqual(errors, ['the brokenRule check failed: boom']);
  });

  test('a healthy study: no findings, and the header says so', () => {
    const trials = Array.from({ length: 4 }, (_, k) =>
      trial(k, {
        params: { optimizer: 'adam', learning_rate: 0.003, activation: 'relu' },
        history: curve(30, (i) => {
          const v = 0.08 + 0.4 * Math.exp(-i / 4);
          return { loss: v, mae: v, val_loss: v * 1.1, val_mae: v * 1.1 };
        }),
        diagnostics: { deadReluStart: [0.05], deadReluEnd: [0.1] },
      }),
    );
    const input = { study: studyRecord({ callbacks: [es({ monitor: 'val_loss', patience: 10, restore_best_weights: true })], baseline: { mae: 0.13, val_mae: 0.14 } }), trials };
    const report = examine(input);
    assert.deepEqual(report.findings, []);
    assert.deepEqual(report.notes, []);
    const lines = renderReport(report);
    assert.match(lines[2]!, /linear model: val_mae 0\.14 \(best ratio 0\.6\d: 3\d% better\)$/);
    assert.equal(lines.at(-1), 'No problems found by the checks that could run.');
  });

  test('missing data never throws: empty study, no baseline, no definition, no histories, odd records', () => {
    const seed = seedStudy();
    const variants: DoctorInput[] = [
      { study: studyRecord(), trials: [] },
      { study: { ...seed.study, definition: undefined, baseline: undefined }, trials: seed.trials },
      { study: { ...seed.study, definition: 'garbage' }, trials: seed.trials.map((t) => ({ ...t, history: [] })) },
      { study: { ...seed.study, baseline: { ...seed.study.baseline!, metrics: {} } }, trials: seed.trials },
      {
        study: seed.study,
        trials: seed.trials.map((t) => ({
          ...t,
          params: {},
          metrics: {},
          epochs: undefined,
          stopReason: undefined,
          diagnostics: { deadReluEnd: [NaN], deadReluStart: [], stoppedBy: { callback: 'early_stopping' as const, index: 99, monitor: 'nope' } },
          history: t.history.map((h) => ({ ...h, val_mae: undefined, lr: NaN })),
        })),
      },
      { study: seed.study, trials: [trial(0, { state: 'running' }), trial(1, { state: 'interrupted', history: curve(3, () => ({})) })] },
    ];
    for (const input of variants) {
      const report = examine(input);
      const text = renderReport(report).join('\n');
      assert.ok(!/check failed/.test(text), text);
      JSON.stringify(reportJson(report));
    }
    assert.deepEqual(missingEvidence(variants[0]!), ['the study has no trials yet: run it first (tune run STUDY.yaml)']);
    assert.ok(missingEvidence(variants[1]!).some((n) => n.startsWith('no linear baseline is stored')));
    assert.match(renderReport(examine(variants[1]!))[2]!, /linear model: not stored with this study$/);
    assert.equal(renderReport(examine(variants[0]!))[2], 'best: none (no complete trial); linear model: not stored with this study');
  });

  test('the header says how trials ended and how many ReLUs died, when trials measured it', () => {
    const input = seedStudy();
    const trials = input.trials.map((t, k) => ({
      ...t,
      stopReason: k === 0 ? ('max_epochs' as const) : ('early_stopping' as const),
      diagnostics: { stoppedBy: { callback: 'early_stopping' as const, index: 1, monitor: 'loss' }, deadReluEnd: [0.01 * k, 0.002] },
    }));
    const report = examine({ ...input, trials });
    assert.deepEqual(report.summary.stops, { max_epochs: 1, 'early_stopping on loss': trials.length - 1 });
    assert.deepEqual(report.summary.deadRelu, { max: 0.01 * (trials.length - 1), trials: trials.length });
    const lines = renderReport(report);
    assert.equal(lines[3], `ended: ${trials.length - 1} early_stopping on loss, 1 max_epochs`);
    assert.equal(lines[4], `dead ReLUs at the end: at most ${trials.length - 1}% of a layer's units (${trials.length} trials measured)`);
  });

  test('the summary counts states and compares the best trial with the linear model', () => {
    const s = summarize(seedStudy());
    assert.deepEqual(s.counts, { running: 0, complete: 6, failed: 1, interrupted: 0 });
    assert.equal(s.trials, 7);
    assert.equal(s.baseline?.metric, 'val_mae');
    assert.equal(s.baseline?.value, 0.13);
    assert.ok(s.best && s.baseline?.ratio !== undefined && Math.abs(s.baseline.ratio - s.best.value / 0.13) < 1e-12);
    assert.equal(RULES.length, 9);
  });
});
