import Table from 'cli-table3';
import type { ParamValue } from '../space/types';

/** Numbers for tables: 4 significant digits, no exponent noise for ordinary sizes. */
export function num(v: number | undefined): string {
  if (v === undefined) return '';
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(2) : Number(v.toPrecision(4)).toString();
}

export function paramText(v: ParamValue | undefined): string {
  if (v === undefined) return '–';
  return typeof v === 'number' ? num(v) : String(v);
}

export function seconds(s: number | undefined): string {
  if (s === undefined) return '';
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A compact cli-table3 table: no rule between rows, no colours (they would end up in pipes). */
export function compactTable(head: string[]): Table.Table {
  return new Table({
    head,
    style: { head: [], border: [], compact: true },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
}
