// A dashboard: Grafana's classic JSON model drawn on a 24-column grid, with
// its time picker, variables and rows. The URL carries Grafana's parameters
// (from, to, var-NAME, refresh, viewPanel) so shared links carry over.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { APIError } from '../api';
import { safeHref } from '../lib/url';
import { navigate, type Route } from '../lib/router';
import type { Dashboard, Panel } from '../dash/model';
import { apiBase, dsUID } from '../dash/model';
import { emptyVars, interpolate, type Vars } from '../dash/interpolate';
import { zoneName } from '../dash/tz';
import { describeRange, formatInterval, parseIntervalMs, quickRanges, resolveRange, roundInterval, type Range } from '../dash/time';
import { ALL, resolveVariable, toVars, type OptionCache, type VarState } from '../dash/variables';
import { runPanel, Session, type QueryResult } from '../dash/query';
import { hasPoints, toSeries, type Series } from '../dash/reduce';
import { BarGauge, Gauge, Heatmap, StateTimeline, Stat, Table, Text, TimeSeries, supported } from '../dash/Panels';
import { addPanel, allPanels, move, removePanel, updatePanel } from '../dash/edit';
import { EditBar, PanelEditor, type EditOps } from './DashboardEdit';
import { Inspector } from './Inspector';
import { fromHistory, fromSeries, isBuiltIn, type AnnotationDef, type AnnotationEvent } from '../dash/annotations';
import { panelLinks, type LinkScope } from '../dash/links';
import type { HistoryEvent, Sample } from '../api';

interface Loaded {
  dashboard: Dashboard;
  meta: Record<string, any>;
}

const rowHeight = 30;
const gap = 8;

export function DashboardPage({ route }: { route: Route }) {
  const uid = safeDecode(route.path.split('/')[2] ?? '');
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [err, setErr] = useState('');
  const [version, setVersion] = useState(0);
  // A new uid drops the dashboard shown before at once, and an answer for
  // a dashboard no longer asked for is dropped.
  const [shownUID, setShownUID] = useState(uid);
  if (shownUID !== uid) {
    setShownUID(uid);
    setLoaded(null);
  }
  useEffect(() => {
    setErr('');
    const ac = new AbortController();
    fetch(`/api/dashboards/uid/${encodeURIComponent(uid)}`, { signal: ac.signal, headers: { Accept: 'application/json' } })
      .then(async (r) => {
        const body = await r.json().catch(() => ({}));
        if (!r.ok) throw new APIError(body.message ?? `${r.status} ${r.statusText}`, r.status);
        if (!ac.signal.aborted) setLoaded(body as Loaded);
      })
      .catch((e) => {
        if (ac.signal.aborted || e.name === 'AbortError') return;
        setErr(e.status === 404 ? `No dashboard with uid "${uid}". See the list of dashboards.` : `Could not load the dashboard: ${e.message}`);
      });
    return () => ac.abort();
  }, [uid, version]);
  if (err) return <div><div class="error" role="alert">{err}</div><a href="/dashboards">Dashboards</a></div>;
  if (!loaded || (loaded.dashboard.uid !== undefined && loaded.dashboard.uid !== uid)) return <div class="progress" role="status">Loading the dashboard…</div>;
  return <DashboardView key={`${uid}-${loaded.dashboard.version ?? 0}`} d={loaded.dashboard} meta={loaded.meta} route={route} onSaved={() => setVersion((v) => v + 1)} />;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function setParam(route: Route, changes: Record<string, string | string[] | null>, replace = false) {
  const p = new URLSearchParams(route.params);
  for (const [k, v] of Object.entries(changes)) {
    p.delete(k);
    if (v === null) continue;
    for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  }
  navigate(`${route.path}?${p}`, replace);
}

function DashboardView({ d: saved, meta, route, onSaved }: { d: Dashboard; meta: Record<string, any>; route: Route; onSaved: () => void }) {
  const [draft, setDraft] = useState<Dashboard | null>(null);
  const [undo, setUndo] = useState<Dashboard[]>([]);
  const [editing, setEditing] = useState<number | null>(null); // the panel whose editor is open
  const d = draft ?? saved;
  const change = (next: Dashboard) => {
    setUndo([...undo, d].slice(-100));
    setDraft(next);
  };
  const ed: EditOps | null = draft ? {
    move: (id, dx, dy, dw, dh) => change(move(d, id, dx, dy, dw, dh)),
    remove: (id) => change(removePanel(d, id)),
    open: (id) => setEditing(id),
  } : null;
  const from = route.params.get('from') ?? d.time?.from ?? 'now-6h';
  const to = route.params.get('to') ?? d.time?.to ?? 'now';
  const refresh = route.params.get('refresh') ?? (d.refresh || '');
  const viewPanel = route.params.get('viewPanel');
  // The dashboard's time zone; ?timezone= overrides it, as in Grafana.
  const tz = route.params.get('timezone') ?? d.timezone ?? '';
  const [tick, setTick] = useState(0);
  const zone = zoneName(tz);
  const range = useMemo(() => resolveRange(from, to, Date.now(), zone, d.weekStart), [from, to, tick, zone, d.weekStart]);
  const [vars, setVars] = useState<VarState[] | null>(null);
  // Query variables' options, kept while the dashboard is open (see
  // OptionCache for when they are asked again).
  const optionCache = useRef<OptionCache>(new Map());
  const [varErr, setVarErr] = useState('');
  const varKey = [...route.params.entries()].filter(([k]) => k.startsWith('var-')).map(([k, v]) => `${k}=${v}`).join('&');

  useEffect(() => {
    document.title = `${d.title ?? 'Dashboard'} · argus`;
  }, [d.title]);

  // Variables resolve in order, each seeing the ones before (chained).
  useEffect(() => {
    if (!range) return;
    const ac = new AbortController();
    (async () => {
      const states: VarState[] = [];
      for (const def of d.templating?.list ?? []) {
        const st = await resolveVariable(def, states, range, route.params.getAll(`var-${def.name}`), ac.signal, optionCache.current);
        states.push(st);
      }
      if (!ac.signal.aborted) {
        setVars(states);
        setVarErr(states.filter((s) => s.error).map((s) => `${s.def.name}: ${s.error}`).join('; '));
      }
    })();
    return () => ac.abort();
  }, [varKey, from, to, d.templating, tick]);

  // Auto-refresh re-resolves relative ranges.
  useEffect(() => {
    const ms = refresh ? parseIntervalMs(refresh) : null;
    if (!ms) return;
    const id = setInterval(() => document.visibilityState === 'visible' && setTick((t) => t + 1), Math.max(ms, 5000));
    return () => clearInterval(id);
  }, [refresh]);

  const interp = vars ? toVars(vars) : null;
  // One session per time range and variable values: its queries are shared
  // by panels, and all cancelled when either changes.
  const session = useMemo(() => new Session(), [range?.from, range?.to, JSON.stringify(interp)]);
  useEffect(() => () => session.abort(), [session]);

  // Annotations load once per session, for the ones switched on.
  const annDefs = (d.annotations?.list ?? []) as AnnotationDef[];
  const [annOn, setAnnOn] = useState<Record<string, boolean>>(() =>
    Object.fromEntries(annDefs.map((a, i) => [a.name ?? String(i), a.enable !== false])));
  const [annEvents, setAnnEvents] = useState<AnnotationEvent[]>([]);
  useEffect(() => {
    if (!range || !interp) return;
    let cancelled = false;
    loadAnnotations(session, annDefs.filter((a, i) => annOn[a.name ?? String(i)]), range, interp)
      // None then and none now keeps the same array: a new one would
      // make every graph build itself again.
      .then((evs) => !cancelled && setAnnEvents((old) => (evs.length === 0 && old.length === 0 ? old : evs)))
      .catch(() => !cancelled && setAnnEvents((old) => (old.length === 0 ? old : [])));
    return () => {
      cancelled = true;
    };
  }, [session, JSON.stringify(annOn)]);

  if (!range) return <div class="error" role="alert">Bad time range from={from} to={to}: use now-6h, now, epoch milliseconds or ISO times.</div>;

  const panels = layoutPanels(d, interp ?? {}, vars ?? []);
  const shown = viewPanel ? panels.flatMap((s) => s.panels).filter((p) => String(p.id) === viewPanel) : null;

  const zoom = (a: number, b: number) => setParam(route, { from: String(Math.round(a)), to: String(Math.round(b)) });
  const shift = (dir: number) => {
    const w = range.to - range.from;
    const a = range.from + (dir * w) / 2;
    const b = range.to + (dir * w) / 2;
    setParam(route, b >= Date.now() ? { from: `now-${formatInterval(roundInterval(w))}`, to: 'now' } : { from: String(Math.round(a)), to: String(Math.round(b)) });
  };
  const zoomOut = () => {
    const w = range.to - range.from;
    const mid = (range.from + range.to) / 2;
    const b = Math.min(Date.now(), mid + w);
    setParam(route, { from: String(Math.round(b - 2 * w)), to: b >= Date.now() - 1000 ? 'now' : String(Math.round(b)) });
  };

  return (
    <div class="dashboard">
      <div class="row">
        <h1 class="grow" style="margin:0">{d.title ?? 'Untitled'}</h1>
        {meta.provisioned && <span class="badge" title="loaded from a file; edit the file">provisioned</span>}
        {!draft && <button onClick={() => { setDraft(saved); setUndo([]); }} disabled={meta.canSave === false} title={meta.canSave === false ? (meta.canEdit === false ? 'editing needs the editor role: log in as an editor' : 'provisioned from a file: edit the file') : 'edit this dashboard'} data-testid="edit-dashboard">Edit</button>}
        <button onClick={() => shift(-1)} title="earlier" aria-label="shift earlier">◀</button>
        <select aria-label="time range" value={to === 'now' && quickRanges.includes(from) ? from : ''} onChange={(e) => setParam(route, { from: (e.target as HTMLSelectElement).value, to: 'now' })}>
          {!(to === 'now' && quickRanges.includes(from)) && <option value="">{describeRange(from, to, zone)}</option>}
          {quickRanges.map((q) => <option key={q} value={q}>{describeRange(q, 'now')}</option>)}
        </select>
        <button onClick={() => shift(1)} title="later" aria-label="shift later">▶</button>
        {zone !== zoneName('browser') && <span class="muted" title="the dashboard's time zone" data-testid="timezone">{zone}</span>}
        <button onClick={zoomOut} title="zoom out">Zoom out</button>
        <button onClick={() => setTick((t) => t + 1)} title="refresh now">Refresh</button>
        <select aria-label="auto refresh" value={refresh} onChange={(e) => setParam(route, { refresh: (e.target as HTMLSelectElement).value || null })}>
          <option value="">Off</option>
          {['5s', '10s', '30s', '1m', '5m', '15m'].map((r) => <option key={r} value={r}>{r}</option>)}
        </select>
      </div>
      <div class="row">
        <label class="muted">From <input size={20} aria-label="from" value={from} onChange={(e) => setParam(route, { from: (e.target as HTMLInputElement).value })} /></label>
        <label class="muted">To <input size={20} aria-label="to" value={to} onChange={(e) => setParam(route, { to: (e.target as HTMLInputElement).value })} /></label>
        {(d.links ?? []).map((l, i) => l.url ? <a key={i} href={safeHref(l.url)} target={l.targetBlank ? '_blank' : undefined} rel="noopener noreferrer">{l.title ?? l.url}</a>
          : l.type === 'dashboards' ? <a key={i} href={`/dashboards?${new URLSearchParams((l.tags ?? []).map((t) => ['tag', t]))}`}>{l.title || `Dashboards: ${(l.tags ?? []).join(', ')}`}</a> : null)}
      </div>
      {vars && <VariableBar vars={vars} route={route} />}
      {annDefs.some((a) => !a.hide) && (
        <div class="row" role="group" aria-label="annotations">
          {annDefs.map((a, i) => {
            const k = a.name ?? String(i);
            return a.hide ? null : (
              <label key={k}><input type="checkbox" checked={!!annOn[k]} onChange={(e) => setAnnOn({ ...annOn, [k]: (e.target as HTMLInputElement).checked })} /> {a.name ?? 'Annotations'}</label>
            );
          })}
        </div>
      )}
      {varErr && <div class="warning">Variables: {varErr}</div>}
      {!vars && <div class="progress" role="status">Loading variables…</div>}
      {vars && shown && (
        <div>
          <button onClick={() => setParam(route, { viewPanel: null })}>Back to the dashboard</button>
          {shown.map((p) => <PanelView key={p.id} p={p} range={range} vars={interp!} session={session} onZoom={zoom} height={600} route={route} ann={annEvents} tz={tz} />)}
        </div>
      )}
      {draft && (
        <EditBar d={d} saved={saved} meta={meta} undo={undo} onUndo={() => { setDraft(undo[undo.length - 1] ?? null); setUndo(undo.slice(0, -1)); }}
          onChange={change} onCancel={() => { setDraft(null); setUndo([]); setEditing(null); }} onSaved={onSaved} onAdd={() => { const a = addPanel(d); change(a.d); setEditing(a.id); }}
          states={vars ?? []} range={range} />
      )}
      {draft && editing !== null && allPanels(d).some((p) => p.id === editing) && (
        <PanelEditor key={editing} panel={allPanels(d).find((p) => p.id === editing)!} onApply={(p) => { change(updatePanel(d, editing, (x) => Object.assign(x, p))); setEditing(null); }} onClose={() => setEditing(null)} />
      )}
      {vars && !shown && panels.map((sec, i) => <Section key={i} sec={sec} range={range} vars={interp!} session={session} onZoom={zoom} route={route} ed={ed} ann={annEvents} tz={tz} />)}
    </div>
  );
}

interface SectionT {
  row?: Panel;
  panels: Panel[];
}

// layoutPanels splits the panels into sections at row panels (a collapsed
// row holds its panels inside it) and repeats panels and rows by variable.
function layoutPanels(d: Dashboard, vars: Vars, states: VarState[]): SectionT[] {
  const sorted = [...(d.panels ?? [])].sort((a, b) => (a.gridPos?.y ?? 0) - (b.gridPos?.y ?? 0) || (a.gridPos?.x ?? 0) - (b.gridPos?.x ?? 0));
  const secs: SectionT[] = [{ panels: [] }];
  for (const p of sorted) {
    if (p.type === 'row') {
      secs.push({ row: p, panels: p.collapsed ? [...(p.panels ?? [])] : [] });
    } else {
      secs[secs.length - 1].panels.push(p);
    }
  }
  const out: SectionT[] = [];
  for (const s of secs) {
    if (s.row?.repeat && vars[s.row.repeat]) {
      for (const v of repeatValues(s.row.repeat, states)) {
        const scoped = { [s.row.repeat]: { text: v, value: v } };
        out.push({
          row: { ...s.row, title: interpolate(s.row.title ?? '', { ...vars, [s.row.repeat]: { values: [v] } }, 'raw'), scopedVars: scoped },
          panels: s.panels.map((p) => ({ ...p, scopedVars: { ...p.scopedVars, ...scoped } })),
        });
      }
    } else out.push(s);
  }
  for (const s of out) s.panels = s.panels.flatMap((p) => repeatPanel(p, states));
  return out.filter((s) => s.row || s.panels.length > 0);
}

function repeatValues(name: string, states: VarState[]): string[] {
  const st = states.find((s) => s.def.name === name);
  if (!st) return [];
  return st.selected.includes(ALL) ? st.options.map((o) => o.value) : st.selected;
}

function repeatPanel(p: Panel, states: VarState[]): Panel[] {
  if (!p.repeat) return [p];
  const vals = repeatValues(p.repeat, states);
  if (vals.length === 0) return [p];
  const g = p.gridPos ?? { x: 0, y: 0, w: 12, h: 8 };
  const perRow = p.repeatDirection === 'v' ? 1 : Math.max(1, Math.min(p.maxPerRow ?? 4, vals.length));
  const w = p.repeatDirection === 'v' ? g.w : Math.max(1, Math.floor(24 / perRow));
  return vals.map((v, i) => ({
    ...p,
    id: (p.id ?? 0) * 1000 + i,
    scopedVars: { ...p.scopedVars, [p.repeat!]: { text: v, value: v } },
    gridPos: p.repeatDirection === 'v' ? { ...g, y: g.y + i * g.h } : { x: (i % perRow) * w, y: g.y + Math.floor(i / perRow) * g.h, w, h: g.h },
  }));
}

function Section({ sec, range, vars, session, onZoom, route, ed, ann, tz }: { sec: SectionT; range: Range; vars: Vars; session: Session; onZoom: (a: number, b: number) => void; route: Route; ed: EditOps | null; ann: AnnotationEvent[]; tz: string }) {
  const [open, setOpen] = useState(!sec.row?.collapsed);
  const minY = Math.min(...sec.panels.map((p) => p.gridPos?.y ?? 0));
  return (
    <section>
      {sec.row && (
        <h2 class="dash-row">
          <button class="linklike" aria-expanded={open} onClick={() => setOpen(!open)}>{open ? '▾' : '▸'} {interpolate(sec.row.title ?? 'Row', vars, 'raw')}</button>
          {!open && <span class="muted"> ({sec.panels.length} panels)</span>}
        </h2>
      )}
      {open && (
        <div class="dash-grid">
          {sec.panels.map((p, i) => {
            const g = p.gridPos ?? { x: 0, y: i * 8, w: 12, h: 8 };
            const style = `grid-column:${g.x + 1} / span ${Math.min(24 - g.x, g.w)};grid-row:${g.y - minY + 1} / span ${g.h}`;
            return (
              <div key={`${p.id}-${i}`} class="dash-cell" style={style}>
                <PanelView p={p} range={range} vars={vars} session={session} onZoom={onZoom} height={g.h * rowHeight + (g.h - 1) * gap - 40} route={route} ed={ed} ann={ann} tz={tz} />
              </div>
            );
          })}
        </div>
      )}
    </section>
  );
}

// noEvents is the one empty list of annotations, so that a graph's effect
// sees the same value on every render.
const noEvents: AnnotationEvent[] = [];

type PanelState = 'loading' | 'ok' | 'nodata' | 'error' | 'unsupported';

function PanelView({ p, range, vars, session, onZoom, height, route, ed, ann = noEvents, tz }: { p: Panel; range: Range; vars: Vars; session: Session; onZoom: (a: number, b: number) => void; height: number; route: Route; ed?: EditOps | null; ann?: AnnotationEvent[]; tz: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const [visible, setVisible] = useState(false);
  const [state, setState] = useState<PanelState>('loading');
  const [series, setSeries] = useState<Series[]>([]);
  const [msg, setMsg] = useState('');
  const [results, setResults] = useState<QueryResult[]>([]);
  const [inspect, setInspect] = useState(false);
  const scoped: Vars = { ...vars };
  for (const [k, sv] of Object.entries(p.scopedVars ?? {})) scoped[k] = { values: Array.isArray(sv.value) ? sv.value : [sv.value] };
  const title = interpolate(p.title ?? '', scoped, 'raw');
  const isSupported = supported.has(p.type);
  // What the panel's links and data links fill in.
  const scope: LinkScope = { vars: scoped, range, timezone: tz };
  const links = panelLinks(p.links, scope);

  // Panels outside the viewport wait until scrolled to.
  useEffect(() => {
    const el = ref.current!;
    const io = new IntersectionObserver((es) => es.some((e) => e.isIntersecting) && setVisible(true), { rootMargin: '200px' });
    io.observe(el);
    return () => io.disconnect();
  }, []);

  useEffect(() => {
    if (!isSupported) {
      setState('unsupported');
      setMsg(`Panel type "${p.type}" is not supported by argus; the dashboard's other panels are drawn.`);
      return;
    }
    if (p.type === 'text' || p.type === 'row') {
      setState('ok');
      return;
    }
    if (!visible) return;
    const targets = (p.targets ?? []).filter((t) => !t.hide && (t.expr ?? '').trim() !== '');
    if (targets.length === 0) {
      setState('nodata');
      setMsg('This panel has no queries.');
      return;
    }
    setState('loading');
    // An answer for queries the panel no longer has (edited meanwhile) is
    // dropped.
    let cancelled = false;
    runPanel(session, p, range, vars, ref.current?.clientWidth ?? 800)
      .then((rs) => {
        if (cancelled || session.controller.signal.aborted) return;
        const s = toSeries(rs);
        setResults(rs);
        setSeries(s);
        const warn = rs.flatMap((r) => r.warnings);
        setMsg(warn.join('; '));
        if (s.length === 0 || !s.some(hasPoints)) {
          setState('nodata');
          // Variables with no value are usually why (their metric is
          // not there either): say which.
          const empty = emptyVars(targets.map((t) => t.expr ?? ''), scoped).map((n) => `$${n}`);
          const why = [...(empty.length ? [`${empty.length > 1 ? 'variables' : 'variable'} ${empty.join(', ')} ${empty.length > 1 ? 'have' : 'has'} no value`] : []), ...warn];
          setMsg(`No data: the queries returned no series in this time range${why.length ? ` (${why.join('; ')})` : ''}.`);
        } else setState('ok');
      })
      .catch((e: Error) => {
        if (cancelled || e.name === 'AbortError' || session.controller.signal.aborted) return;
        setState('error');
        setMsg(e.message);
      });
    return () => {
      cancelled = true;
    };
  }, [visible, session, JSON.stringify([p.id, p.type, p.targets, p.scopedVars, p.interval, p.maxDataPoints, p.timeFrom, p.timeShift])]);

  const body = () => {
    if (state === 'unsupported' || state === 'error' || state === 'nodata') return <div class={state === 'error' ? 'error' : 'muted panel-msg'}>{msg}</div>;
    if (state === 'loading') return <div class="progress">Loading…</div>;
    switch (p.type) {
      case 'timeseries':
      case 'graph':
        return <TimeSeries panel={p} series={series} from={range.from} to={range.to} onZoom={onZoom} height={Math.max(80, height - legendRoom(p, series))} annotations={ann} scope={scope} timezone={tz} />;
      case 'stat':
      case 'singlestat':
        return <Stat panel={p} series={series} scope={scope} />;
      case 'gauge':
        return <Gauge panel={p} series={series} scope={scope} />;
      case 'bargauge':
        return <BarGauge panel={p} series={series} scope={scope} />;
      case 'table':
      case 'table-old':
        return <Table panel={p} series={series} scope={scope} />;
      case 'text':
        return <Text panel={p} />;
      case 'heatmap':
        return <Heatmap series={series} height={height} />;
      case 'state-timeline':
        return <StateTimeline panel={p} series={series} from={range.from} to={range.to} height={height} timezone={tz} />;
    }
    return null;
  };

  return (
    <div ref={ref} class={`panel${p.transparent ? ' transparent' : ''}`} data-panel-state={state} data-panel-type={p.type} data-testid="panel">
      <header>
        <span class="panel-title" title={p.description}>{title}</span>
        {msg && state === 'ok' && <span class="badge warn" title={msg}>!</span>}
        <span class="grow" />
        {links.length > 0 && (
          <details class="link-menu panel-links">
            <summary title="panel links" aria-label={`links of ${title}`}>↗</summary>
            <div class="link-menu-list">{links.map((l, i) => <a key={i} href={l.href} target={l.blank ? '_blank' : undefined} rel="noopener noreferrer" data-testid="panel-link">{l.title}</a>)}</div>
          </details>
        )}
        {p.type !== 'text' && p.type !== 'row' && isSupported && <button class="linklike" title="inspect: the data and the queries" aria-label={`inspect ${title}`} data-testid="inspect" onClick={() => setInspect(true)}>ⓘ</button>}
        {p.type !== 'text' && !ed && <button class="linklike" title="view this panel alone" onClick={() => setParam(route, { viewPanel: String(p.id) })}>⤢</button>}
      </header>
      {ed && p.id !== undefined && !p.scopedVars && (
        <div class="edit-tools" role="toolbar" aria-label={`edit ${title}`}>
          <button onClick={() => ed.open(p.id!)} data-testid="edit-panel">Edit</button>
          <button title="move left" onClick={() => ed.move(p.id!, -1, 0, 0, 0)}>←</button>
          <button title="move right" onClick={() => ed.move(p.id!, 1, 0, 0, 0)}>→</button>
          <button title="move up" onClick={() => ed.move(p.id!, 0, -1, 0, 0)}>↑</button>
          <button title="move down" onClick={() => ed.move(p.id!, 0, 1, 0, 0)}>↓</button>
          <button title="narrower" onClick={() => ed.move(p.id!, 0, 0, -1, 0)}>W−</button>
          <button title="wider" onClick={() => ed.move(p.id!, 0, 0, 1, 0)}>W+</button>
          <button title="shorter" onClick={() => ed.move(p.id!, 0, 0, 0, -1)}>H−</button>
          <button title="taller" onClick={() => ed.move(p.id!, 0, 0, 0, 1)}>H+</button>
          <button title="remove the panel" onClick={() => ed.remove(p.id!)}>✕</button>
        </div>
      )}
      <div class="panel-body">{body()}</div>
      {inspect && <Inspector title={title} results={results} series={series} zone={zoneName(tz)} onClose={() => setInspect(false)} />}
    </div>
  );
}

function legendRoom(p: Panel, s: Series[]): number {
  const l = p.options?.legend ?? {};
  if (l.showLegend === false || l.displayMode === 'hidden' || s.length === 0) return 0;
  return l.displayMode === 'table' ? Math.min(120, 24 + s.length * 20) : Math.min(60, 20 * Math.ceil(s.length / 3));
}

function VariableBar({ vars, route }: { vars: VarState[]; route: Route }) {
  const set = (name: string, values: string[]) => setParam(route, { [`var-${name}`]: values });
  return (
    <div class="row" role="group" aria-label="variables">
      {vars.filter((v) => v.def.hide !== 2 && v.def.type !== 'constant').map((v) => (
        <label key={v.def.name} class="var">
          {v.def.hide !== 1 && <span class="muted">{v.def.label || v.def.name}</span>}
          {v.def.type === 'textbox' ? (
            <input aria-label={v.def.name} value={v.selected[0] ?? ''} onChange={(e) => set(v.def.name, [(e.target as HTMLInputElement).value])} />
          ) : v.def.multi ? (
            <select multiple size={Math.min(5, v.options.length + (v.def.includeAll ? 1 : 0))} aria-label={v.def.name} onChange={(e) => {
              const sel = Array.from((e.target as HTMLSelectElement).selectedOptions).map((o) => o.value);
              set(v.def.name, sel.includes(ALL) && !v.selected.includes(ALL) ? [ALL] : sel.filter((x) => x !== ALL));
            }}>
              {v.def.includeAll && <option value={ALL} selected={v.selected.includes(ALL)}>All</option>}
              {v.options.map((o) => <option key={o.value} value={o.value} selected={v.selected.includes(o.value)}>{o.text}</option>)}
            </select>
          ) : (
            <select aria-label={v.def.name} value={v.selected[0] ?? ''} onChange={(e) => set(v.def.name, [(e.target as HTMLSelectElement).value])}>
              {v.def.includeAll && <option value={ALL}>All</option>}
              {v.options.map((o) => <option key={o.value} value={o.value}>{o.text}</option>)}
            </select>
          )}
        </label>
      ))}
    </div>
  );
}

// loadAnnotations runs the annotation queries of a dashboard: PromQL ones
// through the session (shared and cancelled with the panels' queries), the
// built-in one from the alert manager's history.
async function loadAnnotations(session: Session, defs: AnnotationDef[], range: Range, vars: Vars): Promise<AnnotationEvent[]> {
  const out: AnnotationEvent[] = [];
  await Promise.all(defs.map(async (a) => {
    if (isBuiltIn(a)) {
      const p = new URLSearchParams({ kind: 'alert', since: new Date(range.from).toISOString(), until: new Date(range.to).toISOString(), limit: '1000' });
      const r = await fetch(`/api/v2/history?${p}`, { signal: session.controller.signal, headers: { Accept: 'application/json' } });
      if (r.ok) out.push(...fromHistory((await r.json()) as HistoryEvent[], a));
      return;
    }
    if (!a.expr) return;
    const stepS = (parseIntervalMs(a.step ?? '') ?? 60000) / 1000;
    const base = apiBase(interpolate(dsUID(a.datasource ?? null), vars, 'raw'));
    const res = await session.get(base, 'query_range', new URLSearchParams({
      // The range itself, not widened to the step: a point past the end
      // would not be drawn, and a relative range is a whole number of steps,
      // so the last point is the end.
      query: interpolate(a.expr, vars), start: String(range.from / 1000), end: String(range.to / 1000), step: String(stepS),
    }));
    if (res.data.resultType === 'matrix') out.push(...fromSeries(res.data.result as Sample[], stepS, a));
  }));
  return out;
}
