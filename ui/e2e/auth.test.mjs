// End-to-end tests of logging in, in a real Chromium against a real argus:
// an editor logs in, creates a silence and logs out; a viewer's button is
// disabled and the API refuses the viewer; with anonymous access off,
// every page is the login form.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, screenshot, startArgus, waitFor, watchConsole } from './harness.mjs';

let argus;
let browser;

async function addUser(name, role) {
  const r = await fetch(`${argus.url}/api/v1/users`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: argus.authHeader },
    body: JSON.stringify({ name, role, password: `${name}-password` }),
  });
  assert.equal(r.status, 200, await r.text());
}

before(async () => {
  argus = await startArgus();
  browser = await launchBrowser();
  await addUser('erin', 'editor');
  await addUser('vic', 'viewer');
});

after(async () => {
  await browser?.close();
  await argus?.stop();
});

async function loginForm(page, user) {
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(`${user}-password`);
  await page.getByRole('button', { name: 'Log in' }).click();
}

describe('accounts', () => {
  it('an editor logs in, creates a silence, and logs out', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchConsole(page);
    await page.goto(`${argus.url}/silences/new`);
    // Anonymous: reading works, the change is disabled.
    await page.getByRole('heading', { name: 'New silence' }).waitFor();
    assert.equal(await page.getByTestId('silence-save').isDisabled(), true);
    await page.getByTestId('login-link').click();
    await page.getByRole('heading', { name: 'Log in to argus' }).waitFor();
    await loginForm(page, 'erin');
    await page.getByTestId('account').waitFor();
    assert.match(await page.getByTestId('account').textContent(), /erin · editor/);
    // Back where the login started.
    await page.getByRole('heading', { name: 'New silence' }).waitFor();
    await page.getByTestId('silence-matchers').fill('alertname="E2EAuth"');
    await page.getByTestId('silence-creator').fill('erin');
    await page.getByTestId('silence-comment').fill('made after logging in');
    await page.getByTestId('silence-save').click();
    await page.locator('[data-testid=silence]', { hasText: 'E2EAuth' }).waitFor();
    await screenshot(page, 'silence-as-editor');
    // The audit log says who.
    const audit = await (await fetch(`${argus.url}/api/v1/audit?action=${encodeURIComponent('POST /api/v2/silences')}`, { headers: { Authorization: argus.authHeader } })).json();
    assert.ok(audit.data.some((e) => e.actor === 'erin'), JSON.stringify(audit));
    // Log out: the change is disabled again, and the old cookie is dead.
    const cookies = await page.context().cookies();
    await page.getByTestId('logout').click();
    await page.getByRole('heading', { name: 'Log in to argus' }).waitFor();
    const session = cookies.find((c) => c.name === 'argus_session');
    assert.ok(session && session.httpOnly && session.sameSite === 'Lax', JSON.stringify(cookies));
    const r = await fetch(`${argus.url}/api/v2/silences`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: `argus_session=${session.value}` },
      body: '{}',
    });
    assert.equal(r.status, 401);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('a viewer cannot create a silence: the button is disabled and the API refuses', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchConsole(page);
    await page.goto(`${argus.url}/login?next=/silences`);
    await loginForm(page, 'vic');
    await page.getByRole('heading', { name: 'Silences' }).waitFor();
    assert.match(await page.getByTestId('account').textContent(), /vic · viewer/);
    assert.equal(await page.getByRole('button', { name: 'New silence' }).isDisabled(), true);
    // The API refuses the viewer's session even with its CSRF token.
    const status = await page.evaluate(async () => {
      const me = await (await fetch('/api/v1/auth/me')).json();
      const r = await fetch('/api/v2/silences', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.data.csrfToken },
        body: JSON.stringify({ matchers: [{ name: 'a', value: 'b', isRegex: false }], startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 3600e3).toISOString(), createdBy: 'vic', comment: 'x' }),
      });
      return r.status;
    });
    assert.equal(status, 403);
    // Without the token (an XMLHttpRequest, which the UI's fetch wrapper
    // does not add it to) the browser's own change is refused (CSRF),
    // though the password is right.
    const [code, body] = await page.evaluate(() => new Promise((resolve) => {
      const x = new XMLHttpRequest();
      x.open('POST', '/api/v1/auth/password');
      x.setRequestHeader('Content-Type', 'application/json');
      x.onload = () => resolve([x.status, x.responseText]);
      x.send(JSON.stringify({ current: 'vic-password', new: 'vic-password-2' }));
    }));
    assert.equal(code, 403);
    assert.match(body, /X-CSRF-Token/);
    assert.deepEqual(errors.filter((e) => !/status of 403/.test(e)), []);
    await page.close();
  });

  it('a viewer cannot edit a dashboard; an editor can', async () => {
    const r = await fetch(`${argus.url}/api/dashboards/db`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: argus.authHeader },
      body: JSON.stringify({ dashboard: { uid: 'e2e-auth', title: 'E2E auth', panels: [] } }),
    });
    assert.equal(r.status, 200, await r.text());
    for (const [user, disabled] of [['vic', true], ['erin', false]]) {
      const page = await browser.newPage();
      await argus.login(page, user, `${user}-password`);
      await page.goto(`${argus.url}/d/e2e-auth`);
      await page.getByTestId('edit-dashboard').waitFor();
      assert.equal(await page.getByTestId('edit-dashboard').isDisabled(), disabled, user);
      await page.close();
    }
  });

  it('a wrong password says so and logs nobody in', async () => {
    const page = await browser.newPage();
    await page.goto(`${argus.url}/login`);
    await page.getByLabel('User').fill('erin');
    await page.getByLabel('Password').fill('not-her-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').textContent(), /wrong user name or password/);
    assert.equal(await page.getByTestId('account').count(), 0);
    await page.close();
  });
});

describe('anonymous access off', () => {
  let closed;
  before(async () => {
    closed = await startArgus({ extraConfig: 'auth:\n  anonymous: none\n' });
  });
  after(async () => closed?.stop());

  it('shows the login form on every page until one logs in', async () => {
    const page = await browser.newPage();
    const errors = watchConsole(page);
    await page.goto(`${closed.url}/query`);
    await page.getByRole('heading', { name: 'Log in to argus' }).waitFor();
    assert.equal((await fetch(`${closed.url}/api/v1/query?query=up`)).status, 401);
    await page.getByLabel('User').fill('admin');
    await page.getByLabel('Password').fill('e2e-admin-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByTestId('account').waitFor();
    await waitFor(async () => (await page.locator('h1').first().textContent()) !== 'Log in to argus', 'a page other than the login form', 10000);
    assert.deepEqual(errors.filter((e) => !/status of 401/.test(e)), []);
    await page.close();
  });
});

describe('administration', () => {
  it('an admin adds a user and a token in the UI, and sees both in the audit log', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = watchConsole(page);
    await argus.login(page);
    await page.goto(`${argus.url}/admin`);
    await page.getByRole('heading', { name: 'Administration' }).waitFor();
    await page.getByLabel('new user name').fill('uma');
    await page.getByLabel('new user role').selectOption('editor');
    await page.getByLabel('new user password').fill('uma-password');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.locator('[data-testid=user]', { hasText: 'uma' }).waitFor();
    await page.getByLabel('new token name').fill('grafana');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByTestId('token-secret').waitFor();
    const secret = (await page.getByTestId('token-secret').locator('code').first().textContent()).trim();
    assert.match(secret, /^argus_/);
    // The token works, and uma's password too.
    assert.equal((await fetch(`${argus.url}/api/v1/query?query=1`, { headers: { Authorization: `Bearer ${secret}` } })).status, 200);
    const basic = 'Basic ' + Buffer.from('uma:uma-password').toString('base64');
    assert.equal((await fetch(`${argus.url}/api/v1/users`, { headers: { Authorization: basic } })).status, 403);
    await page.reload();
    await page.locator('[data-testid=audit-entry]', { hasText: 'POST /api/v1/tokens' }).first().waitFor();
    // The user the UI added, by the admin (the test's setup added others
    // through the API).
    assert.ok(await page.locator('[data-testid=audit-entry]', { hasText: 'POST /api/v1/users' }).count() >= 1);
    await screenshot(page, 'admin');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
