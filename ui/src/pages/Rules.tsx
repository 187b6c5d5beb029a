// Rules: the rule groups, each rule's health, last evaluation, duration and
// error, and its PromQL linked to Explore.
import { useState } from 'preact/hooks';
import { v1get, type RuleGroup } from '../api';
import { Health, LabelList, Loading, queryLink } from '../components/common';
import { useData } from '../lib/useData';
import { formatDuration, since } from '../lib/time';

export function Rules() {
  const d = useData((s) => v1get<{ groups: RuleGroup[] }>('rules', undefined, s), [], 15000);
  const [text, setText] = useState('');
  const [onlyBad, setOnlyBad] = useState(false);
  return (
    <div>
      <h1>Rules</h1>
      <div class="row">
        <input class="grow" aria-label="filter" placeholder="Filter by rule name or expression" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        <label><input type="checkbox" checked={onlyBad} onChange={(e) => setOnlyBad((e.target as HTMLInputElement).checked)} /> Only unhealthy</label>
        <button onClick={d.reload}>Refresh</button>
      </div>
      <Loading d={d} what="rules">
        {(data) => {
          const now = Date.now() / 1000;
          const t = text.toLowerCase();
          const groups = data.groups
            .map((g) => ({ ...g, rules: g.rules.filter((r) => (!t || r.name.toLowerCase().includes(t) || r.query.toLowerCase().includes(t)) && (!onlyBad || r.health !== 'ok')) }))
            .filter((g) => g.rules.length > 0);
          if (data.groups.length === 0) return <div class="muted">No rules are loaded. Rule files are listed under rule_files in the configuration.</div>;
          if (groups.length === 0) return <div class="muted">No rules match.</div>;
          return groups.map((g) => (
            <section class="card" key={g.file + g.name}>
              <header>
                <strong>{g.name}</strong>
                <span class="muted mono">{g.file}</span>
                <span class="muted">every {formatDuration(g.interval)} · last run {g.lastEvaluation.startsWith('0001') ? 'never' : since(Date.parse(g.lastEvaluation) / 1000, now)} · took {formatDuration(g.evaluationTime)}</span>
              </header>
              <div class="scroll"><table>
                <thead><tr><th>Rule</th><th>State</th><th class="hide-narrow">Last evaluation</th><th class="hide-narrow">Duration</th></tr></thead>
                <tbody>
                  {g.rules.map((r) => (
                    <tr key={r.name + r.query}>
                      <td>
                        <div><strong>{r.type === 'alerting' ? 'alert' : 'record'}: {r.name}</strong></div>
                        <div><a class="mono" href={queryLink(r.query)}>{r.query}</a></div>
                        {r.duration ? <div class="muted">for {formatDuration(r.duration)}{r.keepFiringFor ? `, keep firing for ${formatDuration(r.keepFiringFor)}` : ''}</div> : null}
                        {r.labels && Object.keys(r.labels).length > 0 && <div>labels: <LabelList labels={r.labels} /></div>}
                        {r.annotations && Object.keys(r.annotations).length > 0 && (
                          <details><summary class="muted">annotations</summary><dl class="kv">{Object.entries(r.annotations).map(([k, v]) => <><dt key={k}>{k}</dt><dd>{v}</dd></>)}</dl></details>
                        )}
                        {r.lastError && <div class="error">{r.lastError}</div>}
                      </td>
                      <td>
                        <Health value={r.health} />
                        {r.type === 'alerting' && r.state && <span class={`badge ${r.state}`}>{r.state}{r.alerts && r.alerts.length > 0 ? ` (${r.alerts.length})` : ''}</span>}
                      </td>
                      <td class="hide-narrow">{r.lastEvaluation.startsWith('0001') ? 'never' : since(Date.parse(r.lastEvaluation) / 1000, now)}</td>
                      <td class="hide-narrow num">{formatDuration(r.evaluationTime)}</td>
                    </tr>
                  ))}
                </tbody>
              </table></div>
            </section>
          ));
        }}
      </Loading>
    </div>
  );
}
