#!/usr/bin/env node
'use strict';
/**
 * Writes the example data of studies/seed-mlp.yaml: standardized features and
 * a standardized target that is mostly linear with a nonlinear part, shaped
 * like the data in the question tune was built for (a linear regression
 * reaches MAE ≈ 0.13 on it; the nonlinear part is what a network can add).
 *
 *   node studies/data/make-seed-data.js            # rewrites train/val/test.csv
 *
 * Seeded: the same files every time.
 */
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const seedrandom = require('seedrandom');

const FEATURES = 8;
const ROWS = { train: 2000, val: 500, test: 500 };
const rng = seedrandom('tune-seed-data');
const normal = () => {
  // Box–Muller.
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
};

const weights = [0.9, -0.7, 0.55, 0.4, -0.3, 0.2, 0.1, 0.05];
function target(x) {
  const linear = weights.reduce((s, w, j) => s + w * x[j], 0);
  const nonlinear = 0.22 * Math.sin(2.5 * x[0]) + 0.15 * x[1] * x[2] + 0.12 * Math.max(0, x[3]) ** 2 - 0.12 * Math.abs(x[4]);
  return linear + nonlinear + 0.02 * normal();
}

const total = ROWS.train + ROWS.val + ROWS.test;
const X = Array.from({ length: total }, () => Array.from({ length: FEATURES }, normal));
const y = X.map(target);

// Standardize every column with the statistics of the training rows.
const standardize = (col) => {
  const train = col.slice(0, ROWS.train);
  const mean = train.reduce((a, b) => a + b, 0) / train.length;
  const std = Math.sqrt(train.reduce((a, b) => a + (b - mean) ** 2, 0) / train.length);
  return col.map((v) => (v - mean) / std);
};
const columns = [...Array.from({ length: FEATURES }, (_, j) => standardize(X.map((r) => r[j]))), standardize(y)];
const header = [...Array.from({ length: FEATURES }, (_, j) => `x${j}`), 'y'];

let start = 0;
for (const [name, rows] of Object.entries(ROWS)) {
  const lines = [header.join(',')];
  for (let i = start; i < start + rows; i++) lines.push(columns.map((c) => c[i].toFixed(5)).join(','));
  writeFileSync(join(__dirname, `${name}.csv`), `${lines.join('\n')}\n`);
  start += rows;
}

// Report the linear baseline (ordinary least squares on train, MAE on val).
const p = FEATURES + 1;
const A = Array.from({ length: p }, () => new Array(p).fill(0));
const b = new Array(p).fill(0);
for (let i = 0; i < ROWS.train; i++) {
  const row = [1, ...columns.slice(0, FEATURES).map((c) => c[i])];
  for (let r = 0; r < p; r++) {
    b[r] += row[r] * columns[FEATURES][i];
    for (let c = 0; c < p; c++) A[r][c] += row[r] * row[c];
  }
}
for (let k = 0; k < p; k++) {
  for (let r = k + 1; r < p; r++) {
    const f = A[r][k] / A[k][k];
    for (let c = k; c < p; c++) A[r][c] -= f * A[k][c];
    b[r] -= f * b[k];
  }
}
const beta = new Array(p).fill(0);
for (let k = p - 1; k >= 0; k--) {
  beta[k] = (b[k] - A[k].slice(k + 1).reduce((s, a, j) => s + a * beta[k + 1 + j], 0)) / A[k][k];
}
let mae = 0;
for (let i = ROWS.train; i < ROWS.train + ROWS.val; i++) {
  const pred = beta[0] + columns.slice(0, FEATURES).reduce((s, c, j) => s + beta[j + 1] * c[i], 0);
  mae += Math.abs(pred - columns[FEATURES][i]);
}
console.log(`linear regression val MAE: ${(mae / ROWS.val).toFixed(4)}`);
