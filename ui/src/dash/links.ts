// Panel links and data links, as Grafana fills them in: dashboard
// variables ($var, ${var:format}, [[var]]), the time range (${__from},
// ${__to}, ${__url_time_range}, ${__all_variables}) and, for data links,
// the series and the value a link is about (${__series.name},
// ${__field.name}, ${__field.labels.X}, ${__value.raw|numeric|text|time},
// ${__data.fields.X}).
//
// Encoding follows Grafana: a data link's URL fills in every variable
// without an explicit format as "uriencode" (encodeURI, plus ! ' ( ) *),
// so that a space in a label value becomes %20 while the URL's own ?, &
// and = stay; ${__url_time_range} and ${__all_variables} are query strings
// already and go in as they are. A panel link (the panel header's) fills
// variables in unencoded ("glob": a multi-value variable as {a,b}).
import { safeHref } from '../lib/url';
import { formatValue, type VarValue, type Vars } from './interpolate';
import { formatDate, zoneName } from './tz';

export interface LinkDef {
  title?: string;
  url?: string;
  targetBlank?: boolean;
}

export interface LinkModel {
  title: string;
  href: string;
  blank: boolean;
}

// DataContext is what a data link is about: one value of one series.
export interface DataContext {
  series: string; // the series' display name
  field: string; // the field's name ("Value" for a series' values)
  labels: Record<string, string>;
  value?: {
    raw: number | string | null;
    shown: string; // as shown, with its unit: ${__value}
    text: string; // as shown, without the unit: ${__value.text}
    time?: number; // ms; none for a reduced value (stat)
  };
  row?: Record<string, string>; // a table row's cells, for ${__data.fields.X}
}

export interface LinkScope {
  vars: Vars; // the dashboard's variables, with the panel's repeat value
  range: { from: number; to: number; raw: { from: string; to: string } };
  timezone?: string; // the dashboard's, for ${__from:date:YYYY-MM-DD}
  data?: DataContext;
}

// A variable expression: $name, [[name:format]] or ${name.path:format:args}.
const linkVarRe = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:}]+))?(?::([^}]+))?\}/g;

type Found = { value: string | number | null; raw?: boolean } | { vv: VarValue } | null;

// lookup finds what a variable expression stands for; null leaves the
// expression as written (Grafana keeps unknown variables).
function lookup(name: string, path: string | undefined, s: LinkScope): Found {
  const d = s.data;
  switch (name) {
    case '__from':
      return { value: s.range.from };
    case '__to':
      return { value: s.range.to };
    case '__url_time_range': {
      const raw = (x: string, ms: number) => (x.startsWith('now') ? x : String(Math.round(ms)));
      return { value: `from=${encodeURIComponent(raw(s.range.raw.from, s.range.from))}&to=${encodeURIComponent(raw(s.range.raw.to, s.range.to))}`, raw: true };
    }
    case '__all_variables':
      return { value: allVariables(s.vars), raw: true };
    case '__series':
      return d && path === 'name' ? { value: d.series } : null;
    case '__field':
      if (!d || !path) return null;
      if (path === 'name') return { value: d.field };
      if (path === 'displayName') return { value: d.series };
      if (path === 'labels') return { value: `{${Object.keys(d.labels).sort().map((k) => `${k}="${d.labels[k]}"`).join(', ')}}` };
      if (path === 'labels.__values') return { value: Object.values(d.labels).sort().join(', ') };
      if (path.startsWith('labels.')) return { value: d.labels[path.slice(7)] ?? '' };
      return { value: '' };
    case '__value': {
      if (!d?.value) return null;
      const v = d.value;
      switch (path) {
        case 'raw': return { value: v.raw };
        case 'numeric': return { value: typeof v.raw === 'number' ? v.raw : Number(v.raw) };
        case 'text': return { value: v.text };
        case 'time': return { value: v.time ?? '' };
        default: return { value: v.shown };
      }
    }
    case '__data': {
      const m = d?.row && path ? /^fields(?:\.(.+)|\[["']?(.+?)["']?\])$/.exec(path) : null;
      if (!m) return null;
      const key = m[1] ?? m[2];
      const cells = d!.row!;
      const byIndex = /^\d+$/.test(key) ? Object.values(cells)[Number(key)] : undefined;
      return { value: cells[key] ?? byIndex ?? '' };
    }
  }
  const vv = s.vars[name];
  return vv ? { vv } : null;
}

// allVariables is ${__all_variables}: every dashboard variable as URL
// parameters, All as $__all, as Grafana's "include variables" writes them.
function allVariables(vars: Vars): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(vars)) {
    if (k.startsWith('__')) continue;
    for (const x of v.all ? ['$__all'] : v.values) p.append(`var-${k}`, x);
  }
  return p.toString();
}

// formatData writes a value with the format; "date" formats times (ms).
function formatData(value: string | number | null, fmt: string, zone: string): string {
  if (value === null) return '';
  const [id, ...args] = fmt.split(':');
  if (id === 'date') {
    const ms = Number(value);
    if (!Number.isFinite(ms) || String(value) === '') return String(value);
    const arg = args.join(':') || 'iso';
    if (arg === 'ms') return String(ms);
    if (arg === 'seconds') return String(Math.round(ms / 1000));
    if (arg === 'iso') return new Date(ms).toISOString();
    return formatDate(ms, zone, arg);
  }
  return formatValue({ values: [String(value)] }, id, id);
}

// interpolateLink fills the variables of a link's URL or title in;
// defaultFormat is "uriencode" for a data link's URL and "glob" otherwise.
export function interpolateLink(text: string, s: LinkScope, defaultFormat: string): string {
  const zone = zoneName(s.timezone);
  return text.replace(linkVarRe, (whole, a, b, fb, c, path, fc) => {
    const name = a ?? b ?? c;
    const found = lookup(name, path, s);
    if (!found) return whole;
    const fmt: string = fb ?? fc ?? defaultFormat;
    if ('vv' in found) {
      const [id] = fmt.split(':');
      return formatValue(found.vv, id, id, name);
    }
    return found.raw && !(fb ?? fc) ? String(found.value) : formatData(found.value, fmt, zone);
  });
}

function toModel(l: LinkDef, s: LinkScope, urlFormat: string): LinkModel | null {
  if (!l.url) return null;
  const href = safeHref(interpolateLink(l.url.replace(/\n/g, ''), s, urlFormat));
  if (!href) return null;
  return { title: interpolateLink(l.title || l.url, s, 'glob'), href, blank: !!l.targetBlank };
}

// panelLinks are the links of a panel's header.
export function panelLinks(links: LinkDef[] | undefined, s: LinkScope): LinkModel[] {
  return (links ?? []).map((l) => toModel(l, s, 'glob')).filter((l): l is LinkModel => l !== null);
}

// dataLinks are the links of one value (a point of a graph, a stat, a
// table cell): the field's links, those of the overrides that match it
// after the defaults.
export function dataLinks(links: LinkDef[], s: LinkScope): LinkModel[] {
  return links.map((l) => toModel(l, s, 'uriencode')).filter((l): l is LinkModel => l !== null);
}

// valueText is a formatted value without its unit, as Grafana's
// ${__value.text} has the number alone ("1.5" of "1.5 KiB").
export function valueText(shown: string): string {
  const m = /^\D*?([-+]?(?:\d[\d.,]*(?:e[-+]?\d+)?|Inf|NaN))/.exec(shown);
  return m ? m[1] : shown;
}
