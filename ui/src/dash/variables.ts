// Template variables: their options (from queries against the data source,
// or from the definition), the selection, and its URL form (var-NAME).
import { apiBase, dsUID, type Variable } from './model';
import type { Vars } from './interpolate';
import { interpolate } from './interpolate';
import { builtins } from './query';
import { calcInterval, formatInterval, parseIntervalMs, roundInterval, type Range } from './time';

export interface Option {
  text: string;
  value: string;
}

export interface VarState {
  def: Variable;
  options: Option[];
  selected: string[]; // values; ['$__all'] for All
  error?: string;
}

export const ALL = '$__all';

// queryText is a query variable's query in any of the model's forms.
export function queryText(v: Variable): string {
  if (typeof v.query === 'string') return v.query;
  if (v.query && typeof v.query.query === 'string') return v.query.query;
  return v.definition ?? '';
}

export type Fetcher = (path: string, params: URLSearchParams) => Promise<any>;

// Classic Grafana Prometheus variable queries.
export async function runVarQuery(q: string, fetch: Fetcher, start: number, end: number): Promise<string[]> {
  const time = { start: String(Math.floor(start / 1000)), end: String(Math.ceil(end / 1000)) };
  let m = /^\s*label_names\(\s*\)\s*$/.exec(q);
  if (m) return fetch('labels', new URLSearchParams(time));
  m = /^\s*label_values\(\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/.exec(q);
  if (m) return fetch(`label/${encodeURIComponent(m[1])}/values`, new URLSearchParams(time));
  m = /^\s*label_values\(\s*(.+?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/.exec(q);
  if (m) {
    const label = m[2];
    // /api/v1/label/<name>/values with match[] asks for far less than
    // /api/v1/series for a metric with many series.
    const p = new URLSearchParams(time);
    p.append('match[]', m[1]);
    return fetch(`label/${encodeURIComponent(label)}/values`, p);
  }
  m = /^\s*metrics\(\s*(.*?)\s*\)\s*$/.exec(q);
  if (m) {
    const names: string[] = await fetch('label/__name__/values', new URLSearchParams(time));
    const re = new RegExp(m[1] || '.*');
    return names.filter((n) => re.test(n));
  }
  m = /^\s*query_result\(\s*(.+)\s*\)\s*$/.exec(q);
  if (m) {
    const r = await fetch('query', new URLSearchParams({ query: m[1], time: time.end }));
    if (r.resultType === 'scalar' || r.resultType === 'string') return [String(r.result[1])];
    return (r.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => {
      const { __name__: name = '', ...rest } = s.metric;
      const ls = Object.keys(rest).map((k) => `${k}="${rest[k]}"`).join(',');
      return `${name}{${ls}} ${s.value[1]} ${s.value[0] * 1000}`;
    });
  }
  // A bare expression: the values of its series, as query_result.
  return runVarQuery(`query_result(${q})`, fetch, start, end);
}

// applyRegex keeps the values a variable's regex matches; a capture group
// (or the named groups text and value) picks the part shown.
export function applyRegex(values: string[], regex: string | undefined): Option[] {
  const out: Option[] = [];
  const seen = new Set<string>();
  const re = regex ? regexOf(regex) : null;
  for (const v of values) {
    let text = v;
    let value = v;
    if (re) {
      const m = re.exec(v);
      if (!m) continue;
      if (m.groups && (m.groups.text || m.groups.value)) {
        text = m.groups.text ?? m.groups.value;
        value = m.groups.value ?? m.groups.text;
      } else if (m.length > 1 && m[1] !== undefined) {
        text = value = m[1];
      }
    }
    if (seen.has(value)) continue;
    seen.add(value);
    out.push({ text, value });
  }
  return out;
}

// sortOptions follows Grafana's sort codes.
export function sortOptions(opts: Option[], sort = 0): Option[] {
  const num = (s: string) => {
    const m = /-?\d+(\.\d+)?/.exec(s);
    return m ? Number(m[0]) : NaN;
  };
  const o = [...opts];
  switch (sort) {
    case 1: return o.sort((a, b) => a.text.localeCompare(b.text));
    case 2: return o.sort((a, b) => b.text.localeCompare(a.text));
    case 3: return o.sort((a, b) => num(a.text) - num(b.text));
    case 4: return o.sort((a, b) => num(b.text) - num(a.text));
    case 5: return o.sort((a, b) => a.text.toLowerCase().localeCompare(b.text.toLowerCase()));
    case 6: return o.sort((a, b) => b.text.toLowerCase().localeCompare(a.text.toLowerCase()));
  }
  return o;
}

// customOptions reads a custom variable's "a,b,c" or "text : value" list.
export function customOptions(q: string): Option[] {
  return q.split(/(?<!\\),/).map((s) => s.trim().replace(/\\,/g, ',')).filter((s) => s !== '').map((s) => {
    const m = /^(.+?)\s:\s(.+)$/.exec(s);
    return m ? { text: m[1].trim(), value: m[2].trim() } : { text: s, value: s };
  });
}

// initialSelection is the selection a variable starts with: the URL's, or
// the saved current value, if its options have it; otherwise the first
// option, as in Grafana, where All is the first option of a query or
// custom variable that has it (even one whose query found nothing: its
// allValue, often .*, then still matches).
export function initialSelection(v: Variable, options: Option[], fromURL: string[] | undefined): string[] {
  const want = fromURL && fromURL.length > 0 ? fromURL : toList(v.current?.value);
  if (want.length > 0) {
    if (want.includes(ALL) || want.includes('All')) return v.includeAll ? [ALL] : options.slice(0, 1).map((o) => o.value);
    const known = want.filter((w) => options.some((o) => o.value === w) || v.type === 'textbox' || v.type === 'constant');
    if (known.length > 0) return v.multi ? known : known.slice(0, 1);
  }
  if (v.includeAll && (v.type === 'query' || v.type === 'custom')) return [ALL];
  return options.length > 0 ? [options[0].value] : [];
}

function toList(x: string | string[] | undefined): string[] {
  if (x === undefined) return [];
  return Array.isArray(x) ? x : [x];
}

// toVars is the interpolation view of the variables' selections.
export function toVars(states: VarState[]): Vars {
  const out: Vars = {};
  for (const s of states) {
    const all = s.selected.includes(ALL);
    const values = all ? s.options.map((o) => o.value) : s.selected;
    out[s.def.name] = { values: values.length > 0 ? values : [''], all, allValue: all ? s.def.allValue ?? null : null, multi: s.def.multi, includeAll: s.def.includeAll };
  }
  return out;
}

// dependsOn says whether a variable's query refers to another variable.
export function dependsOn(v: Variable, name: string): boolean {
  const q = queryText(v);
  return interpolate(q, { [name]: { values: ['\u0000'] } }) !== q;
}

// dataSourceOptions lists the data sources of a datasource variable's
// type (argus's are all Prometheus), by name, filtered by its regex; the
// value is the uid, as Grafana stores it.
async function dataSourceOptions(def: Variable, signal: AbortSignal): Promise<Option[]> {
  const type = queryText(def) || 'prometheus';
  const r = await fetch('/api/datasources', { signal, headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(`data sources: ${r.status} ${r.statusText}`);
  const list = (await r.json()) as { uid: string; name: string; type: string }[];
  const re = def.regex ? regexOf(def.regex) : null;
  return list.filter((d) => d.type === type && (!re || re.test(d.name))).map((d) => ({ text: d.name, value: d.uid }));
}

function regexOf(r: string): RegExp {
  const m = /^\/(.*)\/([gimsuy]*)$/.exec(r);
  return m ? new RegExp(m[1], m[2].replace('g', '')) : new RegExp(r);
}

// OptionCache keeps query variables' options between resolutions, keyed
// by what they depend on, so that a variable is queried again only when
// its refresh setting says: 1 (on load) when its query or data source
// changes (a variable before it changed), 2 (on time range change) also
// when the range does. 0 (never) uses the options saved in the JSON.
export type OptionCache = Map<string, { text: string; value: string }[]>;

// optionKey is what a query variable's options depend on.
export function optionKey(def: Variable, query: string, base: string, range: Range): string {
  const key = `${def.name}\u0000${base}\u0000${query}\u0000${def.regex ?? ''}\u0000${def.sort ?? 0}`;
  return def.refresh === 2 ? `${key}\u0000${range.from}\u0000${range.to}` : key;
}

// resolveVariable finds a variable's options (running its query unless
// cache has them) and its selection: the URL's values, else the saved
// ones, else the first.
export async function resolveVariable(def: Variable, before: VarState[], range: Range, fromURL: string[], signal: AbortSignal, cache?: OptionCache): Promise<VarState> {
  // Variable queries see the variables before them and the time range's
  // built-ins (query_result(max_over_time(x[$__range])) is common).
  const vars = { ...toVars(before), ...builtins(range, calcInterval(range, 1000), 15000) };
  let options: { text: string; value: string }[] = [];
  let error: string | undefined;
  try {
    switch (def.type) {
      case 'query': {
        const q = interpolate(queryText(def), vars);
        const base = apiBase(interpolate(dsUID(def.datasource), vars, 'raw'));
        if (def.refresh === 0 && def.options?.length) {
          // Never refreshed: Grafana uses the options stored with it.
          options = def.options.map((o) => ({ text: o.text, value: o.value }));
          break;
        }
        const key = optionKey(def, q, base, range);
        const cached = cache?.get(key);
        if (cached) {
          options = cached;
          break;
        }
        const fetcher = async (path: string, params: URLSearchParams) => {
          const r = await fetch(`${base}/${path}?${params}`, { signal, headers: { Accept: 'application/json' } });
          const body = await r.json().catch(() => ({}));
          if (!r.ok || body.status !== 'success') throw new Error(body.error ?? `${r.status}`);
          return body.data;
        };
        const values = q.trim() === '' ? [] : await runVarQuery(q, fetcher, range.from, range.to);
        options = sortOptions(applyRegex(values, def.regex), def.sort);
        cache?.set(key, options);
        break;
      }
      case 'custom':
        options = customOptions(queryText(def));
        break;
      case 'constant':
        options = [{ text: queryText(def), value: queryText(def) }];
        break;
      case 'interval': {
        options = queryText(def).split(',').map((s) => s.trim()).filter(Boolean).map((s) => ({ text: s, value: s }));
        if (def.auto) {
          const ms = roundInterval((range.to - range.from) / (def.auto_count ?? 30));
          const min = def.auto_min ? parseIntervalMs(def.auto_min) ?? 0 : 0;
          const auto = formatInterval(Math.max(ms, min));
          options = [{ text: 'auto', value: auto }, ...options];
        }
        break;
      }
      case 'textbox': {
        const v = fromURL[0] ?? (typeof def.current?.value === 'string' ? def.current.value : queryText(def));
        return { def, options: [{ text: v, value: v }], selected: [v] };
      }
      case 'datasource':
        options = await dataSourceOptions(def, signal);
        break;
      default:
        options = (def.options ?? []).map((o) => ({ text: o.text, value: o.value }));
        if (def.type !== 'adhoc') error = `variable type "${def.type}" is not supported; using its saved options`;
    }
  } catch (e) {
    if ((e as Error).name !== 'AbortError') error = (e as Error).message;
  }
  return { def, options, selected: initialSelection(def, options, fromURL), error };
}
