// Grafana's time expressions: "now", "now-6h", "now/d", "now-1d/d", epoch
// milliseconds and ISO times, as dashboards and their URLs (from, to) use,
// read in the dashboard's time zone.

import { formatDate, instant, wall } from './tz';

const unitMs: Record<string, number> = { s: 1000, m: 60000, h: 3600000 };

// weekStarts are the dashboard's weekStart settings; "" is Monday (ISO).
const weekStarts: Record<string, number> = { sunday: 0, monday: 1, saturday: 6 };

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

// add moves t by n units in a zone: seconds, minutes and hours are fixed
// lengths, days, weeks, months and years are on the calendar (now-1d is
// this time yesterday, across a daylight saving change too; a month from
// the 31st is the month's last day).
function add(t: number, n: number, unit: string, zone: string): number {
  if (unitMs[unit]) return t + n * unitMs[unit];
  const w = wall(t, zone);
  let { year, month, day } = w;
  if (unit === 'y' || unit === 'M') {
    const months = year * 12 + month + (unit === 'y' ? 12 * n : n);
    year = Math.floor(months / 12);
    month = months - year * 12;
    day = Math.min(day, daysIn(year, month));
  } else day += unit === 'w' ? 7 * n : n;
  return instant(zone, year, month, day, w.hour, w.minute, w.second, w.ms);
}

// roundTo rounds t (ms) down to the start of its unit in a zone, or, for
// the end of a range, to the last millisecond of the unit. Days start at
// the zone's midnight, so a day with a daylight saving change has 23 or 25
// hours.
function roundTo(t: number, unit: string, up: boolean, zone: string, weekStart: number): number {
  const w = wall(t, zone);
  let start: number;
  let next: number;
  switch (unit) {
    case 'y': start = instant(zone, w.year, 0); next = instant(zone, w.year + 1, 0); break;
    case 'M': start = instant(zone, w.year, w.month); next = instant(zone, w.year, w.month + 1); break;
    case 'w': {
      const first = w.day - ((w.weekday - weekStart + 7) % 7);
      start = instant(zone, w.year, w.month, first);
      next = instant(zone, w.year, w.month, first + 7);
      break;
    }
    case 'd': start = instant(zone, w.year, w.month, w.day); next = instant(zone, w.year, w.month, w.day + 1); break;
    // Hours and shorter: the clock's reading, taken off the instant.
    case 'h': start = t - w.minute * 60000 - w.second * 1000 - w.ms; next = start + 3600000; break;
    case 'm': start = t - w.second * 1000 - w.ms; next = start + 60000; break;
    case 's': start = t - w.ms; next = start + 1000; break;
    default: return t;
  }
  return up ? next - 1 : start;
}

// parseTime returns milliseconds, or null. roundUp is for the end of a range
// ("now/d" as "to" means the end of today). zone is an IANA name (see
// tz.zoneName): relative times round, and absolute times without an offset
// ("2026-01-15 10:00") read, in it; weekStart is the dashboard's setting.
export function parseTime(text: string | number, now: number, roundUp = false, zone = 'UTC', weekStart = ''): number | null {
  const s = String(text).trim();
  if (/^\d+$/.test(s)) return Number(s) >= 1e11 ? Number(s) : Number(s) * 1000;
  if (s.startsWith('now')) {
    let t = now;
    let rest = s.slice(3);
    const re = /^([+-])(\d+)([smhdwMy])/;
    for (let m = re.exec(rest); m; m = re.exec(rest)) {
      t = add(t, (m[1] === '-' ? -1 : 1) * Number(m[2]), m[3], zone);
      rest = rest.slice(m[0].length);
    }
    const r = /^\/([smhdwMy])/.exec(rest);
    if (r) {
      t = roundTo(t, r[1], roundUp, zone, weekStarts[weekStart.toLowerCase()] ?? 1);
      rest = rest.slice(r[0].length);
    }
    return rest === '' ? t : null;
  }
  const local = /^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,3}))?)?)?$/.exec(s);
  if (local) {
    const n = local.slice(1).map((x) => Number(x ?? 0));
    return instant(zone, n[0], n[1] - 1, n[2], n[3], n[4], n[5], Number((local[7] ?? '0').padEnd(3, '0')));
  }
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

export interface Range {
  from: number; // ms
  to: number; // ms
  raw: { from: string; to: string };
}

export function resolveRange(from: string, to: string, now: number, zone = 'UTC', weekStart = ''): Range | null {
  const f = parseTime(from, now, false, zone, weekStart);
  const t = parseTime(to, now, true, zone, weekStart);
  if (f === null || t === null || f >= t) return null;
  return { from: f, to: t, raw: { from, to } };
}

// describeRange writes a range as Grafana's picker does: "Last 6 hours",
// or its ends, an absolute one in the zone.
export function describeRange(from: string, to: string, zone = 'UTC'): string {
  const m = /^now-(\d+)([smhdwMy])$/.exec(from);
  if (m && to === 'now') {
    const names: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', M: 'month', y: 'year' };
    const n = Number(m[1]);
    return `Last ${n} ${names[m[2]]}${n === 1 ? '' : 's'}`;
  }
  const fmt = (x: string) => (/^\d+$/.test(x) ? formatDate(parseTime(x, 0)!, zone) : x);
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
