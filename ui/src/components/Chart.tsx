// The time series graph: uPlot on a canvas, with a legend of series labels
// (click to hide or show one), a tooltip with the values under the cursor,
// and drag to zoom, which hands the new range to the page.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Sample } from '../api';
import { seriesName } from '../lib/labels';
import { align, color, finiteOnly, formatValue, stack } from '../lib/series';

interface Props {
  result: Sample[];
  start: number;
  end: number;
  step: number;
  stacked: boolean;
  onZoom: (start: number, end: number) => void;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function Chart({ result, start, end, step, stacked, onZoom }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const tip = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [hidden, setHidden] = useState<Set<number>>(new Set());
  const names = result.map((s) => seriesName(s.metric));
  // The chart's hooks outlive renders: they read the latest of these.
  const hiddenRef = useRef(hidden);
  hiddenRef.current = hidden;
  const zoomRef = useRef(onZoom);
  zoomRef.current = onZoom;
  // A new result starts with every series shown.
  useEffect(() => setHidden(new Set()), [result]);

  useEffect(() => {
    const el = box.current!;
    const cols = align(result, start, end, step);
    const raw = cols.ys;
    // uPlot cannot scale an axis to NaN or ±Inf (it draws nothing at all),
    // so those points are gaps in the graph; the tooltip shows the value.
    const ys = stacked ? stack(raw) : raw.map(finiteOnly);
    const fg = cssVar('--muted');
    const grid = cssVar('--border');
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: el.clientWidth || 800,
      height: 320,
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, focus: { prox: 16 }, points: { size: 6 } },
      focus: { alpha: 0.3 },
      scales: { x: { time: true } },
      axes: [
        { ...axis },
        { ...axis, size: 60, values: (_u, vals) => vals.map((v) => formatValue(v)) },
      ],
      series: [
        {},
        ...result.map((_, i) => ({
          label: names[i],
          stroke: color(i),
          width: 1.25,
          fill: stacked ? color(i).replace('hsl', 'hsla').replace(')', ', 0.25)') : undefined,
          show: !hidden.has(i),
          spanGaps: false,
          points: { show: false },
        })),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 4) return;
            const a = u.posToVal(u.select.left, 'x');
            const b = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            zoomRef.current(a, b);
          },
        ],
        setCursor: [
          (u) => {
            const t = tip.current;
            if (!t) return;
            const idx = u.cursor.idx;
            if (idx === null || idx === undefined || u.cursor.left === undefined || u.cursor.left < 0) {
              t.style.display = 'none';
              return;
            }
            // The series nearest the cursor, or the first shown one.
            let si = -1;
            let best = Infinity;
            const top = u.cursor.top ?? 0;
            for (let i = 0; i < raw.length; i++) {
              if (hiddenRef.current.has(i)) continue;
              const v = ys[i][idx];
              if (v === null || !Number.isFinite(v)) continue;
              const d = Math.abs(u.valToPos(v, 'y') - top);
              if (d < best) {
                best = d;
                si = i;
              }
            }
            if (si < 0) {
              t.style.display = 'none';
              return;
            }
            t.replaceChildren();
            const time = document.createElement('div');
            time.className = 'muted';
            time.textContent = new Date(cols.xs[idx] * 1000).toISOString();
            const name = document.createElement('div');
            name.className = 'mono';
            name.textContent = names[si];
            const val = document.createElement('div');
            val.textContent = `value: ${formatValue(raw[si][idx])}`;
            t.append(time, name, val);
            t.style.display = 'block';
            const left = u.cursor.left + 16;
            t.style.left = `${Math.min(left, el.clientWidth - 300)}px`;
            t.style.top = `${top + 16}px`;
          },
        ],
      },
    };
    const u = new uPlot(opts, [cols.xs, ...ys] as uPlot.AlignedData, el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height: 320 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
    // hidden is applied by the effect below without a redraw.
  }, [result, start, end, step, stacked]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    for (let i = 0; i < result.length; i++) u.setSeries(i + 1, { show: !hidden.has(i) });
  }, [hidden]);

  const toggle = (i: number, only: boolean) => {
    if (only) {
      // Shift-click shows only this series, or all again.
      const allOthersHidden = hidden.size === result.length - 1 && !hidden.has(i);
      setHidden(allOthersHidden ? new Set() : new Set(result.map((_, j) => j).filter((j) => j !== i)));
      return;
    }
    const h = new Set(hidden);
    if (h.has(i)) h.delete(i);
    else h.add(i);
    setHidden(h);
  };

  return (
    <div>
      <div class="chart" data-testid="chart">
        <div ref={box} />
        <div ref={tip} class="tooltip" style="display:none" />
      </div>
      <div class="legend" role="list" aria-label="series">
        {names.slice(0, 500).map((n, i) => (
          <div
            key={n}
            role="listitem"
            tabIndex={0}
            aria-pressed={!hidden.has(i)}
            class={hidden.has(i) ? 'off' : ''}
            title="click or Enter: hide or show; with Shift: show only this one"
            onClick={(e) => toggle(i, (e as MouseEvent).shiftKey)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault();
                toggle(i, e.shiftKey);
              }
            }}
          >
            <i style={`background:${color(i)}`} />
            <span class="mono">{n}</span>
          </div>
        ))}
        {names.length > 500 && <div class="muted">and {names.length - 500} more series</div>}
      </div>
    </div>
  );
}
