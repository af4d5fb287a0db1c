/**
 * The console in a real browser: Debian's chromium (/usr/bin/chromium) driven headless by
 * playwright-core, against `driftgate serve` over TLS. JavaScript is off in the browser: every step
 * works with plain links and forms. Skipped when chromium is absent, except under CI=true, where a
 * missing browser fails the run. DRIFTGATE_SCREENSHOTS=docs/console also saves one picture per page.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { issueDevToken } from '../../src/auth/authenticator.ts';
import { createLogger } from '../../src/log.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { fixtureJson } from '../helpers/reviews.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Receiver, until } from '../notify/receiver.ts';
import { XSS_REASON } from './setup.ts';

const CHROMIUM = process.env.DRIFTGATE_CHROMIUM ?? '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: CI must run the browser test (apt-get install -y chromium)`);
const skip = present ? false : `${CHROMIUM} not found: install it (apt-get install -y chromium) to run the browser test`;
const SHOTS = process.env.DRIFTGATE_SCREENSHOTS;

describe('console in chromium (no JavaScript)', { skip }, () => {
  let server: RunningServer;
  let receiver: Receiver;
  let context: BrowserContext;
  let page: Page;
  let dataDir: string;
  let base: string;
  const problems: string[] = [];

  before(async () => {
    const dir = tempDir('driftgate-browser-');
    dataDir = join(dir, 'data');
    receiver = await Receiver.start();
    writeFileSync(join(dir, 'hook-secret'), 'browser-test-secret\n', { mode: 0o600 });
    writeFileSync(
      join(dir, 'driftgate.yaml'),
      `protectedNamespaces: [prod]
breakGlass:
  requesters: {groups: [oncall]}
  approval: {required: 1, approvers: {groups: [sre-leads]}}
notifications:
  initialBackoff: 50ms
  sinks:
    - {name: approvers, type: webhook, url: "${receiver.url()}", secretFile: "${join(dir, 'hook-secret')}"}
`,
    );
    server = await startServer({ config: join(dir, 'driftgate.yaml'), port: 0, host: '127.0.0.1', dataDir, certsDir: join(dir, 'certs'), logger: createLogger('silent'), watch: false });
    base = `https://localhost:${server.port}`;
    // a fresh profile; the dev CA is not in its trust store; JavaScript off: the console must work without it
    context = await chromium.launchPersistentContext(tempDir('driftgate-chromium-'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      ignoreHTTPSErrors: true,
      javaScriptEnabled: false,
      viewport: { width: 1280, height: 860 },
    });
    page = await context.newPage();
    page.on('dialog', (d) => problems.push(`a dialog opened: ${d.message()}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
  });
  after(async () => {
    await context?.close();
    await server?.close();
    await receiver?.close();
  });

  const shot = async (name: string) => {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };
  const bearer = async (user: string, groups: string[]) => ({ authorization: `Bearer ${await issueDevToken(dataDir, user, groups, 3600)}` });
  let grantId = '';
  let taskId = '';

  it('logs in with a dev token', async () => {
    const alice = await bearer('alice', ['oncall']);
    const res = await context.request.post(`${base}/v1/grants`, {
      headers: alice,
      data: { namespace: 'prod', resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }], ttl: '2h', reason: XSS_REASON, incident: 'INC-7' },
    });
    assert.equal(res.status(), 201);
    grantId = ((await res.json()) as { id: string }).id;

    await page.goto(`${base}/ui/`);
    assert.equal(new URL(page.url()).pathname, '/ui/login');
    await shot('login');
    await page.fill('#token', (await bearer('bob', ['sre-leads'])).authorization.slice('Bearer '.length));
    await page.click('form.login button');
    assert.equal(new URL(page.url()).pathname, '/ui/grants');
    const cookie = (await context.cookies()).find((c) => c.name === '__Host-driftgate-session')!;
    assert.deepEqual([cookie.httpOnly, cookie.secure, cookie.sameSite], [true, true, 'Strict']);
  });

  it('shows a reason containing HTML as text', async () => {
    const row = page.locator(`tr[id="${grantId}"]`);
    assert.equal(await row.locator('td.reason').textContent(), XSS_REASON);
    assert.equal(await page.locator('td.reason img, td.reason script').count(), 0);
    assert.equal(await page.locator('script').count(), 0);
    await shot('grants-pending');
  });

  it('approves the pending grant, and denies another', async () => {
    await page.locator(`tr[id="${grantId}"] form:has(button.approve) input[name="reason"]`).fill('checked with the incident commander');
    await page.click(`tr[id="${grantId}"] button.approve`);
    assert.equal(await page.locator('.flash').textContent(), `Grant ${grantId} approved.`);
    assert.match((await page.locator('h2', { hasText: 'Active' }).textContent()) ?? '', /Active\s*1/);

    const res = await context.request.post(`${base}/v1/grants`, {
      headers: await bearer('alice', ['oncall']),
      data: { namespace: 'prod', resources: [{ group: 'apps', kind: 'Deployment', name: '*' }], ttl: '4h', reason: 'just in case', incident: 'INC-7' },
    });
    const wide = ((await res.json()) as { id: string }).id;
    await page.reload();
    await page.locator(`tr[id="${wide}"] form:has(button.deny) input[name="reason"]`).fill('too wide: name the deployment');
    await page.click(`tr[id="${wide}"] button.deny`);
    assert.equal(await page.locator('.flash').textContent(), `Grant ${wide} denied.`);
    assert.match((await page.locator('main table').last().textContent()) ?? '', /denied\s*by bob: too wide: name the deployment/);
    await shot('grants');
  });

  it('shows the bypass as a task', async () => {
    for (const name of ['10-alice-set-resources-deployment.json', '09-alice-set-image-deployment.json', '11-alice-annotate-deployment.json']) {
      const res = await context.request.post(`${base}/validate`, { headers: { 'content-type': 'application/json' }, data: fixtureJson(name) });
      const body = (await res.json()) as { response: { allowed: boolean; auditAnnotations?: { task: string } } };
      assert.equal(body.response.allowed, true, name);
      taskId ||= body.response.auditAnnotations!.task;
    }
    await page.click('nav a[href="/ui/tasks"]');
    assert.equal(await page.locator('p.count').textContent(), '3 task(s)');
    await shot('tasks');
    await page.click(`a[href="/ui/tasks/${taskId}"]`);
    assert.match((await page.locator('h1').textContent()) ?? '', new RegExp(taskId));
    assert.match((await page.locator('pre.diff').first().textContent()) ?? '', /\+ "/);
    assert.equal(await page.locator('dd.reason').textContent(), XSS_REASON);
    await shot('task');
  });

  it('resolves the task with evidence', async () => {
    await page.selectOption('select[name="as"]', 'backported');
    await page.fill('input[name="evidence"]', 'https://git.example/payments/pull/42');
    await page.click('form.resolve button');
    assert.equal(await page.locator('.flash').textContent(), `Task ${taskId} resolved as backported.`);
    assert.equal(await page.locator('form.resolve').count(), 0);
    await page.goto(`${base}/ui/tasks?state=resolved`);
    assert.equal(await page.locator('p.count').textContent(), '1 task(s)');
  });

  it('draws the report', async () => {
    await page.click('nav a[href="/ui/report"]');
    assert.equal(await page.locator('figure svg').count(), 4);
    assert.match((await page.locator('p.totals').textContent()) ?? '', /2 open · 0 overdue · 1 resolved/);
    assert.match((await page.locator('svg').first().getAttribute('aria-label')) ?? '', /prod open 2, overdue 0/);
    await shot('report');
  });

  it('told the approvers, once per event', async () => {
    await until(() => receiver.accepted().size === 5, 'two requests, an approval, a denial and a first use delivered');
    const types = receiver.deliveries.map((d) => d.headers['x-driftgate-event']).sort();
    assert.deepEqual(types, ['grant.approved', 'grant.denied', 'grant.first-used', 'grant.requested', 'grant.requested']);
    const metrics = await (await context.request.get(`${base}/metrics`)).text();
    assert.match(metrics, /driftgate_notifications_total\{sink="approvers",result="delivered"\} 5/);
    assert.match(metrics, /driftgate_notifications_dead_letters 0/);
    await page.click('nav a[href="/ui/notifications"]');
    assert.match((await page.locator('main').textContent()) ?? '', /Sinks: approvers/);
    await shot('notifications');
  });

  it('raised no dialog, no console error and no CSP violation', () => {
    assert.deepEqual(problems, []);
  });
});
