// Small pieces the pages share.
import type { ComponentChildren } from 'preact';
import type { Data } from '../lib/useData';

// LabelList shows labels as name="value" chips; with onPick, each chip is a
// button (the Alerts page adds the label to its filter).
export function LabelList({ labels, onPick }: { labels: Record<string, string>; onPick?: (name: string, value: string) => void }) {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return <span class="muted">none</span>;
  return (
    <span>
      {keys.map((k) =>
        onPick ? (
          <button key={k} class="label mono" title="add to the filter" onClick={() => onPick(k, labels[k])}>{k}="{labels[k]}"</button>
        ) : (
          <span key={k} class="label mono">{k}="{labels[k]}"</span>
        ),
      )}
    </span>
  );
}

// Loading shows progress the first time, the error if the load failed, and
// the children once there is data (a failed reload keeps the old data and
// says so above it).
export function Loading<T>({ d, what, children }: { d: Data<T>; what: string; children: (data: T) => ComponentChildren }) {
  return (
    <div>
      {d.error && (
        <div class="error" role="alert">
          Could not load {what}: {d.error}
          {' '}<button onClick={d.reload}>Retry</button>
        </div>
      )}
      {d.data === null && d.loading && <div class="progress" role="status">Loading {what}…</div>}
      {d.data !== null && children(d.data)}
    </div>
  );
}

export function Health({ value }: { value: string }) {
  const cls = value === 'up' || value === 'ok' ? 'up' : value === 'down' || value === 'err' ? 'down' : 'unknown';
  return <span class={`badge ${cls}`}>{value}</span>;
}

export function queryLink(expr: string, tab: 'graph' | 'table' = 'graph'): string {
  return `/query?${new URLSearchParams({ expr, tab })}`;
}
