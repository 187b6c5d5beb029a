// The panel inspector: the panel's data as a table (and as CSV to
// download) and the queries as they were sent, with their step and what
// they returned.
import { useEffect, useState } from 'preact/hooks';
import type { QueryResult } from '../dash/query';
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

export function Inspector({ title, results, series, zone, onClose }: { title: string; results: QueryResult[]; series: Series[]; zone: string; onClose: () => void }) {
  const [tab, setTab] = useState<'data' | 'query'>('data');
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
