import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gridType, maxInFlight, runPanel, Session, Slots, type QueryResult } from './query';
import { points } from '../pages/Inspector';
import { toSeries } from './reduce';
import { alignSeries } from './Panels';

// A real HTTP server answering like the Prometheus API, slowly, with a
// body that has multi-byte characters, so that the measured size is the
// body's bytes and the time is the request's.
const body = JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: { city: 'Zürich ☃' }, value: [1, '1'] }] } });

// The same range query's answer in both encodings: start 100 s, step 60 s;
// a gap, NaN, +Inf, a series that starts late.
const stdBody = JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [
  { metric: { __name__: 'up', job: 'a' }, values: [[100, '1'], [160, '2.5'], [280, 'NaN'], [340, '+Inf']] },
  { metric: { job: 'b' }, values: [[220, '1e-9'], [340, '-3']] },
] } });
const gridBody = JSON.stringify({ status: 'success', data: { resultType: 'matrix', start: 100, step: 60, result: [
  { metric: { __name__: 'up', job: 'a' }, offset: 0, grid: [1, 2.5, null, 'NaN', '+Inf'] },
  { metric: { job: 'b' }, offset: 2, grid: [1e-9, null, -3] },
] }, warnings: ['w'] });

// Node's http module, typed as far as the test uses it: the UI's
// TypeScript has no Node types.
interface Res { writeHead(status: number, headers: Record<string, string>): void; end(body: string): void }
interface Req { url: string; headers: Record<string, string | undefined> }
interface Server { listen(port: number, host: string, cb: () => void): void; address(): { port: number }; close(cb: () => void): void }
let server: Server;
let base = '';

beforeAll(async () => {
  const http = (await import('node:http' as string)) as { createServer(h: (req: Req, res: Res) => void): Server };
  server = http.createServer((req, res) => {
    // A range query's answer in the grid encoding when asked for, as
    // argus's API answers it.
    if (req.url.includes('/query_range') && (req.headers.accept ?? '').includes(gridType)) {
      res.writeHead(200, { 'Content-Type': gridType });
      res.end(gridBody);
      return;
    }
    setTimeout(() => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(req.url.includes('/query_range') ? stdBody : body);
    }, 30);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${server.address().port}/api/v1`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

describe('query measurements', () => {
  it('measures each request: time, parse time and body size, once per distinct query', async () => {
    const s = new Session();
    const p = new URLSearchParams({ query: 'up' });
    expect(s.has(base, 'query', p)).toBe(false);
    const r = await s.get(base, 'query', p);
    expect(r.stats.bytes).toBe(new TextEncoder().encode(body).length);
    expect(r.stats.bytes).toBeGreaterThan(body.length);
    expect(r.stats.ms).toBeGreaterThanOrEqual(25);
    expect(r.stats.parseMs).toBeGreaterThanOrEqual(0);
    expect(r.stats.status).toBe(200);
    expect(r.stats.url).toBe(`${base}/query?query=up`);
    expect(s.has(base, 'query', p)).toBe(true);
    expect((await s.get(base, 'query', p)).stats).toBe(r.stats);
    expect(s.requests).toBe(1);
  });
  it('counts the points of each kind of answer', () => {
    const q = (resultType: string, result: unknown) => ({ data: { resultType, result } }) as unknown as QueryResult;
    expect(points(q('matrix', [{ metric: {}, values: [[1, '1'], [2, '2']] }, { metric: {}, values: [[1, '1']] }]))).toBe(3);
    expect(points(q('vector', [{ metric: {}, value: [1, '1'] }, { metric: {}, value: [1, '2'] }]))).toBe(2);
    expect(points(q('scalar', [1, '1']))).toBe(1);
  });
  it('counts the points of the grid encoding', () => {
    const r = { grid: true, data: { resultType: 'matrix', start: 0, step: 1, result: [{ metric: {}, offset: 3, grid: [1, null, 'NaN'] }] } } as unknown as QueryResult;
    expect(points(r)).toBe(2);
  });
});

describe('requests in flight', () => {
  it('hands out slots in order, no more than it has, and takes them back on failure', async () => {
    const slots = new Slots(2);
    const signal = new AbortController().signal;
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const job = (i: number) => slots.run(signal, async () => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (i === 1) throw new Error('boom');
      return i;
    });
    const all = await Promise.allSettled([0, 1, 2, 3, 4].map(job));
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(all.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    // Every slot came back: two more run at once.
    most = 0;
    await Promise.all([5, 6].map(job));
    expect(most).toBe(2);
  });
  it('does not start a request aborted while it waited', async () => {
    const slots = new Slots(1);
    const ac = new AbortController();
    let release = () => {};
    const first = slots.run(ac.signal, () => new Promise<void>((r) => (release = r)));
    let ran = false;
    const second = slots.run(ac.signal, async () => {
      ran = true;
    });
    ac.abort();
    release();
    await first;
    await expect(second).rejects.toThrow();
    expect(ran).toBe(false);
    // Its slot is free again.
    expect(await slots.run(new AbortController().signal, async () => 7)).toBe(7);
  });
  it('keeps a session to maxInFlight requests at the server at once', async () => {
    const s = new Session();
    const t0 = performance.now();
    // Each answer takes the server 30 ms; twice maxInFlight of them take
    // at least two rounds.
    const rs = await Promise.all(Array.from({ length: 2 * maxInFlight }, (_, i) => s.get(base, 'query', new URLSearchParams({ query: `up${i}` }))));
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(2 * 30 - 5);
    expect(s.requests).toBe(2 * maxInFlight);
    // A request's time is its own, not the time it waited for a slot:
    // each round took the server 30 ms or more.
    for (const r of rs) expect(r.stats.ms).toBeLessThanOrEqual(elapsed - 30 + 5);
  });
});

describe('the grid encoding', () => {
  const target = { refId: 'A', expr: 'x' };
  const run = async (grid: boolean) => {
    const s = new Session();
    const p = new URLSearchParams({ query: 'x', start: '100', end: '400', step: '60' });
    const r = await s.get(base, 'query_range', p, grid);
    return { r, q: { target, expr: 'x', kind: 'range', data: r.data, grid: r.grid, warnings: r.warnings, stats: r.stats, shared: false } as QueryResult };
  };
  it('is asked for only when wanted, and known by its media type', async () => {
    const g = await run(true);
    const std = await run(false);
    expect(g.r.grid).toBe(true);
    expect(g.r.warnings).toEqual(['w']);
    expect(std.r.grid).toBe(false);
    expect(std.r.data.result[0].values).toHaveLength(4);
  });
  it('gives the series the standard encoding gives', async () => {
    const g = toSeries([(await run(true)).q]);
    const std = toSeries([(await run(false)).q]);
    expect(g.map((s) => [s.name, s.labels, s.times, s.values])).toEqual(std.map((s) => [s.name, s.labels, s.times, s.values]));
    expect(g[0].values).toEqual([1, 2.5, NaN, Infinity]);
    expect(alignSeries(g)).toEqual(alignSeries(std));
    expect(alignSeries(g).times).toEqual([100, 160, 220, 280, 340]);
  });
  it('keeps a column without NaN or infinities as it came', async () => {
    const { q } = await run(true);
    const [a, b] = toSeries([q]);
    expect(a.grid!.col).not.toBe((q.data.result[0] as { grid: unknown }).grid);
    expect(b.grid!.col).toBe((q.data.result[1] as { grid: unknown }).grid);
  });
});

describe('which data sources are asked for the grid', () => {
  it('argus’s own API only; a proxied data source gets the standard JSON', async () => {
    const asked: [string, boolean][] = [];
    const fake = {
      scrapeIntervalMs: 15000,
      has: () => false,
      get: (b: string, _path: string, _p: URLSearchParams, grid = false) => {
        asked.push([b, grid]);
        return Promise.resolve({ data: { resultType: 'matrix', result: [] }, warnings: [], stats: {}, grid: false });
      },
    } as unknown as Session;
    const range = { from: 0, to: 3600_000, raw: { from: 'now-1h', to: 'now' } };
    const panel = (uid: string) => ({ type: 'timeseries', datasource: { uid }, targets: [{ refId: 'A', expr: 'up' }] });
    await runPanel(fake, panel('argus'), range, {}, 800);
    await runPanel(fake, panel('remote'), range, {}, 800);
    expect(asked).toEqual([['/api/v1', true], ['/api/datasources/proxy/uid/remote/api/v1', false]]);
  });
});
