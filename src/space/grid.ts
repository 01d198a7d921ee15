/**
 * Grid search over a finite space: every combination of *active* parameters.
 * A conditional parameter branches only where its condition holds, so
 * `optimizer: [sgd, momentum]` with `momentum: [0.5, 0.9] when momentum`
 * gives three cells, not four with a duplicated sgd.
 */
import { lattice, type Lattice } from './param';
import type { ParamSpec, ParamValue, Params } from './types';

/** What the grid needs to know of a space (Space implements it). */
export interface SpaceShape {
  /** Declaration order: the order of keys in each cell. */
  readonly names: readonly string[];
  /** Parents before children, otherwise declaration order: the enumeration order. */
  readonly order: readonly string[];
  spec(name: string): ParamSpec;
}

/**
 * Stands for "any value no child's condition mentions" when counting: all
 * such values of a parent lead to the same subtree, so they are counted once
 * and multiplied rather than walked one by one.
 */
const OTHER: unique symbol = Symbol('other');
type Assigned = Map<string, ParamValue | typeof OTHER>;

/** Active iff every parent is assigned (hence active) and holds a listed value. */
function holds(spec: ParamSpec, assigned: Assigned): boolean {
  if (!spec.when) return true;
  return Object.entries(spec.when).every(([parent, listed]) => {
    const value = assigned.get(parent);
    return value !== undefined && value !== OTHER && listed.includes(value);
  });
}

function finiteLattice(space: SpaceShape, name: string): Lattice {
  const l = lattice(space.spec(name));
  if (!l) throw new Error(`grid over a non-finite parameter ${name}; call assertFinite() first`);
  return l;
}

/** Cell keys in declaration order, whatever order the walk assigned them in. */
function toParams(space: SpaceShape, assigned: Assigned): Params {
  const entries: Array<[string, ParamValue]> = [];
  for (const name of space.names) {
    const value = assigned.get(name);
    if (value !== undefined && value !== OTHER) entries.push([name, value]);
  }
  return Object.fromEntries(entries);
}

/**
 * Every cell, lazily, in order: the first parameter of `space.order` varies
 * slowest, each parameter's values in their own order (ascending for numbers,
 * as listed for choices, false before true).
 */
export function* gridCells(space: SpaceShape): Generator<Params> {
  const lattices = space.order.map((name) => finiteLattice(space, name));
  const assigned: Assigned = new Map();
  function* walk(i: number): Generator<Params> {
    if (i === space.order.length) {
      yield toParams(space, assigned);
      return;
    }
    const name = space.order[i] as string;
    if (!holds(space.spec(name), assigned)) {
      yield* walk(i + 1);
      return;
    }
    const l = lattices[i] as Lattice;
    for (let k = 0; k < l.count; k++) {
      assigned.set(name, l.at(k));
      yield* walk(i + 1);
    }
    assigned.delete(name);
  }
  yield* walk(0);
}

/**
 * The number of cells, without enumerating them: only parameters that some
 * condition refers to need branching, and only over the values conditions
 * mention (plus one branch for all the others); everything else multiplies.
 */
export function gridCount(space: SpaceShape): number {
  const mentioned = new Map<string, Set<ParamValue>>();
  for (const name of space.names) {
    for (const [parent, listed] of Object.entries(space.spec(name).when ?? {})) {
      const set = mentioned.get(parent) ?? new Set<ParamValue>();
      listed.forEach((v) => set.add(v));
      mentioned.set(parent, set);
    }
  }
  const lattices = space.order.map((name) => finiteLattice(space, name));
  const assigned: Assigned = new Map();
  const count = (i: number): number => {
    if (i === space.order.length) return 1;
    const name = space.order[i] as string;
    if (!holds(space.spec(name), assigned)) return count(i + 1);
    const l = lattices[i] as Lattice;
    const values = mentioned.get(name);
    if (!values) return l.count * count(i + 1);
    let total = 0;
    for (const value of values) {
      assigned.set(name, value);
      total += count(i + 1);
    }
    const others = l.count - values.size; // conditions only list values in the domain
    if (others > 0) {
      assigned.set(name, OTHER);
      total += others * count(i + 1);
    }
    assigned.delete(name);
    return total;
  };
  return count(0);
}
