// Running a dashboard's queries: variables and Grafana's built-in
// variables interpolated, one request per distinct query per refresh
// (panels that ask for the same thing share it), all cancelled together
// when the time range or a variable changes.
import { APIError } from '../api';
import type { Sample } from '../api';
import { interpolate, type Vars } from './interpolate';
import { apiBase, dsUID, ownAPI, type Panel, type Target } from './model';
import { calcInterval, formatInterval, parseIntervalMs, rateInterval, type Range } from './time';

// GridSample is a series of argus's grid encoding of a range query (see
// gridType): its value at step offset+i of the query is grid[i], a
// number, "NaN", "+Inf" or "-Inf", or null where it has no point.
export interface GridSample {
  metric: Record<string, string>;
  offset: number;
  grid: (number | string | null)[];
}

export interface QueryData {
  resultType: string;
  result: Sample[] | GridSample[] | [number, string];
  // The grid encoding's first step and step, in seconds.
  start?: number;
  step?: number;
}

// gridType is argus's own encoding of a range query's answer, asked for
// in the Accept header: the points of a range query lie on its step grid,
// so the server writes the start and step once and each series as one
// JSON number per step. It is a few times smaller than Prometheus's
// [time, "value"] pairs and needs no parsing of values here. Only argus's
// own API knows it; other data sources are asked for the standard JSON.
export const gridType = 'application/vnd.argus.grid+json';

export interface QueryResult {
  target: Target;
  expr: string;
  kind: 'range' | 'instant';
  data: QueryData;
  grid: boolean; // data is in the grid encoding
  step?: number; // seconds
  warnings: string[];
  stats: FetchStats;
  shared: boolean; // the answer of a request another panel made first
}

// FetchStats are measured on the request itself, for the inspector.
export interface FetchStats {
  url: string;
  status: number;
  ms: number; // from sending the request to the answer's last byte
  parseMs: number; // JSON parsing
  bytes: number; // the answer's body as received, after decompression
}

const decoder = new TextDecoder();

// maxInFlight is how many of a session's requests wait for an answer at
// once; the others queue in the order they were asked for. A slot is given
// back only after the answer has been read and parsed on the page's main
// thread, so when drawing keeps that thread busy no more requests go out
// and answers cannot pile up behind it: the server computes the next
// answers while the page draws the last ones, instead of delivering most
// of them together at the end (a browser allows six requests to one
// host; on a server with few cores, six queries at once all finish
// late and together).
export const maxInFlight = 3;

// Slots hands out a fixed number of slots in FIFO order.
export class Slots {
  private free: number;
  private waiting: (() => void)[] = [];

  constructor(n: number) {
    this.free = n;
  }

  // run calls fn when a slot is free and gives the slot back when fn's
  // promise settles. A request aborted while it waits is not started.
  async run<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      signal.throwIfAborted();
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

export class Session {
  private cache = new Map<string, Promise<any>>();
  readonly controller = new AbortController();
  private slots: Slots;
  requests = 0;

  constructor(readonly scrapeIntervalMs = 15000) {
    this.slots = new Slots(maxInFlight);
  }

  abort(): void {
    this.controller.abort();
  }

  private key(base: string, path: string, params: URLSearchParams, grid: boolean): string {
    return `${base}/${path}?${params}${grid ? '#grid' : ''}`;
  }

  // has says whether a request is made already (its answer is shared).
  has(base: string, path: string, params: URLSearchParams, grid = false): boolean {
    return this.cache.has(this.key(base, path, params, grid));
  }

  // get answers a GET of the Prometheus API, once per distinct URL, with
  // the request's measurements. With grid, a range query's answer may come
  // in the grid encoding (gridType); grid says whether it did.
  get(base: string, path: string, params: URLSearchParams, grid = false): Promise<{ data: any; warnings: string[]; stats: FetchStats; grid: boolean }> {
    const url = `${base}/${path}?${params}`;
    const key = this.key(base, path, params, grid);
    let p = this.cache.get(key);
    if (!p) {
      this.requests++;
      const accept = grid ? `${gridType}, application/json;q=0.9` : 'application/json';
      const signal = this.controller.signal;
      p = this.slots.run(signal, async () => {
        const t0 = performance.now();
        const r = await fetch(url, { signal, headers: { Accept: accept } });
        // The bytes, not the text, so that the size is the body's own.
        const buf = await r.arrayBuffer();
        const t1 = performance.now();
        const text = decoder.decode(buf);
        let body: any;
        try {
          body = JSON.parse(text);
        } catch {
          throw new APIError(text.trim() || `${r.status} ${r.statusText}`, r.status);
        }
        if (!r.ok || body.status !== 'success') throw new APIError(body.error ?? body.message ?? `${r.status}`, r.status, body.errorType);
        const stats = { url, status: r.status, ms: t1 - t0, parseMs: performance.now() - t1, bytes: buf.byteLength };
        const isGrid = grid && (r.headers.get('Content-Type') ?? '').startsWith(gridType);
        return { data: body.data, warnings: body.warnings ?? [], stats, grid: isGrid };
      });
      this.cache.set(key, p);
    }
    return p;
  }
}

// builtins are Grafana's $__ variables for one panel.
export function builtins(range: Range, intervalMs: number, scrapeMs: number): Vars {
  const v = (s: string) => ({ values: [s] });
  const rangeS = Math.round((range.to - range.from) / 1000);
  return {
    __interval: v(formatInterval(intervalMs)),
    __interval_ms: v(String(intervalMs)),
    __rate_interval: v(formatInterval(rateInterval(intervalMs, scrapeMs))),
    __range: v(`${rangeS}s`),
    __range_s: v(String(rangeS)),
    __range_ms: v(String(range.to - range.from)),
    __from: v(String(range.from)),
    __to: v(String(range.to)),
  };
}

// panelRange applies a panel's relative time (timeFrom) and time shift.
export function panelRange(p: Panel, range: Range): Range {
  let { from, to } = range;
  if (p.timeFrom) {
    const ms = parseIntervalMs(p.timeFrom.replace(/^now-/, ''));
    if (ms) from = to - ms;
  }
  if (p.timeShift) {
    const ms = parseIntervalMs(p.timeShift.replace(/^now-/, ''));
    if (ms) {
      from -= ms;
      to -= ms;
    }
  }
  return { from, to, raw: range.raw };
}

export function isInstantPanel(p: Panel): boolean {
  return p.type === 'table' || p.type === 'bargauge' || p.type === 'gauge' || p.type === 'stat';
}

// runPanel runs a panel's targets. widthPx is the panel's width, the
// default maxDataPoints as in Grafana.
export async function runPanel(s: Session, p: Panel, range: Range, vars: Vars, widthPx: number): Promise<QueryResult[]> {
  const targets = (p.targets ?? []).filter((t) => !t.hide && (t.expr ?? '').trim() !== '');
  const r = panelRange(p, range);
  const scoped: Vars = { ...vars };
  for (const [k, sv] of Object.entries(p.scopedVars ?? {})) scoped[k] = { values: Array.isArray(sv.value) ? sv.value : [sv.value] };
  return Promise.all(targets.map(async (t) => {
    const intervalMs = calcInterval(r, p.maxDataPoints ?? Math.max(100, Math.round(widthPx)), t.interval || p.interval);
    const all = { ...scoped, ...builtins(r, intervalMs, s.scrapeIntervalMs) };
    const expr = interpolate(t.expr!, all);
    const base = apiBase(interpolate(dsUID(t.datasource ?? p.datasource), scoped, 'raw'));
    // Panels reduce range results themselves (stat, gauge: last value); an
    // instant target is one instant query.
    const instant = t.instant === true && t.range !== true;
    if (instant) {
      const params = new URLSearchParams({ query: expr, time: String(r.to / 1000) });
      const shared = s.has(base, 'query', params);
      const res = await s.get(base, 'query', params);
      return { target: t, expr, kind: 'instant' as const, data: res.data, grid: false, warnings: res.warnings, stats: res.stats, shared };
    }
    const stepMs = Math.max(1000, intervalMs * (t.intervalFactor ?? 1));
    const step = stepMs / 1000;
    // Align to the step so that the same panel on two refreshes, and two
    // panels with the same query, ask the same question (cacheable).
    const start = Math.floor(r.from / stepMs) * step;
    const end = Math.ceil(r.to / stepMs) * step;
    const params = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(step) });
    // Only argus's own API knows the grid encoding.
    const grid = base === ownAPI;
    const shared = s.has(base, 'query_range', params, grid);
    const res = await s.get(base, 'query_range', params, grid);
    return { target: t, expr, kind: 'range' as const, data: res.data, grid: res.grid, step, warnings: res.warnings, stats: res.stats, shared };
  }));
}
