// Alerts: firing alerts grouped as the alert manager's routing tree groups
// them (receiver and group_by labels), pending alerts from the rules, a
// matcher filter, silenced and inhibited alerts on demand, and a button
// that opens the silence editor pre-filled from an alert.
import { useState } from 'preact/hooks';
import { v1get, v2, type AlertGroup, type AMAlert, type PromAlert } from '../api';
import { LabelList, Loading } from '../components/common';
import { filterGroups, hiddenCounts, isInhibited, isSilenced } from '../lib/alerts';
import { formatMatchers, fromLabels, MatcherError, matchesAll, parseMatchers, type Matcher } from '../lib/matchers';
import { navigate, type Route } from '../lib/router';
import { useData } from '../lib/useData';
import { safeHref } from '../lib/url';
import { since } from '../lib/time';

interface Loaded {
  groups: AlertGroup[];
  pending: PromAlert[];
}

export function Alerts({ route }: { route: Route }) {
  const filterText = route.params.get('filter') ?? '';
  const silenced = route.params.get('silenced') === '1';
  const inhibited = route.params.get('inhibited') === '1';
  const receiver = route.params.get('receiver') ?? '';
  const [text, setText] = useState(filterText);
  const d = useData(async (s) => {
    const [groups, prom] = await Promise.all([
      v2<AlertGroup[]>('alerts/groups', { signal: s }),
      v1get<{ alerts: PromAlert[] }>('alerts', undefined, s),
    ]);
    return { groups, pending: prom.alerts.filter((a) => a.state === 'pending') } as Loaded;
  }, [], 10000);

  let matchers: Matcher[] = [];
  let filterErr = '';
  try {
    matchers = parseMatchers(filterText);
  } catch (e) {
    filterErr = e instanceof MatcherError ? e.message : String(e);
  }
  const set = (k: string, v: string) => {
    const p = new URLSearchParams(route.params);
    if (v) p.set(k, v);
    else p.delete(k);
    navigate(`/alerts?${p}`, true);
  };
  // Clicking a label narrows the filter to it, as Karma does.
  const pick = (name: string, value: string) => {
    if (matchers.some((m) => m.name === name && m.type === '=' && m.value === value)) return;
    const f = formatMatchers([...matchers, { name, type: '=', value }]);
    setText(f);
    set('filter', f);
  };

  return (
    <div>
      <h1>Alerts</h1>
      <div class="row">
        <input class="grow mono" aria-label="label filter" placeholder='Filter with matchers: {severity="critical", team=~"db|web"}' value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
          onKeyDown={(e) => e.key === 'Enter' && set('filter', text)} onBlur={() => set('filter', text)} />
        <label><input type="checkbox" checked={silenced} onChange={(e) => set('silenced', (e.target as HTMLInputElement).checked ? '1' : '')} /> Silenced</label>
        <label><input type="checkbox" checked={inhibited} onChange={(e) => set('inhibited', (e.target as HTMLInputElement).checked ? '1' : '')} /> Inhibited</label>
        <button onClick={d.reload}>Refresh</button>
      </div>
      {filterErr && <div class="error" role="alert">Bad filter: {filterErr}</div>}
      <Loading d={d} what="alerts">
        {(data) => {
          const receivers = [...new Set(data.groups.map((g) => g.receiver.name))].sort();
          const groups = filterGroups(data.groups, { matchers, silenced, inhibited, receiver });
          const hidden = hiddenCounts(data.groups);
          const pending = data.pending.filter((a) => matchesAll(matchers, a.labels));
          return (
            <div>
              <div class="row">
                <label>Receiver <select aria-label="receiver" value={receiver} onChange={(e) => set('receiver', (e.target as HTMLSelectElement).value)}>
                  <option value="">all</option>
                  {receivers.map((r) => <option key={r} value={r}>{r}</option>)}
                </select></label>
                <span class="muted">{!silenced && hidden.silenced > 0 && `${hidden.silenced} silenced hidden. `}{!inhibited && hidden.inhibited > 0 && `${hidden.inhibited} inhibited hidden.`}</span>
              </div>
              {groups.length === 0 && <div class="muted" data-testid="no-alerts">No firing alerts{matchers.length > 0 ? ' match the filter' : ''}.</div>}
              {groups.map((g) => (
                <section class="card" key={g.receiver.name + JSON.stringify(g.labels)} data-testid="alert-group">
                  <header>
                    <span class="badge">{g.receiver.name}</span>
                    <LabelList labels={g.labels} onPick={pick} />
                    <span class="muted">{g.alerts.length} alert{g.alerts.length === 1 ? '' : 's'}</span>
                  </header>
                  <div class="body">{g.alerts.map((a) => <AlertRow key={a.fingerprint} a={a} onPick={pick} />)}</div>
                </section>
              ))}
              {pending.length > 0 && (
                <section class="card">
                  <header><strong>Pending</strong><span class="muted">alerts whose rule holds but not yet for its "for" duration; not sent to the alert manager yet</span></header>
                  <div class="body">
                    {pending.map((a) => (
                      <div key={JSON.stringify(a.labels)} style="margin: 6px 0">
                        <span class="badge pending">pending</span> <LabelList labels={a.labels} />
                        {a.activeAt && <span class="muted"> active since {since(Date.parse(a.activeAt) / 1000, Date.now() / 1000)}</span>}
                      </div>
                    ))}
                  </div>
                </section>
              )}
            </div>
          );
        }}
      </Loading>
    </div>
  );
}

function AlertRow({ a, onPick }: { a: AMAlert; onPick: (name: string, value: string) => void }) {
  const now = Date.now() / 1000;
  const silence = () => {
    const p = new URLSearchParams({ matchers: formatMatchers(fromLabels(a.labels)), comment: `Silence for ${a.labels.alertname ?? 'alert'}` });
    navigate(`/silences/new?${p}`);
  };
  return (
    <div class="card" data-testid="alert">
      <header>
        <strong>{a.labels.alertname ?? '(no alertname)'}</strong>
        <span class={`badge ${a.status.state === 'active' ? 'firing' : 'warn'}`}>{a.status.state === 'active' ? 'firing' : a.status.state}</span>
        {isSilenced(a) && <span class="badge warn" data-testid="silenced">silenced</span>}
        {isInhibited(a) && <span class="badge warn">inhibited</span>}
        <span class="muted">active since {since(Date.parse(a.startsAt) / 1000, now)}</span>
        <span class="grow" />
        {safeHref(a.generatorURL) && <a href={safeHref(a.generatorURL)} rel="noopener noreferrer">source</a>}
        <button onClick={silence} data-testid="silence-alert">Silence</button>
      </header>
      <div class="body">
        <LabelList labels={a.labels} onPick={onPick} />
        {Object.keys(a.annotations).length > 0 && (
          <dl class="kv" data-testid="annotations">
            {Object.keys(a.annotations).sort().map((k) => <><dt key={k}>{k}</dt><dd>{a.annotations[k]}</dd></>)}
          </dl>
        )}
        {isSilenced(a) && <div class="muted">silenced by {a.status.silencedBy.map((id) => <a key={id} href={`/silences/${id}`}>{id.slice(0, 8)} </a>)}</div>}
      </div>
    </div>
  );
}
