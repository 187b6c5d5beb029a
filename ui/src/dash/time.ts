// Grafana's time expressions: "now", "now-6h", "now/d", "now-1d/d", epoch
// milliseconds and ISO times, as dashboards and their URLs (from, to) use.

const unitMs: Record<string, number> = {
  s: 1000, m: 60000, h: 3600000, d: 86400000, w: 604800000, M: 2592000000, y: 31536000000,
};

// roundTo rounds t (ms) down to the start (or, for the end of a range, up
// to the end) of its unit, in UTC.
function roundTo(t: number, unit: string, up: boolean): number {
  const d = new Date(t);
  switch (unit) {
    case 'y': d.setUTCMonth(0, 1); d.setUTCHours(0, 0, 0, 0); if (up) d.setUTCFullYear(d.getUTCFullYear() + 1); break;
    case 'M': d.setUTCDate(1); d.setUTCHours(0, 0, 0, 0); if (up) d.setUTCMonth(d.getUTCMonth() + 1); break;
    case 'w': { const wd = (d.getUTCDay() + 6) % 7; d.setUTCDate(d.getUTCDate() - wd); d.setUTCHours(0, 0, 0, 0); if (up) d.setUTCDate(d.getUTCDate() + 7); break; }
    case 'd': d.setUTCHours(0, 0, 0, 0); if (up) d.setUTCDate(d.getUTCDate() + 1); break;
    case 'h': d.setUTCMinutes(0, 0, 0); if (up) d.setUTCHours(d.getUTCHours() + 1); break;
    case 'm': d.setUTCSeconds(0, 0); if (up) d.setUTCMinutes(d.getUTCMinutes() + 1); break;
    case 's': d.setUTCMilliseconds(0); if (up) d.setUTCSeconds(d.getUTCSeconds() + 1); break;
    default: return t;
  }
  return up ? d.getTime() - 1 : d.getTime();
}

// parseTime returns milliseconds, or null. roundUp is for the end of a range
// ("now/d" as "to" means the end of today).
export function parseTime(text: string | number, now: number, roundUp = false): number | null {
  const s = String(text).trim();
  if (/^\d+$/.test(s)) return Number(s) >= 1e11 ? Number(s) : Number(s) * 1000;
  if (s.startsWith('now')) {
    let t = now;
    let rest = s.slice(3);
    const re = /^([+-])(\d+)([smhdwMy])/;
    for (let m = re.exec(rest); m; m = re.exec(rest)) {
      t += (m[1] === '-' ? -1 : 1) * Number(m[2]) * unitMs[m[3]];
      rest = rest.slice(m[0].length);
    }
    const r = /^\/([smhdwMy])/.exec(rest);
    if (r) {
      t = roundTo(t, r[1], roundUp);
      rest = rest.slice(r[0].length);
    }
    return rest === '' ? t : null;
  }
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

export interface Range {
  from: number; // ms
  to: number; // ms
  raw: { from: string; to: string };
}

export function resolveRange(from: string, to: string, now: number): Range | null {
  const f = parseTime(from, now);
  const t = parseTime(to, now, true);
  if (f === null || t === null || f >= t) return null;
  return { from: f, to: t, raw: { from, to } };
}

// describeRange writes a range as Grafana's picker does: "Last 6 hours".
export function describeRange(from: string, to: string): string {
  const m = /^now-(\d+)([smhdwMy])$/.exec(from);
  if (m && to === 'now') {
    const names: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', M: 'month', y: 'year' };
    const n = Number(m[1]);
    return `Last ${n} ${names[m[2]]}${n === 1 ? '' : 's'}`;
  }
  const fmt = (x: string) => (/^\d+$/.test(x) ? new Date(Number(x)).toISOString().replace('.000Z', 'Z') : x);
  return `${fmt(from)} to ${fmt(to)}`;
}

export const quickRanges = ['now-5m', 'now-15m', 'now-30m', 'now-1h', 'now-3h', 'now-6h', 'now-12h', 'now-24h', 'now-2d', 'now-7d', 'now-30d'];

// Grafana's interval: the range over the number of points, rounded to a
// "nice" interval, and never under the panel's minimum.
const niceIntervals = [
  1, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 15000, 20000, 30000, 60000, 120000, 300000, 600000,
  900000, 1200000, 1800000, 3600000, 7200000, 10800000, 21600000, 43200000, 86400000, 604800000, 2592000000, 31536000000,
];

export function roundInterval(ms: number): number {
  for (let i = 0; i < niceIntervals.length - 1; i++) {
    if (ms <= (niceIntervals[i] + niceIntervals[i + 1]) / 2) return niceIntervals[i];
  }
  return niceIntervals[niceIntervals.length - 1];
}

export function parseIntervalMs(text: string): number | null {
  const s = text.trim().replace(/^>/, '');
  const re = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)$/;
  const m = re.exec(s);
  if (!m) return null;
  const f: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000, w: 604800000, y: 31536000000 };
  return Number(m[1]) * f[m[2]];
}

export function formatInterval(ms: number): string {
  if (ms % 86400000 === 0) return `${ms / 86400000}d`;
  if (ms % 3600000 === 0) return `${ms / 3600000}h`;
  if (ms % 60000 === 0) return `${ms / 60000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

// calcInterval is $__interval for a panel: range / maxDataPoints rounded,
// at least minInterval (the panel's or the query's "interval"), at least 1s
// since Prometheus steps are in seconds... Grafana allows ms; PromQL takes
// them, so only the 1ms floor applies.
export function calcInterval(range: Range, maxDataPoints: number, minInterval?: string): number {
  let ms = roundInterval((range.to - range.from) / Math.max(1, maxDataPoints));
  const min = minInterval ? parseIntervalMs(minInterval) : null;
  if (min !== null && ms < min) ms = min;
  return Math.max(ms, 1);
}

// rateInterval is $__rate_interval: max($__interval + scrape interval,
// 4 × scrape interval), so a rate always spans at least four scrapes.
export function rateInterval(intervalMs: number, scrapeIntervalMs: number): number {
  return Math.max(intervalMs + scrapeIntervalMs, 4 * scrapeIntervalMs);
}
