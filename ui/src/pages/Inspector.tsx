// The panel inspector: the panel's data as a table (and as CSV to
// download), the queries as they were sent, with their step and what
// they returned, and each request's measurements (time, size, series and
// points).
import { useEffect, useState } from 'preact/hooks';
import type { GridSample, QueryResult } from '../dash/query';
import type { Series } from '../dash/reduce';
import { formatInterval } from '../dash/time';
import { formatDate } from '../dash/tz';

// toCSV writes series as rows of time, series name and value, quoting as
// RFC 4180 asks.
export function toCSV(series: Series[]): string {
  const q = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = ['time,series,value'];
  for (const s of series) {
    for (let i = 0; i < s.times.length; i++) {
      const v = s.values[i];
      lines.push(`${new Date(s.times[i] * 1000).toISOString()},${q(s.name)},${v === null ? '' : String(v)}`);
    }
  }
  return lines.join('\n') + '\n';
}

// points counts the samples of a query's answer: a range query's per
// series, one per series of an instant vector, one for a scalar.
export function points(r: QueryResult): number {
  const d = r.data;
  if (d.resultType === 'scalar' || d.resultType === 'string') return 1;
  let n = 0;
  if (r.grid) {
    // The grid encoding: every step with a value.
    for (const x of d.result as GridSample[]) for (const v of x.grid) if (v !== null) n++;
    return n;
  }
  for (const x of d.result as { values?: unknown[]; histograms?: unknown[] }[]) n += x.values || x.histograms ? (x.values?.length ?? 0) + (x.histograms?.length ?? 0) : 1;
  return n;
}

function kB(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}

// transferred is the compressed size the browser's resource timing has
// for a request, when it still holds the entry.
function transferred(url: string): number | null {
  const e = performance.getEntriesByName(new URL(url, location.href).href, 'resource').at(-1) as PerformanceResourceTiming | undefined;
  return e && e.encodedBodySize > 0 ? e.encodedBodySize : null;
}

function Stats({ results }: { results: QueryResult[] }) {
  return (
    <table data-testid="inspect-stats">
      <thead><tr><th>Query</th><th>Expression as sent</th><th>Step</th><th class="num">Series</th><th class="num">Points</th><th class="num">Request</th><th class="num">Parse</th><th class="num">Response</th></tr></thead>
      <tbody>{results.map((r, i) => {
        const res = r.data.result as unknown[];
        const tx = transferred(r.stats.url);
        return (
          <tr key={i}>
            <td>{r.target.refId ?? String.fromCharCode(65 + i)}</td>
            <td class="mono">{r.expr}</td>
            <td>{r.step ? formatInterval(r.step * 1000) : 'instant'}</td>
            <td class="num" data-testid="stat-series">{r.data.resultType === 'scalar' || r.data.resultType === 'string' ? 1 : res.length}</td>
            <td class="num" data-testid="stat-points">{points(r)}</td>
            <td class="num" data-testid="stat-ms" title={r.shared ? 'the request of another panel with the same query' : undefined}>{r.stats.ms.toFixed(1)} ms{r.shared ? ' (shared)' : ''}</td>
            <td class="num">{r.stats.parseMs.toFixed(1)} ms</td>
            <td class="num" data-testid="stat-bytes" data-bytes={r.stats.bytes} title={tx ? `${tx} bytes transferred` : undefined}>{kB(r.stats.bytes)}{tx && tx !== r.stats.bytes ? ` (${kB(tx)} transferred)` : ''}</td>
          </tr>
        );
      })}</tbody>
    </table>
  );
}

export function Inspector({ title, results, series, zone, onClose }: { title: string; results: QueryResult[]; series: Series[]; zone: string; onClose: () => void }) {
  const [tab, setTab] = useState<'data' | 'query' | 'stats'>('data');
  const [pick, setPick] = useState(0);
  const [csvURL, setCSVURL] = useState('');
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
  // A blob URL for the download, released when the data or the inspector goes.
  useEffect(() => {
    const url = URL.createObjectURL(new Blob([toCSV(series)], { type: 'text/csv' }));
    setCSVURL(url);
    return () => URL.revokeObjectURL(url);
  }, [series]);
  const s = series[Math.min(pick, series.length - 1)];
  return (
    <div class="modal" role="dialog" aria-label={`inspect ${title}`} data-testid="inspector">
      <div class="card">
        <header>
          <strong>Inspect: {title || '(untitled)'}</strong>
          <span class="grow" />
          <button onClick={onClose}>Close</button>
        </header>
        <div class="body">
          <div class="tabs" role="tablist">
            <button role="tab" class={tab === 'data' ? 'active' : ''} onClick={() => setTab('data')}>Data</button>
            <button role="tab" class={tab === 'query' ? 'active' : ''} onClick={() => setTab('query')}>Query</button>
            <button role="tab" class={tab === 'stats' ? 'active' : ''} onClick={() => setTab('stats')}>Stats</button>
          </div>
          {tab === 'data' && (
            <div>
              <div class="row">
                <select aria-label="series" value={String(pick)} onChange={(e) => setPick(Number((e.target as HTMLSelectElement).value))}>
                  {series.slice(0, 1000).map((x, i) => <option key={i} value={String(i)}>{x.name}</option>)}
                </select>
                <span class="muted">{series.length} series</span>
                {csvURL && <a href={csvURL} download={`${(title || 'panel').replace(/[^\w.-]+/g, '_')}.csv`} data-testid="csv">Download CSV (all series)</a>}
              </div>
              {!s ? <div class="muted">No data.</div> : (
                <table data-testid="inspect-table">
                  <thead><tr><th>Time ({zone})</th><th class="num">Value</th></tr></thead>
                  <tbody>{s.times.slice(-1000).map((t, i) => {
                    const j = s.times.length - Math.min(1000, s.times.length) + i;
                    return <tr key={t}><td class="mono">{formatDate(t * 1000, zone, 'YYYY-MM-DD HH:mm:ss.SSS')}</td><td class="num mono">{s.values[j] === null ? '' : String(s.values[j])}</td></tr>;
                  })}</tbody>
                </table>
              )}
            </div>
          )}
          {tab === 'stats' && <Stats results={results} />}
          {tab === 'query' && results.map((r, i) => {
            const res = r.data.result as unknown[];
            return (
              <div key={i} class="card">
                <header><strong>{r.target.refId ?? String.fromCharCode(65 + i)}</strong><span class="muted">{r.kind} query{r.step ? `, step ${formatInterval(r.step * 1000)}` : ''}, {r.data.resultType}, {Array.isArray(res) && r.data.resultType !== 'scalar' ? `${res.length} series` : '1 value'}</span></header>
                <div class="body">
                  <pre data-testid="inspect-query">{r.expr}</pre>
                  {r.warnings.map((w) => <div key={w} class="warning">{w}</div>)}
                </div>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
