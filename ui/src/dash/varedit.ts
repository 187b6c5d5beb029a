// Editing a dashboard's variables: a new variable of each type with
// Grafana's defaults, moving and removing, names Grafana accepts, and the
// JSON Grafana stores in templating.list: the selection as "current" and,
// for the types whose options do not come from a query, the options with
// the selected ones marked.
import type { Variable } from './model';
import { ALL, customOptions, queryText, type Option } from './variables';

export const variableTypes = ['query', 'custom', 'constant', 'interval', 'textbox', 'datasource'];

// The query's refId Grafana's Prometheus variable editor writes.
const queryRefId = 'PrometheusVariableQueryEditor-VariableQuery';

// newVariable is a variable of a type with Grafana's defaults; from keeps
// the name, label, description and hide of the variable it replaces.
export function newVariable(type: string, name: string, from?: Variable): Variable {
  const v: Variable = { name, type, hide: type === 'constant' ? 2 : from?.hide ?? 0, skipUrlSync: false };
  if (from?.label) v.label = from.label;
  if (from?.description) v.description = from.description;
  switch (type) {
    case 'query':
      return { ...v, datasource: { type: 'prometheus', uid: 'argus' }, definition: '', query: { query: '', refId: queryRefId }, regex: '', sort: 0, refresh: 1, multi: false, includeAll: false, options: [], current: {} };
    case 'custom':
      return { ...v, query: '', queryValue: '', multi: false, includeAll: false, options: [], current: {} };
    case 'interval':
      return { ...v, query: '1m,10m,30m,1h,6h,12h,1d,7d,14d,30d', auto: false, auto_count: 30, auto_min: '10s', refresh: 2, options: [], current: {} };
    case 'datasource':
      return { ...v, query: 'prometheus', queryValue: '', regex: '', refresh: 1, multi: false, includeAll: false, options: [], current: {} };
    default: // constant, textbox
      return { ...v, query: '', options: [], current: {} };
  }
}

// setQuery writes a query variable's query in both places Grafana keeps it.
export function setQuery(v: Variable, q: string): Variable {
  return { ...v, definition: q, query: { query: q, refId: queryRefId } };
}

// nameError says what is wrong with a variable's name, or ''.
export function nameError(name: string, others: string[]): string {
  if (name === '') return 'a variable needs a name';
  if (!/^\w+$/.test(name)) return 'a name has only letters, digits and _';
  if (name.startsWith('__')) return 'names starting with __ are the built-in variables\'';
  if (others.includes(name)) return `there is a variable "${name}" already`;
  return '';
}

export function moveVariable(list: Variable[], i: number, by: number): Variable[] {
  const j = i + by;
  if (j < 0 || j >= list.length) return list;
  const out = [...list];
  [out[i], out[j]] = [out[j], out[i]];
  return out;
}

// fixedOptions are the options of the types that list them in their
// definition; an interval's auto option has Grafana's placeholder value.
export function fixedOptions(v: Variable): Option[] | null {
  const q = queryText(v);
  switch (v.type) {
    case 'custom':
      return customOptions(q);
    case 'interval': {
      const list = q.split(',').map((s) => s.trim()).filter(Boolean).map((s) => ({ text: s, value: s }));
      return v.auto ? [{ text: 'auto', value: `$__auto_interval_${v.name}` }, ...list] : list;
    }
    case 'constant':
    case 'textbox':
      return [{ text: q, value: q }];
  }
  return null;
}

// saveModel is the variable as Grafana stores it, with its selection among
// the options found (the preview's); the types whose options come from a
// query keep none, as Grafana's do when they refresh.
export function saveModel(v: Variable, options: Option[]): Variable {
  const multi = !!v.multi && (v.type === 'query' || v.type === 'custom' || v.type === 'datasource');
  const all = !!v.includeAll && (v.type === 'query' || v.type === 'custom' || v.type === 'datasource');
  const want = v.current?.value === undefined ? [] : Array.isArray(v.current.value) ? v.current.value : [v.current.value];
  let selected: string[];
  if (v.type === 'textbox' || v.type === 'constant') selected = [typeof v.query === 'string' ? v.query : ''];
  else {
    selected = want.filter((x) => (x === ALL && all) || options.some((o) => o.value === x));
    if (!multi) selected = selected.slice(0, 1);
    if (selected.length === 0) selected = all ? [ALL] : options.slice(0, 1).map((o) => o.value);
  }
  const text = (x: string) => (x === ALL ? 'All' : options.find((o) => o.value === x)?.text ?? x);
  const out: Variable = { ...v };
  delete out.multi;
  delete out.includeAll;
  delete out.allValue;
  if (v.type === 'query' || v.type === 'custom' || v.type === 'datasource') {
    out.multi = multi;
    out.includeAll = all;
    if (all && v.allValue) out.allValue = v.allValue;
  }
  out.current = selected.length === 0 ? {} : multi
    ? { selected: true, text: selected.map(text), value: selected }
    : { selected: false, text: text(selected[0]), value: selected[0] };
  const fixed = v.type === 'custom' || v.type === 'interval' || v.type === 'constant' || v.type === 'textbox';
  const listed = fixed ? [...(all ? [{ text: 'All', value: ALL }] : []), ...options] : [];
  out.options = listed.map((o) => ({ selected: selected.includes(o.value), text: o.text, value: o.value }));
  return sortedWithoutEmpty(out) as Variable;
}

// sortedWithoutEmpty orders keys and drops null and undefined values, as
// Grafana's save model does.
function sortedWithoutEmpty(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(sortedWithoutEmpty);
  if (x === null || typeof x !== 'object') return x;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(x).sort()) {
    const v = (x as Record<string, unknown>)[k];
    if (v !== null && v !== undefined) out[k] = sortedWithoutEmpty(v);
  }
  return out;
}
