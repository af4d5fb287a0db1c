import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { SignJWT } from 'jose';
import { escapeHtml, html } from '../../src/console/html.ts';
import { CONTENT_SECURITY_POLICY } from '../../src/console/console.ts';
import { bypassesPerDay, openAndOverdue, timeToResolution } from '../../src/console/charts.ts';
import { issueDevToken } from '../../src/auth/authenticator.ts';
import { KeyRing } from '../../src/keys/key-ring.ts';
import type { TaskView } from '../../src/tasks/rules.ts';
import { ALICE_ID, BOB_LEAD, REQUEST, taskDraft } from '../helpers/breakglass.ts';
import { NOW } from '../helpers/deps.ts';
import { fixtureText } from '../helpers/reviews.ts';
import { tempDir } from '../helpers/tmp.ts';
import { consoleSetup, XSS_REASON } from './setup.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import { createLogger } from '../../src/log.ts';
import { policyFrom } from '../helpers/deps.ts';
import { storeFixture } from '../helpers/breakglass.ts';
import { until } from '../notify/receiver.ts';

const LEAD = ['bob', ['sre-leads']] as const;

describe('console: escaping', () => {
  it('escapes every interpolated value, and only values made by html`` pass through', () => {
    assert.equal(escapeHtml(`<a href="x" onclick='y'>&\`</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;');
    const inner = html`<b>${'<i>'}</b>`;
    assert.equal(html`<p title="${'" onmouseover="x'}">${inner}${['<x>', 1, null, undefined, false]}</p>`.toString(), '<p title="&quot; onmouseover=&quot;x"><b>&lt;i&gt;</b>&lt;x&gt;1</p>');
  });
});

describe('console: authentication', () => {
  it('sends a visitor without a session to the login form, under a strict CSP', async () => {
    const { app } = await consoleSetup();
    for (const path of ['/ui/', '/ui/grants', '/ui/tasks', '/ui/report', '/ui/notifications']) {
      const res = await request(app).get(path);
      assert.equal(res.status, 303, path);
      assert.match(res.headers.location!, /^\/ui\/(login|grants)$/);
    }
    const login = await request(app).get('/ui/login');
    assert.equal(login.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.equal(login.headers['x-frame-options'], 'DENY');
    assert.equal(login.headers['cache-control'], 'no-store');
    assert.doesNotMatch(login.text, /<script|style=/i);
    const css = await request(app).get('/ui/static/console.css');
    assert.equal(css.status, 200);
    assert.match(css.headers['content-type']!, /^text\/css/);
    assert.match(css.text, /pre\.diff \.add/);
  });

  it('logs in with a dev token: a HttpOnly, Secure, SameSite=Strict host-only session cookie', async () => {
    const { login } = await consoleSetup();
    const { setCookie } = await login(...LEAD);
    const session = setCookie.find((c) => c.startsWith('__Host-driftgate-session='))!;
    assert.match(session, /; Path=\/; Max-Age=3600; HttpOnly; Secure; SameSite=Strict$/);
  });

  it('refuses a bad token, a login form from elsewhere, and an empty token, saying why', async () => {
    const { app } = await consoleSetup();
    const form = await request(app).get('/ui/login');
    const nonce = /name="_csrf" value="([^"]+)"/.exec(form.text)![1]!;
    const cookie = `__Host-driftgate-login=${nonce}`;
    const bad = await request(app).post('/ui/login').set('cookie', cookie).type('form').send({ _csrf: nonce, token: 'not.a.token' });
    assert.equal(bad.status, 401);
    assert.match(bad.text, /Not logged in: token malformed|Not logged in: token rejected/);
    const noCookie = await request(app).post('/ui/login').type('form').send({ _csrf: nonce, token: 'x' });
    assert.equal(noCookie.status, 403);
    assert.match(noCookie.text, /expired or came from another site/);
    const empty = await request(app).post('/ui/login').set('cookie', cookie).type('form').send({ _csrf: nonce, token: ' ' });
    assert.equal(empty.status, 400);
  });

  it('ends a session after an hour, and never outlives the token it was made from', async () => {
    const { app, f, login } = await consoleSetup();
    const { cookie } = await login(...LEAD);
    f.now.value = new Date(NOW.getTime() + 3601_000);
    const late = await request(app).get('/ui/grants').set('cookie', cookie);
    assert.equal(late.status, 303);
    assert.equal(late.headers.location, '/ui/login');

    f.now.value = NOW;
    const form = await request(app).get('/ui/login');
    const nonce = /name="_csrf" value="([^"]+)"/.exec(form.text)![1]!;
    const short = await issueDevToken(f.dir, 'bob', ['sre-leads'], 600, NOW);
    const res = await request(app).post('/ui/login').set('cookie', `__Host-driftgate-login=${nonce}`).type('form').send({ _csrf: nonce, token: short });
    assert.match(String(res.headers['set-cookie']), /__Host-driftgate-session=[^;]+; Path=\/; Max-Age=600;/);
  });

  it('ignores a forged session: signed by another key, or a grant-signing JWT of another type', async () => {
    const { app, f } = await consoleSetup();
    const other = await KeyRing.load(tempDir());
    const claims = { groups: ['sre-leads', 'auditors'], csrf: 'x' };
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: other.signing.kid, typ: 'driftgate-console+jwt' }).setIssuer('driftgate').setAudience('driftgate-console').setSubject('mallory').setExpirationTime('1h').sign(other.signing.key);
    const wrongType = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: f.keys.signing.kid, typ: 'driftgate-grant+jwt' }).setIssuer('driftgate').setAudience('driftgate-console').setSubject('mallory').setExpirationTime('1h').sign(f.keys.signing.key);
    for (const cookie of [forged, wrongType, 'garbage']) {
      const res = await request(app).get('/ui/grants').set('cookie', `__Host-driftgate-session=${cookie}`);
      assert.equal(res.status, 303);
      assert.equal(res.headers.location, '/ui/login');
    }
  });
});

describe('console: grants', () => {
  it('shows a pending grant with its reason as text (HTML in a reason is attacker text)', async () => {
    const { login, app, service } = await consoleSetup();
    const g = await service.requestGrant(ALICE_ID, { ...REQUEST, reason: XSS_REASON });
    const { cookie } = await login(...LEAD);
    const page = await request(app).get('/ui/grants').set('cookie', cookie);
    assert.equal(page.status, 200);
    assert.match(page.text, new RegExp(`<tr id="${g.id}">`));
    assert.ok(page.text.includes('&lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img src=x onerror=alert(2)&gt; &#39;quoted&#39; &amp; more'));
    assert.doesNotMatch(page.text, /<script|<img/);
    assert.match(page.text, /Waiting for approval <span class="count">1<\/span>/);
    assert.match(page.text, /0 of 1/);
  });

  it('approves with the session CSRF token; refuses a missing token and a cross-site post', async () => {
    const { login, app, service, events } = await consoleSetup();
    const g = await service.requestGrant(ALICE_ID, REQUEST);
    const { cookie, csrf } = await login(...LEAD);
    const noToken = await request(app).post(`/ui/grants/${g.id}/approve`).set('cookie', cookie).type('form').send({});
    assert.equal(noToken.status, 403);
    assert.match(noToken.text, /CSRF token mismatch/);
    const crossSite = await request(app).post(`/ui/grants/${g.id}/approve`).set('cookie', cookie).set('sec-fetch-site', 'cross-site').type('form').send({ _csrf: csrf });
    assert.equal(crossSite.status, 403);
    const otherOrigin = await request(app).post(`/ui/grants/${g.id}/approve`).set('cookie', cookie).set('origin', 'https://evil.example').type('form').send({ _csrf: csrf });
    assert.equal(otherOrigin.status, 403);
    assert.equal(service.getGrant(BOB_LEAD, g.id).state, 'pending-approval');

    const ok = await request(app).post(`/ui/grants/${g.id}/approve`).set('cookie', cookie).type('form').send({ _csrf: csrf, reason: 'looks right' });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.location, `/ui/grants?done=approved&id=${g.id}`);
    assert.equal(service.getGrant(BOB_LEAD, g.id).state, 'active');
    assert.deepEqual(events.map((e) => `${e.type} ${e.actor}`), ['grant.requested alice', 'grant.approved bob']);
    const page = await request(app).get(ok.headers.location!).set('cookie', cookie);
    assert.match(page.text, new RegExp(`Grant ${g.id} approved\\.`));
    assert.match(page.text, /Active <span class="count">1<\/span>/);
    assert.match(page.text, /30m/); // time left
  });

  it('applies the API rules: the requester cannot approve, only an approver denies, anyone allowed revokes', async () => {
    const { login, app, service, events } = await consoleSetup();
    const g = await service.requestGrant(ALICE_ID, REQUEST);
    const alice = await login('alice', ['oncall']);
    const own = await request(app).post(`/ui/grants/${g.id}/approve`).set('cookie', alice.cookie).type('form').send({ _csrf: alice.csrf });
    assert.equal(own.status, 403);
    assert.match(own.text, /alice may not approve grants in prod/);
    const denyOwn = await request(app).post(`/ui/grants/${g.id}/deny`).set('cookie', alice.cookie).type('form').send({ _csrf: alice.csrf });
    assert.equal(denyOwn.status, 403);

    const bob = await login(...LEAD);
    const denied = await request(app).post(`/ui/grants/${g.id}/deny`).set('cookie', bob.cookie).type('form').send({ _csrf: bob.csrf, reason: 'use the runbook' });
    assert.equal(denied.status, 303);
    const after = service.getGrant(BOB_LEAD, g.id);
    assert.equal(after.state, 'revoked');
    assert.equal(after.revokedBy, 'bob');
    assert.equal(events.at(-1)!.type, 'grant.denied');
    const again = await request(app).post(`/ui/grants/${g.id}/deny`).set('cookie', bob.cookie).type('form').send({ _csrf: bob.csrf });
    assert.equal(again.status, 409);
    assert.match(again.text, /is revoked: only a request waiting for approval can be denied/);
    const page = await request(app).get('/ui/grants').set('cookie', bob.cookie);
    assert.match(page.text, new RegExp(`<code>${g.id}</code></td><td>denied<br><small>by bob: use the runbook</small>`));

    const g2 = await service.requestGrant(ALICE_ID, REQUEST);
    const revoked = await request(app).post(`/ui/grants/${g2.id}/revoke`).set('cookie', alice.cookie).type('form').send({ _csrf: alice.csrf });
    assert.equal(revoked.status, 303);
    assert.equal(service.getGrant(BOB_LEAD, g2.id).state, 'revoked');
  });

  it('denies through the API too (POST /v1/grants/{id}/deny), with the same rule', async () => {
    const { app, service, token, events } = await consoleSetup();
    const g = await service.requestGrant(ALICE_ID, REQUEST);
    const byRequester = await request(app).post(`/v1/grants/${g.id}/deny`).set('authorization', `Bearer ${await token('alice', ['oncall'])}`).send({});
    assert.equal(byRequester.status, 403);
    const res = await request(app).post(`/v1/grants/${g.id}/deny`).set('authorization', `Bearer ${await token('bob', ['sre-leads'])}`).send({ reason: 'no' });
    assert.equal(res.status, 200);
    assert.equal(res.body.state, 'revoked');
    assert.deepEqual(events.map((e) => `${e.type} ${e.actor}`), ['grant.requested alice', 'grant.denied bob']);
  });

  it('refuses a reader outside requesters, approvers and auditors', async () => {
    const { login, app } = await consoleSetup();
    const { cookie } = await login('mallory', ['dev']);
    const res = await request(app).get('/ui/grants').set('cookie', cookie);
    assert.equal(res.status, 403);
    assert.match(res.text, /mallory may not read grants or tasks/);
  });
});

describe('console: tasks', () => {
  async function withBypass() {
    const s = await consoleSetup();
    const g = await s.service.requestGrant(ALICE_ID, REQUEST);
    await s.service.approveGrant(BOB_LEAD, g.id);
    const res = await request(s.app).post('/validate').set('content-type', 'application/json').send(fixtureText('10-alice-set-resources-deployment.json'));
    assert.equal(res.body.response.allowed, true);
    return { ...s, grant: g, taskId: res.body.response.auditAnnotations.task as string };
  }

  it('lists the bypass as a pending task and filters by namespace, owner, writer, incident and state', async () => {
    const { login, app, taskId, f } = await withBypass();
    await f.store.recordBypass({ ...taskDraft('other'), object: { ...taskDraft('other').object, namespace: 'staging', name: 'web' }, writer: { username: 'carol', groups: [] }, incident: 'INC-9' });
    const { cookie } = await login(...LEAD);
    const count = async (q: string) => Number(/(\d+) task\(s\)/.exec((await request(app).get(`/ui/tasks${q}`).set('cookie', cookie)).text)![1]);
    assert.equal(await count(''), 2);
    assert.equal(await count('?namespace=prod'), 1);
    assert.equal(await count('?writer=carol'), 1);
    assert.equal(await count('?incident=INC-7'), 1);
    assert.equal(await count('?owner=nobody'), 0);
    assert.equal(await count('?state=resolved'), 0);
    assert.equal(await count('?state=overdue'), 0);
    assert.equal(await count('?state=all&namespace=prod&writer=alice'), 1);
    assert.equal(await count('?state=bogus'), 2); // unknown state: the default (pending)
    const page = await request(app).get('/ui/tasks?namespace=prod').set('cookie', cookie);
    assert.match(page.text, new RegExp(`href="/ui/tasks/${taskId}"`));
    const other = f.store.listTasks({ namespace: 'staging' })[0]!;
    const diff = await request(app).get(`/ui/tasks/${other.id}`).set('cookie', cookie);
    assert.match(diff.text, /<pre class="diff"><span class="del">- 3<\/span>\n<span class="add">\+ 5<\/span>\n<\/pre>/);
  });

  it('shows the change as a before/after diff with the grant and incident, and resolves it with evidence', async () => {
    const { login, app, taskId, grant, service } = await withBypass();
    const { cookie, csrf } = await login(...LEAD);
    const page = await request(app).get(`/ui/tasks/${taskId}`).set('cookie', cookie);
    assert.equal(page.status, 200);
    assert.match(page.text, /<code>spec\.template\.spec\.containers\[name=api\]\.resources\.limits\.memory<\/code> <small>not declared in Git \(a new field\)<\/small><\/h3>\n<pre class="diff"><span class="none">\(absent\)<\/span>\n<span class="add">\+ &quot;256Mi&quot;<\/span>/);
    assert.match(page.text, new RegExp(`<code>${grant.id}</code> \\(active\\)`));
    assert.match(page.text, /INC-7/);
    assert.match(page.text, /Not verified yet/);

    await service.recordVerification(BOB_LEAD, taskId, { verdict: 'pending', evidence: 'git@abc123', explanation: ['<b>resources differ</b>'] });
    const verified = await request(app).get(`/ui/tasks/${taskId}`).set('cookie', cookie);
    assert.match(verified.text, /git@abc123/);
    assert.match(verified.text, /&lt;b&gt;resources differ&lt;\/b&gt;/);

    const noEvidence = await request(app).post(`/ui/tasks/${taskId}/resolve`).set('cookie', cookie).type('form').send({ _csrf: csrf, as: 'backported', evidence: '' });
    assert.equal(noEvidence.status, 422);
    assert.match(noEvidence.text, /evidence is required/);
    const badState = await request(app).post(`/ui/tasks/${taskId}/resolve`).set('cookie', cookie).type('form').send({ _csrf: csrf, as: 'pending', evidence: 'x' });
    assert.equal(badState.status, 422);
    const ok = await request(app).post(`/ui/tasks/${taskId}/resolve`).set('cookie', cookie).type('form').send({ _csrf: csrf, as: 'backported', evidence: 'https://git.example/pr/42' });
    assert.equal(ok.status, 303);
    const done = await request(app).get(ok.headers.location!).set('cookie', cookie);
    assert.match(done.text, /resolved as backported/);
    assert.match(done.text, /https:\/\/git.example\/pr\/42/);
    assert.doesNotMatch(done.text, /name="evidence"/); // no second resolve form
  });

  it('shows at most 500 rows and says how to find the rest', async () => {
    const { login, app, f } = await consoleSetup();
    await Promise.all(Array.from({ length: 501 }, (_, i) => f.store.recordBypass(taskDraft(`uid-${i}`))));
    const { cookie } = await login(...LEAD);
    const page = await request(app).get('/ui/tasks').set('cookie', cookie);
    assert.match(page.text, /501 task\(s\)/);
    assert.match(page.text, /Showing the first 500 of 501: narrow the list with the filters\./);
    assert.equal(page.text.match(/<a href="\/ui\/tasks\/t-/g)?.length, 500);
  });

  it('answers 404 for a task that does not exist', async () => {
    const { login, app } = await consoleSetup();
    const { cookie } = await login(...LEAD);
    const res = await request(app).get('/ui/tasks/t-nope').set('cookie', cookie);
    assert.equal(res.status, 404);
    assert.match(res.text, /no task t-nope/);
  });
});

describe('console: report', () => {
  it('draws open/overdue by namespace and owner, bypasses per day and time to resolution as inline SVG', async () => {
    const { login, app, f } = await consoleSetup();
    await f.store.recordBypass(taskDraft('a'));
    await f.store.recordBypass({ ...taskDraft('b'), owner: 'flux/<billing>' });
    const { cookie } = await login(...LEAD);
    const res = await request(app).get('/ui/report?since=7d').set('cookie', cookie);
    assert.equal(res.status, 200);
    assert.equal(res.text.match(/<svg /g)?.length, 4);
    assert.match(res.text, /Open and overdue tasks by namespace/);
    assert.match(res.text, /aria-label="Open and overdue tasks by owner: argocd\/payments open 1, overdue 0; flux\/&lt;billing&gt; open 1, overdue 0"/);
    assert.match(res.text, /<strong>2<\/strong> open/);
    assert.doesNotMatch(res.text, /<script|style=/);
  });

  it('counts what the pictures show', () => {
    const t = (over: Partial<TaskView>): TaskView => ({ id: 't', state: 'pending', namespace: 'prod', kind: 'Deployment', name: 'api', writer: 'alice', grantId: 'g', owner: 'app', recordedAt: NOW.toISOString(), admissionUid: 'u', overdue: false, ...over });
    const tasks = [
      t({}),
      t({ overdue: true }),
      t({ namespace: 'staging' }),
      t({ state: 'backported', recordedAt: '2026-11-24T10:00:00Z', resolution: { by: 'bob', at: '2026-11-24T10:30:00Z', evidence: 'x' } }),
      t({ state: 'reverted', recordedAt: '2026-11-20T12:00:00Z', resolution: { by: 'bob', at: '2026-11-24T11:00:00Z', evidence: 'x' } }),
    ];
    assert.deepEqual(openAndOverdue(tasks, (x) => x.namespace), [
      { label: 'prod', values: [2, 1] },
      { label: 'staging', values: [1, 0] },
    ]);
    assert.deepEqual(bypassesPerDay(tasks, NOW, 5).map((r) => `${r.label}:${r.values[0]}`), ['11-20:1', '11-21:0', '11-22:0', '11-23:0', '11-24:4']);
    assert.deepEqual(timeToResolution(tasks, new Date('2026-11-01T00:00:00Z')).map((r) => r.values[0]), [1, 0, 0, 1, 0]);
  });
});

describe('console: notifications', () => {
  it('lists dead letters with their last error, and retries one', async () => {
    const dir = tempDir('driftgate-console-notify-');
    const policy = policyFrom(`
breakGlass: {approval: {required: 1, approvers: {groups: [sre-leads]}}}
notifications: {maxAttempts: 1, sinks: [{name: nowhere, type: slack, urlEnv: DRIFTGATE_TEST_NO_SUCH_VARIABLE}]}
`);
    const f = await storeFixture(dir);
    const notifier = await Notifier.open({ dataDir: dir, policy: () => policy, store: f.store, logger: createLogger('silent') });
    notifier.start({ sweep: false });
    await notifier.emit({ key: 'drift.found:x', type: 'drift.found', at: NOW.toISOString(), summary: 'Unrecorded drift on <b>api</b>', data: {} });
    await until(() => notifier.status().dead.length === 1, 'a dead letter');
    const { app, login } = await consoleSetup(policy, notifier);
    const { cookie, csrf } = await login(...LEAD);
    const page = await request(app).get('/ui/notifications').set('cookie', cookie);
    assert.match(page.text, /Sinks: nowhere/);
    assert.match(page.text, /Dead letters <span class="count">1<\/span>/);
    assert.match(page.text, /Unrecorded drift on &lt;b&gt;api&lt;\/b&gt;/);
    assert.match(page.text, /sink nowhere URL environment variable DRIFTGATE_TEST_NO_SUCH_VARIABLE is not set/);
    const retried = await request(app).post('/ui/notifications/retry').set('cookie', cookie).type('form').send({ _csrf: csrf, key: 'drift.found:x', sink: 'nowhere' });
    assert.equal(retried.status, 303);
    const unknown = await request(app).post('/ui/notifications/retry').set('cookie', cookie).type('form').send({ _csrf: csrf, key: 'nope', sink: 'nowhere' });
    assert.equal(unknown.status, 404);
    await notifier.close();
  });
});
