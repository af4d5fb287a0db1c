import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { buildApp } from '../../src/app.ts';
import { devAuthenticator, issueDevToken, oidcAuthenticator, type Authenticator } from '../../src/auth/authenticator.ts';
import { createLogger } from '../../src/log.ts';
import type { Policy } from '../../src/policy/policy.ts';
import { examplePolicy, NOW, policyFrom } from '../helpers/deps.ts';
import { storeFixture } from '../helpers/breakglass.ts';
import { fixtureText } from '../helpers/reviews.ts';
import { tempDir } from '../helpers/tmp.ts';

async function setup(policy: Policy = examplePolicy(), auth?: Authenticator) {
  const f = await storeFixture();
  const clock = { now: () => f.now.value };
  const authenticator = auth ?? (await devAuthenticator(f.dir, () => f.now.value));
  const app = buildApp({
    review: { policy: () => policy, clock, grants: f.store, tasks: f.store, cluster: undefined, logger: createLogger('silent') },
    readiness: { notReady: () => [] },
    api: { store: f.store, policy: () => policy, clock, authenticator },
    jwks: () => f.keys.jwks(),
  });
  const token = (user: string, groups: string[]) => issueDevToken(f.dir, user, groups, 3600, NOW);
  return { f, app, token };
}

const GRANT = { namespace: 'prod', resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }], ttl: '30m', reason: 'OOM', incident: 'INC-7' };
const validate = (app: ReturnType<typeof buildApp>, name: string) => request(app).post('/validate').set('content-type', 'application/json').send(fixtureText(name));

describe('break-glass API: authentication and authorization', () => {
  it('answers 401 without a token, with a clear message', async () => {
    const { app } = await setup();
    const res = await request(app).get('/v1/grants');
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'UNAUTHENTICATED');
    assert.match(res.body.error.message, /missing Authorization header/);
  });

  it('answers 401 for a malformed header, a garbage token and an expired token', async () => {
    const { app, f } = await setup();
    assert.match((await request(app).get('/v1/grants').set('authorization', 'Basic abc')).body.error.message, /must be "Bearer <token>"/);
    assert.match((await request(app).get('/v1/grants').set('authorization', 'Bearer not.a.jwt')).body.error.message, /malformed|rejected/);
    const expired = await issueDevToken(f.dir, 'alice', ['oncall'], 60, new Date(NOW.getTime() - 3600_000));
    const res = await request(app).get('/v1/grants').set('authorization', `Bearer ${expired}`);
    assert.equal(res.status, 401);
    assert.match(res.body.error.message, /token expired/);
  });

  it('answers 401 for a token signed by another issuer\'s key', async () => {
    const { app } = await setup();
    const other = await storeFixture();
    const foreign = await issueDevToken(other.dir, 'alice', ['oncall'], 3600, NOW);
    const res = await request(app).get('/v1/grants').set('authorization', `Bearer ${foreign}`);
    assert.equal(res.status, 401);
    assert.match(res.body.error.message, /signature invalid/);
  });

  it('answers 403 when the requester is not allowed to request grants', async () => {
    const { app, token } = await setup();
    const res = await request(app).post('/v1/grants').set('authorization', `Bearer ${await token('mallory', ['dev'])}`).send(GRANT);
    assert.equal(res.status, 403);
    assert.match(res.body.error.message, /mallory may not request break-glass grants/);
  });

  it('answers 422 with every problem for an invalid body, and 400 for broken JSON', async () => {
    const { app, token } = await setup();
    const auth = `Bearer ${await token('alice', ['oncall'])}`;
    const res = await request(app).post('/v1/grants').set('authorization', auth).send({ namespace: '', resources: [], extra: 1 });
    assert.equal(res.status, 422);
    assert.match(res.body.error.message, /namespace/);
    assert.match(res.body.error.message, /resources/);
    assert.match(res.body.error.message, /reason/);
    const bad = await request(app).post('/v1/grants').set('authorization', auth).set('content-type', 'application/json').send('{"namespace":');
    assert.equal(bad.status, 400);
  });

  it('accepts OIDC ID tokens from a configured issuer, with its username and groups claims', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const dir = tempDir('driftgate-oidc-');
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] }));
    const auth = oidcAuthenticator({ issuer: 'https://dex.example.com', audience: 'driftgate', jwksFile, usernameClaim: 'email', groupsClaim: 'groups' }, () => NOW);
    const { app } = await setup(examplePolicy(), auth);
    const sign = (aud: string) =>
      new SignJWT({ email: 'alice@example.com', groups: ['oncall'] }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('https://dex.example.com').setAudience(aud).setIssuedAt(NOW).setExpirationTime(new Date(NOW.getTime() + 300_000)).sign(privateKey);
    const ok = await request(app).post('/v1/grants').set('authorization', `Bearer ${await sign('driftgate')}`).send(GRANT);
    assert.equal(ok.status, 201);
    assert.equal(ok.body.requester, 'alice@example.com');
    const wrongAud = await request(app).get('/v1/grants').set('authorization', `Bearer ${await sign('something-else')}`);
    assert.equal(wrongAud.status, 401);
    assert.match(wrongAud.body.error.message, /aud/);
  });
});

describe('break-glass API: the responder loop', () => {
  it('denied → grant → the same write allowed with warnings → one task listed', async () => {
    const { app, token } = await setup();
    const alice = `Bearer ${await token('alice', ['oncall'])}`;
    const before = await validate(app, '10-alice-set-resources-deployment.json');
    assert.equal(before.body.response.allowed, false);

    const created = await request(app).post('/v1/grants').set('authorization', alice).send(GRANT);
    assert.equal(created.status, 201);
    assert.equal(created.body.state, 'active');
    assert.match(created.body.id, /^g-[0-9a-f]{10}$/);
    assert.equal(created.body.token.split('.').length, 3);
    assert.equal(created.body.expiresAt, '2026-11-24T12:30:00.000Z');

    const after = await validate(app, '10-alice-set-resources-deployment.json');
    assert.equal(after.body.response.allowed, true);
    assert.match(after.body.response.warnings[0], new RegExp(`break-glass grant ${created.body.id} \\(30m left, incident INC-7\\)`));
    const taskId = after.body.response.auditAnnotations.task;

    const again = await validate(app, '10-alice-set-resources-deployment.json'); // retried by the API server: same uid
    assert.equal(again.body.response.auditAnnotations.task, taskId);

    const tasks = await request(app).get('/v1/tasks').set('authorization', alice);
    assert.equal(tasks.body.items.length, 1);
    const task = await request(app).get(`/v1/tasks/${taskId}`).set('authorization', alice);
    assert.equal(task.body.grantId, created.body.id);
    assert.equal(task.body.incident, 'INC-7');
    assert.equal(task.body.changes.length, 4);
    assert.equal((await request(app).get('/v1/tasks/t-nope').set('authorization', alice)).status, 404);
  });

  it('a dry run is allowed under the grant but records no task', async () => {
    const { app, token } = await setup();
    const alice = `Bearer ${await token('alice', ['oncall'])}`;
    await request(app).post('/v1/grants').set('authorization', alice).send(GRANT);
    const res = await validate(app, '14-alice-dryrun-server-set-image.json');
    assert.equal(res.body.response.allowed, true);
    assert.equal((await request(app).get('/v1/tasks').set('authorization', alice)).body.items.length, 0);
  });

  it('pending approval → denied; self-approval 403; approval by a lead → allowed; revoke → denied again', async () => {
    const policy = policyFrom('protectedNamespaces: [prod]\nbreakGlass: {approval: {required: 1, approvers: {groups: [sre-leads]}}}');
    const { app, token } = await setup(policy);
    const alice = `Bearer ${await token('alice', ['oncall', 'sre-leads'])}`;
    const bob = `Bearer ${await token('bob', ['sre-leads'])}`;
    const g = (await request(app).post('/v1/grants').set('authorization', alice).send(GRANT)).body;
    assert.equal(g.state, 'pending-approval');
    assert.equal((await validate(app, '09-alice-set-image-deployment.json')).body.response.allowed, false);

    const self = await request(app).post(`/v1/grants/${g.id}/approve`).set('authorization', alice).send({});
    assert.equal(self.status, 403);
    assert.match(self.body.error.message, /must differ from the requester/);

    const ok = await request(app).post(`/v1/grants/${g.id}/approve`).set('authorization', bob).send({ reason: 'seen the incident' });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.state, 'active');
    assert.equal((await request(app).post(`/v1/grants/${g.id}/approve`).set('authorization', bob).send({})).status, 409);
    assert.equal((await validate(app, '09-alice-set-image-deployment.json')).body.response.allowed, true);

    const revoked = await request(app).post(`/v1/grants/${g.id}/revoke`).set('authorization', alice).send({ reason: 'done' });
    assert.equal(revoked.body.state, 'revoked');
    assert.equal((await request(app).post(`/v1/grants/${g.id}/revoke`).set('authorization', alice).send({})).status, 409);
    assert.equal((await validate(app, '11-alice-annotate-deployment.json')).body.response.allowed, false);
  });

  it('flags a task overdue after grant expiry + backportDeadline, and resolving it clears the flag', async () => {
    const { app, token, f } = await setup();
    const alice = `Bearer ${await token('alice', ['oncall'])}`;
    await request(app).post('/v1/grants').set('authorization', alice).send(GRANT); // expires 12:30
    const id = (await validate(app, '09-alice-set-image-deployment.json')).body.response.auditAnnotations.task;
    assert.equal((await request(app).get('/v1/tasks?overdue=true').set('authorization', alice)).body.items.length, 0);

    f.now.value = new Date('2026-11-27T12:30:01Z'); // 72h after expiry, and a second
    const later = `Bearer ${await issueDevToken(f.dir, 'alice', ['oncall'], 3600, f.now.value)}`;
    const overdue = await request(app).get('/v1/tasks?overdue=true').set('authorization', later);
    assert.deepEqual(overdue.body.items.map((t: { id: string }) => t.id), [id]);
    assert.equal((await request(app).get(`/v1/tasks/${id}`).set('authorization', later)).body.overdue, true);

    const bad = await request(app).post(`/v1/tasks/${id}/resolve`).set('authorization', later).send({ as: 'fixed', evidence: 'x' });
    assert.equal(bad.status, 422);
    const ok = await request(app).post(`/v1/tasks/${id}/resolve`).set('authorization', later).send({ as: 'reverted', evidence: 'argocd sync at 13:02' });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.state, 'reverted');
    assert.equal(ok.body.overdue, false);
    assert.equal((await request(app).post(`/v1/tasks/${id}/resolve`).set('authorization', later).send({ as: 'accepted', evidence: 'x' })).status, 409);
    const report = await request(app).get('/v1/report?since=24h').set('authorization', later);
    assert.equal(report.body.totals.pending, 0);
    assert.equal(report.body.resolved[0].id, id);
    assert.equal((await request(app).get('/v1/report?since=whenever').set('authorization', later)).status, 422);
  });

  it('keeps a verification history on the task, written only by the writer, approvers or auditors', async () => {
    const { app, token } = await setup();
    const alice = `Bearer ${await token('alice', ['oncall'])}`;
    await request(app).post('/v1/grants').set('authorization', alice).send(GRANT);
    const id = (await validate(app, '09-alice-set-image-deployment.json')).body.response.auditAnnotations.task;
    const body = { verdict: 'pending', evidence: 'commit abc', explanation: ['spec.replicas: Git has neither value'] };
    const stranger = await request(app).post(`/v1/tasks/${id}/verifications`).set('authorization', `Bearer ${await token('carol', ['oncall'])}`).send(body);
    assert.equal(stranger.status, 403);
    assert.equal((await request(app).post(`/v1/tasks/${id}/verifications`).set('authorization', alice).send(body)).status, 201);
    const task = await request(app).get(`/v1/tasks/${id}`).set('authorization', alice);
    assert.equal(task.body.state, 'pending');
    assert.deepEqual(task.body.verifications, [{ at: NOW.toISOString(), by: 'alice', ...body }]);
  });

  it('serves driftgate\'s public keys, which verify the grant tokens', async () => {
    const { app } = await setup();
    const res = await request(app).get('/.well-known/jwks.json');
    assert.equal(res.status, 200);
    assert.equal(res.body.keys[0].kty, 'OKP');
    assert.equal(res.body.keys[0].d, undefined);
  });
});
