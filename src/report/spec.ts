/**
 * The `tune plot` chart as a Vega-Lite spec, built from plain data: a study,
 * its trials and the epoch histories of the best ones. Pure (no storage, no
 * vega): `render.ts` turns the spec into SVG.
 *
 * Three parts, top to bottom:
 * 1. learning curves of the best K trials (the objective per epoch, solid,
 *    and its training counterpart, dashed), with the linear baseline's rule;
 * 2. the objective over trial number: every complete trial as a point, the
 *    best so far as a step line, the baseline's rule;
 * 3. the objective against each searched parameter that varies, one small
 *    panel each (log x where the space samples it log, nominal for choices
 *    and booleans), the baseline's rule in each.
 * The best K trials have one colour each throughout (legend: trial number
 * and objective value); the other trials are grey.
 */
import type { TopLevelSpec } from 'vega-lite' with { 'resolution-mode': 'import' };
import { bestFirst } from '../search/rank';
import type { HistoryTrial } from '../search/types';
import type { ParamValue } from '../space/types';
import { baselineValue, type LinearBaseline } from '../trials/linear';
import type { Direction, EpochLog } from '../trials/storage/types';

/** What the chart needs of a study (a `StudyRecord` is one). */
export interface PlotStudy {
  readonly name: string;
  readonly metric: string;
  readonly direction: Direction;
  /** The normalised study file; only its `space` is read. */
  readonly definition: unknown;
  readonly baseline?: Pick<LinearBaseline, 'metrics'>;
}

/** What the chart needs of a trial (a `TrialRecord` is one). */
export type PlotTrial = Pick<HistoryTrial, 'number' | 'state' | 'params' | 'value' | 'parent'> & {
  /** Where a continued (Hyperband) trial's own history starts; 0 or absent otherwise. */
  readonly initialEpoch?: number;
};

export interface PlotInput {
  readonly study: PlotStudy;
  /** All trials of the study, any state, any order. */
  readonly trials: readonly PlotTrial[];
  /**
   * Epoch histories by trial number: at least those of the best `top`
   * trials, and of their parents for continued trials (see `curveTrials`).
   */
  readonly histories: ReadonlyMap<number, readonly EpochLog[]>;
  /** How many of the best trials get a learning curve and a colour; default 5. */
  readonly top?: number;
}

export const DEFAULT_TOP = 5;

/** Sizes in pixels, chosen to read well at 100 % in a browser and in a 1400 px wide screenshot. */
const WIDE = { width: 820, curves: 300, trials: 220 };
const PANEL = { width: 250, height: 150, columns: 3 };
const GREY = '#9e9e9e';
const BASELINE_COLOUR = '#d62728';
const BEST_COLOUR = '#333333';
/** Above this ratio of largest to smallest value a y axis goes log. */
const LOG_RATIO = 10;

/** Complete trials with a finite objective value, best first (ties: lower number first), as `tune top` ranks them. */
export function rankTrials<T extends PlotTrial>(trials: readonly T[], direction: Direction): T[] {
  return bestFirst(trials, direction);
}

/**
 * The trials whose histories make up the learning curve of `trial`: itself,
 * then its parent, grandparent… (a continued trial stores only its own
 * epochs; the curve starts at epoch 1 of the chain).
 */
export function curveTrials(trial: PlotTrial, byNumber: ReadonlyMap<number, PlotTrial>): number[] {
  const chain: number[] = [];
  for (let t: PlotTrial | undefined = trial; t && !chain.includes(t.number); t = t.parent !== undefined ? byNumber.get(t.parent) : undefined) {
    chain.push(t.number);
  }
  return chain;
}

/** The whole learning curve of a trial: its ancestors' epochs before it took over, then its own. */
export function stitchedHistory(
  trial: PlotTrial,
  byNumber: ReadonlyMap<number, PlotTrial>,
  histories: ReadonlyMap<number, readonly EpochLog[]>,
): EpochLog[] {
  const chain = curveTrials(trial, byNumber);
  const out: EpochLog[] = [];
  // Oldest first; each descendant replaces the epochs from its start on.
  for (const n of chain.reverse()) {
    const t = byNumber.get(n)!;
    const own = histories.get(n) ?? [];
    const from = Math.min(t.initialEpoch ?? 0, ...own.map((e) => e.epoch));
    while (out.length && out[out.length - 1]!.epoch >= from) out.pop();
    out.push(...[...own].sort((a, b) => a.epoch - b.epoch));
  }
  return out;
}

const EPOCH_METRICS = ['loss', 'val_loss', 'mae', 'val_mae', 'mse', 'val_mse'] as const;
type EpochMetric = (typeof EPOCH_METRICS)[number];

/** The per-epoch fields a learning curve shows for an objective: itself (solid) and, for a validation metric, its training counterpart (dashed). */
export function curveMetrics(metric: string): { main: EpochMetric; train?: EpochMetric } | undefined {
  if (!(EPOCH_METRICS as readonly string[]).includes(metric)) return undefined;
  const main = metric as EpochMetric;
  return main.startsWith('val_') ? { main, train: main.slice(4) as EpochMetric } : { main };
}

/** A searched parameter, as the chart draws it. */
export interface ParamAxis {
  readonly name: string;
  readonly kind: 'quantitative' | 'nominal';
  readonly log: boolean;
  /** A quantitative parameter's searched range, from the space. */
  readonly range?: readonly [number, number];
  /** Quantitative and whole numbers only (ticks on whole numbers). */
  readonly integer?: boolean;
  /** Nominal values in the space's order (as text), when known. */
  readonly order?: readonly string[];
}

interface SpaceEntry {
  readonly type?: unknown;
  readonly sampling?: unknown;
  readonly values?: unknown;
  readonly min?: unknown;
  readonly max?: unknown;
}

/**
 * The parameters worth a panel: searched (not `fixed`) in the study's space
 * and taking more than one value among the complete trials. Without a
 * readable space every parameter that varies counts, numeric ones linear.
 */
export function searchedParams(definition: unknown, trials: readonly PlotTrial[]): ParamAxis[] {
  const space = spaceOf(definition);
  const names: string[] = space ? Object.keys(space) : [];
  for (const t of trials) for (const k of Object.keys(t.params)) if (!names.includes(k)) names.push(k);
  const axes: ParamAxis[] = [];
  for (const name of names) {
    const spec = space?.[name];
    if (spec?.type === 'fixed') continue;
    const values = trials.map((t) => t.params[name]).filter((v): v is ParamValue => v !== undefined);
    if (new Set(values).size < 2) continue;
    const numeric = values.every((v) => typeof v === 'number');
    if (spec?.type === 'int' || spec?.type === 'float' || (!spec?.type && numeric)) {
      const log = spec?.sampling === 'log' && values.every((v) => typeof v === 'number' && v > 0);
      const integer = spec?.type === 'int' || values.every((v) => Number.isInteger(v));
      const range: [number, number] | undefined =
        typeof spec?.min === 'number' && typeof spec.max === 'number' && spec.min < spec.max && (!log || spec.min > 0)
          ? [spec.min, spec.max]
          : undefined;
      axes.push({ name, kind: 'quantitative', log, ...(range ? { range } : {}), ...(integer ? { integer } : {}) });
    } else {
      const declared = spec?.type === 'bool' ? [false, true] : Array.isArray(spec?.values) ? (spec.values as unknown[]) : [];
      const order = [...declared.map(String), ...values.map(String)].filter((v, i, all) => all.indexOf(v) === i);
      axes.push({ name, kind: 'nominal', log: false, order });
    }
  }
  return axes;
}

function spaceOf(definition: unknown): Readonly<Record<string, SpaceEntry>> | undefined {
  if (typeof definition !== 'object' || definition === null) return undefined;
  const space = (definition as { space?: unknown }).space;
  if (typeof space !== 'object' || space === null || Array.isArray(space)) return undefined;
  return space as Record<string, SpaceEntry>;
}

/** A number for a label: 4 significant digits, exponent for the very small or large. */
export function fmt(v: number): string {
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e6) return String(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

type Layer = Record<string, unknown>;

/**
 * A y scale for these values, with an explicit domain (so panels that share
 * it line up): log when they are all positive and span more than
 * LOG_RATIO, then padded by a factor; else linear, padded by a margin.
 */
export function yScale(values: readonly number[]): { type: 'log' | 'linear'; domain: [number, number]; nice: false; zero?: false } {
  const finite = values.filter((v) => Number.isFinite(v));
  if (!finite.length) return { type: 'linear', domain: [0, 1], nice: false, zero: false };
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  if (min > 0 && max / min > LOG_RATIO) {
    // Out to the next round value (1, 2, 3 or 5 times a power of ten) each side, so both ends have a labelled tick.
    const pad = Math.pow(max / min, 0.03);
    return { type: 'log', domain: [roundLog(min / pad, 'down'), roundLog(max * pad, 'up')], nice: false };
  }
  const margin = (max - min) * 0.06 || Math.abs(max) * 0.05 || 1;
  return { type: 'linear', domain: [min - margin, max + margin], nice: false, zero: false };
}

const ROUND = [1, 2, 3, 5];

/** The nearest 1, 2, 3 or 5 times a power of ten below (or above) a positive number. */
export function roundLog(v: number, way: 'down' | 'up'): number {
  const e = Math.floor(Math.log10(v));
  const candidates = [e - 1, e, e + 1].flatMap((k) => ROUND.map((m) => Number((m * Math.pow(10, k)).toPrecision(12))));
  return way === 'down' ? Math.max(...candidates.filter((c) => c <= v)) : Math.min(...candidates.filter((c) => c >= v));
}

function extent(values: readonly number[]): [number, number] {
  return [Math.min(...values), Math.max(...values)];
}

/** A y axis for a scale: on a log scale, labelled ticks at 1-2-5 steps (1-2-3-5 when the range is short), grid on those only. */
function yAxis(scale: { type: 'log' | 'linear'; domain: [number, number] }): Layer {
  return scale.type === 'log' ? { values: logTicks(scale.domain), format: '~g' } : { format: '~g', tickCount: 6 };
}

/** Round values inside [lo, hi] for a log axis: 1, 2, 3, 5 times powers of ten, thinned to at most `most`. */
export function logTicks([lo, hi]: readonly [number, number], most = 7): number[] {
  const ticks = (mantissas: readonly number[]): number[] => {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of mantissas) {
        const v = Number((m * Math.pow(10, e)).toPrecision(12));
        if (v >= lo && v <= hi) out.push(v);
      }
    }
    return out;
  };
  for (const mantissas of [[1, 2, 3, 5], [1, 2, 5], [1, 3], [1]]) {
    const out = ticks(mantissas);
    if (out.length <= most) return out;
  }
  return ticks([1]).filter((_, i, all) => i % Math.ceil(all.length / most) === 0);
}

/**
 * The horizontal rule of the linear baseline and its label: outside the plot
 * at the right end in a wide view (where no line or point can cover it),
 * inside above the rule in a small panel.
 */
function baselineLayers(value: number | undefined, where: 'outside' | 'inside'): Layer[] {
  if (value === undefined) return [];
  const one = { values: [{}] };
  const label =
    where === 'outside'
      ? { align: 'left', baseline: 'middle', dx: 4, text: `linear ${fmt(value)}` }
      : { align: 'right', baseline: 'bottom', dx: -2, dy: -2, text: 'linear' };
  return [
    { data: one, mark: { type: 'rule', color: BASELINE_COLOUR, strokeWidth: 1.5, strokeDash: [6, 3] }, encoding: { y: { datum: value } } },
    {
      data: one,
      mark: { type: 'text', color: BASELINE_COLOUR, fontSize: 11, fontWeight: 'bold', ...label },
      encoding: { y: { datum: value }, x: { value: 'width' } },
    },
  ];
}

/** The Vega-Lite spec of the whole chart. */
export function buildPlotSpec(input: PlotInput): TopLevelSpec {
  const { study } = input;
  const metric = study.metric;
  const better = study.direction === 'min' ? 'lower is better' : 'higher is better';
  const top = input.top ?? DEFAULT_TOP;
  const notes: string[] = [];

  const byNumber = new Map(input.trials.map((t) => [t.number, t]));
  const ranked = rankTrials(input.trials, study.direction);
  const best = ranked.slice(0, top);
  const label = (t: PlotTrial): string => `#${t.number}  ${fmt(t.value!)}`;
  const colourOf = new Map(best.map((t) => [t.number, label(t)]));
  const colourDomain = best.map(label);
  const colour = {
    field: 'trial',
    type: 'nominal',
    scale: { domain: colourDomain, scheme: 'tableau10' },
    legend: {
      title: `best ${best.length}: trial, ${metric}`,
      orient: 'right',
      labelFontSize: 12,
      titleFontSize: 12,
      titleLimit: 400,
      symbolSize: 120,
    },
  };

  // The baseline, only when it measured the very metric drawn (no `loss`: that depends on each trial's loss function).
  const baselineOf = (m: string): number | undefined => {
    if (!study.baseline) return undefined;
    const b = baselineValue(study.baseline, m);
    return b && b.metric === m ? b.value : undefined;
  };
  const baseline = baselineOf(metric);
  if (!study.baseline) notes.push('no linear baseline stored for this study: drawn without it');
  else if (baseline === undefined) notes.push(`the linear baseline has no ${metric}: drawn without it`);

  const failed = input.trials.filter((t) => t.state === 'failed').length;
  const unfinished = input.trials.filter((t) => t.state === 'running' || t.state === 'interrupted').length;
  if (failed) notes.push(`${failed} failed trial${failed > 1 ? 's' : ''} not shown`);
  if (unfinished) notes.push(`${unfinished} running or interrupted trial${unfinished > 1 ? 's' : ''} not shown`);

  const views: Layer[] = [];

  // 1. Learning curves.
  const curves = curveMetrics(metric);
  const curveRows: { trial: string; epoch: number; value: number; curve: string }[] = [];
  if (curves) {
    const mainLabel = `${curves.main}${curves.train ? ' (validation)' : ''}`;
    const trainLabel = curves.train ? `${curves.train} (training)` : '';
    for (const t of best) {
      const trial = colourOf.get(t.number)!;
      for (const e of stitchedHistory(t, byNumber, input.histories)) {
        const v = e[curves.main];
        if (v !== undefined && Number.isFinite(v)) curveRows.push({ trial, epoch: e.epoch + 1, value: v, curve: mainLabel });
        const w = curves.train ? e[curves.train] : undefined;
        if (w !== undefined && Number.isFinite(w)) curveRows.push({ trial, epoch: e.epoch + 1, value: w, curve: trainLabel });
      }
    }
    if (best.length && !curveRows.length) notes.push('the best trials have no epoch history: no learning curves');
    if (curveRows.length) {
      const y = yScale([...curveRows.map((r) => r.value), ...(baseline !== undefined ? [baseline] : [])]);
      views.push({
        title: {
          text: `Learning curves of the best ${best.length} trial${best.length > 1 ? 's' : ''}`,
          subtitle: curves.train ? `${curves.main} solid, ${curves.train} dashed; ${better}` : better,
        },
        width: WIDE.width,
        height: WIDE.curves,
        data: { values: curveRows },
        layer: [
          {
            mark: { type: 'line', strokeWidth: 2, point: { size: 18, filled: true } },
            encoding: {
              x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' }, scale: { nice: false } },
              y: {
                field: 'value',
                type: 'quantitative',
                title: `${curves.main}${y.type === 'log' ? ' (log scale)' : ''}`,
                scale: y,
                axis: yAxis(y),
              },
              color: colour,
              strokeDash: {
                field: 'curve',
                type: 'nominal',
                scale: {
                  domain: curves.train ? [mainLabel, trainLabel] : [mainLabel],
                  range: curves.train ? [[1, 0], [5, 3]] : [[1, 0]],
                },
                legend: {
                  title: 'curve',
                  orient: 'right',
                  labelFontSize: 12,
                  titleFontSize: 12,
                  symbolType: 'stroke',
                  symbolStrokeWidth: 2,
                  symbolSize: 400,
                  // The dash scale knows no colour: draw its symbols dark grey.
                  encode: { symbols: { update: { stroke: { value: '#333' } } } },
                },
              },
              detail: { field: 'curve' },
              order: { field: 'epoch' },
            },
          },
          ...baselineLayers(baseline, 'outside'),
        ],
      });
    }
  } else {
    notes.push(`no learning curves: ${metric} is not recorded per epoch`);
  }

  // 2. The objective over trial number.
  const trialRows = ranked
    .slice()
    .sort((a, b) => a.number - b.number)
    .map((t) => ({ number: t.number, value: t.value!, trial: colourOf.get(t.number) ?? null }));
  const pick = (a: number, b: number): number => (study.direction === 'min' ? Math.min(a, b) : Math.max(a, b));
  let bestSoFar: number | undefined;
  const stepRows = trialRows.map((r) => {
    bestSoFar = bestSoFar === undefined ? r.value : pick(bestSoFar, r.value);
    return { number: r.number, best: bestSoFar };
  });
  const objectiveY = yScale([...trialRows.map((r) => r.value), ...(baseline !== undefined ? [baseline] : [])]);
  const yTitle = `${metric}${objectiveY.type === 'log' ? ' (log scale)' : ''}`;
  const y = { field: 'value', type: 'quantitative', title: yTitle, scale: objectiveY, axis: yAxis(objectiveY) };
  const points = (x: Layer, rows: readonly Layer[]): Layer[] => [
    {
      data: { values: rows.filter((r) => r.trial === null) },
      mark: { type: 'point', filled: true, size: 30, opacity: 0.55, color: GREY },
      encoding: { x, y },
    },
    {
      data: { values: rows.filter((r) => r.trial !== null) },
      mark: { type: 'point', filled: true, size: 80, opacity: 1, stroke: 'white', strokeWidth: 0.8 },
      encoding: { x, y, color: colour },
    },
  ];
  if (trialRows.length) {
    const x = {
      field: 'number',
      type: 'quantitative',
      title: 'trial number',
      scale: { padding: 8, nice: false },
      axis: { tickMinStep: 1, format: 'd' },
    };
    views.push({
      title: { text: `${metric} of each complete trial`, subtitle: `line: best so far; grey: trials outside the best ${best.length}; ${better}` },
      width: WIDE.width,
      height: WIDE.trials,
      layer: [
        {
          data: { values: stepRows },
          mark: { type: 'line', interpolate: 'step-after', color: BEST_COLOUR, strokeWidth: 1.5 },
          encoding: { x, y: { ...y, field: 'best' } },
        },
        ...points(x, trialRows),
        ...baselineLayers(baseline, 'outside'),
      ],
    });
  } else {
    notes.push('no complete trial yet');
  }

  // 3. The objective against each searched parameter.
  const axes = searchedParams(study.definition, ranked);
  const panels = axes.map((p): Layer => {
    const rows = ranked
      .filter((t) => t.params[p.name] !== undefined)
      .map((t) => ({
        x: p.kind === 'nominal' ? String(t.params[p.name]) : t.params[p.name],
        // A fixed, spread-out offset per trial so points of one category do not hide each other.
        jitter: ((t.number * 0.6180339887) % 1) - 0.5,
        value: t.value!,
        trial: colourOf.get(t.number) ?? null,
      }));
    const x =
      p.kind === 'nominal'
        ? { field: 'x', type: 'nominal', title: p.name, sort: p.order, axis: { labelAngle: 0 } }
        : {
            field: 'x',
            type: 'quantitative',
            title: `${p.name}${p.log ? ' (log scale)' : ''}`,
            // The searched range, padded so points at its ends stay off the axes.
            scale: {
              type: p.log ? 'log' : 'linear',
              ...(p.log ? {} : { zero: false }),
              ...(p.range ? { domain: [...p.range] } : {}),
              nice: false,
              padding: 8,
            },
            axis: p.integer
              ? { format: 'd', tickMinStep: 1, tickCount: 6 }
              : p.log
                ? { format: '~g', values: logTicks(p.range ?? extent(rows.map((r) => r.x as number)), 5), labelOverlap: false }
                : { format: '~g', tickCount: 5 },
          };
    const offset = p.kind === 'nominal' ? { xOffset: { field: 'jitter', type: 'quantitative', scale: { domain: [-0.6, 0.6] } } } : {};
    const layers = points(x, rows).map((l) => ({ ...l, encoding: { ...(l.encoding as Layer), ...offset } }));
    return { width: PANEL.width, height: PANEL.height, layer: [...layers, ...baselineLayers(baseline, 'inside')] };
  });
  if (panels.length) {
    views.push({
      title: { text: `${metric} by searched parameter`, subtitle: `one point per complete trial; ${better}` },
      columns: PANEL.columns,
      concat: panels,
    });
  } else if (trialRows.length) {
    notes.push('no searched parameter varies across the complete trials: no parameter panels');
  }

  if (!views.length) {
    views.push({
      width: WIDE.width,
      height: 40,
      data: { values: [{}] },
      mark: { type: 'text', fontSize: 14 },
      encoding: { text: { value: 'nothing to plot yet' } },
    });
  }
  const complete = ranked.length;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `tune · study ${study.name}`,
      subtitle: [
        `objective ${metric} (${study.direction}) · ${complete} complete trial${complete === 1 ? '' : 's'}`,
        ...notes.map((n) => `note: ${n}`),
      ],
      anchor: 'start',
      fontSize: 18,
      subtitleFontSize: 13,
      subtitleColor: '#444',
      offset: 12,
    },
    background: 'white',
    padding: 16,
    spacing: 36,
    vconcat: views,
    resolve: { scale: { color: 'shared', strokeDash: 'shared' } },
    config: {
      font: 'sans-serif',
      axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e0e0e0' },
      title: { fontSize: 14, subtitleFontSize: 11, subtitleColor: '#555', anchor: 'start' },
      legend: { labelLimit: 260 },
      concat: { spacing: 24 },
      view: { stroke: '#ccc' },
    },
  } as unknown as TopLevelSpec;
}
