// Edits of a dashboard draft: each returns a new dashboard, leaving the one
// given untouched, so that the editor keeps the states before for undo.
import type { Dashboard, Panel } from './model';

function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

// allPanels lists the panels of a dashboard, those inside collapsed rows too.
export function allPanels(d: Dashboard): Panel[] {
  return (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
}

export function updatePanel(d: Dashboard, id: number, f: (p: Panel) => void): Dashboard {
  const out = clone(d);
  const p = allPanels(out).find((x) => x.id === id);
  if (p) f(p);
  return out;
}

export function removePanel(d: Dashboard, id: number): Dashboard {
  const out = clone(d);
  out.panels = (out.panels ?? []).filter((p) => p.id !== id).map((p) => (p.panels ? { ...p, panels: p.panels.filter((c) => c.id !== id) } : p));
  return out;
}

// move shifts a panel on the 24-column grid, keeping it inside the grid.
export function move(d: Dashboard, id: number, dx: number, dy: number, dw: number, dh: number): Dashboard {
  return updatePanel(d, id, (p) => {
    const g = p.gridPos ?? { x: 0, y: 0, w: 12, h: 8 };
    const w = Math.max(1, Math.min(24, g.w + dw));
    const h = Math.max(1, Math.min(60, g.h + dh));
    const x = Math.max(0, Math.min(24 - w, g.x + dx));
    const y = Math.max(0, g.y + dy);
    p.gridPos = { x, y, w, h };
  });
}

export function nextId(d: Dashboard): number {
  return Math.max(0, ...allPanels(d).map((p) => p.id ?? 0)) + 1;
}

// addPanel puts a new time series panel below everything else.
export function addPanel(d: Dashboard, expr = ''): { d: Dashboard; id: number } {
  const out = clone(d);
  const id = nextId(out);
  const bottom = Math.max(0, ...(out.panels ?? []).map((p) => (p.gridPos?.y ?? 0) + (p.gridPos?.h ?? 0)));
  out.panels = [...(out.panels ?? []), {
    id, type: 'timeseries', title: 'New panel', gridPos: { x: 0, y: bottom, w: 12, h: 8 },
    datasource: { type: 'prometheus', uid: 'argus' }, targets: [{ refId: 'A', expr, legendFormat: '' }],
    fieldConfig: { defaults: { unit: 'short' }, overrides: [] }, options: { legend: { showLegend: true, displayMode: 'list' } },
  }];
  return { d: out, id };
}

export function newDashboard(title: string): Dashboard {
  return { title, panels: [], time: { from: 'now-6h', to: 'now' }, schemaVersion: 39, templating: { list: [] }, tags: [] };
}
