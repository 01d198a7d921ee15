import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { gridCells, gridCount } from '../../src/space/grid';
import { Space } from '../../src/space/space';

function cells(raw: Record<string, unknown>) {
  return [...gridCells(Space.parse(raw))];
}

describe('gridCells', () => {
  test('earlier-declared parameters vary slowest', () => {
    assert.deepEqual(cells({ a: { type: 'choice', values: [1, 2] }, b: { type: 'bool' }, c: 'fixed' }), [
      { a: 1, b: false, c: 'fixed' },
      { a: 1, b: true, c: 'fixed' },
      { a: 2, b: false, c: 'fixed' },
      { a: 2, b: true, c: 'fixed' },
    ]);
  });

  test('a conditional parameter branches only where active', () => {
    const grid = cells({
      optimizer: { type: 'choice', values: ['sgd', 'momentum'] },
      momentum: { type: 'choice', values: [0.5, 0.9], when: { optimizer: ['momentum'] } },
    });
    assert.deepEqual(grid, [{ optimizer: 'sgd' }, { optimizer: 'momentum', momentum: 0.5 }, { optimizer: 'momentum', momentum: 0.9 }]);
  });

  test('nested conditions', () => {
    const grid = cells({
      optimizer: { type: 'choice', values: ['sgd', 'momentum', 'adam'] },
      momentum: { type: 'float', min: 0.5, max: 0.9, step: 0.4, when: { optimizer: ['momentum'] } },
      nesterov: { type: 'bool', when: { momentum: [0.9] } },
    });
    assert.deepEqual(grid, [
      { optimizer: 'sgd' },
      { optimizer: 'momentum', momentum: 0.5 },
      { optimizer: 'momentum', momentum: 0.9, nesterov: false },
      { optimizer: 'momentum', momentum: 0.9, nesterov: true },
      { optimizer: 'adam' },
    ]);
  });

  test('cells list keys in declaration order even when a parent is declared later', () => {
    const grid = cells({
      momentum: { type: 'choice', values: [0.5], when: { optimizer: ['momentum'] } },
      optimizer: { type: 'choice', values: ['momentum', 'sgd'] },
    });
    assert.deepEqual(grid.map((c) => Object.keys(c)), [['momentum', 'optimizer'], ['optimizer']]);
    assert.deepEqual(grid, [{ momentum: 0.5, optimizer: 'momentum' }, { optimizer: 'sgd' }]);
  });

  test('numeric parameters enumerate their lattices', () => {
    const grid = cells({
      units: { type: 'int', min: 32, max: 128, step: 2, sampling: 'log' },
      dropout: { type: 'float', min: 0, max: 0.2, step: 0.1 },
    });
    assert.equal(grid.length, 9);
    assert.deepEqual(grid.map((c) => c['dropout']).slice(0, 3), [0, 0.1, 0.2]);
    assert.deepEqual([...new Set(grid.map((c) => c['units']))], [32, 64, 128]);
  });

  test('refuses a float without step', () => {
    assert.throws(() => cells({ d: { type: 'float', min: 0, max: 1 } }), /non-finite/);
  });
});

describe('gridCount', () => {
  const spaces: Record<string, Record<string, unknown>> = {
    plain: { a: { type: 'int', min: 1, max: 3 }, b: { type: 'bool' }, c: 7 },
    conditional: {
      optimizer: { type: 'choice', values: ['sgd', 'momentum', 'adam'] },
      momentum: { type: 'float', min: 0.5, max: 0.9, step: 0.1, when: { optimizer: ['momentum'] } },
      nesterov: { type: 'bool', when: { momentum: [0.9, 0.8], optimizer: ['momentum'] } },
      beta: { type: 'choice', values: [0.9, 0.99, 0.999], when: { optimizer: ['adam'] } },
      layers: { type: 'int', min: 1, max: 3 },
      extra: { type: 'bool', when: { layers: [3] } },
    },
    'parent declared last': {
      child: { type: 'int', min: 1, max: 4, when: { parent: [2, 3] } },
      parent: { type: 'int', min: 1, max: 5 },
    },
  };
  for (const [label, raw] of Object.entries(spaces)) {
    test(`equals the number of enumerated cells: ${label}`, () => {
      const space = Space.parse(raw);
      const grid = [...gridCells(space)];
      assert.equal(gridCount(space), grid.length);
      assert.equal(new Set(grid.map((c) => space.key(c))).size, grid.length, 'duplicate cells');
      for (const cell of grid) assert.ok(space.contains(cell), space.problems(cell).join('; '));
    });
  }

  test('the conditional example counts by hand', () => {
    // sgd: 1; momentum: 0.5,0.6,0.7 + 0.8,0.9 × nesterov 2 = 7; adam: 3 → 11, × layers (1, 2, 3 × extra 2 = 4) → 44
    assert.equal(gridCount(Space.parse(spaces['conditional'])), 44);
  });

  test('counts a huge parent without enumerating it', () => {
    const space = Space.parse({
      seed: { type: 'int', min: 1, max: 1_000_000 },
      extra: { type: 'bool', when: { seed: [5, 7] } },
    });
    assert.equal(gridCount(space), 1_000_000 + 2);
  });
});
