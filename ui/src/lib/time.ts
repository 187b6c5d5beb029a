// Durations and time ranges as the Explore page takes them: Prometheus
// duration strings ("1h30m", "15s"), relative ranges ("now-1h") and
// absolute times (RFC 3339 or unix seconds).

const units: Record<string, number> = {
  ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000,
};

// parseDuration returns the seconds of a Prometheus duration, or null when
// the text is not one. Plain numbers are seconds, as the API takes them.
export function parseDuration(text: string): number | null {
  const s = text.trim();
  if (s === '') return null;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const re = /(\d+)(ms|s|m|h|d|w|y)/g;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    if (m.index !== pos) return null;
    total += Number(m[1]) * units[m[2]];
    pos = re.lastIndex;
  }
  return pos === s.length && pos > 0 ? total : null;
}

// formatDuration writes seconds back in the largest units that fit.
export function formatDuration(seconds: number): string {
  if (seconds <= 0) return '0s';
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  let rest = Math.round(seconds);
  let out = '';
  for (const [u, n] of [['w', 604800], ['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= n) {
      out += `${Math.floor(rest / n)}${u}`;
      rest %= n;
    }
  }
  return out;
}

// parseTime reads "now", "now-1h", an RFC 3339 time or unix seconds, and
// returns unix seconds, or null.
export function parseTime(text: string, now: number): number | null {
  const s = text.trim();
  if (s === 'now' || s === '') return now;
  const rel = /^now\s*-\s*(.+)$/.exec(s);
  if (rel) {
    const d = parseDuration(rel[1]);
    return d === null ? null : now - d;
  }
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t / 1000;
}

// autoStep picks the step of a range query as Prometheus's UI does: about
// 250 points across the range, never under a second.
export function autoStep(rangeSeconds: number): number {
  return Math.max(1, Math.floor(rangeSeconds / 250));
}

// The range presets of the time picker.
export const rangePresets = ['5m', '15m', '30m', '1h', '3h', '6h', '12h', '1d', '2d', '1w', '2w', '4w'];

export function formatTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

// since writes how long ago a time was, for "active since" and "last scrape".
export function since(unixSeconds: number, now: number): string {
  const d = now - unixSeconds;
  if (d < 0) return `in ${formatDuration(-d)}`;
  if (d < 1) return 'just now';
  return `${formatDuration(d)} ago`;
}
