// The tooltip of a time series panel: the time and the values under the
// cursor (the nearest series, or all of them in "multi" mode); a click
// pins it, and a pinned tooltip shows the data links of the series
// nearest the click, filled in for that point. A second click, or Escape,
// lets it go.
import type uPlot from 'uplot';
import { dataLinks, valueText, type LinkDef, type LinkScope } from './links';
import { formatDate } from './tz';

export interface TipSeries {
  name: string;
  color: string;
  labels: Record<string, string>;
  values: (number | null)[]; // as returned, not stacked
  at: (number | null)[]; // where drawn (stacked)
  scale: string;
  show: boolean;
  format: (v: number) => string;
  links: LinkDef[];
}

export interface TipOptions {
  mode: string; // single, multi or none
  sort?: string; // none, asc or desc (multi)
  times: number[]; // seconds
  series: TipSeries[];
  zone: string;
  scope: () => LinkScope | undefined; // the latest, read when pinned
}

export class Tooltip {
  private tip = document.createElement('div');
  private hovered = false;
  private pinned = false;
  private last: { idx: number; si: number } | null = null;
  private down: [number, number] | null = null;
  private u: uPlot | null = null;

  constructor(private el: HTMLElement, private o: TipOptions) {
    this.tip.className = 'tooltip dash-tip';
    this.tip.dataset.testid = 'tooltip';
    this.tip.style.display = 'none';
    el.appendChild(this.tip);
  }

  // attach listens on the plot once uPlot has made it.
  attach(u: uPlot): void {
    this.u = u;
    u.over.addEventListener('mouseenter', this.enter);
    u.over.addEventListener('mouseleave', this.leave);
    u.over.addEventListener('mousedown', this.press);
    u.over.addEventListener('click', this.click);
    addEventListener('keydown', this.key);
  }

  destroy(): void {
    removeEventListener('keydown', this.key);
    this.tip.remove();
  }

  private enter = () => {
    this.hovered = true;
  };

  private leave = () => {
    this.hovered = false;
    if (!this.pinned) this.hide();
  };

  private press = (e: MouseEvent) => {
    this.down = [e.clientX, e.clientY];
  };

  // A click that was no drag (a drag zooms) pins or lets go.
  private click = (e: MouseEvent) => {
    if (this.down && Math.hypot(e.clientX - this.down[0], e.clientY - this.down[1]) > 3) return;
    if (this.pinned) {
      this.pinned = false;
      this.hide();
      if (this.u) this.move(this.u);
      return;
    }
    if (this.last && this.o.mode !== 'none') {
      this.pinned = true;
      this.render(this.last.idx, this.last.si);
    }
  };

  private key = (e: KeyboardEvent) => {
    if (e.key === 'Escape' && this.pinned) {
      this.pinned = false;
      this.hide();
    }
  };

  private hide(): void {
    this.tip.style.display = 'none';
    this.tip.classList.remove('pinned');
  }

  // move follows the cursor (uPlot's setCursor hook); a synced cursor from
  // another panel draws the crosshair only.
  move(u: uPlot): void {
    if (this.pinned) return;
    const idx = u.cursor.idx;
    if (!this.hovered || idx === null || idx === undefined || u.cursor.left === undefined || u.cursor.left < 0) {
      this.last = null;
      this.hide();
      return;
    }
    const top = u.cursor.top ?? 0;
    let si = -1;
    let best = Infinity;
    this.o.series.forEach((s, i) => {
      const v = s.at[idx];
      if (!s.show || v === null || !Number.isFinite(v)) return;
      const d = Math.abs(u.valToPos(v, s.scale) - top);
      if (d < best) {
        best = d;
        si = i;
      }
    });
    if (si < 0) {
      this.last = null;
      this.hide();
      return;
    }
    this.last = { idx, si };
    if (this.o.mode === 'none') return;
    this.render(idx, si);
    const ob = u.over.getBoundingClientRect();
    const eb = this.el.getBoundingClientRect();
    const w = this.tip.offsetWidth;
    let left = ob.left - eb.left + u.cursor.left + 12;
    if (left + w > eb.width) left = Math.max(0, left - w - 24);
    this.tip.style.left = `${left}px`;
    this.tip.style.top = `${ob.top - eb.top + top + 12}px`;
  }

  private render(idx: number, si: number): void {
    const { series, times, zone } = this.o;
    const t = this.tip;
    t.replaceChildren();
    t.style.display = 'block';
    t.classList.toggle('pinned', this.pinned);
    const head = document.createElement('div');
    head.className = 'muted';
    head.textContent = formatDate(times[idx] * 1000, zone);
    t.append(head);
    let rows = [si];
    if (this.o.mode === 'multi') {
      rows = series.map((_, i) => i).filter((i) => series[i].show && series[i].values[idx] !== null);
      if (this.o.sort === 'asc' || this.o.sort === 'desc') {
        const dir = this.o.sort === 'asc' ? 1 : -1;
        rows.sort((a, b) => dir * ((series[a].values[idx] ?? 0) - (series[b].values[idx] ?? 0)));
      }
      rows = rows.slice(0, 30);
    }
    for (const i of rows) {
      const s = series[i];
      const row = document.createElement('div');
      row.className = i === si && rows.length > 1 ? 'tip-row near' : 'tip-row';
      const sw = document.createElement('i');
      sw.className = 'swatch';
      sw.style.background = s.color;
      const v = s.values[idx];
      row.append(sw, `${s.name}: `, Object.assign(document.createElement('strong'), { textContent: v === null ? '' : s.format(v) }));
      t.append(row);
    }
    const scope = this.o.scope();
    if (!this.pinned || !scope) return;
    const s = series[si];
    const v = s.values[idx];
    const shown = v === null ? '' : s.format(v);
    const links = dataLinks(s.links, { ...scope, data: { series: s.name, field: 'Value', labels: s.labels, value: { raw: v, shown, text: valueText(shown), time: times[idx] * 1000 } } });
    for (const l of links) {
      const a = document.createElement('a');
      a.href = l.href;
      a.textContent = l.title;
      a.className = 'data-link';
      a.dataset.testid = 'data-link';
      if (l.blank) {
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
      }
      t.append(a);
    }
  }
}
