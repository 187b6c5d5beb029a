// End-to-end tests of the web UI in a real Chromium against a real argus.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { launchBrowser, screenshot, startArgus, waitFor, watchConsole } from './harness.mjs';

let argus;
let browser;

before(async () => {
  argus = await startArgus();
  browser = await launchBrowser();
  // Let a few scrapes and rule evaluations happen.
  await waitFor(async () => {
    const r = await (await fetch(`${argus.url}/api/v2/alerts`)).json();
    return r.some((a) => a.labels.alertname === 'E2EAlwaysFiring');
  }, 'the rule to fire an alert');
});

after(async () => {
  await browser?.close();
  await argus?.stop();
});

async function open(path, { login = false } = {}) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = watchConsole(page);
  if (login) await argus.login(page);
  await page.goto(argus.url + path);
  return { page, errors };
}

const pages = [
  ['/query', 'explore', 'Explore'],
  ['/alerts', 'alerts', 'Alerts'],
  ['/silences', 'silences', 'Silences'],
  ['/silences/new', 'silence-new', 'New silence'],
  ['/history', 'history', 'Alert history'],
  ['/rules', 'rules', 'Rules'],
  ['/targets', 'targets', 'Targets'],
  ['/service-discovery', 'service-discovery', 'Service discovery'],
  ['/status', 'status', 'Status'],
];

describe('every page', () => {
  for (const [path, name, heading] of pages) {
    it(`${path} loads with no console errors`, async () => {
      const { page, errors } = await open(path);
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
      // Wait for the page's data: no progress indicator left.
      await page.waitForFunction(() => document.querySelectorAll('.progress').length === 0, null, { timeout: 15000 });
      await screenshot(page, name);
      assert.deepEqual(errors, []);
      assert.equal(await page.locator('.error').count(), 0, await page.locator('.error').allTextContents().then((t) => t.join('; ')));
      await page.close();
    });
  }

  it('shows a clear page for an unknown route inside the app', async () => {
    const r = await fetch(`${argus.url}/no-such-page`);
    assert.equal(r.status, 404);
  });
});

describe('Explore', () => {
  it('draws a graph of a range query on a canvas that is not blank', async () => {
    const { page, errors } = await open('/query?expr=up&tab=graph&range=5m');
    const canvas = page.locator('[data-testid=chart] canvas');
    await canvas.waitFor();
    const painted = await canvas.evaluate((c) => {
      const ctx = c.getContext('2d');
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
      return n;
    });
    assert.ok(painted > 500, `only ${painted} painted pixels`);
    const legend = await page.locator('.legend [role=listitem]').count();
    const api = await (await fetch(`${argus.url}/api/v1/query?query=up`)).json();
    assert.equal(legend, api.data.result.length);
    await screenshot(page, 'explore-graph');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows a table with one row per series', async () => {
    const { page, errors } = await open('/query?expr=up&tab=table');
    await page.locator('[data-testid=result-table]').waitFor();
    const rows = await page.locator('[data-testid=result-table] tbody tr').count();
    const api = await (await fetch(`${argus.url}/api/v1/query?query=up`)).json();
    assert.ok(api.data.result.length >= 3, 'argus, node and process targets');
    assert.equal(rows, api.data.result.length);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('runs a query typed into the editor and keeps it in the URL', async () => {
    const { page, errors } = await open('/query');
    await page.locator('.cm-content').click();
    await page.keyboard.type('count(up)');
    await page.keyboard.press('Escape');
    await page.getByTestId('run').click();
    await page.locator('[data-testid=chart] canvas').waitFor();
    assert.match(decodeURIComponent(page.url()), /expr=count\(up\)/);
    await page.getByRole('tab', { name: 'Table' }).click();
    await page.locator('[data-testid=result-table] tbody tr').first().waitFor();
    assert.equal(await page.locator('[data-testid=result-table] tbody tr').count(), 1);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('completes metric names from the API and marks syntax errors inline', async () => {
    const { page, errors } = await open('/query');
    await page.locator('.cm-content').click();
    await page.keyboard.type('go_gorout');
    const option = page.locator('.cm-tooltip-autocomplete li', { hasText: 'go_goroutines' });
    await option.first().waitFor();
    await page.keyboard.press('Escape');
    await page.keyboard.press('End');
    await page.keyboard.type(' +');
    // The linter marks the unfinished binary expression.
    // A point mark has no size of its own: attached, not visible.
    await page.locator('.cm-lintPoint-error, .cm-lintRange-error').first().waitFor({ state: 'attached', timeout: 15000 });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows the error of a bad query', async () => {
    const { page } = await open('/query?expr=sum(&tab=table');
    const err = page.locator('.error');
    await err.waitFor();
    assert.match(await err.textContent(), /bad_data|parse error/);
    await page.close();
  });
});

describe('Alerts and silences', () => {
  it('shows the alert a real rule fired, and silences it in one click', async () => {
    const { page, errors } = await open('/alerts', { login: true });
    const alert = page.locator('[data-testid=alert]', { hasText: 'E2EAlwaysFiring' });
    await alert.waitFor();
    await alert.getByTestId('silence-alert').click();
    await page.getByRole('heading', { name: 'New silence' }).waitFor();
    assert.match(await page.getByTestId('silence-matchers').inputValue(), /alertname="E2EAlwaysFiring"/);
    // The preview finds the alert.
    await waitFor(async () => (await page.getByTestId('affected-count').textContent()) === '1', 'the preview to count the alert', 10000);
    await page.getByTestId('silence-creator').fill('e2e-test');
    await page.getByTestId('silence-comment').fill('silenced by the end-to-end test');
    await page.getByTestId('silence-save').click();
    await page.getByRole('heading', { name: 'Silences' }).waitFor();
    await page.locator('[data-testid=silence]', { hasText: 'E2EAlwaysFiring' }).waitFor();

    // The API and amtool see it.
    const silences = await (await fetch(`${argus.url}/api/v2/silences`)).json();
    const s = silences.find((x) => x.createdBy === 'e2e-test' && x.status.state === 'active');
    assert.ok(s, JSON.stringify(silences));
    const out = execFileSync('amtool', ['silence', 'query', '--alertmanager.url', argus.url, '-o', 'json'], { encoding: 'utf8' });
    assert.ok(JSON.parse(out).some((x) => x.id === s.id), out);

    // The alert is hidden as silenced, and shown silenced on demand.
    await page.goto(`${argus.url}/alerts`);
    await waitFor(async () => (await page.locator('[data-testid=alert]', { hasText: 'E2EAlwaysFiring' }).count()) === 0, 'the silenced alert to be hidden', 15000);
    await page.getByLabel('Silenced').check();
    await page.locator('[data-testid=alert]', { hasText: 'E2EAlwaysFiring' }).getByTestId('silenced').waitFor();
    await screenshot(page, 'alerts-silenced');

    // Editing the active silence's comment updates it in place: same id,
    // still active, as amtool's update does.
    await page.goto(`${argus.url}/silences/${s.id}`);
    await page.getByRole('heading', { name: 'Edit silence' }).waitFor();
    await waitFor(async () => (await page.getByTestId('silence-comment').inputValue()) !== '', 'the silence to load', 10000);
    await page.getByTestId('silence-comment').fill('comment edited in the UI');
    await page.getByTestId('silence-save').click();
    await page.getByRole('heading', { name: 'Silences' }).waitFor();
    const after = await (await fetch(`${argus.url}/api/v2/silence/${s.id}`)).json();
    assert.equal(after.status.state, 'active', JSON.stringify(after));
    assert.equal(after.comment, 'comment edited in the UI');
    assert.equal(after.startsAt, s.startsAt);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('never runs markup from annotations', async () => {
    const evil = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
    const r = await fetch(`${argus.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: argus.authHeader },
      body: JSON.stringify([{ labels: { alertname: 'E2EMarkup', evil }, annotations: { description: evil, summary: '<b>bold?</b>' }, generatorURL: 'javascript:window.__xss=3' }]),
    });
    assert.equal(r.status, 200);
    const { page, errors } = await open('/alerts');
    const alert = page.locator('[data-testid=alert]', { hasText: 'E2EMarkup' });
    await alert.waitFor();
    assert.match(await alert.getByTestId('annotations').textContent(), /<img src=x onerror=/);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await alert.locator('img, script, b').count(), 0);
    // A javascript: source URL is not made a link.
    assert.equal(await alert.locator('a', { hasText: 'source' }).count(), 0);
    assert.deepEqual(errors, []);
    await page.close();
  });
});

describe('Alerts filter', () => {
  it('narrows to a label when one is clicked, and keeps the filter in the URL', async () => {
    const { page, errors } = await open('/alerts');
    const alert = page.locator('[data-testid=alert]', { hasText: 'E2EMarkup' });
    await alert.waitFor();
    await alert.locator('button.label', { hasText: 'alertname="E2EMarkup"' }).click();
    await waitFor(async () => decodeURIComponent(page.url()).includes('alertname="E2EMarkup"'), 'the filter in the URL', 10000);
    await waitFor(async () => (await page.locator('[data-testid=alert]').count()) === 1, 'only the picked alert to stay', 10000);
    await page.getByLabel('label filter').fill('{alertname=~"E2E.*"');
    await page.getByLabel('label filter').press('Enter');
    await page.locator('.error', { hasText: 'missing closing' }).waitFor();
    assert.deepEqual(errors, []);
    await page.close();
  });
});
