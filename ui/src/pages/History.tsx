// Alert history: the events the alert manager recorded (alerts firing and
// resolving, notification attempts with their errors, silences), newest
// first, filtered by alert name and labels.
import { useState } from 'preact/hooks';
import { v2, type HistoryEvent } from '../api';
import { LabelList, Loading } from '../components/common';
import { matchesAll, MatcherError, parseMatchers, type Matcher } from '../lib/matchers';
import { navigate, type Route } from '../lib/router';
import { useData } from '../lib/useData';
import { formatDuration } from '../lib/time';

export function History({ route }: { route: Route }) {
  const kind = route.params.get('kind') ?? '';
  const filter = route.params.get('filter') ?? '';
  const [text, setText] = useState(filter);
  const d = useData((s) => v2<HistoryEvent[]>(`history?${new URLSearchParams({ ...(kind ? { kind } : {}), limit: '2000' })}`, { signal: s }), [kind], 30000);
  let matchers: Matcher[] = [];
  let bad = '';
  try {
    matchers = parseMatchers(filter);
  } catch (e) {
    bad = e instanceof MatcherError ? e.message : String(e);
  }
  const set = (k: string, v: string) => {
    const p = new URLSearchParams(route.params);
    if (v) p.set(k, v);
    else p.delete(k);
    navigate(`/history?${p}`, true);
  };
  return (
    <div>
      <h1>Alert history</h1>
      <div class="row">
        <select aria-label="kind" value={kind} onChange={(e) => set('kind', (e.target as HTMLSelectElement).value)}>
          <option value="">all events</option>
          <option value="alert">alerts</option>
          <option value="notification">notifications</option>
          <option value="silence">silences</option>
        </select>
        <input class="grow mono" aria-label="label filter" placeholder='alertname="HighLoad", severity="page"' value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)} onKeyDown={(e) => e.key === 'Enter' && set('filter', text)} onBlur={() => set('filter', text)} />
        <button onClick={d.reload}>Refresh</button>
      </div>
      {bad && <div class="error">Bad filter: {bad}</div>}
      <Loading d={d} what="the alert history">
        {(events) => {
          const fps = new Map<string, Record<string, string>>();
          for (const e of events) if (e.alert && e.fingerprint) fps.set(e.fingerprint, e.alert.labels);
          const keep = (e: HistoryEvent) => {
            if (matchers.length === 0) return true;
            if (e.alert) return matchesAll(matchers, e.alert.labels);
            if (e.notification) {
              // A notification matches when one of its alerts does, or its group labels do.
              return matchesAll(matchers, e.notification.groupLabels) ||
                e.notification.fingerprints.some((f) => fps.has(f) && matchesAll(matchers, fps.get(f)!));
            }
            return false;
          };
          const list = events.filter(keep);
          if (list.length === 0) return <div class="muted">No events{matchers.length ? ' match' : ' yet'}.</div>;
          return (
            <div class="scroll"><table>
              <thead><tr><th>Time</th><th>Event</th><th>Details</th></tr></thead>
              <tbody>{list.map((e) => (
                <tr key={e.id}>
                  <td class="mono">{e.time.replace('T', ' ').replace(/\.\d+/, '')}</td>
                  <td><EventKind e={e} /></td>
                  <td><EventDetails e={e} /></td>
                </tr>
              ))}</tbody>
            </table></div>
          );
        }}
      </Loading>
    </div>
  );
}

function EventKind({ e }: { e: HistoryEvent }) {
  if (e.alert) return <span class={`badge ${e.alert.state === 'firing' ? 'firing' : 'ok'}`}>alert {e.alert.state}</span>;
  if (e.notification) return <span class={`badge ${e.notification.success ? 'ok' : 'bad'}`}>notification {e.notification.success ? 'sent' : 'failed'}</span>;
  if (e.silence) return <span class="badge">silence {e.silence.action}</span>;
  return <span class="badge">{e.kind}</span>;
}

function EventDetails({ e }: { e: HistoryEvent }) {
  if (e.alert) return <LabelList labels={e.alert.labels} />;
  if (e.notification) {
    const n = e.notification;
    return (
      <div>
        <div>to <strong>{e.receiver}</strong> via {n.integration}[{n.index}], attempt {n.attempt}, {formatDuration(n.durationSeconds)}: {n.firing} firing, {n.resolved} resolved</div>
        <div><LabelList labels={n.groupLabels} /></div>
        {n.error && <div class="error">{n.error}</div>}
      </div>
    );
  }
  if (e.silence) return <div><code>{e.silence.matchers}</code> <a href={`/silences/${e.silence.id}`} class="mono">{e.silence.id.slice(0, 8)}</a></div>;
  return null;
}
