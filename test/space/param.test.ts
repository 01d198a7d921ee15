import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import seedrandom from 'seedrandom';
import { fromUnit, toUnit, inDomain, lattice, latticeValues, describeDomain } from '../../src/space/param';
import type { ParamSpec, ParamValue } from '../../src/space/types';

const BELOW_ONE = 1 - 2 ** -53;

function draws(spec: ParamSpec, n: number, seed = 'param'): ParamValue[] {
  const rng = seedrandom(seed);
  return Array.from({ length: n }, () => fromUnit(spec, rng()));
}

function values(spec: ParamSpec): ParamValue[] {
  const l = lattice(spec);
  assert.ok(l, 'expected a finite lattice');
  return latticeValues(l);
}

describe('fromUnit stays in the domain', () => {
  const specs: Record<string, ParamSpec> = {
    'int linear': { kind: 'int', min: 2, max: 4, sampling: 'linear' },
    'int step': { kind: 'int', min: 100, max: 600, step: 100, sampling: 'linear' },
    'int log': { kind: 'int', min: 1, max: 1000, sampling: 'log' },
    'int log factor': { kind: 'int', min: 32, max: 512, step: 2, sampling: 'log' },
    'float linear': { kind: 'float', min: -0.5, max: 0.3, sampling: 'linear' },
    'float step': { kind: 'float', min: 0, max: 0.3, step: 0.1, sampling: 'linear' },
    'float log': { kind: 'float', min: 1e-6, max: 1e-3, sampling: 'log' },
    'float log factor': { kind: 'float', min: 1e-4, max: 1e-1, step: 10, sampling: 'log' },
    choice: { kind: 'choice', values: ['relu', 'elu', 3, true] },
    bool: { kind: 'bool' },
    fixed: { kind: 'fixed', value: 0.01 },
  };
  for (const [label, spec] of Object.entries(specs)) {
    test(label, () => {
      for (const u of [0, BELOW_ONE, 0.5, 1, -0.1, 1.5, Number.NaN]) {
        assert.ok(inDomain(spec, fromUnit(spec, u)), `u=${u} gives ${String(fromUnit(spec, u))}`);
      }
      for (const v of draws(spec, 3000)) assert.ok(inDomain(spec, v), `${String(v)} outside the domain`);
    });
  }
});

describe('lattices', () => {
  test('int with step: min, min+step, … and both endpoints are sampled', () => {
    const spec: ParamSpec = { kind: 'int', min: 100, max: 600, step: 100, sampling: 'linear' };
    assert.deepEqual(values(spec), [100, 200, 300, 400, 500, 600]);
    assert.deepEqual([...new Set(draws(spec, 2000))].sort((a, b) => Number(a) - Number(b)), values(spec));
  });

  test('int step that does not divide the range stops below max', () => {
    assert.deepEqual(values({ kind: 'int', min: 1, max: 10, step: 4, sampling: 'linear' }), [1, 5, 9]);
  });

  test('int log without step: every integer, and the end points at u=0 and u→1', () => {
    const spec: ParamSpec = { kind: 'int', min: 1, max: 1000, sampling: 'log' };
    assert.equal(lattice(spec)?.count, 1000);
    assert.equal(fromUnit(spec, 0), 1);
    assert.equal(fromUnit(spec, BELOW_ONE), 1000);
    for (const v of draws(spec, 2000)) assert.ok(Number.isInteger(v));
  });

  test('int log with a step multiplies (Keras Tuner: 32, 64, …, 512)', () => {
    const spec: ParamSpec = { kind: 'int', min: 32, max: 512, step: 2, sampling: 'log' };
    assert.deepEqual(values(spec), [32, 64, 128, 256, 512]);
    const counts = new Map<ParamValue, number>();
    for (const v of draws(spec, 5000)) counts.set(v, (counts.get(v) ?? 0) + 1);
    assert.equal(counts.size, 5);
    for (const c of counts.values()) assert.ok(Math.abs(c / 5000 - 0.2) < 0.03, `share ${c / 5000}`);
  });

  test('float step has no drift: 0.1 * 3 is 0.3', () => {
    const spec: ParamSpec = { kind: 'float', min: 0, max: 0.3, step: 0.1, sampling: 'linear' };
    assert.deepEqual(values(spec), [0, 0.1, 0.2, 0.3]);
    assert.deepEqual([...new Set(draws(spec, 1000))].sort(), [0, 0.1, 0.2, 0.3]);
  });

  test('float step across zero hits zero exactly', () => {
    const spec: ParamSpec = { kind: 'float', min: -0.3, max: 0.3, step: 0.1, sampling: 'linear' };
    assert.deepEqual(values(spec), [-0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3]);
  });

  test('float log with a step is geometric and exact', () => {
    const spec: ParamSpec = { kind: 'float', min: 1e-4, max: 1e-1, step: 10, sampling: 'log' };
    assert.deepEqual(values(spec), [1e-4, 1e-3, 1e-2, 1e-1]);
  });

  test('a float without step has no lattice', () => {
    assert.equal(lattice({ kind: 'float', min: 0, max: 1, sampling: 'linear' }), undefined);
  });

  test('bool is false then true; choice keeps its order', () => {
    assert.deepEqual(values({ kind: 'bool' }), [false, true]);
    assert.deepEqual(values({ kind: 'choice', values: ['b', 'a'] }), ['b', 'a']);
  });
});

describe('distributions', () => {
  test('float log sampling is uniform in log space', () => {
    const spec: ParamSpec = { kind: 'float', min: 1e-6, max: 1e-3, sampling: 'log' };
    const mid = Math.sqrt(1e-6 * 1e-3);
    const below = draws(spec, 5000).filter((v) => (v as number) < mid).length / 5000;
    assert.ok(Math.abs(below - 0.5) < 0.03, `fraction below geometric midpoint: ${below}`);
    // Linear sampling would put ~3% below it: the test tells the two apart.
    const linear = draws({ ...spec, sampling: 'linear' }, 5000).filter((v) => (v as number) < mid).length / 5000;
    assert.ok(linear < 0.05);
  });

  test('int log sampling is uniform in log space', () => {
    const spec: ParamSpec = { kind: 'int', min: 1, max: 10000, sampling: 'log' };
    const below = draws(spec, 5000).filter((v) => (v as number) < 100).length / 5000;
    // Log-uniform over [min - 0.5, max + 0.5], then rounded: 1..99 own [0.5, 99.5).
    const expected = Math.log(99.5 / 0.5) / Math.log(10000.5 / 0.5);
    assert.ok(Math.abs(below - expected) < 0.025, `fraction below 100: ${below}, expected ${expected}`);
    // A linear draw would put ~1% there.
    assert.ok(below > 0.4);
  });

  test('float linear sampling is uniform', () => {
    const spec: ParamSpec = { kind: 'float', min: 0, max: 0.3, sampling: 'linear' };
    const below = draws(spec, 5000).filter((v) => (v as number) < 0.15).length / 5000;
    assert.ok(Math.abs(below - 0.5) < 0.03, `fraction below midpoint: ${below}`);
  });

  test('choice and bool are uniform over their values', () => {
    for (const spec of [{ kind: 'choice', values: ['a', 'b', 'c'] }, { kind: 'bool' }] as ParamSpec[]) {
      const all = draws(spec, 6000);
      const n = values(spec).length;
      for (const v of values(spec)) {
        const share = all.filter((x) => x === v).length / 6000;
        assert.ok(Math.abs(share - 1 / n) < 0.03, `${String(v)}: ${share}`);
      }
    }
  });

  test('fixed always gives its value', () => {
    assert.deepEqual([...new Set(draws({ kind: 'fixed', value: 'adam' }, 100))], ['adam']);
  });
});

describe('toUnit', () => {
  test('is an inverse of fromUnit on every kind', () => {
    const specs: ParamSpec[] = [
      { kind: 'int', min: 100, max: 600, step: 100, sampling: 'linear' },
      { kind: 'int', min: 1, max: 1000, sampling: 'log' },
      { kind: 'int', min: 32, max: 512, step: 2, sampling: 'log' },
      { kind: 'float', min: 1e-6, max: 1e-3, sampling: 'log' },
      { kind: 'float', min: -1, max: 1, sampling: 'linear' },
      { kind: 'float', min: 0, max: 0.3, step: 0.1, sampling: 'linear' },
      { kind: 'choice', values: ['relu', 'elu'] },
      { kind: 'bool' },
    ];
    for (const spec of specs) {
      for (const v of draws(spec, 200)) {
        const u = toUnit(spec, v);
        assert.ok(u !== undefined && u >= 0 && u < 1, `u=${u}`);
        const back = fromUnit(spec, u);
        if (typeof v === 'number' && spec.kind === 'float' && spec.step === undefined) {
          assert.ok(Math.abs((back as number) - v) <= 1e-12 * Math.max(1, Math.abs(v)), `${v} -> ${u} -> ${String(back)}`);
        } else {
          assert.equal(back, v);
        }
      }
    }
  });

  test('is undefined outside the domain', () => {
    assert.equal(toUnit({ kind: 'int', min: 1, max: 5, sampling: 'linear' }, 6), undefined);
    assert.equal(toUnit({ kind: 'choice', values: ['a'] }, 'b'), undefined);
  });
});

describe('inDomain', () => {
  test('checks type, range and lattice', () => {
    const units: ParamSpec = { kind: 'int', min: 100, max: 600, step: 100, sampling: 'linear' };
    assert.equal(inDomain(units, 300), true);
    assert.equal(inDomain(units, 350), false);
    assert.equal(inDomain(units, 700), false);
    assert.equal(inDomain(units, '300'), false);
    assert.equal(inDomain({ kind: 'int', min: 1, max: 4, sampling: 'linear' }, 2.5), false);
    const dropout: ParamSpec = { kind: 'float', min: 0, max: 0.3, sampling: 'linear' };
    assert.equal(inDomain(dropout, 0.3), true);
    assert.equal(inDomain(dropout, 0.31), false);
    assert.equal(inDomain({ kind: 'float', min: 0, max: 0.3, step: 0.1, sampling: 'linear' }, 0.1 + 0.2), true);
    assert.equal(inDomain({ kind: 'float', min: 0, max: 0.3, step: 0.1, sampling: 'linear' }, 0.15), false);
    assert.equal(inDomain({ kind: 'bool' }, 'true'), false);
    assert.equal(inDomain({ kind: 'fixed', value: 1 }, 1), true);
    assert.equal(inDomain({ kind: 'choice', values: ['a'] }, null), false);
  });
});

test('describeDomain reads like a sentence fragment', () => {
  assert.equal(describeDomain({ kind: 'int', min: 2, max: 4, sampling: 'linear' }), 'an integer from 2 to 4');
  assert.equal(
    describeDomain({ kind: 'int', min: 32, max: 512, step: 2, sampling: 'log' }),
    'an integer from 32 to 512, multiplying by 2',
  );
  assert.equal(describeDomain({ kind: 'choice', values: ['sgd', 'momentum'] }), 'one of sgd, momentum');
});
