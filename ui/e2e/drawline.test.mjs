// drawLine (src/dash/Panels.tsx) draws a time series panel's plain lines
// instead of uPlot's path builder. This test builds it with uPlot into a
// small bundle, draws the same data both ways in Chromium and compares the
// pixels: without gaps they must be the same pixels, at two device pixel
// ratios, two line widths and with a y range that cuts the lines (which
// needs the clip). With gaps uPlot draws through the gap and clips it out,
// so only the pixels at a gap's edges may differ.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { launchBrowser } from './harness.mjs';

const ui = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let dir;
let browser;
let bundle;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'argus-drawline-'));
  const entry = join(dir, 'entry.ts');
  // The entry is outside the project, so uPlot is named by its file (the
  // one Panels.tsx's import of 'uplot' resolves to: one module, not two).
  const uplot = join(ui, 'node_modules', 'uplot', 'dist', 'uPlot.esm.js');
  writeFileSync(entry, `import uPlot from ${JSON.stringify(uplot)};\nimport { drawLine } from ${JSON.stringify(join(ui, 'src', 'dash', 'Panels.tsx'))};\nObject.assign(window, { uPlot, drawLine });\n`);
  await build({
    configFile: false, root: ui, logLevel: 'error',
    build: { outDir: join(dir, 'out'), emptyOutDir: true, minify: false, write: true, lib: { entry, formats: ['iife'], name: 'drawLineTest', fileName: () => 'bundle.js' } },
  });
  bundle = readFileSync(join(dir, 'out', 'bundle.js'), 'utf8');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// compare draws 6 series of 300 points (a few of them missing) with uPlot's
// linear paths and with drawLine, and counts the pixels that differ.
async function compare(dpr, cases) {
  const ctx = await browser.newContext({ viewport: { width: 800, height: 700 }, deviceScaleFactor: dpr });
  const page = await ctx.newPage();
  const css = readFileSync(join(ui, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), 'utf8');
  await page.setContent(`<style>${css}</style><div id="a"></div><div id="b"></div>`);
  await page.addScriptTag({ content: bundle });
  const out = await page.evaluate(async (cases) => {
    const n = 300;
    const xs = Array.from({ length: n }, (_, i) => 1700000000 + i * 120);
    const res = [];
    for (const { spanGaps, range, width, gaps } of cases) {
      const cols = Array.from({ length: 6 }, (_, s) => Array.from({ length: n }, (_, i) => (gaps && (i % 97 === 5 + s || (s === 2 && i > 150 && i < 160)) ? null : Math.sin((i + s * 17) / 23) * (s + 1) + s)));
      const make = (own, el) => new uPlot({
        width: 700, height: 250, legend: { show: false }, cursor: { show: false }, axes: [{ show: false }, { show: false }],
        scales: { x: { time: true }, y: range ? { range: () => range } : {} },
        hooks: own ? { drawSeries: [(u, si) => drawLine(u, si, spanGaps)] } : {},
        series: [{}, ...cols.map((_, i) => ({ stroke: `hsl(${i * 60},70%,40%)`, width, spanGaps, points: { show: false }, ...(own ? { paths: () => null } : {}) }))],
      }, [xs, ...cols], el);
      const a = document.getElementById('a');
      const b = document.getElementById('b');
      a.replaceChildren();
      b.replaceChildren();
      const ua = make(false, a);
      const ub = make(true, b);
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      const { width: cw, height: ch } = ua.ctx.canvas;
      const A = ua.ctx.getImageData(0, 0, cw, ch).data;
      const B = ub.ctx.getImageData(0, 0, cw, ch).data;
      let ink = 0;
      let diff = 0;
      let big = 0;
      for (let i = 0; i < A.length; i += 4) {
        const d = Math.abs(A[i] - B[i]) + Math.abs(A[i + 1] - B[i + 1]) + Math.abs(A[i + 2] - B[i + 2]) + Math.abs(A[i + 3] - B[i + 3]);
        if (A[i + 3] > 0) ink++;
        if (d > 0) diff++;
        if (d > 64) big++;
      }
      res.push({ ink, diff, big });
    }
    return res;
  }, cases);
  await ctx.close();
  return out;
}

describe('drawLine', () => {
  for (const dpr of [1, 2]) {
    it(`draws the pixels uPlot draws for lines without gaps (device pixel ratio ${dpr})`, async () => {
      const cases = [
        { spanGaps: false, range: null, width: 1, gaps: false },
        { spanGaps: false, range: [0, 3], width: 1, gaps: false },
        { spanGaps: false, range: null, width: 2, gaps: false },
        { spanGaps: true, range: null, width: 1, gaps: true },
        { spanGaps: true, range: [0, 3], width: 2, gaps: true },
      ];
      const got = await compare(dpr, cases);
      got.forEach((g, i) => {
        assert.ok(g.ink > 1000, `case ${JSON.stringify(cases[i])}: only ${g.ink} pixels drawn`);
        assert.equal(g.diff, 0, `case ${JSON.stringify(cases[i])}: ${g.diff} of ${g.ink} pixels differ`);
      });
    });

    it(`breaks lines at missing points where uPlot does (device pixel ratio ${dpr})`, async () => {
      const cases = [{ spanGaps: false, range: null, width: 1, gaps: true }, { spanGaps: false, range: [0, 3], width: 2, gaps: true }];
      const got = await compare(dpr, cases);
      got.forEach((g, i) => {
        assert.ok(g.ink > 1000, `case ${JSON.stringify(cases[i])}: only ${g.ink} pixels drawn`);
        // About 20 gap edges: a few clearly different pixels at each.
        assert.ok(g.big < 40 * dpr * dpr * 20, `case ${JSON.stringify(cases[i])}: ${g.big} pixels clearly differ`);
      });
    });
  }
});
