/**
 * Hyperband (Li et al., JMLR 2018) as Keras Tuner's HyperbandOracle runs it
 * with one worker: `iterations` times, brackets from the most aggressive
 * (B−1: many configurations, few epochs) down to 0 (a few configurations,
 * max_epochs each). Bracket b has b+1 rounds of successive halving: round 0
 * trains bracketSize(b, 0) new random configurations for roundEpochs(b, 0)
 * epochs; round r continues the best bracketSize(b, r) trials of round r−1
 * from their checkpoints up to roundEpochs(b, r) epochs in all.
 *
 * Nothing is kept between calls: the position in the schedule is rebuilt
 * from the history's slots (`h:<iteration>.<bracket>.<round>.<place>`), so a
 * resumed study, or any prefix of a history, plans what an uninterrupted run
 * would have planned next.
 */
import seedrandom from 'seedrandom';
import { UserError } from '../errors';
import type { Params, Space } from '../space';
import { latestAttempts } from './attempts';
import { drawUntried, isExhausted, triedKeys } from './draw';
import type { Decision, HistoryTrial, Rung, Strategy } from './types';

export interface HyperbandOptions {
  readonly seed: number;
  /** The most epochs one configuration is trained for (the last round of every bracket). */
  readonly maxEpochs: number;
  /** Keep 1/factor of each round for the next, training factor times longer. At least 2. */
  readonly factor: number;
  /** How many times to run all brackets. */
  readonly iterations: number;
  /** The objective's direction: which values are promoted. */
  readonly direction: 'min' | 'max';
}

/** Caps that keep the schedule's integer arithmetic exact and its size sane. */
const MAX_EPOCHS_LIMIT = 1_000_000;
const ITERATIONS_LIMIT = 10_000;

function checkWhole(field: string, value: number, min: number, max: number, example: string): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UserError(field, `${field} must be a whole number from ${min} to ${max}, got ${value}`, `set e.g. ${example}`);
  }
}

function checkSchedule(maxEpochs: number, factor: number): void {
  checkWhole('max_epochs', maxEpochs, 1, MAX_EPOCHS_LIMIT, 'max_epochs: 81');
  checkWhole('factor', factor, 2, MAX_EPOCHS_LIMIT, 'factor: 3');
}

/** ⌈a / d⌉ for non-negative safe integers, exactly. */
function ceilDiv(a: number, d: number): number {
  const r = a % d;
  return (a - r) / d + (r > 0 ? 1 : 0);
}

/**
 * ⌈log_factor(maxEpochs)⌉, by integer powers: the smallest k with
 * factor^k ≥ maxEpochs. (Math.log(81) / Math.log(3) is 4.000000000000001 in
 * JavaScript, and a ceil of it would give 5.)
 */
function ceilLog(maxEpochs: number, factor: number): number {
  let k = 0;
  for (let p = 1; p < maxEpochs; p *= factor) k++;
  return k;
}

/**
 * The number of brackets B: how many of maxEpochs, maxEpochs/factor,
 * maxEpochs/factor², … are at least 1 (min_epochs), i.e. ⌊log_factor(maxEpochs)⌋ + 1.
 */
export function numBrackets(maxEpochs: number, factor: number): number {
  checkSchedule(maxEpochs, factor);
  let brackets = 0;
  for (let p = 1; p <= maxEpochs; p *= factor) brackets++;
  return brackets;
}

/** factor^(bracket − round), checking that the round exists. */
function shrink(maxEpochs: number, factor: number, bracket: number, round: number): number {
  const brackets = numBrackets(maxEpochs, factor);
  if (!Number.isInteger(bracket) || bracket < 0 || bracket >= brackets) {
    throw new RangeError(`bracket must be a whole number from 0 to ${brackets - 1}, got ${bracket}`);
  }
  if (!Number.isInteger(round) || round < 0 || round > bracket) {
    throw new RangeError(`round of bracket ${bracket} must be a whole number from 0 to ${bracket}, got ${round}`);
  }
  return factor ** (bracket - round);
}

/**
 * How many trials round `round` of bracket `bracket` runs:
 * ⌈⌈1 + log_factor(maxEpochs)⌉ / (bracket + 1) · factor^(bracket − round)⌉
 * (Keras Tuner's `_get_size`), computed exactly.
 */
export function bracketSize(maxEpochs: number, factor: number, bracket: number, round: number): number {
  const power = shrink(maxEpochs, factor, bracket, round);
  return ceilDiv((1 + ceilLog(maxEpochs, factor)) * power, bracket + 1);
}

/**
 * How many epochs in all a trial of that round is trained to:
 * ⌈maxEpochs / factor^(bracket − round)⌉ (Keras Tuner's `_get_epochs`).
 */
export function roundEpochs(maxEpochs: number, factor: number, bracket: number, round: number): number {
  return ceilDiv(maxEpochs, shrink(maxEpochs, factor, bracket, round));
}

export interface ScheduleRound {
  readonly round: number;
  /** Trials in the round: new configurations in round 0, promotions after. */
  readonly size: number;
  /** Epochs in all that each of its trials reaches. */
  readonly epochs: number;
}

export interface ScheduleBracket {
  readonly bracket: number;
  readonly rounds: readonly ScheduleRound[];
}

export interface HyperbandSchedule {
  readonly maxEpochs: number;
  readonly factor: number;
  /** Brackets in the order they run: B−1 first, 0 last. */
  readonly brackets: readonly ScheduleBracket[];
  /** New configurations per iteration (the round-0 sizes). */
  readonly configurations: number;
  /** Trial runs per iteration (all round sizes). */
  readonly trials: number;
  /** Epochs trained per iteration when each promotion continues its parent's checkpoint. */
  readonly epochs: number;
}

/** One iteration of Hyperband, bracket by bracket and round by round. */
export function schedule(maxEpochs: number, factor: number): HyperbandSchedule {
  const brackets: ScheduleBracket[] = [];
  let configurations = 0;
  let trials = 0;
  let epochs = 0;
  for (let b = numBrackets(maxEpochs, factor) - 1; b >= 0; b--) {
    const rounds: ScheduleRound[] = [];
    for (let r = 0; r <= b; r++) {
      const round = { round: r, size: bracketSize(maxEpochs, factor, b, r), epochs: roundEpochs(maxEpochs, factor, b, r) };
      trials += round.size;
      epochs += round.size * (round.epochs - (rounds[r - 1]?.epochs ?? 0));
      rounds.push(round);
    }
    configurations += rounds[0]?.size ?? 0;
    brackets.push({ bracket: b, rounds });
  }
  return { maxEpochs, factor, brackets, configurations, trials, epochs };
}

/** The slot of place `place` in a round: `h:<iteration>.<bracket>.<round>.<place>`. */
export function hyperbandSlot(rung: Rung, place: number): string {
  return `h:${rung.iteration}.${rung.bracket}.${rung.round}.${place}`;
}

const SLOT = /^h:(\d+)\.(\d+)\.(\d+)\.(\d+)$/;

/** The rung and place a Hyperband slot names; undefined for any other slot. */
export function parseHyperbandSlot(slot: string): { rung: Rung; place: number } | undefined {
  const m = SLOT.exec(slot);
  if (!m) return undefined;
  const [iteration, bracket, round, place] = m.slice(1).map(Number) as [number, number, number, number];
  return { rung: { iteration, bracket, round }, place };
}

/** Complete or failed: the slot will not change unless retried. */
function finished(trial: HistoryTrial): boolean {
  return trial.state === 'complete' || trial.state === 'failed';
}

export class HyperbandStrategy implements Strategy {
  readonly kind = 'hyperband';
  /** Trial runs of the whole schedule (all iterations), if no configuration fails and the space does not run out. */
  readonly plannedTrials: number;
  readonly schedule: HyperbandSchedule;
  readonly #space: Space;
  readonly #options: HyperbandOptions;
  readonly #brackets: number;
  /** Infinity for a space with a float without step. */
  readonly #size: number;

  /** Throws a UserError naming the option (`max_epochs`, `factor`, `iterations`, `seed`) when one is invalid. */
  constructor(space: Space, options: HyperbandOptions) {
    checkSchedule(options.maxEpochs, options.factor);
    checkWhole('iterations', options.iterations, 1, ITERATIONS_LIMIT, 'iterations: 1');
    if (!Number.isFinite(options.seed)) {
      throw new UserError('seed', `seed must be a number, got ${options.seed}`, 'set e.g. seed: 42');
    }
    if (options.direction !== 'min' && options.direction !== 'max') {
      throw new Error(`direction must be min or max, got ${String(options.direction)}`);
    }
    this.#space = space;
    this.#options = options;
    this.#brackets = numBrackets(options.maxEpochs, options.factor);
    this.#size = space.gridSize();
    this.schedule = schedule(options.maxEpochs, options.factor);
    this.plannedTrials = this.schedule.trials * options.iterations;
  }

  #sizeOf(rung: Rung): number {
    return bracketSize(this.#options.maxEpochs, this.#options.factor, rung.bracket, rung.round);
  }

  #epochsOf(rung: Rung): number {
    return roundEpochs(this.#options.maxEpochs, this.#options.factor, rung.bracket, rung.round);
  }

  /** Best first; ties (and missing values, which go last) by lower trial number. */
  #rank(trials: HistoryTrial[]): HistoryTrial[] {
    const sign = this.#options.direction === 'max' ? -1 : 1;
    const score = (t: HistoryTrial): number =>
      t.value === undefined || Number.isNaN(t.value) ? Infinity : sign * t.value;
    return [...trials].sort((a, b) => {
      const sa = score(a);
      const sb = score(b);
      return sa < sb ? -1 : sa > sb ? 1 : a.number - b.number;
    });
  }

  /** A new configuration for place `place` of the iteration's bracket, or undefined when the space has run out. */
  #draw(rung: Rung, place: number, history: readonly HistoryTrial[], tried: Set<string>): Params | undefined {
    if (isExhausted(this.#space, history, this.#size)) return undefined;
    const rng = seedrandom(`${this.#options.seed}:hyperband:${rung.iteration}.${rung.bracket}.${place}`);
    return drawUntried(this.#space, rng, tried);
  }

  /**
   * Walks the schedule in order against the history. The first round that is
   * not fully created gets its next slot: a new configuration in round 0, or
   * in later rounds (once every slot of the previous round is complete or
   * failed) the best complete trial of the previous round not yet promoted.
   * A round that cannot go on because trials of the previous one are running
   * (or interrupted: re-running them is `withRetries`' job) means `wait`, and
   * so does a bracket whose last round is not finished: brackets run one
   * after another.
   */
  next(history: readonly HistoryTrial[]): Decision {
    const bySlot = new Map(latestAttempts(history).map((t) => [t.slot, t]));
    const tried = triedKeys(this.#space, history);
    let exhausted = false;
    let trials = 0;
    let configurations = 0;
    for (let iteration = 0; iteration < this.#options.iterations; iteration++) {
      for (let bracket = this.#brackets - 1; bracket >= 0; bracket--) {
        let previous: HistoryTrial[] = [];
        for (let round = 0; round <= bracket; round++) {
          const rung: Rung = { iteration, bracket, round };
          const size = this.#sizeOf(rung);
          const current: HistoryTrial[] = [];
          for (let place = 0; place < size; place++) {
            const trial = bySlot.get(hyperbandSlot(rung, place));
            if (trial) {
              current.push(trial);
              continue;
            }
            const slot = hyperbandSlot(rung, place);
            const budget = this.#epochsOf(rung);
            if (round === 0) {
              const params = exhausted ? undefined : this.#draw(rung, place, history, tried);
              if (params) return { kind: 'run', trial: { slot, params, budget, rung } };
              exhausted = true;
            } else {
              // Promote only from a settled round, so the ranking is final.
              if (!previous.every(finished)) return { kind: 'wait' };
              const promoted = new Set(current.map((t) => t.parent));
              const candidates = previous.filter((t) => t.state === 'complete' && !promoted.has(t.number));
              const best = this.#rank(candidates)[0];
              if (best) return { kind: 'run', trial: { slot, params: best.params, budget, rung, parent: best.number } };
            }
            break; // fewer trials than planned: the space ran out, or too few completed
          }
          trials += current.length;
          if (round === 0) configurations += current.length;
          previous = current;
        }
        if (!previous.every(finished)) return { kind: 'wait' };
      }
    }
    const ranOut = exhausted ? `; the search space ran out after ${configurations} configurations` : '';
    return { kind: 'stop', reason: `hyperband finished: ${this.#options.iterations} iteration(s), ${trials} trials${ranOut}` };
  }

  /**
   * Complete trials that may still be promoted (the next round of theirs is
   * not full and they are not yet in it), and parents of promoted slots whose
   * last attempt is not complete (a re-run continues from the parent).
   */
  checkpointsNeeded(history: readonly HistoryTrial[]): ReadonlySet<number> {
    const needed = new Set<number>();
    const latest: Array<{ trial: HistoryTrial; rung: Rung }> = [];
    /** Per round (`i.b.r`): how many slots exist, and the parents they continue. */
    const rounds = new Map<string, { slots: number; parents: Set<number> }>();
    const roundKey = (r: Rung): string => `${r.iteration}.${r.bracket}.${r.round}`;
    for (const trial of latestAttempts(history)) {
      const parsed = parseHyperbandSlot(trial.slot);
      if (!parsed || parsed.rung.bracket >= this.#brackets || parsed.rung.round > parsed.rung.bracket) continue;
      latest.push({ trial, rung: parsed.rung });
      const key = roundKey(parsed.rung);
      const round = rounds.get(key) ?? { slots: 0, parents: new Set<number>() };
      round.slots++;
      if (trial.parent !== undefined) round.parents.add(trial.parent);
      rounds.set(key, round);
      if (trial.parent !== undefined && trial.state !== 'complete') needed.add(trial.parent);
    }
    for (const { trial, rung } of latest) {
      if (trial.state !== 'complete' || rung.round >= rung.bracket) continue;
      const nextRung = { ...rung, round: rung.round + 1 };
      const next = rounds.get(roundKey(nextRung));
      const full = (next?.slots ?? 0) >= this.#sizeOf(nextRung);
      if (!full && !next?.parents.has(trial.number)) needed.add(trial.number);
    }
    return needed;
  }
}
