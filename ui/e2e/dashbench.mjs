// The dashboard benchmark: a 30-panel dashboard over 24 hours of 50
// node_exporter-shaped targets (backfilled with `argus tsdb import
// openmetrics`), opened in Debian's Chromium. It reports the time from
// navigation until every panel has drawn, when the last query answer
// arrived, what the UI added after it, and the number of query requests
// and of duplicates among them.
//
//   make bench-ui        (runs this after the Explore benchmark)
//
// PROFILE=1 adds a run under Chromium's tracing and prints where the main
// thread's time went between the last answer and every panel drawn: the
// kinds of task (script, style, layout, paint, garbage collection) and the
// functions the sampling profiler saw most. PROFILE=load does the same
// for the whole load, from the navigation on.
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, startArgus } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.ARGUS_BIN ?? resolve(here, '..', '..', 'argus');
const targets = 50;
const hours = 24;
const stepS = 60;
const runs = Number(process.env.RUNS ?? 5);

// The series of one target: a small node_exporter page.
function families(t) {
  const inst = `node${String(t).padStart(2, '0')}:9100`;
  const base = `instance="${inst}",job="node"`;
  const out = [];
  for (const cpu of ['0', '1']) for (const mode of ['idle', 'user', 'system', 'iowait']) out.push(['node_cpu_seconds', 'counter', `${base},cpu="${cpu}",mode="${mode}"`, mode === 'idle' ? 0.8 : 0.06]);
  out.push(['node_memory_MemTotal_bytes', 'gauge', base, 8e9]);
  out.push(['node_memory_MemAvailable_bytes', 'gauge', base, 3e9]);
  out.push(['node_load1', 'gauge', base, 1.5]);
  for (const dir of ['receive', 'transmit']) out.push([`node_network_${dir}_bytes`, 'counter', `${base},device="eth0"`, 2e5]);
  for (const dir of ['read', 'written']) out.push([`node_disk_${dir}_bytes`, 'counter', `${base},device="sda"`, 1e5]);
  out.push(['node_filesystem_avail_bytes', 'gauge', `${base},mountpoint="/"`, 4e10]);
  out.push(['node_filesystem_size_bytes', 'gauge', `${base},mountpoint="/"`, 1e11]);
  return out;
}

async function backfill(dir, end) {
  const file = join(dir, 'data.om');
  const w = createWriteStream(file);
  const write = (s) => (w.write(s) ? null : new Promise((r) => w.once('drain', r)));
  const points = (hours * 3600) / stepS;
  const byFamily = new Map();
  for (let t = 0; t < targets; t++) for (const f of families(t)) {
    if (!byFamily.has(f[0])) byFamily.set(f[0], []);
    byFamily.get(f[0]).push([t, ...f]);
  }
  for (const [name, list] of byFamily) {
    await write(`# TYPE ${name} ${list[0][2]}\n`);
    for (const [t, , type, labels, scale] of list) {
      const sample = type === 'counter' ? `${name}_total` : name;
      let v = 0;
      let buf = '';
      for (let i = 0; i < points; i++) {
        const ts = end - (points - i) * stepS;
        const wave = 1 + 0.5 * Math.sin((i + t * 7) / 37);
        v = type === 'counter' ? v + scale * stepS * wave : scale * wave;
        buf += `${sample}{${labels}} ${v.toFixed(3)} ${ts}\n`;
        if (buf.length > 1 << 16) {
          await write(buf);
          buf = '';
        }
      }
      await write(buf);
    }
  }
  await write('# EOF\n');
  await new Promise((r) => w.end(r));
  const t0 = Date.now();
  execFileSync(bin, ['tsdb', 'import', 'openmetrics', file, '--data', join(dir, 'data')], { stdio: 'inherit' });
  return Date.now() - t0;
}

// 30 panels: 20 time series of 10 distinct queries at two widths (so the
// same query is asked by two panels of the same width), 6 stats, 4 tables.
function dashboard() {
  const q = [
    ['CPU busy', 'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[$__rate_interval]))', 'short'],
    ['CPU by mode', 'sum by (mode) (rate(node_cpu_seconds_total[$__rate_interval]))', 'short'],
    ['Memory used', '1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes', 'percentunit'],
    ['Load', 'node_load1', 'short'],
    ['Network in', 'rate(node_network_receive_bytes_total[$__rate_interval])', 'Bps'],
    ['Network out', 'rate(node_network_transmit_bytes_total[$__rate_interval])', 'Bps'],
    ['Disk read', 'rate(node_disk_read_bytes_total[$__rate_interval])', 'Bps'],
    ['Disk written', 'rate(node_disk_written_bytes_total[$__rate_interval])', 'Bps'],
    ['Filesystem used', '1 - node_filesystem_avail_bytes / node_filesystem_size_bytes', 'percentunit'],
    ['Top CPU', 'topk(5, sum by (instance) (rate(node_cpu_seconds_total{mode="user"}[$__rate_interval])))', 'short'],
  ];
  const panels = [];
  let id = 1;
  let y = 0;
  for (let copy = 0; copy < 2; copy++) {
    for (let i = 0; i < q.length; i += 2) {
      for (let j = 0; j < 2; j++) {
        const [title, expr, unit] = q[i + j];
        panels.push({ id: id++, type: 'timeseries', title: `${title}${copy ? ' (again)' : ''}`, gridPos: { x: j * 12, y, w: 12, h: 8 },
          datasource: { type: 'prometheus', uid: 'argus' }, fieldConfig: { defaults: { unit } }, options: { legend: { showLegend: false } },
          targets: [{ refId: 'A', expr, legendFormat: '{{instance}}' }] });
      }
      y += 8;
    }
  }
  const stats = [['Targets', 'count(node_load1)'], ['Avg load', 'avg(node_load1)'], ['Max load', 'max(node_load1)'],
    ['Memory', 'sum(node_memory_MemTotal_bytes)'], ['Free', 'sum(node_memory_MemAvailable_bytes)'], ['FS', 'sum(node_filesystem_size_bytes)']];
  stats.forEach(([title, expr], i) => panels.push({ id: id++, type: 'stat', title, gridPos: { x: i * 4, y, w: 4, h: 4 },
    datasource: { type: 'prometheus', uid: 'argus' }, targets: [{ refId: 'A', expr }] }));
  y += 4;
  ['node_load1', 'node_memory_MemAvailable_bytes', 'node_filesystem_avail_bytes', 'topk(10, node_load1)'].forEach((expr, i) => panels.push({
    id: id++, type: 'table', title: `Table ${i + 1}`, gridPos: { x: i * 6, y, w: 6, h: 8 }, datasource: { type: 'prometheus', uid: 'argus' },
    targets: [{ refId: 'A', expr, instant: true }] }));
  return { uid: 'bench30', title: 'Bench 30 panels', schemaVersion: 39, time: { from: 'now-24h', to: 'now' }, panels };
}

// openAndWait opens the dashboard and returns when every panel has drawn
// (page time, ms: no panel loading, and every time series panel has its
// graph) and when the last query answer ended.
async function openAndWait(page, url) {
  // Counts the graphs built, which is 20 when no graph is built twice:
  // each uPlot makes one canvas and gets its 2D context once (the bench's
  // dashboard has no other canvas). Cheaper than observing the page's
  // mutations, which costs the page time of its own.
  await page.addInitScript(() => {
    window.__graphs = 0;
    const seen = new WeakSet();
    const get = HTMLCanvasElement.prototype.getContext;
    HTMLCanvasElement.prototype.getContext = function (...args) {
      if (!seen.has(this)) {
        seen.add(this);
        window.__graphs++;
      }
      return get.apply(this, args);
    };
  });
  await page.goto(`${url}/d/bench30`, { waitUntil: 'commit' });
  const drawn = await page.waitForFunction(() => {
    const ps = document.querySelectorAll('[data-panel-state]');
    if (ps.length < 30) return false;
    for (const p of ps) if (p.getAttribute('data-panel-state') === 'loading') return false;
    // A graph is built in an effect after its panel has its data: drawn
    // is when every time series panel has its graph.
    for (const p of document.querySelectorAll('[data-panel-type="timeseries"][data-panel-state="ok"]')) if (!p.querySelector('.uplot canvas')) return false;
    return performance.now();
  }, null, { polling: 'raf', timeout: 120000 }).then((h) => h.jsonValue());
  const graphs = await page.evaluate(() => window.__graphs);
  const res = await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/v1/query')).map((e) => ({ url: e.name, start: e.startTime, end: e.responseEnd, bytes: e.decodedBodySize })));
  return { drawn, res, graphs, lastEnd: Math.max(...res.map((x) => x.end)) };
}

// cpuSamples collects the V8 sampling profiler's samples of process pid
// from a trace: its call tree's nodes by id, each node's parent, and every
// sample as [time µs, node id, µs since the previous sample].
function cpuSamples(events, pid) {
  const nodes = new Map();
  const parent = new Map();
  const samples = [];
  let t = 0;
  for (const e of events.filter((x) => x.pid === pid && (x.name === 'Profile' || x.name === 'ProfileChunk'))) {
    if (e.name === 'Profile') {
      t = e.args.data.startTime;
      continue;
    }
    const cp = e.args.data.cpuProfile ?? {};
    for (const n of cp.nodes ?? []) {
      nodes.set(n.id, n);
      if (n.parent) parent.set(n.id, n.parent);
    }
    const deltas = e.args.data.timeDeltas ?? [];
    (cp.samples ?? []).forEach((id, i) => {
      t += deltas[i] ?? 0;
      samples.push([t, id, deltas[i] ?? 0]);
    });
  }
  return { nodes, parent, samples };
}

// profile traces one more run and sums the renderer main thread's work
// in the window from the last answer to every panel drawn.
async function profile(browser, url) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 4000 } });
  const page = await ctx.newPage();
  await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink.user_timing', 'v8', 'disabled-by-default-v8.cpu_profiler'] });
  const { drawn, lastEnd, res } = await openAndWait(page, url);
  const events = JSON.parse(String(await browser.stopTracing())).traceEvents;
  await ctx.close();
  // Page time 0 is the navigation's start in the trace's clock (µs).
  const nav = events.filter((e) => e.name === 'navigationStart' && e.args?.data?.documentLoaderURL?.includes('/d/bench30')).at(-1);
  if (!nav) throw new Error('profile: no navigationStart in the trace');
  // PROFILE=load sums the whole load instead, from the navigation on.
  const whole = process.env.PROFILE === 'load';
  const from = whole ? nav.ts : nav.ts + lastEnd * 1000;
  const to = nav.ts + drawn * 1000;
  const main = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain' && e.pid === nav.pid);
  const onMain = events.filter((e) => e.pid === nav.pid && e.tid === main.tid && e.ph === 'X' && e.dur !== undefined);
  const clip = (e) => Math.max(0, Math.min(to, e.ts + e.dur) - Math.max(from, e.ts)) / 1000;
  // The tasks and, inside each, the kinds of work directly under it.
  const tasks = onMain.filter((e) => e.name === 'RunTask');
  const busy = tasks.reduce((a, e) => a + clip(e), 0);
  const kinds = new Map();
  for (const e of onMain) {
    if (e.name === 'RunTask') continue;
    const parent = tasks.find((t) => t.ts <= e.ts && e.ts + e.dur <= t.ts + t.dur);
    if (!parent) continue;
    // Only the outermost event under a task counts, so that nothing is
    // counted twice.
    const outer = onMain.some((o) => o !== e && o.name !== 'RunTask' && o.ts <= e.ts && e.ts + e.dur <= o.ts + o.dur && o.dur > e.dur && parent.ts <= o.ts);
    if (!outer) kinds.set(e.name, (kinds.get(e.name) ?? 0) + clip(e));
  }
  // TIMELINE=1 also prints, in page time, every answer's end and every
  // main thread task of 3 ms or more (with the work inside it), and for
  // the tasks of 40 ms or more the functions they spent it in: what the
  // last answer waited behind.
  const big = [];
  if (process.env.TIMELINE) {
    const ev = [];
    for (const r of res) ev.push([r.end, `answer ${r.url.includes('query_range') ? 'range' : 'instant'} ${(r.bytes / 1e3).toFixed(0)} kB`]);
    for (const t of tasks) {
      if (t.dur < 3000) continue;
      const inner = new Map();
      for (const e of onMain) if (e !== t && e.name !== 'RunTask' && e.ts >= t.ts && e.ts + e.dur <= t.ts + t.dur) inner.set(e.name, (inner.get(e.name) ?? 0) + e.dur / 1000);
      const top = [...inner].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
      ev.push([(t.ts - nav.ts) / 1000, `task ${(t.dur / 1000).toFixed(0)} ms: ${top}`]);
      if (t.dur >= 40000) big.push(t);
    }
    ev.push([drawn, 'all drawn']);
    for (const [at, what] of ev.sort((a, b) => a[0] - b[0])) console.log(`  ${at.toFixed(0).padStart(6)} ${what}`);
  }
  // Layouts run inside script (a read of a size after a change) are
  // forced ones; the others are the frame's own.
  const scripts = onMain.filter((e) => e.name === 'TimerFire' || e.name === 'FunctionCall' || e.name === 'v8.callFunction');
  const forced = onMain.filter((e) => e.name === 'Layout' && clip(e) > 0 && scripts.some((o) => o.ts <= e.ts && e.ts + e.dur <= o.ts + o.dur));
  const mb = res.reduce((a, r) => a + r.bytes, 0) / 1e6;
  console.log(`profile: ${res.length} answers, ${mb.toFixed(1)} MB; ${((to - from) / 1000).toFixed(0)} ms from ${whole ? 'the navigation' : 'the last answer'} to every panel drawn, main thread busy ${busy.toFixed(0)} ms`);
  for (const [k, v] of [...kinds].sort((a, b) => b[1] - a[1]).slice(0, 12)) if (v >= 1) console.log(`  ${k.padEnd(28)} ${v.toFixed(0).padStart(5)} ms`);
  console.log(`  layouts forced by script: ${forced.length}, ${forced.reduce((a, e) => a + clip(e), 0).toFixed(0)} ms; all layouts: ${onMain.filter((e) => e.name === 'Layout' && clip(e) > 0).length}`);
  // The sampling profiler's samples in the window, by function.
  const { nodes, parent, samples } = cpuSamples(events, nav.pid);
  const self = new Map();
  for (const [t, id, d] of samples) {
    if (t < from || t > to) continue;
    const f = nodes.get(id)?.callFrame ?? {};
    const name = `${f.functionName || '(anonymous)'} ${f.url ? `${f.url.split('/').pop()}:${f.lineNumber + 1}:${f.columnNumber + 1}` : ''}`.trim();
    self.set(name, (self.get(name) ?? 0) + d / 1000);
  }
  if (process.env.TIMELINE) {
    // Inclusive sampled time per function inside each big task.
    for (const bt of big) {
      const incl = new Map();
      for (const [ts, id, d] of samples) {
        if (ts < bt.ts || ts > bt.ts + bt.dur) continue;
        const seen = new Set();
        for (let x = id; x; x = parent.get(x)) {
          const f = nodes.get(x)?.callFrame ?? {};
          const k = `${f.functionName || '(anonymous)'}:${f.lineNumber + 1}`;
          if (!seen.has(k)) incl.set(k, (incl.get(k) ?? 0) + d / 1000);
          seen.add(k);
        }
      }
      const top = [...incl].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
      console.log(`  task at ${((bt.ts - nav.ts) / 1000).toFixed(0)} ms (${(bt.dur / 1000).toFixed(0)} ms): ${top}`);
    }
  }
  console.log('  sampled functions (self time):');
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`    ${v.toFixed(0).padStart(5)} ms  ${k}`);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const dir = mkdtempSync(join(tmpdir(), 'argus-dashbench-'));
const end = Math.floor(Date.now() / 1000);
const importMs = await backfill(dir, end);
console.log(`backfilled ${targets} targets × ${hours}h at ${stepS}s (${targets * families(0).length} series) in ${importMs} ms`);
const argus = await startArgus({ dataDir: join(dir, 'data') });
const browser = await launchBrowser();
try {
  const d = dashboard();
  const r = await fetch(`${argus.url}/api/dashboards/db`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: argus.authHeader }, body: JSON.stringify({ dashboard: d, overwrite: true }) });
  if (!r.ok) throw new Error(`save: ${r.status} ${await r.text()}`);
  const rows = [];
  for (let i = 0; i < runs + 1; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 4000 } });
    const page = await ctx.newPage();
    // The renderer's CPU time (main thread, and the whole process with
    // its raster and compositor threads) over the load: less at the
    // mercy of other work on the machine than wall times are.
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Performance.enable');
    const cpu = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((x) => [x.name, x.value]));
    const before = await cpu();
    const { drawn, res, lastEnd, graphs } = await openAndWait(page, argus.url);
    const after = await cpu();
    const since = (k) => 1000 * (after[k] >= before[k] ? after[k] - before[k] : after[k]);
    const states = await page.locator('[data-panel-state]').evaluateAll((els) => els.map((e) => e.getAttribute('data-panel-state')));
    if (states.some((s) => s !== 'ok')) throw new Error(`panel states: ${states.join(',')}`);
    const urls = res.map((x) => x.url);
    const dup = urls.length - new Set(urls).size;
    const firstStart = Math.min(...res.map((x) => x.start));
    const bytes = res.reduce((a, x) => a + x.bytes, 0);
    if (i > 0) rows.push({ drawn, lastEnd, api: lastEnd - firstStart, ui: drawn - lastEnd, requests: res.length, dup, graphs, bytes, thread: since('ThreadTime'), process: since('ProcessTime'), script: since('ScriptDuration') });
    await ctx.close();
  }
  if (process.env.PROFILE) await profile(browser, argus.url);
  const m = (k) => median(rows.map((r) => r[k])).toFixed(0);
  console.log(`30-panel dashboard, 24 h, ${targets} targets, 1440×4000 viewport, ${runs} runs (medians):`);
  console.log(`  navigation to every panel drawn: ${m('drawn')} ms`);
  console.log(`  query requests: ${rows[0].requests} (${rows[0].dup} duplicates), first request to last answer: ${m('api')} ms`);
  console.log(`  UI time after the last answer: ${m('ui')} ms (target < 200 ms); max ${Math.max(...rows.map((r) => r.ui)).toFixed(0)} ms`);
  console.log(`  renderer CPU from navigation to every panel drawn: main thread ${m('thread')} ms, whole renderer process ${m('process')} ms (script ${m('script')} ms)`);
  console.log(`  per run: ${rows.map((r) => r.ui.toFixed(0)).join(', ')} ms; graphs built ${rows.map((r) => r.graphs).join(', ')}; answers ${(rows[0].bytes / 1e6).toFixed(1)} MB`);
} finally {
  await browser.close();
  await argus.stop();
  rmSync(dir, { recursive: true, force: true });
}
