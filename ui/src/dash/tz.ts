// Time zones by IANA name through Intl (the browser's own zone data): a
// dashboard's "timezone" is "browser" (or ""), "utc", or a name such as
// "Europe/Berlin". Wall-clock parts, the instant of a wall-clock time
// (across daylight saving changes) and the formats the dashboard shows.

// The browser's zone, looked up once: making a DateTimeFormat to ask costs
// tens of microseconds, and every graph and render asks.
let browserZone = '';

// zoneName turns a dashboard's timezone setting into an IANA name.
export function zoneName(tz: string | undefined | null): string {
  if (!tz || tz === 'browser') return (browserZone ||= Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  if (tz.toLowerCase() === 'utc') return 'UTC';
  return tz;
}

// validZone says whether Intl knows a zone name.
export function validZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

// One formatter per zone: creating one costs far more than using it.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: validZone(zone) ? zone : 'UTC', hourCycle: 'h23',
      year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short',
    });
    formatters.set(zone, f);
  }
  return f;
}

export interface Wall {
  year: number;
  month: number; // 0-11
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  weekday: number; // 0 Sunday … 6 Saturday
}

const weekdays: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

// wall is the wall-clock reading of instant t (ms) in a zone.
export function wall(t: number, zone: string): Wall {
  if (zone === 'UTC') {
    const d = new Date(t);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), ms: d.getUTCMilliseconds(), weekday: d.getUTCDay() };
  }
  const w: Wall = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, ms: ((t % 1000) + 1000) % 1000, weekday: 0 };
  for (const p of formatter(zone).formatToParts(t)) {
    switch (p.type) {
      case 'year': w.year = Number(p.value); break;
      case 'month': w.month = Number(p.value) - 1; break;
      case 'day': w.day = Number(p.value); break;
      case 'hour': w.hour = Number(p.value) % 24; break;
      case 'minute': w.minute = Number(p.value); break;
      case 'second': w.second = Number(p.value); break;
      case 'weekday': w.weekday = weekdays[p.value] ?? 0; break;
    }
  }
  return w;
}

// offset is how far the zone's wall clock is ahead of UTC at instant t, in ms.
export function offset(t: number, zone: string): number {
  const w = wall(t, zone);
  return Date.UTC(w.year, w.month, w.day, w.hour, w.minute, w.second, w.ms) - t;
}

// instant is the time (ms) at which the zone's clock reads the given wall
// time; the fields may overflow (day 32, hour -1) as Date.UTC allows. A
// time the clock skips (spring forward) moves on by the gap; a time it
// reads twice (fall back) is the earlier one.
export function instant(zone: string, year: number, month: number, day = 1, hour = 0, minute = 0, second = 0, ms = 0): number {
  const asUTC = Date.UTC(year, month, day, hour, minute, second, ms);
  if (zone === 'UTC') return asUTC;
  // The offsets half a day before and after; a zone changes at most once
  // in between.
  const before = asUTC - offset(asUTC - 43200000, zone);
  const after = asUTC - offset(asUTC + 43200000, zone);
  const fits = [before, after].filter((c) => offset(c, zone) === asUTC - c);
  return fits.length > 0 ? Math.min(...fits) : before;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

// formatDate writes instant t in a zone with the tokens YYYY, YY, MM, DD,
// HH, hh, mm, ss, SSS, A and Z, as Grafana's date formats use them.
export function formatDate(t: number, zone: string, fmt = 'YYYY-MM-DD HH:mm:ss'): string {
  const w = wall(t, zone);
  return fmt.replace(/YYYY|YY|MM|DD|HH|hh|mm|ss|SSS|A|Z/g, (tok) => {
    switch (tok) {
      case 'YYYY': return String(w.year);
      case 'YY': return pad(w.year % 100);
      case 'MM': return pad(w.month + 1);
      case 'DD': return pad(w.day);
      case 'HH': return pad(w.hour);
      case 'hh': return pad(w.hour % 12 || 12);
      case 'mm': return pad(w.minute);
      case 'ss': return pad(w.second);
      case 'SSS': return pad(w.ms, 3);
      case 'A': return w.hour < 12 ? 'AM' : 'PM';
      default: {
        const o = Math.round(offset(t, zone) / 60000);
        return `${o < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(o) / 60))}:${pad(Math.abs(o) % 60)}`;
      }
    }
  });
}

// zones lists the IANA names the browser knows, for the time zone picker.
export function zones(): string[] {
  const f = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf;
  return f ? f('timeZone') : [];
}
