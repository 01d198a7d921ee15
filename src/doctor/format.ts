/**
 * Number and list formatting for the doctor's sentences: short, stable, and
 * the same on every machine (no locale).
 */

/** 4 significant digits; plain decimals down to 0.0001 (a min_delta of 0.0005 reads as the user wrote it). */
export function num(v: number | undefined): string {
  if (v === undefined) return '?';
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-4 || a >= 1e6) ? v.toExponential(1) : Number(v.toPrecision(4)).toString();
}

/** A fraction as a percentage: `0.083` → `8%`, `0.004` → `0.4%`. */
export function pct(fraction: number): string {
  const p = fraction * 100;
  if (!Number.isFinite(p)) return String(p);
  const a = Math.abs(p);
  if (a === 0 || a >= 10) return `${Math.round(p)}%`;
  if (a >= 1) return `${Number(p.toFixed(1))}%`;
  return `${Number(p.toPrecision(1))}%`;
}

/** A ratio to 2 decimals: `0.98`, `1.07`. */
export function ratio(r: number): string {
  return Number.isFinite(r) ? r.toFixed(2) : String(r);
}

/** `6–9`, or `7` when all are equal; numbers via `num`. */
export function span(values: readonly number[]): string {
  if (values.length === 0) return '?';
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? num(lo) : `${num(lo)}–${num(hi)}`;
}

/** How many trial numbers a sentence lists before it says "and N more". */
export const LISTED_TRIALS = 8;

/** `#3, #7, #9` or `#1, #2, …, #8 and 4 more`, in the order given. */
export function trialRefs(numbers: readonly number[], max = LISTED_TRIALS): string {
  const shown = numbers.slice(0, max).map((n) => `#${n}`);
  const rest = numbers.length - shown.length;
  return rest > 0 ? `${shown.join(', ')} and ${rest} more` : shown.join(', ');
}

/** `1 trial`, `3 trials`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Rounds down to one significant digit: 0.0273 → 0.02, 0.008 → 0.008. */
export function floorOneDigit(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return v;
  const p = 10 ** Math.floor(Math.log10(v));
  return Number((Math.floor(v / p) * p).toPrecision(1));
}

/** A number in the YAML a user would write: `1.0e-4`, `0.01`, `20`. */
export function yamlNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && a < 1e-3) {
    const [mantissa, exp] = v.toExponential().split('e') as [string, string];
    const m = mantissa.includes('.') ? mantissa : `${mantissa}.0`;
    return `${m}e${exp.startsWith('-') ? exp : exp.replace('+', '')}`;
  }
  return String(Number(v.toPrecision(6)));
}
