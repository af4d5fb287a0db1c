/**
 * The grant API answers a request beyond breakGlass.maxOpenGrantsPerRequester with 409
 * `{error: {code: TOO_MANY_OPEN_GRANTS, message}}`, and admits the next one once a grant is revoked.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { buildApp } from '../../src/app.ts';
import { devAuthenticator, issueDevToken } from '../../src/auth/authenticator.ts';
import { createLogger } from '../../src/log.ts';
import { NOW, policyFrom } from '../helpers/deps.ts';
import { storeFixture } from '../helpers/breakglass.ts';

const POLICY = policyFrom('protectedNamespaces: [prod]\nbreakGlass: {maxOpenGrantsPerRequester: 1}\n');
const grantFor = (name: string) => ({ namespace: 'prod', resources: [{ group: 'apps', kind: 'Deployment', name }], ttl: '30m', reason: 'OOM', incident: 'INC-7' });

describe('grant API: breakGlass.maxOpenGrantsPerRequester', () => {
  it('answers 409 TOO_MANY_OPEN_GRANTS with the open grant to revoke, and 201 again once it is revoked', async () => {
    const f = await storeFixture();
    const clock = { now: () => f.now.value };
    const app = buildApp({
      review: { policy: () => POLICY, clock, grants: f.store, tasks: f.store, cluster: undefined, logger: createLogger('silent') },
      readiness: { notReady: () => [] },
      api: { store: f.store, policy: () => POLICY, clock, authenticator: await devAuthenticator(f.dir, () => f.now.value) },
      jwks: () => f.keys.jwks(),
    });
    const as = async (user: string, groups: string[]) => `Bearer ${await issueDevToken(f.dir, user, groups, 3600, NOW)}`;
    const alice = await as('alice', ['oncall']);

    const first = await request(app).post('/v1/grants').set('authorization', alice).send(grantFor('api'));
    assert.equal(first.status, 201);
    const refused = await request(app).post('/v1/grants').set('authorization', alice).send(grantFor('web'));
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'TOO_MANY_OPEN_GRANTS');
    assert.match(refused.body.error.message, new RegExp(`^alice already holds 1 open grant\\(s\\).*\\(breakGlass\\.maxOpenGrantsPerRequester: 1\\): revoke one you no longer need with \`driftgate grant revoke <id>\` \\(yours, soonest to expire first: ${first.body.id};`));
    assert.equal((await request(app).get('/v1/grants').set('authorization', alice)).body.items.length, 1);

    const carol = await request(app).post('/v1/grants').set('authorization', await as('carol', ['oncall'])).send(grantFor('web'));
    assert.equal(carol.status, 201, 'another requester is unaffected');
    const revoked = await request(app).post(`/v1/grants/${first.body.id}/revoke`).set('authorization', await as('dana', ['auditors'])).send({ reason: 'stale' });
    assert.equal(revoked.status, 200);
    assert.equal((await request(app).post('/v1/grants').set('authorization', alice).send(grantFor('web'))).status, 201);
  });
});
