/**
 * The checks that need the whole space: `when` must name other, existing
 * parameters, list values they can actually take, and not form a cycle. Also
 * the order parameters are decided in, parents before children.
 */
import { UserError } from '../errors';
import { describeDomain, lattice, latticeValues } from './param';
import { closestMatch, show, suggestFix } from './suggest';
import type { ParamSpec, ParamValue } from './types';

/** Domains bigger than this are not listed value by value in a "did you mean". */
const SUGGEST_LIMIT = 1000;

function parentsOf(spec: ParamSpec): string[] {
  return spec.when ? Object.keys(spec.when) : [];
}

/** The fix for a listed value the parent cannot take. */
function valueFix(value: ParamValue, parent: string, parentSpec: ParamSpec): string {
  const l = lattice(parentSpec);
  if (l && l.count <= SUGGEST_LIMIT) {
    const values = latticeValues(l);
    // `"1"` for 1, `"true"` for true: right value, wrong type (usually quoting).
    const sameText = values.find((v) => String(v) === String(value));
    if (sameText !== undefined) return `write ${show(sameText)} (a ${typeof sameText}, not a ${typeof value})`;
    const match = closestMatch(String(value), values.map(String));
    const original = values.find((v) => String(v) === match);
    if (original !== undefined) return `did you mean ${show(original)}?`;
  }
  return `use values of ${parent}: ${describeDomain(parentSpec)}`;
}

/**
 * Checks every `when` against the other parameters and returns the specs
 * with listed values replaced by the parent's own spelling of them (a stepped
 * float's 0.30000000000000004 becomes its lattice value 0.3), so activity can
 * later be decided with plain equality.
 */
export function checkConditions(params: ReadonlyArray<[string, ParamSpec]>): Array<[string, ParamSpec]> {
  const specs = new Map(params);
  const names = params.map(([name]) => name);
  const checked = params.map(([name, spec]): [string, ParamSpec] => {
    if (!spec.when) return [name, spec];
    const when = Object.entries(spec.when).map(([parent, listed]): [string, ParamValue[]] => {
      const field = `${name}.when.${parent}`;
      if (parent === name) throw new UserError(field, 'a parameter cannot depend on itself', `remove ${name} from its own when`);
      const parentSpec = specs.get(parent);
      if (!parentSpec) {
        const others = names.filter((n) => n !== name);
        throw new UserError(field, `unknown parameter ${show(parent)}`, suggestFix(parent, others, 'one of the parameters'));
      }
      const l = lattice(parentSpec);
      if (!l) {
        throw new UserError(
          field,
          `${parent} is a float without step, so it never equals a listed value exactly`,
          `make ${parent} a choice, or give it a step`,
        );
      }
      const canonical = listed.map((value) => {
        const k = l.indexOf(value);
        if (k < 0) {
          throw new UserError(
            field,
            `${show(value)} is not a value ${parent} can take (${describeDomain(parentSpec)})`,
            valueFix(value, parent, parentSpec),
          );
        }
        return l.at(k);
      });
      return [parent, [...new Set(canonical)]];
    });
    return [name, { ...spec, when: Object.fromEntries(when) }];
  });
  checkAcyclic(checked);
  return checked;
}

/** A cycle among `when` references, reported at its first edge. */
function checkAcyclic(params: ReadonlyArray<[string, ParamSpec]>): void {
  if (dependencyOrder(params).length === params.length) return;
  const specs = new Map(params);
  const done = new Set<string>();
  // Depth-first from each parameter in declaration order; the first back edge closes a cycle.
  const visit = (name: string, path: string[]): string[] | undefined => {
    const at = path.indexOf(name);
    if (at >= 0) return [...path.slice(at), name];
    if (done.has(name)) return undefined;
    for (const parent of parentsOf(specs.get(name) as ParamSpec)) {
      const cycle = visit(parent, [...path, name]);
      if (cycle) return cycle;
    }
    done.add(name);
    return undefined;
  };
  for (const [name] of params) {
    const cycle = visit(name, []);
    if (cycle) {
      const [first, second] = cycle as [string, string];
      throw new UserError(
        `${first}.when.${second}`,
        `the conditions form a cycle (each needs the next to be active): ${cycle.join(' → ')}`,
        'remove one of these conditions',
      );
    }
  }
}

/**
 * Names ordered so that every parent comes before its children, otherwise in
 * declaration order (Kahn's algorithm, always taking the earliest-declared
 * ready parameter). With a cycle, the parameters on it are left out.
 */
export function dependencyOrder(params: ReadonlyArray<[string, ParamSpec]>): string[] {
  const order: string[] = [];
  const placed = new Set<string>();
  const pending = [...params];
  let progress = true;
  while (pending.length > 0 && progress) {
    progress = false;
    const i = pending.findIndex(([, spec]) => parentsOf(spec).every((p) => placed.has(p)));
    if (i >= 0) {
      const [name] = pending.splice(i, 1)[0] as [string, ParamSpec];
      order.push(name);
      placed.add(name);
      progress = true;
    }
  }
  return order;
}
