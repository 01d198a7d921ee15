import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { prepareStudy } from '../../src/study/prepare';

/** The example studies the README tells a new user to run. */
const STUDIES = resolve(__dirname, '..', '..', '..', 'studies');

test('every example study file is valid, with its data, and the linear baseline the README quotes', () => {
  const files = readdirSync(STUDIES).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 4, files.join(', '));
  for (const file of files) {
    const prepared = prepareStudy(join(STUDIES, file));
    // "a linear regression gets a validation MAE of 0.13" on the example data.
    assert.equal(prepared.baseline.metrics['val_mae']!.toFixed(2), '0.13', file);
  }
});

test("seed-replica is the question's setup and seed-fixed hands the network the linear part", () => {
  const replica = prepareStudy(join(STUDIES, 'seed-replica.yaml')).config;
  const fixed = prepareStudy(join(STUDIES, 'seed-fixed.yaml')).config;
  const space = (c: typeof replica): Record<string, unknown> => c.space.toJSON() as Record<string, unknown>;
  assert.deepEqual(space(replica)['optimizer'], { type: 'fixed', value: 'sgd' });
  assert.deepEqual(space(replica)['learning_rate'], { type: 'fixed', value: 0.01 });
  assert.ok(replica.callbacks.some((c) => 'early_stopping' in c && c.early_stopping.monitor === 'loss' && c.early_stopping.patience === 5));
  assert.deepEqual(space(fixed)['residual_of_linear'], { type: 'fixed', value: true });
  // One loss for every trial (replica: MAE) gives the baseline a val_loss; a searched loss (fixed) does not.
  const { baseline } = prepareStudy(join(STUDIES, 'seed-replica.yaml'));
  // MAE loss in the training scale: val_mae divided by the target's standard deviation.
  assert.ok(Math.abs(baseline.metrics['val_loss']! * baseline.yScaler.std[0]! - baseline.metrics['val_mae']!) < 1e-12);
  assert.equal(prepareStudy(join(STUDIES, 'seed-fixed.yaml')).baseline.metrics['val_loss'], undefined);
  assert.ok(fixed.callbacks.some((c) => 'early_stopping' in c && c.early_stopping.monitor === 'val_loss' && c.early_stopping.restore_best_weights));
});
