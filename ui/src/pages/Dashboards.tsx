// The dashboard list: search by title and tag, and import of Grafana
// dashboard JSON with the compatibility report of every panel.
import { useState } from 'preact/hooks';
import { Loading } from '../components/common';
import { navigate, type Route } from '../lib/router';
import { useData } from '../lib/useData';
import { newDashboard } from '../dash/edit';

interface Hit {
  uid: string;
  title: string;
  url: string;
  type: string;
  tags: string[];
  folderTitle?: string;
  folderUid?: string;
  isStarred?: boolean;
}

interface ReportPanel {
  id?: number;
  title: string;
  type: string;
  status: 'ok' | 'degraded' | 'unsupported';
  reasons?: string[];
  reason?: string;
}

async function getJSON<T>(url: string, init?: RequestInit): Promise<T> {
  const r = await fetch(url, { ...init, headers: { Accept: 'application/json', ...(init?.body ? { 'Content-Type': 'application/json' } : {}) } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.message ?? `${r.status} ${r.statusText}`);
  return body as T;
}

export function Dashboards({ route }: { route: Route }) {
  const query = route.params.get('query') ?? '';
  const tags = route.params.getAll('tag');
  const [text, setText] = useState(query);
  const d = useData((s) => {
    const p = new URLSearchParams({ type: 'dash-db', limit: '1000' });
    if (query) p.set('query', query);
    for (const t of tags) p.append('tag', t);
    return getJSON<Hit[]>(`/api/search?${p}`, { signal: s });
  }, [query, tags.join(',')]);
  const [report, setReport] = useState<{ title: string; url: string; panels: ReportPanel[] } | null>(null);
  const [importErr, setImportErr] = useState('');
  const [busy, setBusy] = useState(false);

  const create = async () => {
    setImportErr('');
    try {
      const title = `New dashboard ${new Date().toISOString().slice(0, 19).replace('T', ' ')}`;
      const res = await getJSON<{ uid: string; url?: string }>('/api/dashboards/db', { method: 'POST', body: JSON.stringify({ dashboard: newDashboard(title), overwrite: false, message: 'created' }) });
      navigate(res.url?.startsWith('/d/') ? res.url : `/d/${res.uid}`);
    } catch (e) {
      setImportErr(`Could not create a dashboard: ${(e as Error).message}`);
    }
  };

  const setQuery = (q: string, ts = tags) => {
    const p = new URLSearchParams();
    if (q) p.set('query', q);
    for (const t of ts) p.append('tag', t);
    navigate(`/dashboards?${p}`, true);
  };

  const importFile = async (f: File) => {
    setImportErr('');
    setReport(null);
    setBusy(true);
    try {
      let dash: any;
      try {
        dash = JSON.parse(await f.text());
      } catch (e) {
        throw new Error(`${f.name} is not JSON: ${(e as Error).message}`);
      }
      const res = await getJSON<any>('/api/dashboards/import', { method: 'POST', body: JSON.stringify({ dashboard: dash, overwrite: true, inputs: [] }) });
      const uid = res.uid ?? res.dashboard?.uid ?? res.importedUri?.split('/').pop();
      const url = res.importedUrl ?? res.url ?? `/d/${uid}`;
      const rep = await getJSON<any>(`/api/dashboards/uid/${encodeURIComponent(uid)}/report`).catch(() => null);
      setReport({ title: res.title ?? dash.title ?? uid, url, panels: rep?.panels ?? [] });
      d.reload();
    } catch (e) {
      setImportErr(`Import failed: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div>
      <h1>Dashboards</h1>
      <div class="row">
        <input class="grow" aria-label="search" placeholder="Search dashboards by title" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} onKeyDown={(e) => e.key === 'Enter' && setQuery(text)} onBlur={() => setQuery(text)} />
        {tags.map((t) => <button key={t} class="badge" title="remove this tag filter" onClick={() => setQuery(query, tags.filter((x) => x !== t))}>tag: {t} ✕</button>)}
        <button onClick={create} data-testid="new-dashboard">New dashboard</button>
        <label class="button-like">
          <span>Import JSON…</span>
          <input type="file" accept=".json,application/json" aria-label="import dashboard JSON" data-testid="import-file" style="display:none" onChange={(e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (f) importFile(f);
            (e.target as HTMLInputElement).value = '';
          }} />
        </label>
      </div>
      {busy && <div class="progress" role="status">Importing…</div>}
      {importErr && <div class="error" role="alert">{importErr}</div>}
      {report && (
        <div class="card" data-testid="import-report">
          <header><strong>Imported “{report.title}”</strong><a href={report.url}>Open it</a></header>
          <div class="body">
            <ReportTable panels={report.panels} />
          </div>
        </div>
      )}
      <Loading d={d} what="dashboards">
        {(hits) => hits.length === 0 ? <div class="muted">No dashboards{query || tags.length ? ' match' : ' yet: import a Grafana dashboard JSON file, or list directories of them in the config (dashboards:)'}.</div> : (
          <table>
            <thead><tr><th>Title</th><th>Folder</th><th>Tags</th></tr></thead>
            <tbody>{hits.map((h) => (
              <tr key={h.uid} data-testid="dashboard-row">
                <td><a href={h.url.startsWith('/d/') ? h.url : `/d/${h.uid}`}>{h.title}</a></td>
                <td class="muted">{h.folderTitle ?? 'General'}</td>
                <td>{h.tags.map((t) => <button key={t} class="label" onClick={() => setQuery(query, [...new Set([...tags, t])])}>{t}</button>)}</td>
              </tr>
            ))}</tbody>
          </table>
        )}
      </Loading>
    </div>
  );
}

export function ReportTable({ panels }: { panels: ReportPanel[] }) {
  const counts = { ok: 0, degraded: 0, unsupported: 0 };
  for (const p of panels) counts[p.status]++;
  return (
    <div>
      <div>panels: {panels.length} total, {counts.ok} ok, {counts.degraded} degraded, {counts.unsupported} unsupported</div>
      {panels.filter((p) => p.status !== 'ok').map((p, i) => (
        <div key={i}><span class={`badge ${p.status === 'degraded' ? 'warn' : 'bad'}`}>{p.status}</span> {p.title || '(untitled)'} <span class="muted">({p.type})</span>: {(p.reasons ?? (p.reason ? [p.reason] : [])).join('; ')}</div>
      ))}
    </div>
  );
}
