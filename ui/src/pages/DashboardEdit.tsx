// Editing a dashboard: the edit bar (add a panel, title, tags, time zone,
// variables, undo, save with a message, versions and restore) and the panel editor (type,
// title, unit, queries in the PromQL editor).
import { useState } from 'preact/hooks';
import { Editor } from '../components/Editor';
import type { Dashboard, Panel, Target } from '../dash/model';
import { useData } from '../lib/useData';
import { zones } from '../dash/tz';
import type { Range } from '../dash/time';
import type { VarState } from '../dash/variables';
import { VariablesEditor } from './VariableEdit';

export interface EditOps {
  move: (id: number, dx: number, dy: number, dw: number, dh: number) => void;
  remove: (id: number) => void;
  open: (id: number) => void;
}

async function send<T>(url: string, body?: unknown): Promise<T> {
  const r = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const out = await r.json().catch(() => ({}));
  if (!r.ok) throw Object.assign(new Error(out.message ?? `${r.status} ${r.statusText}`), { status: r.status, body: out });
  return out as T;
}

interface Version {
  id: number;
  version: number;
  created: string;
  createdBy?: string;
  message?: string;
}

export function EditBar({ d, saved, meta, undo, onUndo, onChange, onCancel, onSaved, onAdd, states, range }: {
  d: Dashboard; saved: Dashboard; meta: Record<string, any>; undo: Dashboard[]; onUndo: () => void; onChange: (d: Dashboard) => void;
  onCancel: () => void; onSaved: () => void; onAdd: () => void; states: VarState[]; range: Range;
}) {
  const [message, setMessage] = useState('');
  const [err, setErr] = useState('');
  const [conflict, setConflict] = useState(false);
  const [saving, setSaving] = useState(false);
  const [showVersions, setShowVersions] = useState(false);
  const [showVars, setShowVars] = useState(false);
  const changed = JSON.stringify(d) !== JSON.stringify(saved);

  const save = async (overwrite: boolean) => {
    setErr('');
    setSaving(true);
    try {
      await send('/api/dashboards/db', { dashboard: d, folderUid: meta.folderUid ?? '', overwrite, message });
      onSaved();
    } catch (e) {
      const st = (e as { status?: number }).status;
      setConflict(st === 412);
      setErr(st === 412 ? `Not saved: ${(e as Error).message}. Someone saved this dashboard since you opened it; reload to see their change, or overwrite it with yours.` : `Not saved: ${(e as Error).message}`);
    } finally {
      setSaving(false);
    }
  };

  return (
    <div class="card edit-bar" data-testid="edit-bar">
      <header>
        <strong>Editing</strong>
        <label>Title <input aria-label="dashboard title" value={d.title ?? ''} onChange={(e) => onChange({ ...d, title: (e.target as HTMLInputElement).value })} /></label>
        <label>Tags <input aria-label="dashboard tags" placeholder="comma separated" value={(d.tags ?? []).join(', ')}
          onChange={(e) => onChange({ ...d, tags: (e.target as HTMLInputElement).value.split(',').map((t) => t.trim()).filter(Boolean) })} /></label>
        <label>Time zone <select aria-label="time zone" value={d.timezone ?? ''} onChange={(e) => onChange({ ...d, timezone: (e.target as HTMLSelectElement).value })}>
          <option value="">Default (the browser's)</option>
          <option value="browser">Browser time</option>
          <option value="utc">UTC</option>
          {[...new Set([...zones(), ...(d.timezone && !['browser', 'utc'].includes(d.timezone) ? [d.timezone] : [])])].map((z) => <option key={z} value={z}>{z}</option>)}
        </select></label>
        <label>Week starts <select aria-label="week start" value={d.weekStart ?? ''} onChange={(e) => onChange({ ...d, weekStart: (e.target as HTMLSelectElement).value })}>
          <option value="">Default (Monday)</option>
          <option value="monday">Monday</option>
          <option value="sunday">Sunday</option>
          <option value="saturday">Saturday</option>
        </select></label>
        <button onClick={onAdd} data-testid="add-panel">Add panel</button>
        <button onClick={() => setShowVars(!showVars)} aria-expanded={showVars} data-testid="edit-variables">Variables</button>
        <button onClick={onUndo} disabled={undo.length === 0} title="undo the last change">Undo</button>
        <span class="grow" />
        <input aria-label="save message" placeholder="What changed (optional)" value={message} onInput={(e) => setMessage((e.target as HTMLInputElement).value)} />
        <button class="primary" onClick={() => save(false)} disabled={saving || !changed} data-testid="save-dashboard">{saving ? 'Saving…' : 'Save'}</button>
        {conflict && <button onClick={() => save(true)}>Overwrite</button>}
        <button onClick={() => setShowVersions(!showVersions)} aria-expanded={showVersions}>Versions</button>
        <button onClick={onCancel}>{changed ? 'Discard changes' : 'Done'}</button>
      </header>
      {err && <div class="body"><div class="error" role="alert">{err}</div></div>}
      {showVars && <VariablesEditor d={d} onChange={onChange} states={states} range={range} />}
      {showVersions && d.uid && <Versions uid={d.uid} onRestored={onSaved} />}
    </div>
  );
}

function Versions({ uid, onRestored }: { uid: string; onRestored: () => void }) {
  const v = useData(() => send<Version[]>(`/api/dashboards/uid/${encodeURIComponent(uid)}/versions`), [uid]);
  const [err, setErr] = useState('');
  const restore = async (version: number) => {
    setErr('');
    try {
      await send(`/api/dashboards/uid/${encodeURIComponent(uid)}/restore`, { version });
      onRestored();
    } catch (e) {
      setErr(`Could not restore version ${version}: ${(e as Error).message}`);
    }
  };
  return (
    <div class="body" data-testid="versions">
      {v.error && <div class="error">Could not load the versions: {v.error}</div>}
      {err && <div class="error">{err}</div>}
      {v.data && (
        <table>
          <thead><tr><th>Version</th><th>Saved</th><th>By</th><th>Message</th><th /></tr></thead>
          <tbody>{v.data.map((x, i) => (
            <tr key={x.id}>
              <td>{x.version}</td><td>{x.created}</td><td>{x.createdBy ?? ''}</td><td>{x.message ?? ''}</td>
              <td>{i > 0 && <button onClick={() => restore(x.version)} data-testid="restore-version">Restore</button>}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
    </div>
  );
}

const panelTypes = ['timeseries', 'stat', 'gauge', 'bargauge', 'table', 'text', 'heatmap', 'state-timeline'];
const units = ['short', 'none', 'percent', 'percentunit', 'bytes', 'decbytes', 'bps', 'Bps', 's', 'ms', 'ops', 'reqps'];

export function PanelEditor({ panel, onApply, onClose }: { panel: Panel; onApply: (p: Partial<Panel>) => void; onClose: () => void }) {
  const [title, setTitle] = useState(panel.title ?? '');
  const [type, setType] = useState(panel.type);
  const [unit, setUnit] = useState(panel.fieldConfig?.defaults?.unit ?? 'short');
  const [content, setContent] = useState<string>(panel.options?.content ?? panel.content ?? '');
  // Each query row has a key of its own, so that removing one does not hand
  // its editor to the next.
  const [rows, setRows] = useState<{ key: number; t: Target }[]>(() =>
    (panel.targets?.length ? panel.targets : [{ refId: 'A', expr: '' }]).map((t, i) => ({ key: i, t: { ...t } })));
  const targets = rows.map((r) => r.t);
  const setTarget = (i: number, t: Partial<Target>) => setRows(rows.map((r, j) => (j === i ? { ...r, t: { ...r.t, ...t } } : r)));
  const addTarget = () => {
    const used = new Set(targets.map((t) => t.refId));
    let refId = 'A';
    for (let c = 65; used.has(refId); c++) refId = String.fromCharCode(c);
    setRows([...rows, { key: Math.max(-1, ...rows.map((r) => r.key)) + 1, t: { refId, expr: '' } }]);
  };
  const apply = () => {
    const fc = panel.fieldConfig ?? {};
    onApply({
      title, type,
      fieldConfig: { ...fc, defaults: { ...(fc.defaults ?? {}), unit } },
      ...(type === 'text' ? { options: { ...(panel.options ?? {}), mode: 'markdown', content } } : { targets }),
    });
  };
  return (
    <div class="card" data-testid="panel-editor">
      <header><strong>Panel</strong><span class="grow" /><button class="primary" onClick={apply} data-testid="apply-panel">Apply</button><button onClick={onClose}>Close</button></header>
      <div class="body">
        <div class="row">
          <label>Title <input aria-label="panel title" value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} /></label>
          <label>Type <select aria-label="panel type" value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
            {[...new Set([...panelTypes, panel.type])].map((t) => <option key={t} value={t}>{t}</option>)}
          </select></label>
          <label>Unit <select aria-label="unit" value={unit} onChange={(e) => setUnit((e.target as HTMLSelectElement).value)}>
            {[...new Set([...units, unit])].map((u) => <option key={u} value={u}>{u}</option>)}
          </select></label>
        </div>
        {type === 'text' ? (
          <textarea aria-label="text (Markdown)" rows={6} style="width:100%" value={content} onInput={(e) => setContent((e.target as HTMLTextAreaElement).value)} />
        ) : (
          <div>
            {rows.map(({ key, t }, i) => (
              <div key={key} class="row" data-testid="target">
                <span class="mono">{t.refId ?? String.fromCharCode(65 + i)}</span>
                <Editor value={t.expr ?? ''} version={0} onChange={(v) => setTarget(i, { expr: v })} onRun={apply} />
                <input aria-label="legend format" placeholder="Legend: {{instance}}" size={18} value={t.legendFormat ?? ''} onInput={(e) => setTarget(i, { legendFormat: (e.target as HTMLInputElement).value })} />
                <label><input type="checkbox" checked={!!t.instant} onChange={(e) => setTarget(i, { instant: (e.target as HTMLInputElement).checked })} /> instant</label>
                <button onClick={() => setRows(rows.filter((_, j) => j !== i))} disabled={rows.length === 1} title="remove the query">✕</button>
              </div>
            ))}
            <button onClick={addTarget}>Add query</button>
          </div>
        )}
      </div>
    </div>
  );
}
