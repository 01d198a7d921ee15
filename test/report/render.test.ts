import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { escapeHtml, htmlPage, renderSvg } from '../../src/report/render';
import { buildPlotSpec } from '../../src/report/spec';
import { input, study } from './fixtures';

/** Basic well-formedness: one root <svg>, balanced <g> groups, no script. */
function assertSvg(svg: string): void {
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.equal((svg.match(/<svg[\s>]/g) ?? []).length, 1);
  assert.equal((svg.match(/<g[\s>]/g) ?? []).length, (svg.match(/<\/g>/g) ?? []).length, 'balanced groups');
  assert.doesNotMatch(svg, /<script/i);
  const [, width, height] = /width="(\d+)" height="(\d+)"/.exec(svg) ?? [];
  assert.ok(Number(width) > 800 && Number(height) > 800, `a readable size (${width}×${height})`);
}

describe('renderSvg', () => {
  test('renders the chart to SVG with its titles, axis titles and the baseline label, without warnings', async () => {
    const warnings: string[] = [];
    const svg = await renderSvg(buildPlotSpec(input()), (w) => warnings.push(w));
    assert.deepEqual(warnings, []);
    assertSvg(svg);
    for (const text of [
      'tune · study constructed',
      'Learning curves of the best 3 trials',
      'val_mae of each complete trial',
      'val_mae by searched parameter',
      '>epoch<',
      '>trial number<',
      '>learning_rate (log scale)<',
      '>optimizer<',
      '>batch_norm<',
      '>linear 0.5<',
      '>linear<',
      '#4  0.2',
      'mae (training)',
    ]) {
      assert.ok(svg.includes(text), `SVG shows ${text}`);
    }
    assert.ok(!svg.includes('>units<'), 'no panel for a fixed parameter');
  });

  test('without a baseline: no "linear" label, the note instead', async () => {
    const svg = await renderSvg(buildPlotSpec(input({ study: study({ baseline: undefined }) })));
    assertSvg(svg);
    assert.ok(!svg.includes('>linear'));
    assert.ok(svg.includes('note: no linear baseline stored for this study'));
  });
});

describe('htmlPage', () => {
  test('a self-contained page: the SVG inline, nothing fetched', () => {
    const page = htmlPage('tune · a<b', '<svg xmlns="http://www.w3.org/2000/svg"></svg>');
    assert.match(page, /^<!DOCTYPE html>/);
    assert.ok(page.includes('<title>tune · a&lt;b</title>'));
    assert.ok(page.includes('<svg xmlns="http://www.w3.org/2000/svg"></svg>'));
    assert.doesNotMatch(page, /<script|<link|src=|@import|url\(/i);
  });

  test('escapeHtml', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
