// Status: build and runtime information, flags, the loaded configuration
// (secrets redacted by the server), TSDB statistics with the top
// cardinality, and the app host's apps and workers.
import { v1get } from '../api';
import { Loading } from '../components/common';
import { useData } from '../lib/useData';
import { formatDuration } from '../lib/time';

interface TSDBStatus {
  headStats: { numSeries: number; numLabelPairs: number; chunkCount: number; minTime: number; maxTime: number };
  seriesCountByMetricName: { name: string; value: number }[];
  labelValueCountByLabelName: { name: string; value: number }[];
  memoryInBytesByLabelName: { name: string; value: number }[];
  seriesCountByLabelValuePair: { name: string; value: number }[];
}

interface AppsStats {
  apps: { name: string; file: string; listen: string; requests: number; in_flight: number; workers: {
    id: number; pid: number; state: string; requests: number; in_flight: number; restarts: number; recycles: number;
    rss_bytes: number; cpu_seconds: number; uptime_seconds: number; last_error: string }[] }[];
  problems: string[];
}

function KV({ obj }: { obj: Record<string, unknown> }) {
  return (
    <dl class="kv">
      {Object.keys(obj).sort().map((k) => <><dt key={k}>{k}</dt><dd class="mono">{String(obj[k])}</dd></>)}
    </dl>
  );
}

function Top({ title, rows }: { title: string; rows: { name: string; value: number }[] }) {
  return (
    <div class="card grow" style="min-width: 300px">
      <header><strong>{title}</strong></header>
      <table><tbody>{rows.map((r) => <tr key={r.name}><td class="mono">{r.name}</td><td class="num">{r.value.toLocaleString()}</td></tr>)}</tbody></table>
    </div>
  );
}

export function Status() {
  const build = useData((s) => v1get<Record<string, string>>('status/buildinfo', undefined, s));
  const runtime = useData((s) => v1get<Record<string, unknown>>('status/runtimeinfo', undefined, s), [], 30000);
  const flags = useData((s) => v1get<Record<string, string>>('status/flags', undefined, s));
  const cfg = useData((s) => v1get<{ yaml: string }>('status/config', undefined, s));
  const tsdb = useData((s) => v1get<TSDBStatus>('status/tsdb', new URLSearchParams({ limit: '10' }), s), [], 30000);
  const apps = useData(async (s) => {
    const r = await fetch('/api/v1/apps', { signal: s });
    if (r.status === 404) return null;
    if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
    return (await r.json()).data as AppsStats;
  }, [], 10000);
  return (
    <div>
      <h1>Status</h1>
      <h2>Build</h2>
      <Loading d={build} what="build information">{(b) => <KV obj={b} />}</Loading>
      <h2>Runtime</h2>
      <Loading d={runtime} what="runtime information">{(r) => <KV obj={r} />}</Loading>
      <h2>TSDB</h2>
      <Loading d={tsdb} what="TSDB statistics">
        {(t) => (
          <div>
            <dl class="kv">
              <dt>Head series</dt><dd data-testid="head-series">{t.headStats.numSeries.toLocaleString()}</dd>
              <dt>Head chunks</dt><dd>{t.headStats.chunkCount.toLocaleString()}</dd>
              <dt>Label pairs</dt><dd>{t.headStats.numLabelPairs.toLocaleString()}</dd>
              <dt>Head time range</dt><dd>{t.headStats.minTime > 0 ? `${new Date(t.headStats.minTime).toISOString()} to ${new Date(t.headStats.maxTime).toISOString()}` : 'empty'}</dd>
            </dl>
            <div class="row" style="align-items: stretch">
              <Top title="Series by metric name" rows={t.seriesCountByMetricName} />
              <Top title="Values by label name" rows={t.labelValueCountByLabelName} />
              <Top title="Series by label pair" rows={t.seriesCountByLabelValuePair} />
              <Top title="Memory (bytes) by label name" rows={t.memoryInBytesByLabelName} />
            </div>
          </div>
        )}
      </Loading>
      <Loading d={apps} what="the app host's apps">
        {(a) => !a || a.apps.length === 0 ? null : (
          <div>
            <h2>Apps</h2>
            {a.problems.map((p) => <div key={p} class="error">{p}</div>)}
            {a.apps.map((app) => (
              <section class="card" key={app.name}>
                <header><strong>{app.name}</strong><span class="muted mono">{app.listen}</span><span class="muted">{app.requests.toLocaleString()} requests, {app.in_flight} in flight</span></header>
                <div class="scroll"><table>
                  <thead><tr><th>Worker</th><th>PID</th><th>State</th><th class="num">Requests</th><th class="num">Restarts</th><th class="num">RSS</th><th class="num">CPU</th><th>Up</th><th>Last error</th></tr></thead>
                  <tbody>{app.workers.map((w) => (
                    <tr key={w.id}>
                      <td>{w.id}</td><td>{w.pid || ''}</td><td><span class={`badge ${w.state === 'ready' ? 'up' : w.state === 'down' ? 'down' : 'unknown'}`}>{w.state}</span></td>
                      <td class="num">{w.requests.toLocaleString()}</td><td class="num">{w.restarts}</td>
                      <td class="num">{(w.rss_bytes / 1048576).toFixed(1)} MiB</td><td class="num">{w.cpu_seconds.toFixed(2)} s</td>
                      <td>{formatDuration(w.uptime_seconds)}</td><td class="mono">{w.last_error}</td>
                    </tr>
                  ))}</tbody>
                </table></div>
              </section>
            ))}
          </div>
        )}
      </Loading>
      <h2>Flags</h2>
      <Loading d={flags} what="flags">{(f) => <KV obj={f} />}</Loading>
      <h2>Configuration</h2>
      <Loading d={cfg} what="the configuration">{(c) => <pre data-testid="config">{c.yaml}</pre>}</Loading>
    </div>
  );
}
