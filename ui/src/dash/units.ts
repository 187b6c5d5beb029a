// Value formatting by Grafana unit id (the common ones): each returns the
// text shown on axes, stats and tables.

function fixed(v: number, decimals?: number | null): string {
  if (decimals !== undefined && decimals !== null) return v.toFixed(Math.max(0, Math.min(20, Math.round(decimals))));
  const a = Math.abs(v);
  const d = a === 0 ? 0 : a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return String(+v.toFixed(d));
}

function scaled(v: number, base: number, units: string[], decimals?: number | null, sep = ' '): string {
  let i = 0;
  let x = v;
  while (Math.abs(x) >= base && i < units.length - 1) {
    x /= base;
    i++;
  }
  return `${fixed(x, decimals)}${sep}${units[i]}`.trimEnd();
}

// Small values get smaller SI prefixes (ms, µs) for time units.
function timeFrom(v: number, unitSeconds: number, decimals?: number | null): string {
  const s = v * unitSeconds;
  const a = Math.abs(s);
  if (a === 0) return `0 ${unitSeconds === 1 ? 's' : unitSeconds === 1e-3 ? 'ms' : unitSeconds === 1e-6 ? 'µs' : 'ns'}`;
  if (a < 1e-6) return `${fixed(s * 1e9, decimals)} ns`;
  if (a < 1e-3) return `${fixed(s * 1e6, decimals)} µs`;
  if (a < 1) return `${fixed(s * 1e3, decimals)} ms`;
  if (a < 60) return `${fixed(s, decimals)} s`;
  if (a < 3600) return `${fixed(s / 60, decimals)} min`;
  if (a < 86400) return `${fixed(s / 3600, decimals)} hour`;
  if (a < 604800) return `${fixed(s / 86400, decimals)} day`;
  return `${fixed(s / 604800, decimals)} week`;
}

const si = ['', 'K', 'M', 'G', 'T', 'P', 'E'];
const iec = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
const siBytes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

function short(v: number, decimals?: number | null): string {
  return scaled(v, 1000, si, decimals, ' ').replace(/ $/, '');
}

export function formatUnit(v: number | null | undefined, unit = 'short', decimals?: number | null): string {
  if (v === null || v === undefined) return '';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  switch (unit) {
    case 'none':
      return fixed(v, decimals);
    case 'percent':
      return `${fixed(v, decimals)}%`;
    case 'percentunit':
      return `${fixed(v * 100, decimals)}%`;
    case 'bytes':
    case 'decbytes':
      return unit === 'bytes' ? scaled(v, 1024, iec, decimals) : scaled(v, 1000, siBytes, decimals);
    case 'kbytes':
      return scaled(v * 1024, 1024, iec, decimals);
    case 'mbytes':
      return scaled(v * 1048576, 1024, iec, decimals);
    case 'bits':
      return scaled(v, 1024, ['b', 'Kib', 'Mib', 'Gib', 'Tib'], decimals);
    case 'bps':
      return scaled(v, 1000, ['bps', 'kbps', 'Mbps', 'Gbps', 'Tbps'], decimals);
    case 'Bps':
    case 'binBps':
      return unit === 'Bps' ? scaled(v, 1000, ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'], decimals) : scaled(v, 1024, ['B/s', 'KiB/s', 'MiB/s', 'GiB/s'], decimals);
    case 's':
      return timeFrom(v, 1, decimals);
    case 'ms':
      return timeFrom(v, 1e-3, decimals);
    case 'µs':
    case 'us':
      return timeFrom(v, 1e-6, decimals);
    case 'ns':
      return timeFrom(v, 1e-9, decimals);
    case 'dtdurations':
      return timeFrom(v, 1, decimals);
    case 'ops':
      return `${short(v, decimals)} ops/s`;
    case 'reqps':
      return `${short(v, decimals)} req/s`;
    case 'rps':
      return `${short(v, decimals)} rd/s`;
    case 'wps':
      return `${short(v, decimals)} wr/s`;
    case 'iops':
      return `${short(v, decimals)} io/s`;
    case 'opm':
      return `${short(v, decimals)} ops/min`;
    case 'hertz':
      return scaled(v, 1000, ['Hz', 'kHz', 'MHz', 'GHz'], decimals);
    case 'celsius':
      return `${fixed(v, decimals)}°C`;
    case 'dateTimeAsIso':
      return new Date(v).toISOString();
    case 'dateTimeFromNow': {
      const d = (Date.now() - v) / 1000;
      return d >= 0 ? `${timeFrom(d, 1, 0)} ago` : `in ${timeFrom(-d, 1, 0)}`;
    }
    case 'short':
    case '':
      return short(v, decimals);
  }
  // A custom suffix unit, as Grafana's "suffix:" form.
  if (unit.startsWith('suffix:')) return `${short(v, decimals)}${unit.slice(7)}`;
  if (unit.startsWith('prefix:')) return `${unit.slice(7)}${short(v, decimals)}`;
  return short(v, decimals);
}
