// Turning range query results into the aligned columns uPlot draws.
import type { Sample } from '../api';

export interface Columns {
  xs: number[];
  ys: (number | null)[][];
}

// align puts every series on the query's step grid; a step without a sample
// is null, which draws as a gap, as Prometheus's UI shows missing data.
export function align(result: Sample[], start: number, end: number, step: number): Columns {
  const n = Math.floor((end - start) / step + 1e-9) + 1;
  const xs = new Array<number>(n);
  for (let i = 0; i < n; i++) xs[i] = start + i * step;
  const ys = result.map((s) => {
    const col = new Array<number | null>(n).fill(null);
    for (const [t, v] of s.values ?? []) {
      const i = Math.round((t - start) / step);
      if (i >= 0 && i < n) col[i] = parseValue(v);
    }
    return col;
  });
  return { xs, ys };
}

export function parseValue(v: string): number {
  // Nearly every value is a plain number; only the rest needs the names.
  const n = +v;
  if (n === n) return n;
  switch (v) {
    case '+Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
  }
  return Number(v);
}

// finiteOnly turns NaN and ±Inf into gaps, which is what a graph can draw.
// A column that has neither is returned as it is, not copied.
export function finiteOnly(col: (number | null)[]): (number | null)[] {
  let i = 0;
  while (i < col.length && (col[i] === null || Number.isFinite(col[i]))) i++;
  if (i === col.length) return col;
  return col.map((v) => (v === null || !Number.isFinite(v) ? null : v));
}

// stack sums the columns from the first up, for the stacked graph; a gap
// counts as zero below and stays a gap itself.
export function stack(ys: (number | null)[][]): (number | null)[][] {
  const sum = new Array<number>(ys[0]?.length ?? 0).fill(0);
  return ys.map((col) =>
    col.map((v, i) => {
      if (v === null || !Number.isFinite(v)) return null;
      sum[i] += v;
      return sum[i];
    }),
  );
}

// color gives series i a color that stays the same across redraws.
export function color(i: number): string {
  const hue = (i * 137.508) % 360;
  return `hsl(${hue.toFixed(1)}, 65%, 52%)`;
}

// formatValue writes a sample value compactly for axes and tooltips.
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e15 || a < 1e-4)) return v.toExponential(3);
  const units: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [n, u] of units) if (a >= n) return `${+(v / n).toFixed(2)}${u}`;
  return `${+v.toFixed(4)}`;
}
