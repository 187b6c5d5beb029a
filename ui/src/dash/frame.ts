// A table panel's data as Grafana's table shows it after its
// transformations: a frame of columns (labels and values) and rows. The
// transformations applied are the common ones: merge (always: the
// queries' series are joined on their labels), reduce (series to rows),
// series to rows (one row per point: Time, Metric, Value),
// organize fields (hide, order, rename), filter fields by name, and
// labels to fields (keep some labels). Others are reported by the
// server's compatibility report and left out here.
import { calcName, reduce, type Series } from './reduce';
import type { FieldConfig, Transformation } from './model';

export interface Column {
  key: string; // the field's name before renaming: what links and overrides use
  title: string; // shown
  numeric: boolean;
}

export interface Cell {
  raw: number | string | null;
  time?: number; // ms
  series?: Series;
}

export interface Row {
  labels: Record<string, string>;
  cells: Record<string, Cell>;
}

export interface Frame {
  columns: Column[];
  rows: Row[];
}

// supportedTransformations are the ids the table applies.
export const supportedTransformations = new Set(['merge', 'reduce', 'seriesToRows', 'organize', 'filterFieldsByName', 'labelsToFields']);

// valueKey names a query's value column: "Value", or "Value #A" when
// several queries share the table, as Grafana names them.
export function valueKey(refId: string, many: boolean): string {
  return many ? `Value #${refId}` : 'Value';
}

// merged is Grafana's merge: one row per label set, its labels as columns
// and each query's last value in its own column.
export function merged(series: Series[]): Frame {
  const refIds = [...new Set(series.map((s) => s.refId))];
  const rows = new Map<string, Row>();
  for (const s of series) {
    const { __name__: _n, ...labels } = s.labels;
    const key = JSON.stringify(Object.entries(labels).sort());
    const row = rows.get(key) ?? { labels, cells: {} };
    const v = reduce(s.values, 'lastNotNull');
    const time = s.times.length ? s.times[s.times.length - 1] * 1000 : undefined;
    row.cells[valueKey(s.refId, refIds.length > 1)] = { raw: v, time, series: s };
    for (const [k, lv] of Object.entries(labels)) row.cells[k] = { raw: lv, time };
    rows.set(key, row);
  }
  const labelCols = [...new Set([...rows.values()].flatMap((r) => Object.keys(r.labels)))].sort();
  return {
    columns: [
      ...labelCols.map((k) => ({ key: k, title: k, numeric: false })),
      ...refIds.map((r) => ({ key: valueKey(r, refIds.length > 1), title: valueKey(r, refIds.length > 1), numeric: true })),
    ],
    rows: [...rows.values()],
  };
}

// reducerTitles are Grafana's column titles of the reducers.
const reducerTitles: Record<string, string> = {
  lastNotNull: 'Last *', last: 'Last', firstNotNull: 'First *', first: 'First', mean: 'Mean', max: 'Max', min: 'Min',
  sum: 'Total', count: 'Count', range: 'Range', delta: 'Delta', diff: 'Difference',
};

// reduced is the reduce transformation in its default mode, series to
// rows: one row per series with its name in Field, one column per
// reducer and, with labelsToFields, the labels as columns.
export function reduced(series: Series[], reducers: string[], labelsToFields: boolean): Frame {
  const calcs = (reducers.length ? reducers : ['max']).map((r) => calcName(r));
  const labelCols = labelsToFields ? [...new Set(series.flatMap((s) => Object.keys(s.labels).filter((k) => k !== '__name__')))].sort() : [];
  const columns: Column[] = [
    { key: 'Field', title: 'Field', numeric: false },
    ...labelCols.map((k) => ({ key: k, title: k, numeric: false })),
    ...calcs.map((c) => ({ key: reducerTitles[c] ?? c, title: reducerTitles[c] ?? c, numeric: true })),
  ];
  const rows = series.map((s): Row => {
    const cells: Record<string, Cell> = { Field: { raw: s.name, series: s } };
    for (const k of labelCols) cells[k] = { raw: s.labels[k] ?? '' };
    for (const c of calcs) cells[reducerTitles[c] ?? c] = { raw: reduce(s.values, c), series: s };
    const { __name__: _n, ...labels } = s.labels;
    return { labels, cells };
  });
  return { columns, rows };
}

// seriesRows is Grafana's series to rows: a row per point of every
// series, with its time, the series' name and the value.
export function seriesRows(series: Series[]): Frame {
  const rows: Row[] = [];
  for (const s of series) {
    const { __name__: _n, ...labels } = s.labels;
    s.times.forEach((t, i) => {
      const time = t * 1000;
      rows.push({ labels, cells: { Time: { raw: new Date(time).toISOString().replace('T', ' ').slice(0, 19), time }, Metric: { raw: s.name, time, series: s }, Value: { raw: s.values[i], time, series: s } } });
    });
  }
  rows.sort((a, b) => (b.cells.Time.time ?? 0) - (a.cells.Time.time ?? 0));
  return {
    columns: [{ key: 'Time', title: 'Time', numeric: false }, { key: 'Metric', title: 'Metric', numeric: false }, { key: 'Value', title: 'Value', numeric: true }],
    rows,
  };
}

function active(ts: Transformation[] | undefined): Transformation[] {
  return (ts ?? []).filter((t) => !t.disabled);
}

function regexOrNull(p: unknown): RegExp | null {
  if (typeof p !== 'string' || p === '') return null;
  const m = /^\/(.*)\/([a-z]*)$/.exec(p);
  try {
    return m ? new RegExp(m[1], m[2].replace('g', '')) : new RegExp(p);
  } catch {
    return null;
  }
}

// matcher is filterFieldsByName's include or exclude: names or a pattern.
function matcher(o: any): ((name: string) => boolean) | null {
  if (!o) return null;
  const names: string[] = Array.isArray(o.names) ? o.names : [];
  const re = regexOrNull(o.pattern);
  if (names.length === 0 && !re) return null;
  return (n) => names.includes(n) || (re !== null && re.test(n));
}

// columnOverrides applies the field overrides that shape a table: hidden
// columns (custom.hidden) and display names, matched by name or regex,
// as the old table's column styles migrate to.
export function columnOverrides(f: Frame, overrides: FieldConfig['overrides']): Frame {
  if (!overrides?.length) return f;
  const cols: Column[] = [];
  for (const c of f.columns) {
    let col: Column | null = c;
    for (const o of overrides) {
      const m = o.matcher;
      const re = m.id === 'byRegexp' ? regexOrNull(m.options) : null;
      const hit = (m.id === 'byName' && m.options === c.title) || (re !== null && re.test(c.title));
      if (!hit || !col) continue;
      for (const p of o.properties) {
        if (p.id === 'custom.hidden' && p.value === true) col = null;
        else if (p.id === 'displayName' && typeof p.value === 'string' && col) col = { ...col, title: p.value };
      }
    }
    if (col) cols.push(col);
  }
  return { ...f, columns: cols };
}

// tableFrame builds the frame of a table panel from its series and
// transformations, then its overrides (and the old table's
// options.excludeByName).
export function tableFrame(series: Series[], transformations: Transformation[] | undefined, excludeByName?: Record<string, boolean>, overrides?: FieldConfig['overrides']): Frame {
  const ts = active(transformations);
  const red = ts.find((t) => t.id === 'reduce');
  let f = red && (red.options?.mode ?? 'seriesToRows') === 'seriesToRows'
    ? reduced(series, red.options?.reducers ?? [], !!red.options?.labelsToFields)
    : ts.some((t) => t.id === 'seriesToRows') ? seriesRows(series) : merged(series);
  if (excludeByName) f = organize(f, { excludeByName });
  for (const t of ts) {
    switch (t.id) {
      case 'organize':
        f = organize(f, t.options ?? {});
        break;
      case 'filterFieldsByName': {
        const inc = matcher(t.options?.include);
        const exc = matcher(t.options?.exclude);
        f = { ...f, columns: f.columns.filter((c) => (!inc || inc(c.title)) && !(exc && exc(c.title))) };
        break;
      }
      case 'labelsToFields': {
        // Labels are columns already (the Prometheus table format); the
        // option that matters here keeps only some of them.
        const keep: string[] | undefined = t.options?.keepLabels;
        if (keep?.length) {
          const labels = new Set(f.rows.flatMap((r) => Object.keys(r.labels)));
          f = { ...f, columns: f.columns.filter((c) => c.numeric || !labels.has(c.key) || keep.includes(c.key)) };
        }
        break;
      }
    }
  }
  return columnOverrides(f, overrides);
}

// organize applies Grafana's organize fields: excludeByName hides,
// indexByName orders, renameByName renames; all by the name shown.
export function organize(f: Frame, o: { excludeByName?: Record<string, boolean>; indexByName?: Record<string, number>; renameByName?: Record<string, string> }): Frame {
  let cols = f.columns.filter((c) => !o.excludeByName?.[c.title]);
  const idx = o.indexByName ?? {};
  if (Object.keys(idx).length) {
    const pos = (c: Column, i: number) => (c.title in idx ? idx[c.title] : Number.MAX_SAFE_INTEGER + i);
    cols = cols.map((c, i) => ({ c, p: pos(c, i), i })).sort((a, b) => a.p - b.p || a.i - b.i).map((x) => x.c);
  }
  const ren = o.renameByName ?? {};
  cols = cols.map((c) => (ren[c.title] ? { ...c, title: ren[c.title] } : c));
  return { ...f, columns: cols };
}
