/**
 * The break-glass trail in the server log: one structured line per event (who, what, why, incident,
 * grant, task), asserted on an in-memory pino sink; never a token or a Secret value.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { buildApp } from '../../src/app.ts';
import { GrantExpiryLog } from '../../src/audit/grant-expiry.ts';
import { devAuthenticator, issueDevToken } from '../../src/auth/authenticator.ts';
import { createLogger } from '../../src/log.ts';
import type { Policy } from '../../src/policy/policy.ts';
import { examplePolicy, LogSink, NOW, policyFrom } from '../helpers/deps.ts';
import { storeFixture } from '../helpers/breakglass.ts';
import { fixtureText } from '../helpers/reviews.ts';

async function setup(policy: Policy) {
  const f = await storeFixture();
  const sink = new LogSink();
  const logger = createLogger('info', sink.stream);
  const clock = { now: () => f.now.value };
  const app = buildApp({
    review: { policy: () => policy, clock, grants: f.store, tasks: f.store, cluster: undefined, logger },
    readiness: { notReady: () => [] },
    api: { store: f.store, policy: () => policy, clock, authenticator: await devAuthenticator(f.dir, () => f.now.value), logger },
  });
  const bearer = async (user: string, groups: string[]) => `Bearer ${await issueDevToken(f.dir, user, groups, 3600, NOW)}`;
  /** the break-glass lines, without the timestamp */
  const events = () => sink.lines.filter((l) => l.audit === 'break-glass').map(({ time: _t, level: _l, ...rest }) => rest);
  return { f, app, sink, logger, bearer, events };
}

const GRANT = { namespace: 'prod', resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }], ttl: '30m', reason: 'OOM in checkout', incident: 'INC-7' };
const validate = (app: ReturnType<typeof buildApp>, name: string) => request(app).post('/validate').set('content-type', 'application/json').send(fixtureText(name));
const IMAGE = 'spec.template.spec.containers[name=api].image';

describe('break-glass events in the server log', () => {
  it('logs request, approval, bypass, verification, resolution and revocation as one line each', async () => {
    const { app, bearer, events, sink } = await setup(policyFrom('protectedNamespaces: [prod]\nbreakGlass: {approval: {required: 1, approvers: {groups: [sre-leads]}}}'));
    const alice = await bearer('alice', ['oncall']);
    const bob = await bearer('bob', ['sre-leads']);
    const g = (await request(app).post('/v1/grants').set('authorization', alice).send(GRANT)).body;
    assert.equal((await request(app).post(`/v1/grants/${g.id}/approve`).set('authorization', bob).send({ reason: 'seen the incident' })).status, 200);
    const task = (await validate(app, '09-alice-set-image-deployment.json')).body.response.auditAnnotations.task as string;
    const verification = { verdict: 'pending', evidence: 'commit abc1234', explanation: [`${IMAGE}: Git has neither value`] };
    assert.equal((await request(app).post(`/v1/tasks/${task}/verifications`).set('authorization', alice).send(verification)).status, 201);
    assert.equal((await request(app).post(`/v1/tasks/${task}/resolve`).set('authorization', alice).send({ as: 'backported', evidence: 'PR #12' })).status, 200);
    assert.equal((await request(app).post(`/v1/grants/${g.id}/revoke`).set('authorization', alice).send({ reason: 'incident closed' })).status, 200);

    const scope = 'prod: apps/Deployment/api (UPDATE)';
    const common = { audit: 'break-glass', name: 'driftgate', incident: 'INC-7', grant: g.id };
    assert.deepEqual(events(), [
      { ...common, event: 'grant.requested', who: 'alice', what: scope, why: 'OOM in checkout', requester: 'alice', state: 'pending-approval', expiresAt: g.expiresAt, msg: 'break-glass grant requested' },
      { ...common, event: 'grant.approved', who: 'bob', what: scope, why: 'seen the incident', requester: 'alice', state: 'active', expiresAt: g.expiresAt, msg: 'break-glass grant approved' },
      {
        ...common,
        event: 'task.recorded',
        who: 'alice',
        what: 'UPDATE Deployment prod/api',
        why: 'OOM in checkout',
        task,
        paths: [IMAGE],
        owner: events()[2]!.owner,
        admissionUid: events()[2]!.admissionUid,
        msg: 'break-glass task recorded',
      },
      { ...common, event: 'task.verified', who: 'alice', what: 'Deployment prod/api', why: 'commit abc1234', task, verdict: 'pending', msg: 'break-glass task verified' },
      { ...common, event: 'task.resolved', who: 'alice', what: 'Deployment prod/api', why: 'PR #12', task, state: 'backported', msg: 'break-glass task resolved' },
      { ...common, event: 'grant.revoked', who: 'alice', what: scope, why: 'incident closed', requester: 'alice', msg: 'break-glass grant revoked' },
    ]);
    assert.ok(!sink.text.includes(g.token), 'the grant token is never logged');
  });

  it('logs a request an approver denied, with the reason', async () => {
    const { app, bearer, events } = await setup(policyFrom('protectedNamespaces: [prod]\nbreakGlass: {approval: {required: 1, approvers: {groups: [sre-leads]}}}'));
    const g = (await request(app).post('/v1/grants').set('authorization', await bearer('alice', ['oncall'])).send(GRANT)).body;
    assert.equal((await request(app).post(`/v1/grants/${g.id}/deny`).set('authorization', await bearer('bob', ['sre-leads'])).send({ reason: 'use the rollback' })).status, 200);
    const denied = events().find((e) => e.event === 'grant.denied');
    assert.deepEqual([denied?.who, denied?.why, denied?.grant, denied?.incident], ['bob', 'use the rollback', g.id, 'INC-7']);
  });

  it('logs each grant expiry once, as driftgate', async () => {
    const { app, bearer, events, f, logger } = await setup(examplePolicy());
    const expiry = new GrantExpiryLog({ store: f.store, logger, now: () => f.now.value });
    const g = (await request(app).post('/v1/grants').set('authorization', await bearer('alice', ['oncall'])).send(GRANT)).body;
    assert.deepEqual(expiry.tick(), []);
    f.now.value = new Date(Date.parse(g.expiresAt) + 1000);
    assert.deepEqual(expiry.tick(), [g.id]);
    assert.deepEqual(expiry.tick(), []);
    const expired = events().filter((e) => e.event === 'grant.expired');
    assert.equal(expired.length, 1);
    assert.deepEqual([expired[0]!.who, expired[0]!.grant, expired[0]!.incident, expired[0]!.why], ['driftgate', g.id, 'INC-7', `its lifetime ended at ${g.expiresAt}`]);
  });

  it('names a Secret bypass by its paths, never its values', async () => {
    const { app, bearer, events, sink } = await setup(examplePolicy());
    const grant = { ...GRANT, resources: [{ group: '', kind: 'Secret', name: 'api-secret' }], operations: ['CREATE'] };
    assert.equal((await request(app).post('/v1/grants').set('authorization', await bearer('alice', ['oncall'])).send(grant)).status, 201);
    assert.equal((await validate(app, '20-alice-create-secret.json')).body.response.allowed, true);
    const recorded = events().find((e) => e.event === 'task.recorded');
    assert.equal(recorded?.what, 'CREATE Secret prod/api-secret');
    assert.ok(!sink.text.includes('czNjcjN0LWFsaWNl') && !sink.text.includes('s3cr3t-alice'), 'the Secret value never reaches the log');
  });
});
