import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { UserError } from '../errors';
import { buildPlotSpec, curveTrials, DEFAULT_TOP, rankTrials } from '../report/spec';
import { htmlPage, renderSvg } from '../report/render';
import type { EpochLog } from '../trials/storage/types';
import { openExistingStorage, resolveStudy } from './common';

export interface PlotArgs {
  readonly storage: string;
  readonly study?: string;
  /** `.svg` or `.html`. */
  readonly out: string;
  /** How many of the best trials get learning curves; default 5. */
  readonly top?: number;
}

/** The output format `--out` names by its extension, or a UserError. */
export function plotFormat(out: string): 'svg' | 'html' {
  const ext = extname(out).toLowerCase();
  if (ext === '.svg') return 'svg';
  if (ext === '.html' || ext === '.htm') return 'html';
  throw new UserError('--out', `use .svg or .html (got "${out}")`, '');
}

/** `tune plot`: learning curves, objective by trial and by parameter of one study, as SVG or a self-contained HTML page. */
export async function plotCommand(args: PlotArgs): Promise<number> {
  const format = plotFormat(args.out);
  const top = args.top ?? DEFAULT_TOP;
  const storage = await openExistingStorage(args.storage);
  let svg: string;
  let title: string;
  try {
    const study = await resolveStudy(storage, args.storage, args.study, (l) => process.stderr.write(`${l}\n`));
    const trials = await storage.getTrials(study.id);
    const byNumber = new Map(trials.map((t) => [t.number, t]));
    const histories = new Map<number, readonly EpochLog[]>();
    for (const t of rankTrials(trials, study.direction).slice(0, top)) {
      for (const n of curveTrials(t, byNumber)) {
        if (!histories.has(n)) histories.set(n, await storage.getHistory(byNumber.get(n)!.id));
      }
    }
    svg = await renderSvg(buildPlotSpec({ study, trials, histories, top }), (w) => {
      if (process.env.TUNE_DEBUG) process.stderr.write(`tune: vega: ${w}\n`);
    });
    title = `tune · ${study.name}`;
  } finally {
    await storage.close();
  }
  try {
    writeFileSync(args.out, format === 'svg' ? svg : htmlPage(title, svg));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError('--out', `cannot write ${args.out} (${e.code ?? e.message})`, 'give a path in a directory that exists and is writable');
  }
  process.stdout.write(`wrote ${args.out}\n`);
  return 0;
}
