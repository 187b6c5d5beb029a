// The end-to-end harness: a real argus server on a free loopback port in a
// temporary directory, with real scrape targets (itself and its built-in
// collectors) and a rule that fires, and a real headless Chromium driven by
// playwright-core.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const artifacts = resolve(here, '..', 'test-results');

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function waitFor(check, what, ms = 30000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

// admin is the first user argus creates (ARGUS_ADMIN_PASSWORD).
export const admin = { user: 'admin', password: 'e2e-admin-password' };

// startArgus runs `argus server` with a config that scrapes every second
// and a rule group that fires an alert at once.
export async function startArgus({ rules = '', extraConfig = '', dataDir = '' } = {}) {
  const bin = process.env.ARGUS_BIN ?? resolve(here, '..', '..', 'argus');
  if (!existsSync(bin)) throw new Error(`no argus binary at ${bin}: run make build first`);
  const dir = mkdtempSync(join(tmpdir(), 'argus-ui-e2e-'));
  const port = await freePort();
  const data = dataDir || join(dir, 'data');
  if (!dataDir) mkdirSync(data);
  writeFileSync(join(dir, 'rules.yml'), rules || `groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: E2EAlwaysFiring
        expr: vector(1)
        labels: {severity: page, team: e2e}
        annotations:
          summary: "fired by the end-to-end test"
      - record: e2e:up:sum
        expr: sum(up)
`);
  writeFileSync(join(dir, 'argus.yml'), `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
collectors:
  argus: {scrape_interval: 1s}
  node: {scrape_interval: 1s}
  process: {scrape_interval: 1s}
alertmanager:
  route:
    receiver: default
    group_by: [alertname]
    group_wait: 0s
    group_interval: 1s
  receivers:
    - name: default
${extraConfig}`);
  const logs = [];
  const proc = spawn(bin, ['server', '--config', join(dir, 'argus.yml'), '--data', data, '--listen', `127.0.0.1:${port}`, '--log.level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ARGUS_ADMIN_PASSWORD: admin.password },
  });
  proc.stdout.on('data', (b) => logs.push(String(b)));
  proc.stderr.on('data', (b) => logs.push(String(b)));
  let exited = null;
  proc.on('exit', (code) => (exited = code));
  // An interrupted run (a timeout, Ctrl-C) must not leave argus behind.
  const reap = () => exited === null && proc.kill('SIGKILL');
  process.on('exit', reap);
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => { reap(); process.exit(130); });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (exited !== null) throw new Error(`argus exited with ${exited}: ${logs.join('')}`);
    const r = await fetch(`${url}/-/ready`);
    return r.ok;
  }, 'argus to be ready');
  return {
    url,
    port,
    dir,
    logs,
    // authHeader authenticates Node's own requests as the admin.
    authHeader: 'Basic ' + Buffer.from(`${admin.user}:${admin.password}`).toString('base64'),
    // login logs a page's browser context in (its cookie), as user.
    async login(page, user = admin.user, password = admin.password) {
      const r = await page.request.post(`${url}/api/v1/auth/login`, { data: { user, password } });
      if (!r.ok()) throw new Error(`login as ${user}: ${r.status()} ${await r.text()}`);
    },
    async stop() {
      if (exited === null) {
        proc.kill('SIGTERM');
        await waitFor(() => exited !== null, 'argus to stop', 15000).catch(() => proc.kill('SIGKILL'));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: install Debian's chromium package (.ci/run does)`);
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

// watchConsole collects the page's console errors and uncaught exceptions.
export function watchConsole(page) {
  const errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`exception: ${e.message}`));
  return errors;
}

export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

export { waitFor };
