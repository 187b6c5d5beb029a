// Template variables in queries, titles and links, as Grafana writes them:
// $var, ${var}, ${var:format}, [[var]], [[var:format]]; multi-value and
// "All" values formatted per the format, by default as a regex
// alternation for Prometheus queries.

export interface VarValue {
  // The selected values; a single value is a one-element list.
  values: string[];
  // multi and includeAll are the variable's settings: Grafana's Prometheus
  // data source escapes a value for a regex only for such variables.
  multi?: boolean;
  includeAll?: boolean;
  // all is set when "All" is selected: allValue (custom) or every option.
  all?: boolean;
  allValue?: string | null;
}

export type Vars = Record<string, VarValue>;

// escapeRegex escapes a value for a PromQL regex matcher (RE2 syntax).
export function escapeRegex(v: string): string {
  return v.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&');
}

// promEscape escapes a value for a PromQL string literal.
function promEscape(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

// promRegexEscape escapes a value for a regex inside a PromQL string
// literal: the backslash is doubled, as the string literal takes one away.
function promRegexEscape(v: string): string {
  return v.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
}

// promQuery is how Grafana's Prometheus data source writes a variable into a
// query when no format is named: as it is for a plain variable, as a regex
// alternation for a multi-value or All variable.
function promQuery(v: VarValue): string {
  if (!v.multi && !v.includeAll) return promEscape(v.values.join(','));
  const vals = v.values.map(promRegexEscape);
  return vals.length === 1 ? vals[0] : `(${vals.join('|')})`;
}

// encodeStrict finishes encodeURI or encodeURIComponent as RFC 3986 asks:
// the sub-delimiters ! ' ( ) * are encoded too, as Grafana does.
function encodeStrict(s: string): string {
  return s.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

// formatValue writes a variable's value in a format ("regex", "csv", …);
// name is the variable's, for the queryparam format.
export function formatValue(v: VarValue, format: string | undefined, defaultFormat: string, name = ''): string {
  if (v.all && v.allValue) return v.allValue;
  if (format === undefined && defaultFormat === 'regex') return promQuery(v);
  const fmt = format ?? defaultFormat;
  const vals = v.values;
  switch (fmt) {
    case 'raw':
      return vals.join(',');
    case 'regex':
      if (vals.length === 1) return escapeRegex(vals[0]);
      return `(${vals.map(escapeRegex).join('|')})`;
    case 'pipe':
      return vals.join('|');
    case 'csv':
      return vals.join(',');
    case 'json':
      return JSON.stringify(vals.length === 1 ? vals[0] : vals);
    case 'doublequote':
      return vals.map((x) => `"${x.replace(/"/g, '\\"')}"`).join(',');
    case 'singlequote':
      return vals.map((x) => `'${x.replace(/'/g, "\\'")}'`).join(',');
    case 'queryparam':
      return vals.map((x) => `var-${name}=${encodeStrict(encodeURIComponent(x))}`).join('&');
    case 'percentencode':
      return encodeStrict(encodeURIComponent(vals.length === 1 ? vals[0] : `{${vals.join(',')}}`));
    case 'uriencode':
      return encodeStrict(encodeURI(vals.length === 1 ? vals[0] : `{${vals.join(',')}}`));
    case 'sqlstring':
      return vals.map((x) => `'${x.replace(/'/g, "''")}'`).join(',');
    case 'html':
      return vals.join(', ').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    case 'glob':
      return vals.length === 1 ? vals[0] : `{${vals.join(',')}}`;
    case 'text':
      return vals.join(' + ');
    case 'lucene':
      return vals.length === 1 ? `"${vals[0]}"` : `(${vals.map((x) => `"${x}"`).join(' OR ')})`;
    default:
      return vals.join(',');
  }
}

const varRe = /\$(\w+)|\$\{(\w+)(?::([\w]+))?\}|\[\[(\w+)(?::([\w]+))?\]\]/g;

// interpolate replaces the variables it knows; unknown ones stay as they
// are, as in Grafana, so that PromQL's own $ never breaks.
export function interpolate(text: string, vars: Vars, defaultFormat = 'regex'): string {
  return text.replace(varRe, (whole, a, b, fb, c, fc) => {
    const name = a ?? b ?? c;
    const v = vars[name];
    if (!v) return whole;
    return formatValue(v, fb ?? fc, defaultFormat, name);
  });
}

// usedVars lists the variable names a text refers to, for chained
// variables (a variable's query that uses another refreshes with it).
export function usedVars(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(varRe)) out.add(m[1] ?? m[2] ?? m[4]);
  return [...out];
}

// emptyVars lists the variables the texts use that have no value (a
// query variable with no options: its metric is not there), which is
// usually why such a panel has no data.
export function emptyVars(texts: string[], vars: Vars): string[] {
  const names = new Set(texts.flatMap(usedVars));
  return [...names].filter((n) => vars[n] && !(vars[n].all && vars[n].allValue) && vars[n].values.every((v) => v === ''));
}

// legend renders a legendFormat: {{label}} takes the series' label value.
export function legend(format: string | undefined, labels: Record<string, string>, fallback: string): string {
  if (!format || format === '__auto') return fallback;
  return format.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, l) => labels[l] ?? '');
}
