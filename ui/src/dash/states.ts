// The state timeline: each series is a lane of states over time, a state
// being a value's mapped text and color (value mappings first, then the
// field's color: thresholds, a continuous scheme or a fixed color), with
// equal neighbours merged into one segment as Grafana's mergeValues does.
import type { Panel } from './model';
import { cssColor, mapValue, thresholdColor, type Series } from './reduce';
import { formatUnit } from './units';
import { color as seriesColor } from '../lib/series';

export interface Segment {
  // Seconds, clipped to the lane's time range.
  start: number;
  end: number;
  value: number;
  text: string;
  color: string;
  // mapped: the text and color are a value mapping's.
  mapped: boolean;
}

export interface Lane {
  name: string;
  segments: Segment[];
}

// Grafana's continuous color schemes, as their color stops (the
// dashboard importer's report lists the same modes as drawn).
const schemes: Record<string, string[]> = {
  'continuous-GrYlRd': ['#73bf69', '#fade2a', '#f2495c'],
  'continuous-RdYlGr': ['#f2495c', '#fade2a', '#73bf69'],
  'continuous-BlYlRd': ['#1f60c4', '#fade2a', '#c4162a'],
  'continuous-YlRd': ['#fade2a', '#c4162a'],
  'continuous-BlPu': ['#0000ff', '#800080'],
  'continuous-YlBl': ['#ffff00', '#0000ff'],
  'continuous-blues': ['#c0d8ff', '#1f60c4'],
  'continuous-reds': ['#ffa6b0', '#c4162a'],
  'continuous-greens': ['#c8f2c2', '#37872d'],
  'continuous-purples': ['#deb6f2', '#8f3bb8'],
};

// schemeColor is the color at f (0 to 1) along a scheme's stops.
export function schemeColor(stops: string[], f: number): string {
  const x = Math.max(0, Math.min(1, Number.isFinite(f) ? f : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const t = x - i;
  const rgb = (c: string) => [1, 3, 5].map((k) => parseInt(c.slice(k, k + 2), 16));
  const [a, b] = [rgb(stops[i]), rgb(stops[i + 1])];
  return `#${a.map((v, k) => Math.round(v + (b[k] - v) * t).toString(16).padStart(2, '0')).join('')}`;
}

// stateLanes turns series into lanes over [from, to] (seconds). A value
// holds until the next sample; the last one for one step (the smallest
// interval between samples), as a sample stands for its step; a null or
// missing sample is a gap.
export function stateLanes(panel: Panel, series: Series[], from: number, to: number): Lane[] {
  const d = panel.fieldConfig?.defaults ?? {};
  const merge = panel.options?.mergeValues !== false;
  const mode = d.color?.mode;
  const nums = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const min = d.min ?? (nums.length ? Math.min(...nums) : 0);
  const max = d.max ?? (nums.length ? Math.max(...nums) : 1);
  const percentage = d.thresholds?.mode === 'percentage';
  return series.map((s, si) => {
    let step = Infinity;
    for (let i = 1; i < s.times.length; i++) step = Math.min(step, s.times[i] - s.times[i - 1]);
    if (!Number.isFinite(step) || step <= 0) step = Math.max(1, (to - from) / 100);
    const colorOf = (v: number, mapped: string | undefined) => {
      if (mapped) return cssColor(mapped)!;
      if (mode && mode in schemes) return schemeColor(schemes[mode], (v - min) / (max - min || 1));
      if (mode === 'fixed' || mode === 'shades') return cssColor(d.color?.fixedColor) ?? seriesColor(si);
      if (mode?.startsWith('palette-')) return seriesColor(si);
      return cssColor(thresholdColor(v, d.thresholds?.steps, min, max, percentage)) ?? seriesColor(si);
    };
    const segments: Segment[] = [];
    for (let i = 0; i < s.times.length; i++) {
      const v = s.values[i];
      if (v === null || Number.isNaN(v)) continue;
      const t = s.times[i];
      // A later sample ends this one; a gap in the samples (more than a
      // step and a half) ends it after its step.
      const next = s.times[i + 1];
      const end = next !== undefined && next - t <= step * 1.5 ? next : t + step;
      const start = Math.max(t, from);
      const stop = Math.min(end, to);
      if (stop <= start) continue;
      const mapped = mapValue(v, String(v), d.mappings);
      const text = mapped?.text ?? formatUnit(v, d.unit ?? 'short', d.decimals);
      const color = colorOf(v, mapped?.color);
      const last = segments[segments.length - 1];
      if (merge && last && last.end === start && last.text === text && last.color === color) {
        last.end = stop;
        continue;
      }
      segments.push({ start, end: stop, value: v, text, color, mapped: mapped?.text !== undefined || mapped?.color !== undefined });
    }
    return { name: s.name, segments };
  });
}

// stateLegend lists each mapped state shown, once, in the order first
// seen: the values' own numbers would make a legend as long as the data.
export function stateLegend(lanes: Lane[]): { text: string; color: string }[] {
  const seen = new Map<string, { text: string; color: string }>();
  for (const l of lanes) {
    for (const s of l.segments) if (s.mapped && !seen.has(`${s.text}\n${s.color}`)) seen.set(`${s.text}\n${s.color}`, { text: s.text, color: s.color });
  }
  return [...seen.values()];
}
