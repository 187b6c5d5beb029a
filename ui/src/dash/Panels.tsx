// The panel renderers: time series (uPlot), stat, gauge, bar gauge, table,
// text, heatmap and state timeline, and a placeholder for types argus does not draw.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { color as seriesColor, finiteOnly } from '../lib/series';
import type { Panel } from './model';
import { markdownToHTML, sanitize } from './markdown';
import { calcName, cssColor, mapValue, reduce, thresholdColor, type Grid, type Series } from './reduce';
import { tableFrame, type Column, type Row } from './frame';
import { formatUnit } from './units';
import type { AnnotationEvent } from './annotations';
import { dataLinks, valueText, type LinkDef, type LinkModel, type LinkScope } from './links';
import { Tooltip } from './tooltip';
import { formatDate, zoneName } from './tz';
import { stateLanes, stateLegend } from './states';

function defaults(p: Panel) {
  return p.fieldConfig?.defaults ?? {};
}

function overrideFor(p: Panel, name: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of p.fieldConfig?.overrides ?? []) {
    const m = o.matcher;
    let hit = false;
    if (m.id === 'byName' || m.id === 'byFrameRefID') hit = m.options === name;
    else if (m.id === 'byRegexp' && m.options) {
      try {
        hit = new RegExp(m.options.replace(/^\/(.*)\/[a-z]*$/, '$1')).test(name);
      } catch {
        hit = false;
      }
    }
    if (hit) for (const pr of o.properties) out[pr.id] = pr.value;
  }
  return out;
}

// fieldLinks are a series' data links: an override's replace the defaults.
function fieldLinks(p: Panel, name: string): LinkDef[] {
  return (overrideFor(p, name)['links'] as LinkDef[] | undefined) ?? defaults(p).links ?? [];
}

// Linked makes a value a link (one data link) or a menu of links (more).
export function Linked({ links, children }: { links: LinkModel[]; children: ComponentChildren }) {
  const a = (l: LinkModel, body: ComponentChildren) => (
    <a key={l.href} href={l.href} title={l.title} target={l.blank ? '_blank' : undefined} rel="noopener noreferrer" data-testid="data-link">{body}</a>
  );
  if (links.length === 0) return <>{children}</>;
  if (links.length === 1) return a(links[0], children);
  return (
    <details class="link-menu">
      <summary title="links">{children}</summary>
      <div class="link-menu-list">{links.map((l) => a(l, l.title))}</div>
    </details>
  );
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

const noEvents: AnnotationEvent[] = [];

export function TimeSeries({ panel, series, from, to, onZoom, height, annotations = noEvents, scope, timezone }: { panel: Panel; series: Series[]; from: number; to: number; onZoom: (a: number, b: number) => void; height: number; annotations?: AnnotationEvent[]; scope?: LinkScope; timezone?: string }) {
  const box = useRef<HTMLDivElement>(null);
  // The zoom hook outlives renders; it calls the latest handler.
  const zoomRef = useRef(onZoom);
  zoomRef.current = onZoom;
  const scopeRef = useRef(scope);
  scopeRef.current = scope;
  useEffect(() => {
    const el = box.current!;
    const d = defaults(panel);
    const custom = d.custom ?? {};
    const { times, cols: aligned } = alignSeries(series);
    // NaN and ±Inf would leave uPlot without a scale: they are gaps.
    let cols = aligned.map(finiteOnly);
    const stacking = custom.stacking?.mode && custom.stacking.mode !== 'none';
    if (stacking) {
      const sum = new Array<number>(times.length).fill(0);
      cols = cols.map((c) => c.map((v, i) => (v === null ? null : (sum[i] += v))));
    }
    const unit = d.unit ?? 'short';
    const ov = series.map((s) => overrideFor(panel, s.name));
    const rightUnit = ov.find((o) => o['custom.axisPlacement'] === 'right')?.['unit'] as string | undefined;
    const hasRight = ov.some((o) => o['custom.axisPlacement'] === 'right');
    const fg = cssVar('--muted');
    const grid = cssVar('--border');
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const log = custom.scaleDistribution?.type === 'log';
    const thresholds = d.thresholds?.steps ?? [];
    const thrMode = custom.thresholdsStyle?.mode ?? 'off';
    const zone = zoneName(timezone);
    const browserZone = zone === zoneName('browser');
    const colors = series.map((_, i) => {
      const fixed = (ov[i]['color'] as { fixedColor?: string } | undefined)?.fixedColor;
      return cssColor(fixed) ?? (d.color?.mode === 'fixed' ? cssColor(d.color.fixedColor) : undefined) ?? seriesColor(i);
    });
    const tip = new Tooltip(el, {
      mode: panel.options?.tooltip?.mode ?? 'single', sort: panel.options?.tooltip?.sort, times, zone, scope: () => scopeRef.current,
      series: series.map((s, i) => {
        const o = ov[i];
        const right = o['custom.axisPlacement'] === 'right';
        const u = (o['unit'] as string | undefined) ?? (right ? rightUnit : undefined) ?? unit;
        return {
          name: (o['displayName'] as string | undefined) ?? s.name, color: colors[i], labels: s.labels, values: aligned[i], at: cols[i],
          scale: right ? 'y2' : 'y', show: !(o['custom.hideFrom'] as { viz?: boolean } | undefined)?.viz,
          format: (v: number) => formatUnit(v, u, d.decimals), links: fieldLinks(panel, s.name),
        };
      }),
    });
    const plain = new Set<number>();
    const opts: uPlot.Options = {
      width: 400, // the box's, when the observer below reports it
      height,
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, sync: { key: 'dashboard' } },
      // Axis ticks in the dashboard's time zone (uPlot's own are the browser's).
      ...(browserZone ? {} : { tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), zone) }),
      scales: {
        x: { time: true, min: from / 1000, max: to / 1000 },
        y: { distr: log ? 3 : 1, log: (custom.scaleDistribution?.log === 2 ? 2 : 10) as uPlot.Scale.LogBase, ...(d.min !== undefined && d.min !== null || d.max !== undefined && d.max !== null ? { range: (_u: uPlot, mn: number, mx: number) => [d.min ?? mn, d.max ?? mx] as [number, number] } : {}) },
        ...(hasRight ? { y2: {} } : {}),
      },
      axes: [
        { ...axis },
        { ...axis, size: 64, label: custom.axisLabel, values: (_u, vals) => vals.map((v) => formatUnit(v, unit, d.decimals)) },
        ...(hasRight ? [{ ...axis, scale: 'y2', side: 1 as const, grid: { show: false }, size: 64, values: (_u: uPlot, vals: number[]) => vals.map((v) => formatUnit(v, rightUnit ?? unit, d.decimals)) }] : []),
      ],
      series: [
        {},
        ...series.map((s, i) => {
          const o = ov[i];
          const c = colors[i];
          const fill = (o['custom.fillOpacity'] as number | undefined) ?? custom.fillOpacity ?? (stacking ? 30 : 0);
          const style = (o['custom.drawStyle'] as string | undefined) ?? custom.drawStyle ?? 'line';
          const width = (custom.lineWidth ?? 1) * (style === 'points' ? 0 : 1);
          // A plain line is drawn by drawLine (from the drawSeries hook
          // below) instead of uPlot's path builder.
          if (style === 'line' && fill <= 0 && width > 0) plain.add(i + 1);
          return {
            label: (o['displayName'] as string | undefined) ?? s.name,
            stroke: c,
            width,
            fill: fill > 0 ? withAlpha(c, fill / 100) : undefined,
            scale: o['custom.axisPlacement'] === 'right' ? 'y2' : 'y',
            show: !(o['custom.hideFrom'] as { viz?: boolean } | undefined)?.viz,
            paths: style === 'bars' ? uPlot.paths.bars!({ size: [0.6, 100] }) : plain.has(i + 1) ? noPaths : undefined,
            points: { show: style === 'points' || custom.showPoints === 'always', size: custom.pointSize ?? 4 },
            spanGaps: custom.spanNulls === true,
          };
        }),
      ],
      hooks: {
        drawSeries: [(u, si) => {
          if (plain.has(si)) drawLine(u, si, custom.spanNulls === true);
        }],
        setCursor: [(u) => tip.move(u)],
        setSelect: [(u) => {
          if (u.select.width < 4) return;
          const a = u.posToVal(u.select.left, 'x');
          const b = u.posToVal(u.select.left + u.select.width, 'x');
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          zoomRef.current(a * 1000, b * 1000);
        }],
        draw: [(u) => drawAnnotations(u, annotations), (u) => {
          if (thrMode === 'off' || thresholds.length < 2) return;
          const ctx = u.ctx;
          ctx.save();
          for (const [i, st] of thresholds.entries()) {
            if (st.value === null) continue;
            const y = u.valToPos(st.value, 'y', true);
            if (thrMode.includes('area')) {
              const next = thresholds[i + 1]?.value;
              const y2 = next !== undefined && next !== null ? u.valToPos(next, 'y', true) : u.bbox.top;
              ctx.fillStyle = withAlpha(cssColor(st.color) ?? 'red', 0.12);
              ctx.fillRect(u.bbox.left, Math.min(y, y2), u.bbox.width, Math.abs(y - y2));
            }
            if (thrMode.includes('line') || thrMode === 'dashed') {
              ctx.strokeStyle = cssColor(st.color) ?? 'red';
              ctx.setLineDash(thrMode === 'dashed' ? [6, 4] : []);
              ctx.beginPath();
              ctx.moveTo(u.bbox.left, y);
              ctx.lineTo(u.bbox.left + u.bbox.width, y);
              ctx.stroke();
            }
          }
          ctx.restore();
        }],
      },
    };
    // The graph is built when the observer first reports the box's size,
    // which it does after the browser's layout of the frame: reading
    // clientWidth here instead would force a layout of the page for each
    // graph, as every graph built before it changed the page. After that,
    // only a change of width is worth a redraw.
    let u: uPlot | null = null;
    let width = 0;
    const ro = new ResizeObserver((es) => {
      const w = Math.round(es[es.length - 1].contentRect.width) || 400;
      if (!u) {
        width = w;
        u = new uPlot({ ...opts, width }, [times, ...cols] as uPlot.AlignedData, el);
        tip.attach(u);
      } else if (w !== width) {
        width = w;
        u.setSize({ width, height });
      }
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      tip.destroy();
      u?.destroy();
    };
  }, [series, from, to, height, annotations, timezone, JSON.stringify([panel.fieldConfig, panel.options])]);

  const legendOpts = panel.options?.legend ?? {};
  const calcs: string[] = legendOpts.calcs ?? [];
  const showLegend = legendOpts.showLegend !== false && legendOpts.displayMode !== 'hidden';
  const unit = defaults(panel).unit ?? 'short';
  return (
    <div>
      <div ref={box} class="ts" />
      {showLegend && series.length > 0 && (
        legendOpts.displayMode === 'table' ? (
          <table class="dash-legend">
            <thead><tr><th>Name</th>{calcs.map((c) => <th key={c} class="num">{c}</th>)}</tr></thead>
            <tbody>{series.slice(0, 200).map((s, i) => (
              <tr key={s.name + i}><td><i class="swatch" style={`background:${seriesColor(i)}`} />{s.name}</td>
                {calcs.map((c) => <td key={c} class="num">{formatUnit(reduce(s.values, calcName(c)), unit, defaults(panel).decimals)}</td>)}</tr>
            ))}</tbody>
          </table>
        ) : (
          <div class="dash-legend list">{series.slice(0, 200).map((s, i) => (
            <span key={s.name + i}><i class="swatch" style={`background:${seriesColor(i)}`} />{s.name}
              {calcs.map((c) => ` ${c}: ${formatUnit(reduce(s.values, calcName(c)), unit, defaults(panel).decimals)}`).join('')}</span>
          ))}</div>
        )
      )}
    </div>
  );
}

// noPaths gives uPlot no path for a series that drawLine draws.
const noPaths = () => null;

// drawLine strokes one series as a line through its points, on the
// pixels uPlot's own linear paths use (rounded, then offset half a pixel
// for odd widths). It does what uPlot does for a plain line in a fraction
// of the time: no closure calls per point, and no clipping unless a point
// lies outside the plot (uPlot clips every series to the plot and its
// gaps, and in software rasterization each clip costs as much as the line).
// With spanGaps a missing point is stepped over; otherwise it breaks the
// line.
export function drawLine(u: uPlot, si: number, spanGaps: boolean) {
  const s = u.series[si];
  const xs = u.data[0];
  const ys = u.data[si] as (number | null | undefined)[];
  const sx = u.scales.x;
  const key = s.scale ?? 'y';
  const sy = u.scales[key];
  if (sx.min == null || sx.max == null || sy.min == null || sy.max == null || sx.max === sx.min || sy.max === sy.min) return;
  const { left, top, width: w, height: h } = u.bbox;
  const ratio = uPlot.pxRatio;
  const lw = Math.round((s.width ?? 1) * ratio * 1000) / 1000;
  const off = (lw % 2) / 2;
  const kx = w / (sx.max - sx.min);
  const linear = sy.distr === 1 || sy.distr === undefined;
  const ky = h / (sy.max - sy.min);
  // The clip uPlot would use: the plot and half the line's width around
  // it. A line whose points all keep their width inside it needs none.
  const cx0 = left - lw / 2 + off;
  const cy0 = top - lw / 2 + off;
  const cx1 = cx0 + w + lw;
  const cy1 = cy0 + h + lw;
  const path = new Path2D();
  let pen = false;
  let outside = false;
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i];
    if (v == null) {
      if (v === null && !spanGaps) pen = false;
      continue;
    }
    const x = Math.round(left + (xs[i] - sx.min) * kx) + off;
    const y = Math.round(linear ? top + h - (v - sy.min) * ky : u.valToPos(v, key, true)) + off;
    if (!(x - lw / 2 >= cx0 && x + lw / 2 <= cx1 && y - lw / 2 >= cy0 && y + lw / 2 <= cy1)) outside = true;
    if (pen) path.lineTo(x, y);
    else {
      path.moveTo(x, y);
      pen = true;
    }
  }
  const ctx = u.ctx;
  ctx.save();
  if (outside) {
    ctx.beginPath();
    ctx.rect(cx0, cy0, cx1 - cx0, cy1 - cy0);
    ctx.clip();
  }
  ctx.strokeStyle = typeof s.stroke === 'function' ? s.stroke(u, si) as string : (s.stroke as string);
  ctx.lineWidth = lw;
  ctx.lineJoin = 'round';
  ctx.lineCap = 'butt';
  ctx.setLineDash([]);
  ctx.stroke(path);
  ctx.restore();
}

// drawAnnotations draws each event as a line (a region as a band) on the
// plot, and puts a marker under it whose title tells what happened.
function drawAnnotations(u: uPlot, events: AnnotationEvent[]) {
  const layer = u.over.querySelector('.ann-layer') ?? u.over.appendChild(Object.assign(document.createElement('div'), { className: 'ann-layer' }));
  layer.replaceChildren();
  if (events.length === 0) return;
  const ctx = u.ctx;
  const [min, max] = [u.scales.x.min ?? 0, u.scales.x.max ?? 0];
  ctx.save();
  for (const ev of events.slice(0, 500)) {
    const a = ev.time / 1000;
    const b = ev.timeEnd / 1000;
    if (b < min || a > max) continue;
    const color = cssColor(ev.color) ?? 'rgb(0, 211, 255)';
    const x1 = u.valToPos(Math.max(a, min), 'x', true);
    const x2 = u.valToPos(Math.min(b, max), 'x', true);
    if (x2 - x1 > 1) {
      ctx.fillStyle = withAlpha(color, 0.12);
      ctx.fillRect(x1, u.bbox.top, x2 - x1, u.bbox.height);
    }
    ctx.strokeStyle = color;
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(x1, u.bbox.top);
    ctx.lineTo(x1, u.bbox.top + u.bbox.height);
    ctx.stroke();
    const m = document.createElement('div');
    m.className = 'ann-marker';
    m.dataset.testid = 'annotation';
    m.title = [ev.title, ev.text, ev.tags.join(' ')].filter(Boolean).join('\n');
    m.style.left = `${u.valToPos(Math.max(a, min), 'x')}px`;
    m.style.background = color;
    layer.appendChild(m);
  }
  ctx.restore();
}

// alignSeries puts the series on one time axis. Range query results share
// the query's step grid, so the axis is computed from the grid; series on
// other times (instant results, several queries with different steps) are
// merged by sorting.
export function alignSeries(series: Series[]): { times: number[]; cols: (number | null)[][] } {
  const g0 = series[0]?.grid;
  if (g0 && series.every((s) => s.grid && s.grid.startMs === g0.startMs && s.grid.stepMs === g0.stepMs)) return alignGrid(series.map((s) => s.grid!));
  let min = Infinity;
  let max = -Infinity;
  let step = Infinity;
  for (const s of series) {
    const n = s.times.length;
    if (n === 0) continue;
    if (s.times[0] < min) min = s.times[0];
    if (s.times[n - 1] > max) max = s.times[n - 1];
    if (n > 1) step = Math.min(step, s.times[1] - s.times[0]);
  }
  if (min === Infinity) return { times: [], cols: series.map(() => []) };
  const onGrid = Number.isFinite(step) && step > 0 && series.every((s) => s.times.every((t) => Math.abs((t - min) / step - Math.round((t - min) / step)) < 1e-6));
  if (onGrid) {
    const n = Math.round((max - min) / step) + 1;
    const times = new Array<number>(n);
    for (let i = 0; i < n; i++) times[i] = min + i * step;
    const cols = series.map((s) => {
      const c = new Array<number | null>(n).fill(null);
      for (let i = 0; i < s.times.length; i++) c[Math.round((s.times[i] - min) / step)] = s.values[i];
      return c;
    });
    return { times, cols };
  }
  const times = [...new Set(series.flatMap((s) => s.times))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const cols = series.map((s) => {
    const c = new Array<number | null>(times.length).fill(null);
    s.times.forEach((t, i) => (c[index.get(t)!] = s.values[i]));
    return c;
  });
  return { times, cols };
}

// alignGrid aligns series of one grid (see Grid) without looking at
// their times: from the first step with a point to the last, as
// alignSeries does for the others. A column that spans it already is
// used as it is.
function alignGrid(gs: Grid[]): { times: number[]; cols: (number | null)[][] } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const g of gs) {
    // The encoding's columns run from a point to a point; an empty one
    // has none.
    if (g.col.length === 0) continue;
    lo = Math.min(lo, g.first);
    hi = Math.max(hi, g.first + g.col.length - 1);
  }
  if (lo === Infinity) return { times: [], cols: gs.map(() => []) };
  const n = hi - lo + 1;
  const { startMs, stepMs } = gs[0];
  const times = new Array<number>(n);
  for (let i = 0; i < n; i++) times[i] = (startMs + (lo + i) * stepMs) / 1000;
  const cols = gs.map((g) => {
    if (g.first === lo && g.col.length === n) return g.col;
    const c = new Array<number | null>(n).fill(null);
    for (let i = 0; i < g.col.length; i++) c[g.first - lo + i] = g.col[i];
    return c;
  });
  return { times, cols };
}

function withAlpha(c: string, a: number): string {
  if (c.startsWith('#') && c.length === 7) return `${c}${Math.round(a * 255).toString(16).padStart(2, '0')}`;
  if (c.startsWith('hsl(')) return c.replace('hsl(', 'hsla(').replace(')', `, ${a})`);
  return c;
}

function displayValue(panel: Panel, s: Series) {
  const d = defaults(panel);
  const calc = calcName(panel.options?.reduceOptions?.calcs?.[0]);
  const v = reduce(s.values, calc);
  const text = formatUnit(v, d.unit ?? 'short', d.decimals);
  const mapped = mapValue(v, v === null ? '' : String(v), d.mappings);
  const percentage = d.thresholds?.mode === 'percentage';
  const color = cssColor(mapped?.color) ?? cssColor(thresholdColor(v, d.thresholds?.steps, d.min ?? 0, d.max ?? 100, percentage)) ?? (d.color?.mode === 'fixed' ? cssColor(d.color.fixedColor) : undefined);
  return { v, text: mapped?.text ?? (v === null ? 'No data' : text), color, mapped: mapped?.text !== undefined };
}

// valueLinks are the data links of a reduced value (stat, gauge, bar
// gauge): Grafana has no time for those.
function valueLinks(panel: Panel, s: Series, dv: ReturnType<typeof displayValue>, scope: LinkScope | undefined): LinkModel[] {
  const links = fieldLinks(panel, s.name);
  if (!scope || links.length === 0) return [];
  return dataLinks(links, { ...scope, data: { series: s.name, field: 'Value', labels: s.labels, value: { raw: dv.v, shown: dv.text, text: dv.mapped ? dv.text : valueText(dv.text) } } });
}

export function Stat({ panel, series, scope }: { panel: Panel; series: Series[]; scope?: LinkScope }) {
  const colorMode = panel.options?.colorMode ?? 'value';
  const graph = panel.options?.graphMode !== 'none';
  return (
    <div class="stat-grid">
      {series.slice(0, 50).map((s, i) => {
        const dv = displayValue(panel, s);
        const bg = colorMode === 'background' ? dv.color : undefined;
        return (
          <div key={s.name + i} class="stat" style={bg ? `background:${bg};color:#fff` : ''}>
            {series.length > 1 && panel.options?.textMode !== 'value' && <div class="stat-name">{s.name}</div>}
            <div class="stat-value" style={!bg && dv.color && colorMode !== 'none' ? `color:${dv.color}` : ''}><Linked links={valueLinks(panel, s, dv, scope)}>{dv.text}</Linked></div>
            {graph && s.values.length > 1 && <Sparkline values={s.values} color={bg ? '#ffffff' : dv.color ?? seriesColor(i)} />}
          </div>
        );
      })}
    </div>
  );
}

function Sparkline({ values, color }: { values: (number | null)[]; color: string }) {
  const nums = values.map((v) => (v === null || !Number.isFinite(v) ? null : v));
  const present = nums.filter((v): v is number => v !== null);
  if (present.length < 2) return null;
  const min = Math.min(...present);
  const max = Math.max(...present);
  const pts = nums.map((v, i) => (v === null ? null : `${(i / (nums.length - 1)) * 100},${30 - ((v - min) / (max - min || 1)) * 28 - 1}`)).filter(Boolean);
  return (
    <svg class="sparkline" viewBox="0 0 100 30" preserveAspectRatio="none" aria-hidden="true">
      <polyline points={pts.join(' ')} fill="none" stroke={color} stroke-width="1.5" vector-effect="non-scaling-stroke" />
    </svg>
  );
}

export function Gauge({ panel, series, scope }: { panel: Panel; series: Series[]; scope?: LinkScope }) {
  const d = defaults(panel);
  const min = d.min ?? 0;
  const max = d.max ?? (d.unit === 'percentunit' ? 1 : 100);
  return (
    <div class="stat-grid">
      {series.slice(0, 20).map((s, i) => {
        const dv = displayValue(panel, s);
        const f = dv.v === null ? 0 : Math.max(0, Math.min(1, (dv.v - min) / (max - min || 1)));
        const a = Math.PI * (1 - f);
        const x = 50 + 40 * Math.cos(a);
        const y = 50 - 40 * Math.sin(a);
        return (
          <div key={s.name + i} class="stat">
            <Linked links={valueLinks(panel, s, dv, scope)}><svg viewBox="0 0 100 58" class="gauge" role="img" aria-label={`${s.name}: ${dv.text}`}>
              <path d="M10,50 A40,40 0 0 1 90,50" fill="none" stroke="var(--border)" stroke-width="8" />
              {f > 0 && <path d={`M10,50 A40,40 0 0 1 ${x.toFixed(2)},${y.toFixed(2)}`} fill="none" stroke={dv.color ?? seriesColor(i)} stroke-width="8" />}
              <text x="50" y="48" text-anchor="middle" font-size="13" fill="currentColor">{dv.text}</text>
            </svg></Linked>
            {series.length > 1 && <div class="stat-name">{s.name}</div>}
          </div>
        );
      })}
    </div>
  );
}

export function BarGauge({ panel, series, scope }: { panel: Panel; series: Series[]; scope?: LinkScope }) {
  const d = defaults(panel);
  const vals = series.map((s) => displayValue(panel, s));
  const max = d.max ?? Math.max(...vals.map((v) => v.v ?? 0), 0);
  const min = d.min ?? 0;
  return (
    <div class="bargauge">
      {series.slice(0, 100).map((s, i) => {
        const dv = vals[i];
        const f = dv.v === null ? 0 : Math.max(0, Math.min(1, (dv.v - min) / (max - min || 1)));
        return (
          <div key={s.name + i} class="bar-row">
            <span class="bar-name">{s.name}</span>
            <span class="bar"><span style={`width:${(f * 100).toFixed(1)}%;background:${dv.color ?? seriesColor(i)}`} /></span>
            <span class="bar-value"><Linked links={valueLinks(panel, s, dv, scope)}>{dv.text}</Linked></span>
          </div>
        );
      })}
    </div>
  );
}

// Table shows a frame (see frame.ts): by default one row per label set,
// its labels as columns and each query's last value, merged across queries
// as Grafana's "merge" transformation does; the panel's transformations
// (reduce, organize, filter by name, labels to fields) reshape it.
export function Table({ panel, series, scope }: { panel: Panel; series: Series[]; scope?: LinkScope }) {
  const d = defaults(panel);
  const frame = tableFrame(series, panel.transformations, panel.options?.excludeByName, panel.fieldConfig?.overrides);
  const text = (v: number | null) => {
    const mapped = mapValue(v, v === null ? '' : String(v), d.mappings);
    return { shown: mapped?.text ?? formatUnit(v, d.unit ?? 'short', d.decimals), mapped: mapped?.text !== undefined };
  };
  // Each cell's links are its column's (the defaults apply to every
  // column, as in Grafana), filled in with the cell and its row.
  const withLinks = scope && (d.links?.length || panel.fieldConfig?.overrides?.some((o) => o.properties.some((p) => p.id === 'links')));
  const show = (r: Row, c: Column) => {
    const x = r.cells[c.key];
    const raw = x?.raw ?? null;
    if (!c.numeric || typeof raw === 'string') return { raw, shown: raw === null ? '' : String(raw), plain: raw === null ? '' : String(raw), t: x?.time, s: x?.series };
    const tx = text(raw);
    return { raw, shown: tx.shown, plain: tx.mapped ? tx.shown : valueText(tx.shown), t: x?.time, s: x?.series };
  };
  const cell = (r: Row, c: Column) => {
    const v = show(r, c);
    if (!withLinks) return v.shown;
    const links = fieldLinks(panel, c.key);
    if (links.length === 0) return v.shown;
    const row: Record<string, string> = {};
    for (const col of frame.columns) row[col.title] = show(r, col).shown;
    return <Linked links={dataLinks(links, { ...scope!, data: { series: v.s?.name ?? c.key, field: c.key, labels: r.labels, row, value: { raw: v.raw, shown: v.shown, text: v.plain, time: v.t } } })}>{v.shown}</Linked>;
  };
  return (
    <div class="scroll">
      <table class="dash-table">
        <thead><tr>{frame.columns.map((c) => <th key={c.key} class={c.numeric ? 'num' : undefined}>{c.title}</th>)}</tr></thead>
        <tbody>{frame.rows.slice(0, 1000).map((r, i) => (
          <tr key={i}>{frame.columns.map((c) => <td key={c.key} class={c.numeric ? 'num' : undefined}>{cell(r, c)}</td>)}</tr>
        ))}</tbody>
      </table>
    </div>
  );
}

export function Text({ panel }: { panel: Panel }) {
  const box = useRef<HTMLDivElement>(null);
  const mode = panel.options?.mode ?? panel.mode ?? 'markdown';
  const content: string = panel.options?.content ?? panel.content ?? '';
  useEffect(() => {
    const el = box.current!;
    el.replaceChildren(mode === 'html' ? sanitize(content) : sanitize(markdownToHTML(content)));
  }, [content, mode]);
  return <div class="text-panel" ref={box} />;
}

// Heatmap draws classic histogram buckets (series with an le label) as
// cells colored by the count in each bucket, per time step.
export function Heatmap({ series, height }: { series: Series[]; height: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current!;
    const w = c.clientWidth || 400;
    c.width = w;
    c.height = height;
    const ctx = c.getContext('2d')!;
    ctx.clearRect(0, 0, w, height);
    const buckets = series
      .map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le ?? s.name), s }))
      .filter((b) => !Number.isNaN(b.le))
      .sort((a, b) => a.le - b.le);
    if (buckets.length === 0) return;
    const times = buckets[0].s.times;
    // Cumulative buckets to per-bucket counts.
    const counts = buckets.map((b, i) => b.s.values.map((v, j) => Math.max(0, (v ?? 0) - (i > 0 ? buckets[i - 1].s.values[j] ?? 0 : 0))));
    let max = 1e-9;
    for (const row of counts) for (const c of row) if (c > max) max = c;
    const cw = w / Math.max(1, times.length);
    const ch = height / buckets.length;
    for (let i = 0; i < buckets.length; i++) {
      for (let j = 0; j < times.length; j++) {
        const f = counts[i][j] / max;
        if (f <= 0) continue;
        ctx.fillStyle = `hsla(${30 - 30 * f}, 90%, ${70 - 35 * f}%, ${0.25 + 0.75 * f})`;
        ctx.fillRect(j * cw, height - (i + 1) * ch, Math.ceil(cw), Math.ceil(ch));
      }
    }
  }, [series, height]);
  return <canvas ref={ref} class="heatmap" style={`width:100%;height:${height}px`} />;
}

// StateTimeline draws each series as a lane of states (see states.ts): a
// segment per run of one state, its text inside when it fits (showValue),
// its value and time in its title; a time axis below and a legend of the
// mapped states.
export function StateTimeline({ panel, series, from, to, height, timezone }: { panel: Panel; series: Series[]; from: number; to: number; height: number; timezone?: string }) {
  const o = panel.options ?? {};
  const custom = (defaults(panel).custom ?? {}) as { fillOpacity?: number; lineWidth?: number };
  const [a, b] = [from / 1000, to / 1000];
  const lanes = stateLanes(panel, series.slice(0, 50), a, b);
  const legend = o.legend?.showLegend !== false && o.legend?.displayMode !== 'hidden' ? stateLegend(lanes) : [];
  const zone = zoneName(timezone);
  const fmt = b - a > 86400 ? 'MM-DD HH:mm' : b - a > 600 ? 'HH:mm' : 'HH:mm:ss';
  const laneH = Math.max(14, Math.floor((height - 22 - (legend.length ? 22 : 0)) / Math.max(1, lanes.length)));
  const fill = Math.max(0, Math.min(100, custom.fillOpacity ?? 70)) / 100;
  const rowH = Math.max(0.1, Math.min(1, o.rowHeight ?? 0.9));
  const showValue: string = o.showValue ?? 'auto';
  const pct = (t: number) => `${(((t - a) / (b - a || 1)) * 100).toFixed(3)}%`;
  const ticks = Array.from({ length: 5 }, (_, i) => a + ((b - a) * (i + 0.5)) / 5);
  return (
    <div class="state-timeline" data-testid="state-timeline">
      {lanes.map((l, i) => (
        <div key={l.name + i} class="state-lane" style={`height:${laneH}px`}>
          <span class="state-name" title={l.name}>{l.name}</span>
          <span class="state-track">
            {l.segments.map((s) => (
              <span key={s.start} class="state-seg" data-testid="state-segment"
                title={`${l.name}: ${s.text}\n${formatDate(s.start * 1000, zone)} – ${formatDate(s.end * 1000, zone)}`}
                style={`left:${pct(s.start)};width:${pct(a + s.end - s.start)};top:${((1 - rowH) * 50).toFixed(1)}%;height:${(rowH * 100).toFixed(1)}%;background:${withAlpha(s.color, fill)};${custom.lineWidth ? `border:${custom.lineWidth}px solid ${s.color};` : ''}text-align:${o.alignValue ?? 'left'}`}>
                {showValue !== 'never' && <span class={showValue === 'auto' ? 'state-text auto' : 'state-text'}>{s.text}</span>}
              </span>
            ))}
          </span>
        </div>
      ))}
      <div class="state-axis"><span class="state-name" /><span class="state-track">{ticks.map((t) => <span key={t} style={`left:${pct(t)}`}>{formatDate(t * 1000, zone, fmt)}</span>)}</span></div>
      {legend.length > 0 && <div class="dash-legend list">{legend.map((s) => <span key={s.text + s.color}><i class="swatch" style={`background:${s.color}`} />{s.text}</span>)}</div>}
    </div>
  );
}

// supported lists the panel types drawn; the others get a placeholder.
export const supported = new Set(['timeseries', 'graph', 'stat', 'singlestat', 'gauge', 'bargauge', 'table', 'table-old', 'text', 'heatmap', 'state-timeline', 'row']);
