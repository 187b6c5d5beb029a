// Running a dashboard's queries: variables and Grafana's built-in
// variables interpolated, one request per distinct query per refresh
// (panels that ask for the same thing share it), all cancelled together
// when the time range or a variable changes.
import { APIError } from '../api';
import type { Sample } from '../api';
import { interpolate, type Vars } from './interpolate';
import { apiBase, dsUID, type Panel, type Target } from './model';
import { calcInterval, formatInterval, parseIntervalMs, rateInterval, type Range } from './time';

export interface QueryResult {
  target: Target;
  expr: string;
  kind: 'range' | 'instant';
  data: { resultType: string; result: Sample[] | [number, string] };
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

export class Session {
  private cache = new Map<string, Promise<any>>();
  readonly controller = new AbortController();
  requests = 0;

  constructor(readonly scrapeIntervalMs = 15000) {}

  abort(): void {
    this.controller.abort();
  }

  // has says whether a request is made already (its answer is shared).
  has(base: string, path: string, params: URLSearchParams): boolean {
    return this.cache.has(`${base}/${path}?${params}`);
  }

  // get answers a GET of the Prometheus API, once per distinct URL, with
  // the request's measurements.
  get(base: string, path: string, params: URLSearchParams): Promise<{ data: any; warnings: string[]; stats: FetchStats }> {
    const url = `${base}/${path}?${params}`;
    let p = this.cache.get(url);
    if (!p) {
      this.requests++;
      const t0 = performance.now();
      p = fetch(url, { signal: this.controller.signal, headers: { Accept: 'application/json' } }).then(async (r) => {
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
        return { data: body.data, warnings: body.warnings ?? [], stats };
      });
      this.cache.set(url, p);
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
      return { target: t, expr, kind: 'instant' as const, data: res.data, warnings: res.warnings, stats: res.stats, shared };
    }
    const stepMs = Math.max(1000, intervalMs * (t.intervalFactor ?? 1));
    const step = stepMs / 1000;
    // Align to the step so that the same panel on two refreshes, and two
    // panels with the same query, ask the same question (cacheable).
    const start = Math.floor(r.from / stepMs) * step;
    const end = Math.ceil(r.to / stepMs) * step;
    const params = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(step) });
    const shared = s.has(base, 'query_range', params);
    const res = await s.get(base, 'query_range', params);
    return { target: t, expr, kind: 'range' as const, data: res.data, step, warnings: res.warnings, stats: res.stats, shared };
  }));
}
