import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import seedrandom from 'seedrandom';
import { UserError } from '../../src/errors';
import { Space } from '../../src/space';
import { inDomain } from '../../src/space/param';
import type { Params } from '../../src/space';

/** The example space of a study file. */
const EXAMPLE = {
  layers: { type: 'int', min: 2, max: 4 },
  units: { type: 'int', min: 100, max: 600, step: 100 },
  activation: { type: 'choice', values: ['relu', 'elu'] },
  batch_norm: { type: 'bool' },
  dropout: { type: 'float', min: 0.0, max: 0.3 },
  l2: { type: 'float', min: 1.0e-6, max: 1.0e-3, sampling: 'log' },
  optimizer: { type: 'choice', values: ['sgd', 'momentum', 'adam'] },
  momentum: { type: 'float', min: 0.5, max: 0.99, when: { optimizer: ['momentum'] } },
  lr_fixed: { type: 'fixed', value: 0.01 },
  epochs: 100,
};

const NESTED = {
  optimizer: { type: 'choice', values: ['sgd', 'momentum'] },
  momentum: { type: 'choice', values: [0.5, 0.9], when: { optimizer: ['momentum'] } },
  nesterov: { type: 'bool', when: { momentum: [0.9] } },
};

function samples(space: Space, n: number, seed = 's'): Params[] {
  const rng = seedrandom(seed);
  return Array.from({ length: n }, () => space.sample(rng));
}

describe('sample', () => {
  const space = Space.parse(EXAMPLE);

  test('stays in every parameter’s domain, with exactly the active parameters', () => {
    for (const params of samples(space, 2000)) {
      assert.deepEqual(space.problems(params), []);
      for (const [name, value] of Object.entries(params)) assert.ok(inDomain(space.spec(name), value));
      assert.equal(params['lr_fixed'], 0.01);
      assert.equal(params['epochs'], 100);
    }
  });

  test('momentum is present iff optimizer is momentum, and each case occurs', () => {
    let withMomentum = 0;
    for (const params of samples(space, 600)) {
      assert.equal('momentum' in params, params['optimizer'] === 'momentum');
      if ('momentum' in params) withMomentum++;
    }
    assert.ok(withMomentum > 100 && withMomentum < 300, `${withMomentum}`);
  });

  test('nested conditions: nesterov iff momentum 0.9 (itself only under momentum)', () => {
    const nested = Space.parse(NESTED);
    const seen = new Set<string>();
    for (const params of samples(nested, 400)) {
      assert.equal('momentum' in params, params['optimizer'] === 'momentum');
      assert.equal('nesterov' in params, params['momentum'] === 0.9);
      seen.add(nested.key(params));
    }
    assert.equal(seen.size, nested.gridSize());
  });

  test('is deterministic for a seed and differs between seeds', () => {
    assert.deepEqual(samples(space, 20, 'a'), samples(space, 20, 'a'));
    assert.notDeepEqual(samples(space, 20, 'a'), samples(space, 20, 'b'));
  });

  test('keys follow declaration order', () => {
    const [params] = samples(space, 1);
    assert.deepEqual(Object.keys(params ?? {}).filter((n) => n !== 'momentum'), space.names.filter((n) => n !== 'momentum'));
  });

  test('a fixed parameter takes no draw, so adding one does not move the others', () => {
    const withFixed = Space.parse({ a: { type: 'int', min: 1, max: 100 }, f: 3, b: { type: 'float', min: 0, max: 1 } });
    const without = Space.parse({ a: { type: 'int', min: 1, max: 100 }, b: { type: 'float', min: 0, max: 1 } });
    const strip = (ps: Params[]) => ps.map(({ a, b }) => ({ a, b }));
    assert.deepEqual(strip(samples(withFixed, 50)), strip(samples(without, 50)));
  });

  test('an inactive parameter still takes its draw, so later parameters do not shift', () => {
    const space = Space.parse({
      gate: { type: 'choice', values: ['off', 'on'] },
      child: { type: 'float', min: 0, max: 1, when: { gate: ['on'] } },
      after: { type: 'float', min: 0, max: 1 },
    });
    // gate, child and after take draws 1, 2 and 3; after (on [0, 1]) is the third draw itself.
    const activity = new Set<boolean>();
    for (let i = 0; i < 40; i++) {
      const reference = seedrandom(`x${i}`);
      reference();
      reference();
      const params = space.sample(seedrandom(`x${i}`));
      assert.equal(params['after'], reference());
      activity.add('child' in params);
    }
    assert.equal(activity.size, 2, 'both active and inactive child must occur');
  });
});

describe('isActive', () => {
  const space = Space.parse(NESTED);

  test('follows the chain of parents', () => {
    assert.equal(space.isActive('nesterov', { optimizer: 'momentum', momentum: 0.9 }), true);
    assert.equal(space.isActive('nesterov', { optimizer: 'momentum', momentum: 0.5 }), false);
    // momentum 0.9 is listed, but momentum itself is inactive under sgd.
    assert.equal(space.isActive('nesterov', { optimizer: 'sgd', momentum: 0.9 }), false);
    assert.equal(space.isActive('optimizer', {}), true);
    assert.equal(space.isActive('momentum', {}), false);
  });
});

describe('grid', () => {
  test('optimizer × momentum when momentum gives 3 cells', () => {
    const space = Space.parse({
      optimizer: { type: 'choice', values: ['sgd', 'momentum'] },
      momentum: { type: 'choice', values: [0.5, 0.9], when: { optimizer: ['momentum'] } },
    });
    assert.equal(space.isFinite(), true);
    assert.equal(space.gridSize(), 3);
    assert.deepEqual(space.grid(), [
      { optimizer: 'sgd' },
      { optimizer: 'momentum', momentum: 0.5 },
      { optimizer: 'momentum', momentum: 0.9 },
    ]);
  });

  test('a float without step makes the space non-finite', () => {
    const space = Space.parse(EXAMPLE);
    assert.equal(space.isFinite(), false);
    assert.equal(space.gridSize(), Infinity);
    try {
      space.grid();
      assert.fail('grid() did not throw');
    } catch (e) {
      assert.ok(e instanceof UserError);
      assert.equal(e.field, 'dropout');
      assert.equal(e.problem, 'a grid needs a finite set: dropout is a float without step');
      assert.equal(e.fix, 'give it a step, or use type: choice with values');
    }
  });

  test('assertFinite passes on a finite space', () => {
    assert.doesNotThrow(() => Space.parse(NESTED).assertFinite());
  });
});

describe('values', () => {
  test('lists finite domains and is undefined for a float without step', () => {
    const space = Space.parse(EXAMPLE);
    assert.deepEqual(space.values('units'), [100, 200, 300, 400, 500, 600]);
    assert.deepEqual(space.values('activation'), ['relu', 'elu']);
    assert.deepEqual(space.values('batch_norm'), [false, true]);
    assert.deepEqual(space.values('epochs'), [100]);
    assert.equal(space.values('dropout'), undefined);
  });
});

describe('key', () => {
  const space = Space.parse(NESTED);

  test('is stable under key order', () => {
    assert.equal(space.key({ optimizer: 'momentum', momentum: 0.5 }), space.key({ momentum: 0.5, optimizer: 'momentum' }));
  });

  test('tells values and types apart', () => {
    assert.notEqual(space.key({ optimizer: 'sgd' }), space.key({ optimizer: 'momentum' }));
    assert.notEqual(space.key({ a: 1 }), space.key({ a: '1' }));
    assert.notEqual(space.key({ a: true }), space.key({ a: 'true' }));
    assert.notEqual(space.key({ a: 1 }), space.key({ a: 1, b: 1 }));
  });
});

describe('contains and problems', () => {
  const space = Space.parse(NESTED);

  test('accepts exactly the active set with values in their domains', () => {
    assert.equal(space.contains({ optimizer: 'sgd' }), true);
    assert.equal(space.contains({ optimizer: 'momentum', momentum: 0.9, nesterov: true }), true);
  });

  test('names what is wrong', () => {
    assert.deepEqual(space.problems({ optimizer: 'momentum' }), ['momentum is missing']);
    assert.deepEqual(space.problems({ optimizer: 'sgd', momentum: 0.5 }), ['momentum is set but its when condition does not hold']);
    assert.deepEqual(space.problems({ optimizer: 'adam' }), ['optimizer = adam is not one of sgd, momentum']);
    assert.deepEqual(space.problems({ optimizer: 'sgd', lr: 1 }), ['unknown parameter lr']);
    assert.equal(space.contains({}), false);
  });
});

describe('spec and names', () => {
  const space = Space.parse(EXAMPLE);

  test('names are in declaration order; order puts parents first', () => {
    assert.deepEqual(space.names, Object.keys(EXAMPLE));
    const reordered = Space.parse({ m: { type: 'bool', when: { o: ['x'] } }, o: { type: 'choice', values: ['x', 'y'] } });
    assert.deepEqual(reordered.names, ['m', 'o']);
    assert.deepEqual(reordered.order, ['o', 'm']);
  });

  test('spec of an unknown name is a UserError with a suggestion', () => {
    assert.deepEqual(space.spec('units'), { kind: 'int', min: 100, max: 600, step: 100, sampling: 'linear' });
    assert.throws(
      () => space.spec('unit'),
      (e: unknown) => e instanceof UserError && e.field === 'unit' && e.fix === 'did you mean units?',
    );
    assert.equal(space.has('units'), true);
    assert.equal(space.has('unit'), false);
  });
});

describe('serialisation', () => {
  test('toJSON writes the study-file spelling in declaration order', () => {
    const json = Space.parse(EXAMPLE).toJSON();
    assert.deepEqual(Object.keys(json), Object.keys(EXAMPLE));
    assert.deepEqual(json['units'], { type: 'int', min: 100, max: 600, step: 100, sampling: 'linear' });
    assert.deepEqual(json['momentum'], { type: 'float', min: 0.5, max: 0.99, sampling: 'linear', when: { optimizer: ['momentum'] } });
    assert.deepEqual(json['epochs'], { type: 'fixed', value: 100 });
    assert.deepEqual(json['batch_norm'], { type: 'bool' });
  });

  test('fromJSON round-trips through JSON text', () => {
    for (const raw of [EXAMPLE, NESTED]) {
      const space = Space.parse(raw);
      const back = Space.fromJSON(JSON.parse(JSON.stringify(space)));
      assert.deepEqual(back.toJSON(), space.toJSON());
      assert.deepEqual(back.names, space.names);
      assert.deepEqual(samples(back, 30), samples(space, 30));
    }
  });

  test('fromSpecs validates like a study file', () => {
    const space = Space.fromSpecs({ a: { kind: 'int', min: 1, max: 3, sampling: 'linear' } });
    assert.deepEqual(space.values('a'), [1, 2, 3]);
    assert.throws(() => Space.fromSpecs({ a: { kind: 'int', min: 3, max: 1, sampling: 'linear' } }), UserError);
  });
});
