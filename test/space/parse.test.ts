import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/errors';
import { parseParam, parseParams } from '../../src/space/parse';

/** The UserError that parsing `raw` as parameter `name` throws. */
function errorOf(name: string, raw: unknown): UserError {
  try {
    parseParam(name, raw);
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    return e;
  }
  assert.fail(`parsing ${JSON.stringify(raw)} did not throw`);
}

describe('valid specs', () => {
  test('int and float default to linear sampling and keep their keys', () => {
    assert.deepEqual(parseParam('layers', { type: 'int', min: 2, max: 4 }), { kind: 'int', min: 2, max: 4, sampling: 'linear' });
    assert.deepEqual(parseParam('l2', { type: 'float', min: 1e-6, max: 1e-3, sampling: 'log' }), {
      kind: 'float',
      min: 1e-6,
      max: 1e-3,
      sampling: 'log',
    });
    assert.deepEqual(parseParam('units', { type: 'int', min: 100, max: 600, step: 100 }), {
      kind: 'int',
      min: 100,
      max: 600,
      step: 100,
      sampling: 'linear',
    });
  });

  test('choice, bool, fixed', () => {
    assert.deepEqual(parseParam('a', { type: 'choice', values: ['relu', 'elu'] }), { kind: 'choice', values: ['relu', 'elu'] });
    assert.deepEqual(parseParam('b', { type: 'bool' }), { kind: 'bool' });
    assert.deepEqual(parseParam('c', { type: 'fixed', value: 0.01 }), { kind: 'fixed', value: 0.01 });
  });

  test('a plain scalar means fixed', () => {
    assert.deepEqual(parseParam('epochs', 100), { kind: 'fixed', value: 100 });
    assert.deepEqual(parseParam('opt', 'adam'), { kind: 'fixed', value: 'adam' });
    assert.deepEqual(parseParam('bn', false), { kind: 'fixed', value: false });
  });

  test('when accepts lists and a bare scalar as a one-item list, dropping repeats', () => {
    assert.deepEqual(parseParam('m', { type: 'bool', when: { optimizer: ['momentum', 'momentum', 'nesterov'] } }).when, {
      optimizer: ['momentum', 'nesterov'],
    });
    assert.deepEqual(parseParam('m', { type: 'bool', when: { optimizer: 'momentum' } }).when, { optimizer: ['momentum'] });
  });

  test('parseParams keeps declaration order', () => {
    const names = parseParams({ b: 1, a: { type: 'bool' }, c: 'x' }).map(([n]) => n);
    assert.deepEqual(names, ['b', 'a', 'c']);
  });
});

describe('numeric errors', () => {
  test('min greater than max', () => {
    const e = errorOf('units', { type: 'int', min: 600, max: 100 });
    assert.equal(e.field, 'units.min');
    assert.equal(e.problem, 'min (600) is greater than max (100)');
    assert.equal(e.fix, 'swap min and max');
  });

  test('log sampling with min <= 0', () => {
    for (const min of [0, -1]) {
      const e = errorOf('l2', { type: 'float', min, max: 1e-3, sampling: 'log' });
      assert.equal(e.field, 'l2.min');
      assert.equal(e.problem, 'log sampling needs min > 0');
      assert.equal(e.fix, 'set min to a positive number or use sampling: linear');
    }
  });

  test('int with non-integer min, max or step', () => {
    assert.equal(errorOf('units', { type: 'int', min: 1.5, max: 4 }).field, 'units.min');
    assert.equal(errorOf('units', { type: 'int', min: 1, max: 4.2 }).field, 'units.max');
    const e = errorOf('units', { type: 'int', min: 1, max: 4, step: 0.5 });
    assert.equal(e.field, 'units.step');
    assert.match(e.problem, /integer/);
    assert.match(e.fix, /type: float/);
  });

  test('step <= 0', () => {
    for (const step of [0, -0.1]) {
      const e = errorOf('dropout', { type: 'float', min: 0, max: 0.3, step });
      assert.equal(e.field, 'dropout.step');
      assert.match(e.problem, /greater than 0/);
    }
  });

  test('step larger than the range', () => {
    const e = errorOf('units', { type: 'int', min: 100, max: 600, step: 1000 });
    assert.equal(e.field, 'units.step');
    assert.equal(e.problem, 'step (1000) is larger than the range 100..600');
    // Equal to the range is fine: both ends.
    assert.deepEqual(parseParam('u', { type: 'int', min: 100, max: 600, step: 500 }).kind, 'int');
  });

  test('log step must be a factor above 1 that fits the range', () => {
    const e = errorOf('units', { type: 'int', min: 32, max: 512, step: 1, sampling: 'log' });
    assert.equal(e.field, 'units.step');
    assert.match(e.problem, /greater than 1/);
    assert.equal(errorOf('units', { type: 'int', min: 32, max: 512, step: 32, sampling: 'log' }).field, 'units.step');
  });

  test('missing min or max', () => {
    const e = errorOf('units', { type: 'int', max: 4 });
    assert.equal(e.field, 'units.min');
    assert.equal(e.problem, 'missing min');
    assert.equal(errorOf('units', { type: 'float', min: 4 }).field, 'units.max');
  });

  test('wrong value types', () => {
    const quoted = errorOf('units', { type: 'int', min: '100', max: 600 });
    assert.equal(quoted.field, 'units.min');
    assert.equal(quoted.problem, 'min must be a number, got the string "100"');
    assert.equal(quoted.fix, 'write 100 without quotes');
    assert.equal(errorOf('units', { type: 'int', min: 1, max: [4] }).field, 'units.max');
    assert.equal(errorOf('units', { type: 'float', min: 0, max: Infinity }).field, 'units.max');
    assert.equal(errorOf('units', { type: 'float', min: 0, max: 1, step: null }).field, 'units.step');
  });

  test('unknown sampling suggests the closest', () => {
    const e = errorOf('l2', { type: 'float', min: 1, max: 2, sampling: 'lgo' });
    assert.equal(e.field, 'l2.sampling');
    assert.equal(e.fix, 'did you mean log?');
    assert.equal(errorOf('l2', { type: 'float', min: 1, max: 2, sampling: 3 }).field, 'l2.sampling');
  });
});

describe('type and key errors', () => {
  test('unknown type suggests the closest kind', () => {
    const e = errorOf('units', { type: 'itn', min: 1, max: 2 });
    assert.equal(e.field, 'units.type');
    assert.equal(e.problem, 'unknown type itn');
    assert.equal(e.fix, 'did you mean int?');
    assert.equal(errorOf('x', { type: 'flot' }).fix, 'did you mean float?');
    assert.equal(errorOf('x', { type: 'categorical' }).fix, 'did you mean choice?');
    assert.equal(errorOf('x', { type: 'integer' }).fix, 'did you mean int?');
    assert.match(errorOf('x', { type: 'zzzzzzzz' }).fix, /int, float, choice, bool, fixed/);
  });

  test('missing type guesses from the other keys', () => {
    const e = errorOf('act', { values: ['relu'] });
    assert.equal(e.field, 'act.type');
    assert.equal(e.problem, 'missing type');
    assert.equal(e.fix, 'add type: choice');
    assert.equal(errorOf('u', { min: 1, max: 4 }).fix, 'add type: int');
    assert.equal(errorOf('d', { min: 0, max: 0.5 }).fix, 'add type: float');
    assert.equal(errorOf('d', { type: 5 }).field, 'd.type');
  });

  test('unknown key suggests the closest valid key', () => {
    const e = errorOf('units', { type: 'int', mni: 1, max: 4 });
    assert.equal(e.field, 'units.mni');
    assert.equal(e.problem, 'unknown key mni for an int parameter');
    assert.equal(e.fix, 'did you mean min?');
  });

  test('a key of another kind says which kind it belongs to', () => {
    const e = errorOf('units', { type: 'int', values: [1, 2] });
    assert.equal(e.field, 'units.values');
    assert.match(e.fix, /belongs to type: choice/);
  });
});

describe('choice and fixed errors', () => {
  test('values missing, not a list, empty', () => {
    assert.equal(errorOf('a', { type: 'choice' }).field, 'a.values');
    const notList = errorOf('a', { type: 'choice', values: 'relu' });
    assert.equal(notList.field, 'a.values');
    assert.equal(notList.fix, 'write values: [relu, …]');
    assert.equal(errorOf('a', { type: 'choice', values: [] }).problem, 'values is empty');
  });

  test('duplicate values', () => {
    const e = errorOf('a', { type: 'choice', values: ['relu', 'elu', 'relu'] });
    assert.equal(e.field, 'a.values');
    assert.equal(e.problem, 'relu is listed twice');
    // Same text, different type: not a duplicate.
    assert.deepEqual(parseParam('a', { type: 'choice', values: [1, '1'] }), { kind: 'choice', values: [1, '1'] });
  });

  test('non-scalar value names its position', () => {
    const e = errorOf('a', { type: 'choice', values: ['relu', { x: 1 }] });
    assert.equal(e.field, 'a.values.1');
    assert.match(e.problem, /item 2 is a mapping/);
  });

  test('fixed value missing or not a scalar', () => {
    assert.equal(errorOf('lr', { type: 'fixed' }).field, 'lr.value');
    assert.equal(errorOf('lr', { type: 'fixed', value: [1] }).field, 'lr.value');
  });
});

describe('plain value errors', () => {
  test('a list suggests a choice', () => {
    const e = errorOf('act', ['relu', 'elu']);
    assert.equal(e.field, 'act');
    assert.equal(e.problem, 'a plain list is not a parameter spec');
    assert.equal(e.fix, 'write { type: choice, values: [relu, elu] }');
  });

  test('empty and non-finite values', () => {
    assert.equal(errorOf('epochs', null).field, 'epochs');
    assert.equal(errorOf('epochs', Number.POSITIVE_INFINITY).field, 'epochs');
  });
});

describe('when syntax errors', () => {
  test('not a mapping, empty, empty list, non-scalar value', () => {
    assert.equal(errorOf('m', { type: 'bool', when: ['optimizer'] }).field, 'm.when');
    assert.equal(errorOf('m', { type: 'bool', when: {} }).field, 'm.when');
    assert.equal(errorOf('m', { type: 'bool', when: { optimizer: [] } }).field, 'm.when.optimizer');
    assert.equal(errorOf('m', { type: 'bool', when: { optimizer: [{ a: 1 }] } }).field, 'm.when.optimizer');
  });
});

describe('the space mapping', () => {
  test('must be a non-empty mapping', () => {
    for (const raw of [null, [], 'x', {}]) {
      assert.throws(() => parseParams(raw), (e: unknown) => e instanceof UserError && e.field === '');
    }
  });

  test('errors carry the parameter name', () => {
    assert.throws(
      () => parseParams({ layers: { type: 'int', min: 2, max: 4 }, units: { type: 'int', min: 600, max: 100 } }),
      (e: unknown) => e instanceof UserError && e.field === 'units.min',
    );
  });
});
