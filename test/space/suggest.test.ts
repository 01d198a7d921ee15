import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closestMatch, suggestFix, show } from '../../src/space/suggest';

test('closestMatch finds typos, transpositions and case slips', () => {
  assert.equal(closestMatch('mni', ['type', 'min', 'max', 'step']), 'min');
  assert.equal(closestMatch('flot', ['int', 'float', 'choice']), 'float');
  assert.equal(closestMatch('Log', ['linear', 'log']), 'log');
  assert.equal(closestMatch('momentun', ['sgd', 'momentum']), 'momentum');
});

test('closestMatch offers nothing when nothing is close', () => {
  assert.equal(closestMatch('epochs', ['lr', 'units']), undefined);
  assert.equal(closestMatch('x', []), undefined);
});

test('suggestFix falls back to the full menu', () => {
  assert.equal(suggestFix('mni', ['min', 'max']), 'did you mean min?');
  assert.equal(suggestFix('zzzzzz', ['min', 'max']), 'use one of: min, max');
});

test('show quotes strings only where bare text would read as another type', () => {
  assert.equal(show('relu'), 'relu');
  assert.equal(show('1'), '"1"');
  assert.equal(show('true'), '"true"');
  assert.equal(show(''), '""');
  assert.equal(show(1), '1');
  assert.equal(show(false), 'false');
});

test('closestMatch offers nothing on a real tie', () => {
  assert.equal(closestMatch('x4', ['x1', 'x2', 'x3', 'target']), undefined);
  assert.equal(closestMatch('val_mea', ['val_mae', 'val_mse', 'mae']), 'val_mae');
});
