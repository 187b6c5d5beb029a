// Series from query results as the panels use them: names from
// legendFormat, values as numbers, and the reductions stat, gauge, bar
// gauge and legends show (Grafana's calcs).
import type { Sample } from '../api';
import { seriesName } from '../lib/labels';
import { parseValue } from '../lib/series';
import { legend } from './interpolate';
import type { GridSample, QueryResult } from './query';
import type { ValueMapping, Threshold } from './model';

export interface Series {
  name: string;
  labels: Record<string, string>;
  refId: string;
  times: number[]; // seconds
  values: (number | null)[];
  // A range query's series in the grid encoding also has its values on
  // the query's step grid: col[i] is at step first+i (null: no point),
  // which the graph draws without aligning the series again.
  grid?: Grid;
}

export interface Grid {
  startMs: number;
  stepMs: number;
  first: number;
  col: (number | null)[];
}

// GridSeries is a series of the grid encoding. Its column is what a graph
// draws; its points as times and values (for reductions, tables, the
// inspector) are made when first asked for, which a graph without legend
// calculations never does. A column without NaN or ±Inf (which come as
// strings) is the answer's own array, not a copy: nothing changes columns
// in place, and a panel sharing the answer shares it.
export class GridSeries implements Series {
  readonly grid: Grid;
  private pts: { times: number[]; values: (number | null)[] } | null = null;

  constructor(readonly name: string, readonly labels: Record<string, string>, readonly refId: string, g: GridSample, startMs: number, stepMs: number) {
    const src = g.grid;
    let col = src as (number | null)[];
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      if (typeof v !== 'string') continue;
      if (col === src) col = src.slice() as (number | null)[];
      col[i] = parseValue(v);
    }
    this.grid = { startMs, stepMs, first: g.offset, col };
  }

  get times(): number[] {
    return this.points().times;
  }

  get values(): (number | null)[] {
    return this.points().values;
  }

  private points() {
    if (this.pts) return this.pts;
    const { startMs, stepMs, first, col } = this.grid;
    const times: number[] = [];
    const values: (number | null)[] = [];
    for (let i = 0; i < col.length; i++) {
      const v = col[i];
      if (v === null) continue;
      // Integer milliseconds, then seconds: the same number as the
      // standard encoding's "1700000000.500" parses to.
      times.push((startMs + (first + i) * stepMs) / 1000);
      values.push(v);
    }
    this.pts = { times, values };
    return this.pts;
  }
}

// hasPoints says whether a series has a point, without making a grid
// series' points.
export function hasPoints(s: Series): boolean {
  return s.grid ? s.grid.col.some((v) => v !== null) : s.values.length > 0;
}

export function toSeries(results: QueryResult[]): Series[] {
  const out: Series[] = [];
  for (const r of results) {
    const d = r.data;
    if (d.resultType === 'scalar' || d.resultType === 'string') {
      const [t, v] = d.result as [number, string];
      out.push({ name: legend(r.target.legendFormat, {}, r.expr), labels: {}, refId: r.target.refId ?? 'A', times: [t], values: [parseValue(v)] });
      continue;
    }
    if (r.grid) {
      const startMs = Math.round(d.start! * 1000);
      const stepMs = Math.round(d.step! * 1000);
      for (const g of d.result as GridSample[]) {
        const name = legend(r.target.legendFormat, g.metric, seriesName(g.metric));
        out.push(new GridSeries(name, g.metric, r.target.refId ?? 'A', g, startMs, stepMs));
      }
      continue;
    }
    for (const s of d.result as Sample[]) {
      const name = legend(r.target.legendFormat, s.metric, seriesName(s.metric));
      if (s.values) {
        out.push({ name, labels: s.metric, refId: r.target.refId ?? 'A', times: s.values.map((x) => x[0]), values: s.values.map((x) => parseValue(x[1])) });
      } else if (s.value) {
        out.push({ name, labels: s.metric, refId: r.target.refId ?? 'A', times: [s.value[0]], values: [parseValue(s.value[1])] });
      }
    }
  }
  return out;
}

export type Calc = 'lastNotNull' | 'last' | 'firstNotNull' | 'first' | 'mean' | 'max' | 'min' | 'sum' | 'count' | 'range' | 'delta' | 'diff';

const calcAliases: Record<string, Calc> = {
  current: 'lastNotNull', avg: 'mean', total: 'sum', last: 'last', lastNotNull: 'lastNotNull', mean: 'mean', max: 'max',
  min: 'min', sum: 'sum', count: 'count', first: 'first', firstNotNull: 'firstNotNull', range: 'range', delta: 'delta', diff: 'diff',
};

export function calcName(c: string | undefined): Calc {
  return calcAliases[c ?? 'lastNotNull'] ?? 'lastNotNull';
}

export function reduce(values: (number | null)[], calc: Calc): number | null {
  const nums = values.filter((v): v is number => v !== null && !Number.isNaN(v));
  switch (calc) {
    case 'last': return values.length ? values[values.length - 1] : null;
    case 'first': return values.length ? values[0] : null;
    case 'lastNotNull': return nums.length ? nums[nums.length - 1] : null;
    case 'firstNotNull': return nums.length ? nums[0] : null;
    case 'count': return values.length;
  }
  if (nums.length === 0) return null;
  switch (calc) {
    case 'mean': return nums.reduce((a, b) => a + b, 0) / nums.length;
    case 'sum': return nums.reduce((a, b) => a + b, 0);
    case 'max': return Math.max(...nums);
    case 'min': return Math.min(...nums);
    case 'range': return Math.max(...nums) - Math.min(...nums);
    case 'diff': return nums[nums.length - 1] - nums[0];
    case 'delta': {
      let d = 0;
      for (let i = 1; i < nums.length; i++) d += nums[i] >= nums[i - 1] ? nums[i] - nums[i - 1] : nums[i];
      return d;
    }
  }
  return null;
}

// thresholdColor picks the color of the highest step at or below v.
export function thresholdColor(v: number | null, steps: Threshold[] | undefined, min = 0, max = 100, percentage = false): string | undefined {
  if (!steps || steps.length === 0 || v === null) return undefined;
  const x = percentage ? ((v - min) / (max - min || 1)) * 100 : v;
  let color = steps[0].color;
  for (const s of steps) if (s.value === null || x >= s.value) color = s.color;
  return color;
}

// mapValue applies value mappings: exact values, ranges, regexes and the
// special null/NaN cases; it returns the text and color to show, if any.
export function mapValue(v: number | null, text: string, mappings: ValueMapping[] | undefined): { text?: string; color?: string } | null {
  for (const m of mappings ?? []) {
    const o = m.options as any;
    if (m.type === 'value') {
      const hit = o[text] ?? (v !== null ? o[String(v)] : undefined);
      if (hit) return hit;
    } else if (m.type === 'range' && v !== null) {
      if ((o.from === null || o.from === undefined || v >= o.from) && (o.to === null || o.to === undefined || v <= o.to)) return o.result ?? null;
    } else if (m.type === 'regex') {
      try {
        if (new RegExp(o.pattern).test(text)) return o.result ?? null;
      } catch {
        // A bad pattern maps nothing.
      }
    } else if (m.type === 'special') {
      if ((o.match === 'null' || o.match === 'null+nan') && v === null) return o.result ?? null;
      if ((o.match === 'nan' || o.match === 'null+nan') && v !== null && Number.isNaN(v)) return o.result ?? null;
    }
  }
  return null;
}

// Grafana's named colors, as dashboards write them.
const named: Record<string, string> = {
  green: '#73bf69', 'dark-green': '#37872d', 'semi-dark-green': '#56a64b', 'light-green': '#96d98d',
  red: '#f2495c', 'dark-red': '#c4162a', 'semi-dark-red': '#e02f44', 'light-red': '#ff7383',
  yellow: '#fade2a', 'dark-yellow': '#e0b400', 'light-yellow': '#ffee52',
  orange: '#ff9830', 'dark-orange': '#fa6400', 'light-orange': '#ffb357',
  blue: '#5794f2', 'dark-blue': '#1f60c4', 'light-blue': '#8ab8ff',
  purple: '#b877d9', 'dark-purple': '#8f3bb8', 'light-purple': '#ca95e5',
  text: 'currentColor', transparent: 'transparent',
};

export function cssColor(c: string | undefined): string | undefined {
  if (!c) return undefined;
  return named[c] ?? c;
}
