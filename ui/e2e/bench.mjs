// The UI benchmark: bundle sizes of the first view, and the time from
// navigation to the first graph drawn for a range query over 1,000 series,
// in Debian's Chromium against a real argus that scraped them.
//
//   make bench-ui        (or: ARGUS_BIN=../argus node e2e/bench.mjs)
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { freePort, launchBrowser, startArgus, waitFor } from './harness.mjs';

const series = Number(process.env.SERIES ?? 1000);
const runs = Number(process.env.RUNS ?? 7);
const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, '..', '..', 'internal', 'ui', 'dist');

// Sizes: what the first view loads is index.html and the assets it names.
function sizes() {
  const index = readFileSync(join(dist, 'index.html'), 'utf8');
  const named = [...index.matchAll(/\/assets\/([^"]+)/g)].map((m) => m[1]);
  let raw = 0;
  let gz = 0;
  for (const n of named) {
    const b = readFileSync(join(dist, 'assets', n));
    raw += b.length;
    gz += gzipSync(b, { level: 9 }).length;
  }
  const all = readdirSync(join(dist, 'assets')).filter((n) => !n.endsWith('.gz'));
  const total = all.reduce((s, n) => s + statSync(join(dist, 'assets', n)).size, 0);
  return { named, raw, gz, total };
}

// A target with `series` counters that move every scrape.
async function target() {
  const port = await freePort();
  let n = 0;
  const srv = createServer((_req, res) => {
    n++;
    let body = '# TYPE bench_requests_total counter\n';
    for (let i = 0; i < series; i++) body += `bench_requests_total{path="/p${i}",code="${200 + (i % 5)}"} ${n * (i + 1)}\n`;
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(body);
  });
  await new Promise((ok) => srv.listen(port, '127.0.0.1', ok));
  return { port, close: () => srv.close() };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const s = sizes();
console.log(`first view: ${s.named.join(', ')}`);
console.log(`first view JS+CSS: ${(s.raw / 1024).toFixed(1)} kB raw, ${(s.gz / 1024).toFixed(1)} kB gzipped (budget 300 kB gzipped)`);
console.log(`all assets: ${(s.total / 1024).toFixed(1)} kB raw`);

const t = await target();
const argus = await startArgus({
  extraConfig: `scrape_configs:
  - job_name: bench
    scrape_interval: 1s
    static_configs: [{targets: ["127.0.0.1:${t.port}"]}]
`,
});
const browser = await launchBrowser();
try {
  await waitFor(async () => {
    const r = await (await fetch(`${argus.url}/api/v1/query?query=count(bench_requests_total)`)).json();
    return Number(r.data.result[0]?.value[1] ?? 0) === series;
  }, 'the bench target to be scraped');
  await new Promise((r) => setTimeout(r, 5000));
  const expr = 'rate(bench_requests_total[1m])';
  const times = [];
  const apiTimes = [];
  for (let i = 0; i < runs + 1; i++) {
    // A new context each time: nothing cached, as a first visit.
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    const url = `${argus.url}/query?${new URLSearchParams({ expr, tab: 'graph', range: '5m' })}`;
    const t0 = Date.now();
    await page.goto(url, { waitUntil: 'commit' });
    await page.waitForFunction(() => {
      const c = document.querySelector('[data-testid=chart] canvas');
      if (!c || c.width === 0) return false;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let j = 3; j < d.length; j += 64) if (d[j] !== 0) return true;
      return false;
    }, null, { polling: 'raf', timeout: 60000 });
    const elapsed = Date.now() - t0;
    const legend = await page.locator('.legend [role=listitem]').count();
    if (legend < Math.min(series, 500)) throw new Error(`graph shows ${legend} series`);
    const q = await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/v1/query_range')).map((e) => e.duration));
    if (i > 0) {
      // The first run warms argus's caches and the browser's process.
      times.push(elapsed);
      apiTimes.push(q[0] ?? NaN);
    }
    await ctx.close();
  }
  console.log(`navigation to first graph, ${series} series, range query over 5m (${runs} runs): median ${median(times)} ms, min ${Math.min(...times)} ms, max ${Math.max(...times)} ms`);
  console.log(`of which the query_range request: median ${median(apiTimes).toFixed(0)} ms`);
} finally {
  await browser.close();
  await argus.stop();
  t.close();
}
