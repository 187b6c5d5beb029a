// End-to-end tests of dashboards in a real Chromium against a real argus:
// the fixture dashboards (Grafana JSON of both eras) draw every panel,
// variables change queries, drag zooms, and an edit saved in the UI comes
// back from the API and can be undone by restoring the version before.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, screenshot, startArgus, waitFor, watchConsole } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = resolve(here, '..', '..', 'internal', 'dashboard', 'testdata');

let argus;
let browser;

before(async () => {
  argus = await startArgus();
  browser = await launchBrowser();
  // A few scrapes, so that panels over the built-in collectors have data.
  await waitFor(async () => {
    const r = await (await fetch(`${argus.url}/api/v1/query?query=count(up)`)).json();
    return Number(r.data.result[0]?.value[1] ?? 0) >= 3;
  }, 'the built-in collectors to be scraped');
});

after(async () => {
  await browser?.close();
  await argus?.stop();
});

async function post(path, body) {
  const r = await fetch(argus.url + path, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: argus.authHeader }, body: JSON.stringify(body) });
  const out = await r.json();
  assert.ok(r.ok, `${path}: ${r.status} ${JSON.stringify(out)}`);
  return out;
}

async function open(path) {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const errors = watchConsole(page);
  // Logged in as the admin: some tests edit and save.
  await argus.login(page);
  await page.goto(argus.url + path);
  return { page, errors };
}

// settle expands every collapsed row, scrolls the whole dashboard so that
// lazy panels load, and waits until no panel is loading.
async function settle(page) {
  await page.locator('.dashboard').waitFor();
  await page.waitForFunction(() => !document.querySelector('.progress[role=status]'), null, { timeout: 30000 });
  for (;;) {
    const closed = page.locator('.dash-row button[aria-expanded=false]');
    if ((await closed.count()) === 0) break;
    await closed.first().click();
  }
  for (let y = 0, h = 1; y < h; y += 600) {
    h = await page.evaluate((yy) => { window.scrollTo(0, yy); return document.body.scrollHeight; }, y);
    await page.waitForTimeout(50);
  }
  await page.waitForFunction(() => document.querySelectorAll('[data-panel-state=loading]').length === 0, null, { timeout: 60000 });
  return page.locator('[data-testid=panel]').evaluateAll((els) => els.map((e) => ({
    title: e.querySelector('.panel-title')?.textContent ?? '',
    state: e.getAttribute('data-panel-state'),
    type: e.getAttribute('data-panel-type'),
    msg: e.querySelector('.panel-msg, .error')?.textContent ?? '',
  })));
}

describe('fixture dashboards', () => {
  // Every fixture dashboard but the golden outputs of the Go tests.
  const files = readdirSync(fixtures, { recursive: true }).filter((f) => f.endsWith('.json') && !f.startsWith('golden'));
  it('has fixtures', () => assert.ok(files.length >= 3, files.join(', ')));
  for (const f of files) {
    it(`${f}: every panel draws or says why it has no data`, async () => {
      const dash = JSON.parse(readFileSync(join(fixtures, f), 'utf8'));
      delete dash.id;
      const res = await post('/api/dashboards/import', { dashboard: dash, overwrite: true, inputs: [] });
      const uid = res.uid ?? res.dashboardUid ?? res.importedUrl?.split('/')[2];
      assert.ok(uid, JSON.stringify(res));
      // Deleted afterwards: two fixtures may have the same title (ArgoCD's
      // two dashboards), which is taken in the folder while one is there.
      try {
        const { page, errors } = await open(`/d/${uid}?from=now-15m&to=now`);
        const panels = await settle(page);
        await screenshot(page, `dashboard-${f.replace('.json', '').replace(/\//g, '-')}`);
        assert.ok(panels.length > 0);
        for (const p of panels) {
          assert.ok(p.state === 'ok' || p.state === 'nodata', `${f}: panel "${p.title}" (${p.type}) is ${p.state}: ${p.msg}`);
          if (p.state === 'nodata') assert.ok(p.msg.trim() !== '', `${f}: panel "${p.title}" has no data and says nothing`);
        }
        assert.deepEqual(errors, []);
        await page.close();
      } finally {
        await fetch(`${argus.url}/api/dashboards/uid/${uid}`, { method: 'DELETE', headers: { Authorization: argus.authHeader } });
      }
    });
  }
});

describe('dashboard behaviour', () => {
  let uid;
  before(async () => {
    const res = await post('/api/dashboards/db', {
      overwrite: true,
      message: 'test dashboard',
      dashboard: {
        uid: 'e2e-vars', title: 'E2E variables', schemaVersion: 39, time: { from: 'now-15m', to: 'now' },
        templating: { list: [{ name: 'job', type: 'custom', query: 'argus,node', current: { text: 'argus', value: 'argus' } }] },
        annotations: { list: [
          { builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true, iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard' },
          { datasource: { type: 'prometheus', uid: 'argus' }, enable: true, expr: 'ALERTS{alertstate="firing"}', iconColor: 'red', name: 'Firing', step: '60s', titleFormat: '{{alertname}} (query)', tagKeys: 'severity' },
        ] },
        panels: [
          { id: 1, type: 'timeseries', title: 'up of $job', gridPos: { x: 0, y: 0, w: 12, h: 8 }, datasource: { type: 'prometheus', uid: 'argus' },
            targets: [{ refId: 'A', expr: 'up{job="$job"}', legendFormat: '{{job}}' }] },
          { id: 2, type: 'stat', title: 'targets', gridPos: { x: 12, y: 0, w: 6, h: 8 }, datasource: { type: 'prometheus', uid: 'argus' },
            targets: [{ refId: 'A', expr: 'count(up)' }] },
        ],
      },
    });
    uid = res.uid;
  });

  it('changing a variable changes the queries', async () => {
    const { page, errors } = await open(`/d/${uid}`);
    await settle(page);
    const queries = [];
    page.on('request', (r) => r.url().includes('query_range') && queries.push(decodeURIComponent(r.url())));
    await page.getByLabel('job', { exact: true }).selectOption('node');
    await waitFor(async () => queries.some((q) => q.includes('up{job="node"}')), 'a query for job="node"', 15000);
    assert.match(page.url(), /var-job=node/);
    await page.locator('.panel-title', { hasText: 'up of node' }).waitFor();
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('draws annotations from a PromQL query and from the alert history, and switches them off', async () => {
    const { page, errors } = await open(`/d/${uid}`);
    await settle(page);
    const panel = page.locator('[data-testid=panel]', { hasText: 'up of argus' });
    const titles = () => panel.locator('[data-testid=annotation]').evaluateAll((els) => els.map((e) => e.title));
    await waitFor(async () => {
      const t = await titles();
      return t.some((x) => x.startsWith('E2EAlwaysFiring (query)')) && t.some((x) => x.startsWith('E2EAlwaysFiring firing'));
    }, 'annotations from the query and the history', 15000);
    await page.getByRole('group', { name: 'annotations' }).getByLabel('Firing').uncheck();
    await waitFor(async () => !(await titles()).some((x) => x.startsWith('E2EAlwaysFiring (query)')), 'the query annotations to go', 15000);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('the inspector shows the data, the query as sent and the measurements of its request', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors = watchConsole(page);
    // The bodies of the answers as the browser got them, to hold the
    // inspector's measurements against.
    const sizes = new Map();
    page.on('response', async (r) => {
      if (r.url().includes('/api/v1/query_range')) sizes.set(decodeURIComponent(r.url()), (await r.body()).length);
    });
    await page.goto(`${argus.url}/d/${uid}?var-job=node`);
    await settle(page);
    await page.locator('[data-testid=panel]', { hasText: 'up of node' }).getByTestId('inspect').click();
    const insp = page.getByTestId('inspector');
    await insp.waitFor();
    assert.ok((await insp.locator('[data-testid=inspect-table] tbody tr').count()) > 0);
    assert.equal(await insp.getByTestId('csv').getAttribute('download'), 'up_of_node.csv');
    await insp.getByRole('tab', { name: 'Query' }).click();
    assert.equal(await insp.getByTestId('inspect-query').first().textContent(), 'up{job="node"}');
    await insp.getByRole('tab', { name: 'Stats' }).click();
    const stats = insp.getByTestId('inspect-stats');
    assert.equal(await stats.locator('td.mono').first().textContent(), 'up{job="node"}');
    assert.equal(await stats.getByTestId('stat-series').first().textContent(), '1');
    assert.ok(Number(await stats.getByTestId('stat-points').first().textContent()) > 0);
    assert.match(await stats.getByTestId('stat-ms').first().textContent(), /^\d+\.\d ms/);
    const bytes = Number(await stats.getByTestId('stat-bytes').first().getAttribute('data-bytes'));
    const sent = [...sizes].filter(([u]) => u.includes('up{job="node"}')).map(([, n]) => n);
    assert.ok(sent.includes(bytes), `inspector ${bytes} bytes, answers ${sent}`);
    await page.keyboard.press('Escape');
    await waitFor(async () => (await page.getByTestId('inspector').count()) === 0, 'the inspector to close', 5000);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('dragging on a graph zooms into that range', async () => {
    const { page, errors } = await open(`/d/${uid}?from=now-15m&to=now`);
    await settle(page);
    const over = page.locator('[data-panel-type=timeseries] .u-over').first();
    const box = await over.boundingBox();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await waitFor(async () => /from=\d{13}&to=\d{13}/.test(page.url()), 'an absolute range in the URL', 10000);
    const u = new URL(page.url());
    const span = Number(u.searchParams.get('to')) - Number(u.searchParams.get('from'));
    assert.ok(span > 60000 && span < 10 * 60000, `zoomed span ${span} ms`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('an edit saved in the UI comes back from the API, and the version before can be restored', async () => {
    const { page, errors } = await open(`/d/${uid}`);
    await settle(page);
    await page.getByTestId('edit-dashboard').click();
    await page.locator('[data-testid=panel]', { hasText: 'targets' }).getByTestId('edit-panel').click();
    await page.getByLabel('panel title').fill('targets edited');
    await page.getByTestId('apply-panel').click();
    await page.getByLabel('save message').fill('renamed a panel');
    await page.getByTestId('save-dashboard').click();
    await waitFor(async () => {
      const d = await (await fetch(`${argus.url}/api/dashboards/uid/${uid}`)).json();
      return d.dashboard.panels.some((p) => p.title === 'targets edited');
    }, 'the saved change in the API', 15000);
    const versions = await (await fetch(`${argus.url}/api/dashboards/uid/${uid}/versions`)).json();
    assert.ok(versions.length >= 2, JSON.stringify(versions));
    assert.ok(versions.some((v) => v.message === 'renamed a panel'), JSON.stringify(versions));

    await page.getByTestId('edit-dashboard').click();
    await page.getByRole('button', { name: 'Versions' }).click();
    await page.getByTestId('restore-version').first().click();
    await waitFor(async () => {
      const d = await (await fetch(`${argus.url}/api/dashboards/uid/${uid}`)).json();
      return d.dashboard.panels.some((p) => p.title === 'targets') && !d.dashboard.panels.some((p) => p.title === 'targets edited');
    }, 'the restored version in the API', 15000);
    await screenshot(page, 'dashboard-edit');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('data links carry the series\' labels, URL-encoded, from a pinned tooltip and a stat; panel links fill variables in', async () => {
    await post('/api/dashboards/db', {
      overwrite: true,
      dashboard: {
        uid: 'e2e-links', title: 'E2E links', schemaVersion: 39, time: { from: 'now-2m', to: 'now' },
        templating: { list: [{ name: 'job', type: 'custom', query: 'argus,node', current: { text: 'argus', value: 'argus' } }] },
        panels: [
          { id: 1, type: 'timeseries', title: 'linked graph', gridPos: { x: 0, y: 0, w: 12, h: 8 }, datasource: { type: 'prometheus', uid: 'argus' },
            links: [{ title: 'Same job', url: '/d/e2e-links?var-job=${job}&${__url_time_range}' }],
            fieldConfig: { defaults: { links: [{ title: 'Job ${__field.labels.job}', url: '/explore?job=${__field.labels.job}&tag=${__field.labels.tag}&t=${__value.time}&${__url_time_range}' }] }, overrides: [] },
            targets: [{ refId: 'A', expr: 'label_replace(up{job="$job"}, "tag", "a b&c", "job", ".*")', legendFormat: '{{job}}' }] },
          { id: 2, type: 'stat', title: 'linked stat', gridPos: { x: 12, y: 0, w: 6, h: 8 }, datasource: { type: 'prometheus', uid: 'argus' },
            fieldConfig: { defaults: { links: [{ title: 'Targets', url: '/targets?n=${__value.raw}&s=${__series.name}' }] }, overrides: [] },
            targets: [{ refId: 'A', expr: 'count(up)', legendFormat: 'all targets' }] },
        ],
      },
    });
    const { page, errors } = await open('/d/e2e-links?from=now-2m&to=now');
    await settle(page);
    const graph = page.locator('[data-testid=panel]', { hasText: 'linked graph' });
    const box = await graph.locator('.u-over').boundingBox();
    // Near the right end, where the series has points.
    await page.mouse.click(box.x + box.width * 0.9, box.y + box.height / 2);
    const link = graph.locator('[data-testid=tooltip].pinned [data-testid=data-link]');
    await link.waitFor({ timeout: 10000 });
    assert.equal(await link.textContent(), 'Job argus');
    // The label values are encoded as Grafana encodes them (encodeURI): the
    // space is, the & is not.
    assert.match(await link.getAttribute('href'), /^\/explore\?job=argus&tag=a%20b&c&t=\d{13}&from=now-2m&to=now$/);
    await page.keyboard.press('Escape');
    await waitFor(async () => (await graph.locator('[data-testid=tooltip].pinned').count()) === 0, 'the tooltip to let go', 5000);

    const stat = page.locator('[data-testid=panel]', { hasText: 'linked stat' }).getByTestId('data-link');
    assert.match(await stat.getAttribute('href'), /^\/targets\?n=\d+&s=all%20targets$/);

    await graph.getByLabel('links of linked graph').click();
    assert.equal(await graph.getByTestId('panel-link').getAttribute('href'), '/d/e2e-links?var-job=argus&from=now-2m&to=now');
    await screenshot(page, 'dashboard-links');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('a state timeline draws a lane of mapped states per series, with a legend', async () => {
    await post('/api/dashboards/db', {
      overwrite: true,
      dashboard: {
        uid: 'e2e-states', title: 'E2E state timeline', schemaVersion: 39, time: { from: 'now-2m', to: 'now' },
        panels: [
          { id: 1, type: 'state-timeline', title: 'targets up', gridPos: { x: 0, y: 0, w: 24, h: 8 }, datasource: { type: 'prometheus', uid: 'argus' },
            options: { mergeValues: true, showValue: 'auto', legend: { showLegend: true, displayMode: 'list' } },
            fieldConfig: { defaults: { color: { mode: 'thresholds' }, thresholds: { mode: 'absolute', steps: [{ color: 'red', value: null }] },
              mappings: [{ type: 'value', options: { 1: { text: 'Up', color: 'green' }, 0: { text: 'Down', color: 'red' } } }] }, overrides: [] },
            targets: [{ refId: 'A', expr: 'up', legendFormat: '{{job}}' }] },
        ],
      },
    });
    const { page, errors } = await open('/d/e2e-states?from=now-2m&to=now');
    const [panel] = await settle(page);
    assert.equal(panel.state, 'ok', panel.msg);
    const tl = page.getByTestId('state-timeline');
    const lanes = await tl.locator('.state-lane .state-name').allTextContents();
    assert.ok(lanes.includes('argus') && lanes.includes('node'), lanes.join(', '));
    // Every target has been up all along: one merged segment per lane.
    const segs = await tl.getByTestId('state-segment').evaluateAll((els) => els.map((e) => ({ text: e.textContent, width: e.getBoundingClientRect().width })));
    assert.equal(segs.length, lanes.length, JSON.stringify(segs));
    assert.ok(segs.every((x) => x.text === 'Up' && x.width > 20), JSON.stringify(segs));
    assert.deepEqual(await tl.locator('.dash-legend span').allTextContents(), ['Up']);
    await screenshot(page, 'dashboard-state-timeline');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('a variable added in the editor is saved to templating.list as Grafana stores it', async () => {
    const made = await post('/api/dashboards/db', {
      overwrite: true,
      dashboard: { uid: 'e2e-var-edit', title: 'E2E variable editing', schemaVersion: 39, time: { from: 'now-15m', to: 'now' }, panels: [] },
    });
    const { page, errors } = await open(`/d/${made.uid}`);
    await page.locator('.dashboard').waitFor();
    await page.getByTestId('edit-dashboard').click();
    await page.getByTestId('edit-variables').click();
    await page.getByTestId('new-variable').click();
    const form = page.getByTestId('variable-form');
    await form.getByLabel('variable type').selectOption('custom');
    await form.getByLabel('variable name').fill('region');
    await form.getByLabel('custom values').fill('eu,us');
    await form.getByLabel('multi-value').check();
    await form.getByTestId('variable-preview').locator('.badge', { hasText: 'us' }).waitFor();
    await form.getByTestId('apply-variable').click();
    await page.getByTestId('variable-row').filter({ hasText: '$region' }).waitFor();
    await page.getByLabel('save message').fill('added a variable');
    await page.getByTestId('save-dashboard').click();
    let saved;
    await waitFor(async () => {
      const d = await (await fetch(`${argus.url}/api/dashboards/uid/${made.uid}`)).json();
      saved = d.dashboard.templating?.list?.find((v) => v.name === 'region');
      return saved !== undefined;
    }, 'the new variable in the API', 15000);
    assert.deepEqual(saved, {
      current: { selected: true, text: ['eu'], value: ['eu'] }, hide: 0, includeAll: false, multi: true, name: 'region',
      options: [{ selected: true, text: 'eu', value: 'eu' }, { selected: false, text: 'us', value: 'us' }],
      query: 'eu,us', queryValue: '', skipUrlSync: false, type: 'custom',
    });
    // The saved dashboard has the variable's picker.
    await page.getByRole('group', { name: 'variables' }).getByLabel('region', { exact: true }).waitFor();
    await screenshot(page, 'dashboard-variable-edit');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
