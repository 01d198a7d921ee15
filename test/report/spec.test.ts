import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildPlotSpec,
  curveMetrics,
  curveTrials,
  logTicks,
  rankTrials,
  roundLog,
  searchedParams,
  stitchedHistory,
  yScale,
} from '../../src/report/spec';
import { BASELINE, HISTORIES, input, study, TRIALS } from './fixtures';

type Node = Record<string, any>;

/** The spec's three parts: learning curves, objective by trial, parameter panels. */
function parts(spec: Node): { curves?: Node; trials?: Node; params?: Node } {
  const views = spec.vconcat as Node[];
  const titled = (word: string) => views.find((v) => String(v.title?.text ?? '').includes(word));
  return { curves: titled('Learning curves'), trials: titled('of each complete trial'), params: titled('by searched parameter') };
}

/** Every layer under a view (layers nest once: a view's `layer`). */
function layers(view: Node): Node[] {
  return (view.layer as Node[] | undefined) ?? [view];
}

function ruleValues(view: Node): number[] {
  return layers(view)
    .filter((l) => (l.mark?.type ?? l.mark) === 'rule')
    .map((l) => l.encoding.y.datum as number);
}

/** The x title of a parameter panel, without the "(log scale)" suffix. */
function panelName(panel: Node): string {
  return String(layers(panel)[0]!.encoding.x.title).replace(/ \(log scale\)$/, '');
}

function subtitle(spec: Node): string {
  return (spec.title.subtitle as string[]).join('\n');
}

describe('buildPlotSpec', () => {
  test('has the three parts, each with the baseline rule at the objective’s baseline value', () => {
    const spec = buildPlotSpec(input()) as Node;
    const { curves, trials, params } = parts(spec);
    assert.ok(curves && trials && params, 'learning curves, objective by trial and parameter panels');
    assert.deepEqual(ruleValues(curves), [BASELINE.metrics.val_mae]);
    assert.deepEqual(ruleValues(trials), [BASELINE.metrics.val_mae]);
    for (const panel of params.concat as Node[]) assert.deepEqual(ruleValues(panel), [BASELINE.metrics.val_mae], panelName(panel));
    // The rule's label says what it is.
    const labels = [curves, trials, ...params.concat].flatMap((v: Node) => layers(v).filter((l) => l.mark?.type === 'text'));
    assert.ok(labels.length >= 3 && labels.every((l) => String(l.mark.text).startsWith('linear')));
    assert.doesNotMatch(subtitle(spec), /baseline/);
  });

  test('panels for the searched parameters that vary, none for fixed or constant ones', () => {
    const { params } = parts(buildPlotSpec(input()) as Node);
    const panels = params!.concat as Node[];
    assert.deepEqual(panels.map(panelName), ['layers', 'learning_rate', 'optimizer', 'momentum', 'batch_norm']);
    const byName = new Map(panels.map((p) => [panelName(p), layers(p)[0]!.encoding.x]));
    assert.equal(byName.get('learning_rate').scale.type, 'log', 'sampled log in the space: log axis');
    assert.deepEqual(byName.get('learning_rate').scale.domain, [0.0001, 0.1], 'the searched range');
    assert.equal(byName.get('layers').scale.type, 'linear');
    assert.equal(byName.get('optimizer').type, 'nominal');
    assert.deepEqual(byName.get('optimizer').sort, ['sgd', 'momentum', 'adam'], "the space's order");
    assert.equal(byName.get('batch_norm').type, 'nominal');
    assert.deepEqual(byName.get('batch_norm').sort, ['false', 'true']);
  });

  test('a conditional parameter’s panel holds only the trials where it is active', () => {
    const { params } = parts(buildPlotSpec(input()) as Node);
    const momentum = (params!.concat as Node[]).find((p) => panelName(p) === 'momentum')!;
    const xs = layers(momentum).flatMap((l) => (l.data?.values ?? []).filter((r: Node) => 'x' in r).map((r: Node) => r.x));
    assert.deepEqual(xs.sort(), [0.7, 0.9]);
  });

  test('learning curves: the best K trials, validation and training curves, continued trials stitched to their parents', () => {
    const { curves } = parts(buildPlotSpec(input({ top: 2 })) as Node);
    const rows = curves!.data.values as { trial: string; epoch: number; value: number; curve: string }[];
    assert.deepEqual([...new Set(rows.map((r) => r.trial))], ['#4  0.2', '#1  0.3']);
    assert.deepEqual([...new Set(rows.map((r) => r.curve))], ['val_mae (validation)', 'mae (training)']);
    // #4 continues #2 from epoch 3: its curve runs over epochs 1..9 (1-based), #2's first three then its own six.
    const four = rows.filter((r) => r.trial.startsWith('#4') && r.curve.startsWith('val_mae'));
    assert.deepEqual(four.map((r) => r.epoch), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(four[0]!.value, HISTORIES.get(2)![0]!.val_mae);
    const colour = layers(curves!)[0]!.encoding.color;
    assert.deepEqual(colour.scale.domain, ['#4  0.2', '#1  0.3'], 'legend: the best trials, best first');
  });

  test('objective by trial: every complete trial once, best so far never worse', () => {
    const { trials } = parts(buildPlotSpec(input()) as Node);
    const [step, grey, coloured] = layers(trials!);
    const points = [...grey!.data.values, ...coloured!.data.values] as { number: number }[];
    assert.deepEqual(points.map((p) => p.number).sort(), [0, 1, 2, 3, 4, 5]);
    assert.equal(coloured!.data.values.length, 3, 'the best 3 in colour');
    const best = (step!.data.values as { best: number }[]).map((r) => r.best);
    assert.deepEqual(best, [0.8, 0.3, 0.3, 0.3, 0.2, 0.2]);
    assert.equal(step!.mark.interpolate, 'step-after');
  });

  test('without a baseline: no rule anywhere and a note line, never a failure', () => {
    const spec = buildPlotSpec(input({ study: study({ baseline: undefined }) })) as Node;
    const { curves, trials, params } = parts(spec);
    for (const view of [curves!, trials!, ...(params!.concat as Node[])]) assert.deepEqual(ruleValues(view), []);
    assert.match(subtitle(spec), /note: no linear baseline stored for this study/);
  });

  test('a baseline without the objective’s metric (loss): no rule, a note', () => {
    const spec = buildPlotSpec(input({ study: study({ metric: 'val_loss' }) })) as Node;
    assert.deepEqual(ruleValues(parts(spec).trials!), []);
    assert.match(subtitle(spec), /the linear baseline has no val_loss/);
  });

  test('notes failed trials; a study with no complete trial still gives a spec', () => {
    assert.match(subtitle(buildPlotSpec(input()) as Node), /1 failed trial not shown/);
    const empty = buildPlotSpec(input({ trials: [TRIALS[6]!], histories: new Map() })) as Node;
    assert.equal(empty.vconcat.length, 1);
    assert.match(subtitle(empty), /no complete trial yet/);
  });

  test('a training objective draws one curve per trial', () => {
    const spec = buildPlotSpec(input({ study: study({ metric: 'mae' }), trials: TRIALS.map((t) => ({ ...t })) })) as Node;
    const rows = parts(spec).curves!.data.values as { curve: string }[];
    assert.deepEqual([...new Set(rows.map((r) => r.curve))], ['mae']);
  });
});

describe('helpers', () => {
  test('rankTrials: complete trials with a value, best first, ties by number', () => {
    assert.deepEqual(rankTrials(TRIALS, 'min').map((t) => t.number), [4, 1, 2, 5, 0, 3]);
    assert.deepEqual(rankTrials(TRIALS, 'max').map((t) => t.number), [3, 0, 5, 2, 1, 4]);
    const tie = [
      { number: 2, state: 'complete' as const, params: {}, value: 1 },
      { number: 1, state: 'complete' as const, params: {}, value: 1 },
      { number: 0, state: 'complete' as const, params: {}, value: Number.NaN },
    ];
    assert.deepEqual(rankTrials(tie, 'min').map((t) => t.number), [1, 2]);
  });

  test('curveTrials and stitchedHistory follow the parent chain', () => {
    const byNumber = new Map(TRIALS.map((t) => [t.number, t]));
    assert.deepEqual(curveTrials(TRIALS[4]!, byNumber), [4, 2]);
    assert.deepEqual(curveTrials(TRIALS[1]!, byNumber), [1]);
    const stitched = stitchedHistory(TRIALS[4]!, byNumber, HISTORIES);
    assert.deepEqual(stitched.map((e) => e.epoch), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test('curveMetrics: validation objective and its training counterpart', () => {
    assert.deepEqual(curveMetrics('val_mae'), { main: 'val_mae', train: 'mae' });
    assert.deepEqual(curveMetrics('loss'), { main: 'loss' });
    assert.equal(curveMetrics('r2'), undefined);
  });

  test('searchedParams without a readable space: every varying parameter, numeric ones linear', () => {
    const axes = searchedParams(undefined, TRIALS);
    assert.deepEqual(axes.map((a) => a.name), ['layers', 'learning_rate', 'optimizer', 'batch_norm', 'momentum']);
    assert.equal(axes.find((a) => a.name === 'learning_rate')!.log, false);
  });

  test('yScale goes log over a wide positive range, with round ends; logTicks and roundLog', () => {
    assert.equal(yScale([0.1, 0.5]).type, 'linear');
    const wide = yScale([0.06, 0.7]);
    assert.equal(wide.type, 'log');
    assert.deepEqual(wide.domain, [0.05, 1]);
    assert.equal(yScale([-1, 50]).type, 'linear');
    assert.deepEqual(logTicks([0.05, 1]), [0.05, 0.1, 0.2, 0.3, 0.5, 1]);
    assert.deepEqual(logTicks([0.0001, 0.1], 5), [0.0001, 0.001, 0.01, 0.1]);
    assert.equal(roundLog(0.056, 'down'), 0.05);
    assert.equal(roundLog(0.71, 'up'), 1);
    assert.equal(roundLog(3, 'up'), 3);
  });
});
