/**
 * A validated search space: named parameters, some conditional on others.
 * It samples, enumerates, checks and serialises parameter sets; it knows
 * nothing of models, so which names a model understands is checked elsewhere.
 */
import { UserError } from '../errors';
import { checkConditions, dependencyOrder } from './conditions';
import { gridCells, gridCount, type SpaceShape } from './grid';
import { describeDomain, fromUnit, inDomain, lattice, latticeValues, type Lattice } from './param';
import { parseParams } from './parse';
import { show, suggestFix } from './suggest';
import type { ParamJSON, ParamSpec, ParamValue, Params, Rng, SpaceJSON } from './types';

function own(params: Params, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(params, name);
}

function specToJSON(spec: ParamSpec): ParamJSON {
  const when = spec.when
    ? { when: Object.fromEntries(Object.entries(spec.when).map(([p, values]) => [p, [...values]])) }
    : {};
  switch (spec.kind) {
    case 'int':
    case 'float':
      return {
        type: spec.kind,
        min: spec.min,
        max: spec.max,
        ...(spec.step !== undefined ? { step: spec.step } : {}),
        sampling: spec.sampling,
        ...when,
      };
    case 'choice':
      return { type: 'choice', values: [...spec.values], ...when };
    case 'bool':
      return { type: 'bool', ...when };
    case 'fixed':
      return { type: 'fixed', value: spec.value, ...when };
  }
}

export class Space implements SpaceShape {
  /** Parameter names in declaration order. */
  readonly names: readonly string[];
  /** Parents before children, otherwise declaration order: sampling and grid order. */
  readonly order: readonly string[];
  readonly #specs: ReadonlyMap<string, ParamSpec>;
  readonly #lattices = new Map<string, Lattice | undefined>();
  /**
   * Keys and validity of parameter sets already seen. A strategy asks for those
   * of the whole history on every decision; trials read from storage are
   * immutable copies, so each is worked out once (10k trials: 50 ms a decision
   * without this). Params are never mutated after they are made.
   */
  readonly #keys = new WeakMap<Params, string>();
  readonly #contained = new WeakMap<Params, boolean>();

  private constructor(params: ReadonlyArray<[string, ParamSpec]>) {
    this.names = params.map(([name]) => name);
    this.order = dependencyOrder(params);
    this.#specs = new Map(params);
  }

  /** Validates a study file's `space:` mapping; throws UserError with a space-relative field. */
  static parse(raw: unknown): Space {
    return new Space(checkConditions(parseParams(raw)));
  }

  /** The inverse of toJSON (which writes the study-file spelling, so this is parse). */
  static fromJSON(json: unknown): Space {
    return Space.parse(json);
  }

  /** A space from specs built in code, validated like a study file. */
  static fromSpecs(specs: Readonly<Record<string, ParamSpec>>): Space {
    return Space.parse(Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, specToJSON(spec)])));
  }

  has(name: string): boolean {
    return this.#specs.has(name);
  }

  /** The spec of a parameter; an unknown name is a UserError with a "did you mean". */
  spec(name: string): ParamSpec {
    const spec = this.#specs.get(name);
    if (!spec) throw new UserError(name, `unknown parameter ${show(name)}`, suggestFix(name, this.names, 'one of the parameters'));
    return spec;
  }

  #lattice(name: string): Lattice | undefined {
    if (!this.#lattices.has(name)) this.#lattices.set(name, lattice(this.spec(name)));
    return this.#lattices.get(name);
  }

  /**
   * Whether `name` is active in `params`: every parent in its `when` is itself
   * active, present in `params`, and holds one of the listed values.
   */
  isActive(name: string, params: Params): boolean {
    const when = this.spec(name).when;
    if (!when) return true;
    return Object.entries(when).every(([parent, listed]) => {
      if (!own(params, parent) || !this.isActive(parent, params)) return false;
      const value = params[parent] as ParamValue;
      // Compare in the parent's own spelling, as the listed values are stored.
      const l = this.#lattice(parent);
      const k = l ? l.indexOf(value) : -1;
      return k >= 0 && listed.includes((l as Lattice).at(k));
    });
  }

  /**
   * A random parameter set with only active parameters, keys in declaration
   * order. Parameters are decided in `order`; each one that is not fixed
   * takes exactly one draw from `rng` whether active or not, so a parameter's
   * value does not shift when an unrelated conditional one switches on.
   */
  sample(rng: Rng): Params {
    const decided = new Map<string, ParamValue>();
    for (const name of this.order) {
      const spec = this.spec(name);
      const u = spec.kind === 'fixed' ? 0 : rng();
      const active = Object.entries(spec.when ?? {}).every(([parent, listed]) => {
        const value = decided.get(parent); // absent: parent inactive (parents come first)
        return value !== undefined && listed.includes(value);
      });
      if (active) decided.set(name, fromUnit(spec, u));
    }
    return Object.fromEntries(this.names.filter((n) => decided.has(n)).map((n) => [n, decided.get(n) as ParamValue]));
  }

  /** The finite list of values of a parameter, or undefined for a float without step. */
  values(name: string): ParamValue[] | undefined {
    const l = this.#lattice(name);
    return l ? latticeValues(l) : undefined;
  }

  /** Whether every parameter has finitely many values (no float without step). */
  isFinite(): boolean {
    return this.names.every((name) => this.#lattice(name) !== undefined);
  }

  /** Throws a UserError naming the first (declared) parameter that makes a grid impossible. */
  assertFinite(): void {
    const name = this.names.find((n) => this.#lattice(n) === undefined);
    if (name === undefined) return;
    throw new UserError(
      name,
      `a grid needs a finite set: ${name} is a float without step`,
      'give it a step, or use type: choice with values',
    );
  }

  /** The number of distinct active parameter sets; Infinity when not finite. */
  gridSize(): number {
    return this.isFinite() ? gridCount(this) : Infinity;
  }

  /**
   * Every distinct active parameter set, lazily. Earlier parameters vary
   * slowest (in `order`, which is declaration order except that a parent
   * always comes before the parameters conditional on it).
   */
  cells(): Generator<Params> {
    this.assertFinite();
    return gridCells(this);
  }

  /** All of cells(), as an array. */
  grid(): Params[] {
    return [...this.cells()];
  }

  /**
   * A canonical string for a parameter set, for dedup: independent of key
   * order, and of the space (so history from another version still compares).
   * Types are kept: 1, "1" and true are different keys.
   */
  key(params: Params): string {
    let key = this.#keys.get(params);
    if (key === undefined) {
      key = JSON.stringify(Object.keys(params).sort().map((name) => [name, params[name]]));
      this.#keys.set(params, key);
    }
    return key;
  }

  /** Why `params` is not a valid parameter set of this space (empty when it is). */
  problems(params: Params): string[] {
    const problems: string[] = [];
    for (const name of Object.keys(params)) {
      if (!this.#specs.has(name)) problems.push(`unknown parameter ${show(name)}`);
    }
    for (const name of this.names) {
      const active = this.isActive(name, params);
      const present = own(params, name);
      if (active && !present) problems.push(`${name} is missing`);
      else if (!active && present) problems.push(`${name} is set but its when condition does not hold`);
      else if (present && !inDomain(this.spec(name), params[name])) {
        problems.push(`${name} = ${show(params[name])} is not ${describeDomain(this.spec(name))}`);
      }
    }
    return problems;
  }

  /** Exactly the active parameters, each with a value in its domain. */
  contains(params: Params): boolean {
    let ok = this.#contained.get(params);
    if (ok === undefined) {
      ok = this.problems(params).length === 0;
      this.#contained.set(params, ok);
    }
    return ok;
  }

  /** The study-file form, by kind name, in declaration order; Space.fromJSON reads it back. */
  toJSON(): SpaceJSON {
    return Object.fromEntries(this.names.map((name) => [name, specToJSON(this.spec(name))]));
  }
}
