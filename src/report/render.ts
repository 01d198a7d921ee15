/**
 * Vega-Lite spec → SVG, and the self-contained HTML page around it. The only
 * module that loads vega: vega and vega-lite are ES modules, which this
 * CommonJS build reaches through a real dynamic `import()` (kept as such by
 * TypeScript under `module: node16`), loaded on first use.
 */
import type { TopLevelSpec } from 'vega-lite' with { 'resolution-mode': 'import' };

/**
 * Compiles a Vega-Lite spec to Vega and renders it headless (no canvas, no
 * DOM) to an SVG document. Warnings of vega-lite and vega (a spec the
 * libraries had to correct) go to `warn`, not to the console; errors throw.
 */
export async function renderSvg(spec: TopLevelSpec, warn: (message: string) => void = () => {}): Promise<string> {
  const [vl, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const logger = vega.logger(vega.Warn, 'warn', (method, _level, args) => {
    const message = args.map(String).join(' ');
    if (method === 'error') throw new Error(message);
    warn(message);
  });
  const compiled = vl.compile(spec, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A page that shows `svg` with nothing fetched from anywhere: no scripts, no fonts, no CDN. */
export function htmlPage(title: string, svg: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    '<style>',
    'body { margin: 24px; background: #fafafa; font-family: sans-serif; }',
    'svg { background: white; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.15); max-width: 100%; height: auto; }',
    '</style>',
    '</head>',
    '<body>',
    svg,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
