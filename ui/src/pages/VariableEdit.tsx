// The dashboard editor's variables: the list (add, edit, move, remove) and
// a form per type with its options and a preview of the values, saved to
// templating.list as Grafana stores it.
import { useEffect, useState } from 'preact/hooks';
import type { Dashboard, Variable } from '../dash/model';
import { dsUID } from '../dash/model';
import type { Range } from '../dash/time';
import { fixedOptions, moveVariable, nameError, newVariable, saveModel, setQuery, variableTypes } from '../dash/varedit';
import { queryText, resolveVariable, type Option, type VarState } from '../dash/variables';
import { useData } from '../lib/useData';

const sorts = ['Disabled', 'Alphabetical (asc)', 'Alphabetical (desc)', 'Numerical (asc)', 'Numerical (desc)', 'Alphabetical, case-insensitive (asc)', 'Alphabetical, case-insensitive (desc)'];

export function VariablesEditor({ d, onChange, states, range }: { d: Dashboard; onChange: (d: Dashboard) => void; states: VarState[]; range: Range }) {
  const list = d.templating?.list ?? [];
  const [editing, setEditing] = useState<number | null>(null); // list.length: a new one
  const set = (l: Variable[]) => onChange({ ...d, templating: { ...(d.templating ?? {}), list: l } });
  let fresh = 'query0';
  for (let i = 1; list.some((v) => v.name === fresh); i++) fresh = `query${i}`;
  return (
    <div class="body" data-testid="variables-editor">
      {list.length === 0 ? <p class="muted">No variables yet.</p> : (
        <table>
          <thead><tr><th>Variable</th><th>Type</th><th>Definition</th><th /></tr></thead>
          <tbody>{list.map((v, i) => (
            <tr key={`${v.name}-${i}`} data-testid="variable-row">
              <td class="mono">${v.name}</td><td>{v.type}</td><td class="mono">{queryText(v)}</td>
              <td>
                <button title="move up" disabled={i === 0} onClick={() => set(moveVariable(list, i, -1))}>↑</button>
                <button title="move down" disabled={i === list.length - 1} onClick={() => set(moveVariable(list, i, 1))}>↓</button>
                <button onClick={() => setEditing(i)}>Edit</button>
                <button title="remove the variable" onClick={() => { set(list.filter((_, j) => j !== i)); setEditing(null); }}>✕</button>
              </td>
            </tr>
          ))}</tbody>
        </table>
      )}
      <button onClick={() => setEditing(list.length)} data-testid="new-variable">New variable</button>
      {editing !== null && (
        <VariableForm key={editing} start={list[editing] ?? newVariable('query', fresh)} others={list.filter((_, i) => i !== editing).map((v) => v.name)}
          before={states.slice(0, editing)} range={range} onClose={() => setEditing(null)}
          onApply={(v) => {
            const l = [...list];
            l[editing] = v;
            set(l);
            setEditing(null);
          }} />
      )}
    </div>
  );
}

function VariableForm({ start, others, before, range, onApply, onClose }: {
  start: Variable; others: string[]; before: VarState[]; range: Range; onApply: (v: Variable) => void; onClose: () => void;
}) {
  const [v, setV] = useState<Variable>(start);
  const [preview, setPreview] = useState<{ options: Option[]; error?: string } | null>(null);
  const sources = useData(async (signal) => {
    const r = await fetch('/api/datasources', { signal, headers: { Accept: 'application/json' } });
    return r.ok ? ((await r.json()) as { uid: string; name: string; type: string }[]) : [];
  }, []);
  const up = (x: Partial<Variable>) => setV({ ...v, ...x });
  const err = nameError(v.name, others);
  // The preview runs the variable as the dashboard would, a moment after
  // the last change.
  useEffect(() => {
    const ac = new AbortController();
    const id = setTimeout(() => {
      resolveVariable(v, before, range, [], ac.signal).then((st) => !ac.signal.aborted && setPreview({ options: st.options, error: st.error }));
    }, 300);
    return () => {
      clearTimeout(id);
      ac.abort();
    };
  }, [JSON.stringify(v)]);
  // Fields are named for screen readers (and tests) by what they are, and
  // shown shorter: "variable query" as "Query".
  const shown = (label: string) => label.replace(/^variable /, '').replace(/^./, (c) => c.toUpperCase());
  const text = (label: string, value: string, set: (s: string) => void, size = 40) => (
    <label>{shown(label)} <input aria-label={label} size={size} value={value} onInput={(e) => set((e.target as HTMLInputElement).value)} /></label>
  );
  const check = (label: string, value: boolean | undefined, set: (b: boolean) => void) => (
    <label><input type="checkbox" aria-label={label} checked={!!value} onChange={(e) => set((e.target as HTMLInputElement).checked)} /> {label}</label>
  );
  const selection = v.type === 'query' || v.type === 'custom' || v.type === 'datasource';
  const apply = () => onApply(saveModel(v, fixedOptions(v) ?? preview?.options ?? []));
  return (
    <div class="card" data-testid="variable-form">
      <header>
        <strong>{start.name === v.name ? `Variable $${v.name}` : `Variable $${v.name} (was $${start.name})`}</strong><span class="grow" />
        <button class="primary" onClick={apply} disabled={err !== ''} data-testid="apply-variable">Apply</button>
        <button onClick={onClose}>Close</button>
      </header>
      <div class="body">
        <div class="row">
          <label>Type <select aria-label="variable type" value={v.type} onChange={(e) => setV(newVariable((e.target as HTMLSelectElement).value, v.name, v))}>
            {[...new Set([...variableTypes, v.type])].map((t) => <option key={t} value={t}>{t}</option>)}
          </select></label>
          {text('variable name', v.name, (s) => up({ name: s }), 20)}
          {text('variable label', v.label ?? '', (s) => up({ label: s || undefined }), 20)}
          <label>Hide <select aria-label="hide" value={String(v.hide ?? 0)} onChange={(e) => up({ hide: Number((e.target as HTMLSelectElement).value) })}>
            <option value="0">nothing</option><option value="1">the label</option><option value="2">the variable</option>
          </select></label>
        </div>
        {err && <div class="error" role="alert">{err}</div>}
        {text('variable description', v.description ?? '', (s) => up({ description: s || undefined }), 60)}
        {v.type === 'query' && (
          <div>
            <div class="row">
              <label>Data source <select aria-label="data source" value={dsUID(v.datasource)} onChange={(e) => up({ datasource: { type: 'prometheus', uid: (e.target as HTMLSelectElement).value } })}>
                {[...new Map([[dsUID(v.datasource), dsUID(v.datasource)] as const, ...(sources.data ?? []).map((s) => [s.uid, s.name] as const)].filter(([u]) => u !== '')).entries()]
                  .map(([uid, name]) => <option key={uid} value={uid}>{name}</option>)}
              </select></label>
              {text('variable query', queryText(v), (s) => setV(setQuery(v, s)), 60)}
            </div>
            <div class="muted">label_values(label), label_values(selector, label), label_names(), metrics(regex), query_result(expr), or an expression</div>
            <div class="row">
              {text('regex', v.regex ?? '', (s) => up({ regex: s }), 30)}
              <label>Sort <select aria-label="sort" value={String(v.sort ?? 0)} onChange={(e) => up({ sort: Number((e.target as HTMLSelectElement).value) })}>
                {sorts.map((s, i) => <option key={s} value={String(i)}>{s}</option>)}
              </select></label>
              <label>Refresh <select aria-label="refresh" value={String(v.refresh ?? 1)} onChange={(e) => up({ refresh: Number((e.target as HTMLSelectElement).value) })}>
                <option value="1">on dashboard load</option><option value="2">on time range change</option>
              </select></label>
            </div>
          </div>
        )}
        {v.type === 'custom' && text('custom values', queryText(v), (s) => up({ query: s }), 60)}
        {v.type === 'custom' && <div class="muted">comma separated; "text : value" names a value</div>}
        {v.type === 'constant' && text('constant value', queryText(v), (s) => up({ query: s }), 60)}
        {v.type === 'textbox' && text('default value', queryText(v), (s) => up({ query: s }), 60)}
        {v.type === 'interval' && (
          <div class="row">
            {text('interval values', queryText(v), (s) => up({ query: s }), 50)}
            {check('auto', v.auto, (b) => up({ auto: b }))}
            {v.auto && <label>Steps <input type="number" min={1} max={500} aria-label="step count" value={v.auto_count ?? 30} onInput={(e) => up({ auto_count: Number((e.target as HTMLInputElement).value) })} /></label>}
            {v.auto && text('min interval', v.auto_min ?? '10s', (s) => up({ auto_min: s }), 6)}
          </div>
        )}
        {v.type === 'datasource' && (
          <div class="row">
            <label>Type <select aria-label="data source type" value={queryText(v)} onChange={(e) => up({ query: (e.target as HTMLSelectElement).value })}>
              {[...new Set(['prometheus', queryText(v)])].map((t) => <option key={t} value={t}>{t}</option>)}
            </select></label>
            {text('instance name filter', v.regex ?? '', (s) => up({ regex: s }), 30)}
          </div>
        )}
        {selection && (
          <div class="row">
            {check('multi-value', v.multi, (b) => up({ multi: b }))}
            {check('include All', v.includeAll, (b) => up({ includeAll: b }))}
            {v.includeAll && text('custom all value', v.allValue ?? '', (s) => up({ allValue: s || null }), 20)}
          </div>
        )}
        <div data-testid="variable-preview">
          <strong>Preview of values</strong>{preview && <span class="muted"> ({preview.options.length})</span>}
          {preview?.error && <div class="error">{preview.error}</div>}
          <div>{(preview?.options ?? []).slice(0, 100).map((o) => <span key={o.value} class="badge" title={o.value}>{o.text}</span>)}
            {preview && preview.options.length > 100 && <span class="muted">and {preview.options.length - 100} more</span>}</div>
        </div>
      </div>
    </div>
  );
}
