/**
 * Crash-injection points, used by the kill -9 tests (like SQLite's own test
 * hooks): with `TUNE_FAULT=<name>` (or `<name>:<k>`) in the environment, the
 * process kills itself with SIGKILL the first (or k-th) time it reaches the
 * point called `<name>`, so a test can check what a crash at exactly that
 * moment leaves on disk. A no-op otherwise (one environment lookup per call).
 *
 * Points: `checkpoint-write` (inside finishTrial's transaction, after the
 * checkpoint row, before commit), `epoch-end` (after an epoch was stored),
 * `between-trials` (after a trial finished, before the next is created).
 */
const hits = new Map<string, number>();

export function faultPoint(name: string): void {
  const spec = process.env.TUNE_FAULT;
  if (spec === undefined || !spec.startsWith(name)) return;
  const [point, k] = spec.split(':');
  if (point !== name) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (n === Number(k ?? 1)) process.kill(process.pid, 'SIGKILL');
}
