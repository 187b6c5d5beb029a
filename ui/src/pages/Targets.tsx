// Targets: every scrape target by job, with health, last scrape, duration
// and error; labels after relabeling, and before it on demand.
import { useState } from 'preact/hooks';
import { v1get, type DroppedTarget, type Target } from '../api';
import { Health, LabelList, Loading } from '../components/common';
import { useData } from '../lib/useData';
import { safeHref } from '../lib/url';
import { formatDuration, since } from '../lib/time';

interface TargetsData {
  activeTargets: Target[];
  droppedTargets: DroppedTarget[];
  droppedTargetCounts?: Record<string, number>;
}

export function Targets() {
  const d = useData((s) => v1get<TargetsData>('targets', new URLSearchParams({ state: 'active' }), s), [], 15000);
  const [health, setHealth] = useState('');
  const [text, setText] = useState('');
  const [open, setOpen] = useState<Set<string>>(new Set());
  return (
    <div>
      <h1>Targets</h1>
      <div class="row">
        <label>Health <select aria-label="health filter" value={health} onChange={(e) => setHealth((e.target as HTMLSelectElement).value)}>
          <option value="">all</option><option value="up">up</option><option value="down">down</option><option value="unknown">unknown</option>
        </select></label>
        <input class="grow" aria-label="filter" placeholder="Filter by endpoint or labels" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        <button onClick={d.reload}>Refresh</button>
      </div>
      <Loading d={d} what="targets">
        {(data) => {
          const now = Date.now() / 1000;
          const byJob = new Map<string, Target[]>();
          for (const t of data.activeTargets) {
            if (health && t.health !== health) continue;
            const hay = `${t.scrapeUrl} ${Object.entries(t.labels).map(([k, v]) => `${k}="${v}"`).join(' ')}`.toLowerCase();
            if (text && !hay.includes(text.toLowerCase())) continue;
            const l = byJob.get(t.scrapePool) ?? [];
            l.push(t);
            byJob.set(t.scrapePool, l);
          }
          if (byJob.size === 0) return <div class="muted">No targets match.</div>;
          return [...byJob.keys()].sort().map((job) => {
            const ts = byJob.get(job)!;
            const up = ts.filter((t) => t.health === 'up').length;
            return (
              <section class="card" key={job} data-testid="job">
                <header><strong>{job}</strong> <span class={`badge ${up === ts.length ? 'up' : 'down'}`}>{up}/{ts.length} up</span></header>
                <div class="scroll"><table>
                  <thead><tr><th>Endpoint</th><th>State</th><th>Labels</th><th class="hide-narrow">Last scrape</th><th class="hide-narrow">Duration</th><th>Error</th></tr></thead>
                  <tbody>
                    {ts.map((t) => {
                      const k = t.scrapePool + t.scrapeUrl;
                      return (
                        <tr key={k}>
                          <td class="mono"><a href={safeHref(t.globalUrl || t.scrapeUrl)} target="_blank" rel="noopener noreferrer">{t.scrapeUrl}</a></td>
                          <td><Health value={t.health} /></td>
                          <td>
                            <LabelList labels={t.labels} />
                            <div><button onClick={() => { const o = new Set(open); if (o.has(k)) o.delete(k); else o.add(k); setOpen(o); }}>
                              {open.has(k) ? 'Hide' : 'Show'} labels before relabeling</button></div>
                            {open.has(k) && <div><LabelList labels={t.discoveredLabels} /></div>}
                          </td>
                          <td class="hide-narrow">{t.lastScrape.startsWith('0001') ? 'never' : since(Date.parse(t.lastScrape) / 1000, now)}</td>
                          <td class="hide-narrow num">{formatDuration(t.lastScrapeDuration)}</td>
                          <td class="mono">{t.lastError}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table></div>
              </section>
            );
          });
        }}
      </Loading>
    </div>
  );
}

export function ServiceDiscovery() {
  const d = useData((s) => v1get<TargetsData>('targets', new URLSearchParams({ state: 'any' }), s), [], 30000);
  const [show, setShow] = useState<'active' | 'dropped'>('dropped');
  return (
    <div>
      <h1>Service discovery</h1>
      <div class="tabs" role="tablist">
        <button role="tab" class={show === 'dropped' ? 'active' : ''} onClick={() => setShow('dropped')}>Dropped targets</button>
        <button role="tab" class={show === 'active' ? 'active' : ''} onClick={() => setShow('active')}>Discovered and kept</button>
      </div>
      <Loading d={d} what="service discovery">
        {(data) => {
          if (show === 'dropped') {
            const counts = data.droppedTargetCounts ?? {};
            return (
              <div>
                <div class="muted">Targets discovered and then dropped by relabeling: {data.droppedTargets.length}
                  {Object.keys(counts).length > 0 && ` (${Object.entries(counts).map(([j, n]) => `${j}: ${n}`).join(', ')})`}</div>
                <div class="scroll"><table>
                  <thead><tr><th>Job</th><th>Discovered labels</th></tr></thead>
                  <tbody>{data.droppedTargets.map((t, i) => (
                    <tr key={i}><td>{t.scrapePool ?? t.discoveredLabels.job}</td><td><LabelList labels={t.discoveredLabels} /></td></tr>
                  ))}</tbody>
                </table></div>
              </div>
            );
          }
          return (
            <div class="scroll"><table>
              <thead><tr><th>Job</th><th>Discovered labels</th><th>Target labels</th></tr></thead>
              <tbody>{data.activeTargets.map((t) => (
                <tr key={t.scrapePool + t.scrapeUrl}><td>{t.scrapePool}</td><td><LabelList labels={t.discoveredLabels} /></td><td><LabelList labels={t.labels} /></td></tr>
              ))}</tbody>
            </table></div>
          );
        }}
      </Loading>
    </div>
  );
}
