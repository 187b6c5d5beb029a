// Explore: run a PromQL query as a graph (range query) or a table (instant
// query). The URL holds the whole state; a new query cancels the one before.
import { useEffect, useRef, useState } from 'preact/hooks';
import { APIError, v1, type QueryData, type Sample } from '../api';
import { Chart } from '../components/Chart';
import { Editor } from '../components/Editor';
import { addHistory, fromParams, loadHistory, resolveWindow, toParams, type ExploreState } from '../lib/explore';
import { seriesName } from '../lib/labels';
import { navigate, type Route } from '../lib/router';
import { formatDuration, formatTime, parseDuration, rangePresets } from '../lib/time';
import { formatValue, parseValue } from '../lib/series';

interface Outcome {
  data: QueryData;
  warnings: string[];
  infos: string[];
  window?: { start: number; end: number; step: number };
  elapsed: number;
}

export function Explore({ route }: { route: Route }) {
  const state = fromParams(route.params);
  const [expr, setExpr] = useState(state.expr);
  const [version, setVersion] = useState(0);
  const [out, setOut] = useState<Outcome | null>(null);
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const [hist, setHist] = useState<string[]>(() => loadHistory(localStorage));
  const [showHist, setShowHist] = useState(false);
  const inflight = useRef<AbortController | null>(null);

  const update = (s: Partial<ExploreState>, replace = false) => {
    navigate(`/query?${toParams({ ...state, expr, ...s })}`, replace);
  };

  // Run whenever the URL's state changes (run, tab, range, link opened).
  const key = toParams(state).toString();
  useEffect(() => {
    if (state.expr.trim() === '') {
      setOut(null);
      return;
    }
    if (state.expr !== expr) {
      setExpr(state.expr);
      setVersion((v) => v + 1);
    }
    run(state);
  }, [key]);

  useEffect(() => () => inflight.current?.abort(), []);

  async function run(s: ExploreState) {
    inflight.current?.abort();
    const ac = new AbortController();
    inflight.current = ac;
    setBusy(true);
    setErr('');
    const t0 = performance.now();
    try {
      const now = Date.now() / 1000;
      const p = new URLSearchParams({ query: s.expr, stats: 'all' });
      let window;
      if (s.tab === 'graph') {
        window = resolveWindow(s, now);
        p.set('start', String(window.start));
        p.set('end', String(window.end));
        p.set('step', String(window.step));
      } else {
        const w = resolveWindow(s, now);
        p.set('time', String(w.end));
      }
      const r = await v1<QueryData>(s.tab === 'graph' ? 'query_range' : 'query', p, ac.signal);
      if (ac.signal.aborted) return;
      setOut({ data: r.data, warnings: r.warnings, infos: r.infos, window, elapsed: performance.now() - t0 });
      setHist(addHistory(localStorage, s.expr));
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      setOut(null);
      setErr(e instanceof APIError && e.errorType ? `${e.errorType}: ${e.message}` : (e as Error).message);
    } finally {
      if (inflight.current === ac) {
        setBusy(false);
        inflight.current = null;
      }
    }
  }

  // Execute runs the query again even when nothing in the URL changes
  // (a relative range moves with the clock).
  const submit = () => {
    if (toParams({ ...state, expr }).toString() === key) run(state);
    else update({ expr }, false);
  };
  const zoom = (start: number, end: number) => {
    update({ range: formatDuration(Math.max(1, Math.round(end - start))), end: String(Math.round(end)) });
  };
  const shiftEnd = (dir: number) => {
    const range = parseDuration(state.range) ?? 3600;
    const w = (() => {
      try {
        return resolveWindow(state, Date.now() / 1000);
      } catch {
        return null;
      }
    })();
    if (!w) return;
    const end = w.end + (dir * range) / 2;
    update({ end: end >= Date.now() / 1000 ? 'now' : String(Math.round(end)) });
  };

  return (
    <div>
      <h1>Explore</h1>
      <div class="row">
        <Editor value={expr} version={version} onChange={setExpr} onRun={submit} />
        <button class="primary" onClick={submit} data-testid="run">Execute</button>
        {busy && <button onClick={() => inflight.current?.abort()}>Cancel</button>}
        <button onClick={() => setShowHist(!showHist)} aria-expanded={showHist} title="queries run in this browser">History</button>
      </div>
      {showHist && (
        <div class="history" role="listbox" aria-label="query history">
          {hist.length === 0 && <div class="muted">No queries yet.</div>}
          {hist.map((h) => (
            <div key={h} role="option" class="mono" onClick={() => { setShowHist(false); update({ expr: h }); }}>{h}</div>
          ))}
        </div>
      )}
      <div class="tabs" role="tablist">
        {(['graph', 'table'] as const).map((t) => (
          <button key={t} role="tab" aria-selected={state.tab === t} class={state.tab === t ? 'active' : ''} onClick={() => update({ tab: t })}>
            {t === 'graph' ? 'Graph' : 'Table'}
          </button>
        ))}
      </div>
      <div class="row">
        {state.tab === 'graph' && (
          <>
            <label>Range <input size={6} aria-label="range" list="range-presets" value={state.range}
              onChange={(e) => update({ range: (e.target as HTMLInputElement).value.trim() || '1h' })} /></label>
            <datalist id="range-presets">{rangePresets.map((r) => <option key={r} value={r} />)}</datalist>
            <button onClick={() => shiftEnd(-1)} title="earlier">◀</button>
          </>
        )}
        <label>{state.tab === 'graph' ? 'End' : 'Time'} <input size={22} aria-label="end time" placeholder="now, now-1h, RFC 3339" value={state.end === 'now' ? '' : /^\d+$/.test(state.end) && Number(state.end) < 1e11 ? formatTime(Number(state.end)) : state.end}
          onChange={(e) => update({ end: (e.target as HTMLInputElement).value.trim() || 'now' })} /></label>
        {state.tab === 'graph' && (
          <>
            <button onClick={() => shiftEnd(1)} title="later">▶</button>
            <button onClick={() => update({ end: 'now' })} disabled={state.end === 'now'}>Now</button>
            <label>Step <input size={6} aria-label="step" placeholder="auto" value={state.step} onChange={(e) => update({ step: (e.target as HTMLInputElement).value.trim() })} /></label>
            <label><input type="checkbox" checked={state.stacked} onChange={(e) => update({ stacked: (e.target as HTMLInputElement).checked })} /> Stacked</label>
          </>
        )}
      </div>
      {busy && <div class="progress" role="status">Running the query…</div>}
      {err && <div class="error" role="alert">{err}</div>}
      {out && <Result out={out} state={state} onZoom={zoom} />}
    </div>
  );
}

function Result({ out, state, onZoom }: { out: Outcome; state: ExploreState; onZoom: (a: number, b: number) => void }) {
  const { data } = out;
  const stats = data.stats;
  const samples = stats?.samples?.totalQueryableSamples;
  const count = data.resultType === 'vector' || data.resultType === 'matrix' ? data.result.length : 1;
  return (
    <div>
      {out.warnings.map((w) => <div key={w} class="warning" role="status">Warning: {w}</div>)}
      {out.infos.map((w) => <div key={w} class="info" role="status">Info: {w}</div>)}
      <div class="muted" data-testid="stats">
        {count} {data.resultType === 'matrix' || data.resultType === 'vector' ? 'series' : 'value'}
        {' · '}{Math.round(out.elapsed)} ms{samples !== undefined ? ` · ${samples.toLocaleString()} samples` : ''}
        {out.window ? ` · step ${formatDuration(out.window.step)}` : ''}
      </div>
      {state.tab === 'graph' && data.resultType === 'matrix' && out.window && (
        data.result.length === 0 ? <div class="muted">Empty query result.</div> :
          <Chart result={data.result} start={out.window.start} end={out.window.end} step={out.window.step} stacked={state.stacked} onZoom={onZoom} />
      )}
      {state.tab === 'graph' && data.resultType !== 'matrix' && <div class="muted">This expression gives a {data.resultType}; see the table.</div>}
      {state.tab === 'table' && <Table data={data} />}
    </div>
  );
}

function Table({ data }: { data: QueryData }) {
  if (data.resultType === 'scalar' || data.resultType === 'string') {
    return <table data-testid="result-table"><tbody><tr><td>{data.resultType}</td><td class="num">{data.result[1]}</td></tr></tbody></table>;
  }
  const rows = data.result as Sample[];
  if (rows.length === 0) return <div class="muted">Empty query result.</div>;
  return (
    <div class="scroll">
      <table data-testid="result-table">
        <thead><tr><th>Series</th><th class="num">Value</th></tr></thead>
        <tbody>
          {rows.slice(0, 10000).map((s, i) => (
            <tr key={i}>
              <td class="mono">{seriesName(s.metric)}</td>
              <td class="num mono">
                {s.value ? formatPlain(s.value[1]) : (s.values ?? []).map(([t, v]) => `${formatPlain(v)} @${t}`).join('\n')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > 10000 && <div class="muted">Showing 10,000 of {rows.length} series.</div>}
    </div>
  );
}

function formatPlain(v: string): string {
  const n = parseValue(v);
  return Number.isFinite(n) ? v : formatValue(n);
}
