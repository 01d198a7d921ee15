import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/errors';
import { checkConditions, dependencyOrder } from '../../src/space/conditions';
import { parseParams } from '../../src/space/parse';

function check(raw: Record<string, unknown>) {
  return checkConditions(parseParams(raw));
}

function errorOf(raw: Record<string, unknown>): UserError {
  try {
    check(raw);
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    return e;
  }
  assert.fail('no error');
}

const optimizer = { type: 'choice', values: ['sgd', 'momentum'] };

describe('checkConditions', () => {
  test('accepts conditions on existing parameters and values', () => {
    const checked = check({ optimizer, momentum: { type: 'float', min: 0.5, max: 0.99, when: { optimizer: ['momentum'] } } });
    assert.deepEqual(checked[1]?.[1].when, { optimizer: ['momentum'] });
  });

  test('unknown parent suggests the closest parameter', () => {
    const e = errorOf({ optimizer, momentum: { type: 'bool', when: { optimzer: ['momentum'] } } });
    assert.equal(e.field, 'momentum.when.optimzer');
    assert.equal(e.problem, 'unknown parameter optimzer');
    assert.equal(e.fix, 'did you mean optimizer?');
  });

  test('a parameter cannot depend on itself', () => {
    const e = errorOf({ optimizer, m: { type: 'choice', values: ['a', 'b'], when: { m: ['a'] } } });
    assert.equal(e.field, 'm.when.m');
    assert.equal(e.problem, 'a parameter cannot depend on itself');
  });

  test('listed values must be values the parent can take', () => {
    const e = errorOf({ optimizer, momentum: { type: 'bool', when: { optimizer: ['momentun'] } } });
    assert.equal(e.field, 'momentum.when.optimizer');
    assert.equal(e.problem, 'momentun is not a value optimizer can take (one of sgd, momentum)');
    assert.equal(e.fix, 'did you mean momentum?');
  });

  test('a value of the wrong type says so', () => {
    const e = errorOf({ layers: { type: 'int', min: 1, max: 3 }, extra: { type: 'bool', when: { layers: ['3'] } } });
    assert.equal(e.field, 'extra.when.layers');
    assert.equal(e.fix, 'write 3 (a number, not a string)');
    const b = errorOf({ bn: { type: 'bool' }, m: { type: 'bool', when: { bn: ['yes'] } } });
    assert.equal(b.field, 'm.when.bn');
  });

  test('an int value off the step lattice is rejected', () => {
    const e = errorOf({ units: { type: 'int', min: 100, max: 600, step: 100 }, x: { type: 'bool', when: { units: [150] } } });
    assert.equal(e.field, 'x.when.units');
  });

  test('a float without step cannot be a parent', () => {
    const e = errorOf({ d: { type: 'float', min: 0, max: 1 }, x: { type: 'bool', when: { d: [0.5] } } });
    assert.equal(e.field, 'x.when.d');
    assert.match(e.problem, /float without step/);
  });

  test('listed values take the parent’s own spelling', () => {
    const checked = check({
      d: { type: 'float', min: 0, max: 0.3, step: 0.1 },
      x: { type: 'bool', when: { d: [0.1 + 0.2] } },
    });
    assert.deepEqual(checked[1]?.[1].when, { d: [0.3] });
  });

  test('cycles are reported at their first edge', () => {
    const e = errorOf({
      a: { type: 'choice', values: [1, 2], when: { b: [true] } },
      b: { type: 'bool', when: { a: [1] } },
    });
    assert.equal(e.field, 'a.when.b');
    assert.match(e.problem, /cycle.*a → b → a/);
  });

  test('a longer cycle behind a valid parameter is found', () => {
    const e = errorOf({
      root: { type: 'bool' },
      a: { type: 'bool', when: { c: [true], root: [true] } },
      b: { type: 'bool', when: { a: [true] } },
      c: { type: 'bool', when: { b: [true] } },
    });
    assert.equal(e.field, 'a.when.c');
    assert.match(e.problem, /a → c → b → a/);
  });
});

describe('dependencyOrder', () => {
  test('keeps declaration order when parents come first', () => {
    assert.deepEqual(dependencyOrder(check({ a: 1, optimizer, m: { type: 'bool', when: { optimizer: ['sgd'] } } })), [
      'a',
      'optimizer',
      'm',
    ]);
  });

  test('moves a parent before a child declared earlier', () => {
    const order = dependencyOrder(
      check({ m: { type: 'bool', when: { optimizer: ['sgd'] } }, a: 1, optimizer, n: { type: 'bool', when: { m: [true] } } }),
    );
    assert.deepEqual(order, ['a', 'optimizer', 'm', 'n']);
  });
});
