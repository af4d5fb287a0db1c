import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { approve, checkRevoke, newGrant, stateAt } from '../../src/grants/rules.ts';
import { claimsOf, signGrant, tokenProblem } from '../../src/grants/token.ts';
import { examplePolicy, NOW, policyFrom } from '../helpers/deps.ts';
import { ALICE_ID, BOB_LEAD, REQUEST, storeFixture } from '../helpers/breakglass.ts';

const policy = examplePolicy();
const withApproval = policyFrom('protectedNamespaces: [prod]\nbreakGlass: {approval: {required: 1, approvers: {groups: [sre-leads]}}}');
const grant = (over = {}, p = policy) => newGrant({ ...REQUEST, ...over }, ALICE_ID, p, NOW, 'g-1');

describe('grant requests (SPEC §4 policy)', () => {
  it('creates an active grant for the requester, expiring after the TTL', () => {
    const g = grant();
    assert.equal(g.state, 'active');
    assert.deepEqual(g.subjects, { users: ['alice'], groups: [] });
    assert.deepEqual(g.operations, ['UPDATE']);
    assert.equal(g.expiresAt, '2026-11-24T12:30:00.000Z');
  });

  it('uses the default TTL when none is given', () => {
    assert.equal(grant({ ttl: undefined }).expiresAt, '2026-11-24T13:00:00.000Z');
  });

  for (const [name, over, code, message] of [
    ['refuses a TTL above the maximum', { ttl: '5h' }, 'INVALID_REQUEST', /exceeds the maximum of 4h/],
    ['refuses a malformed TTL', { ttl: 'soon' }, 'INVALID_REQUEST', /ttl: "soon" is not a duration/],
    ['requires a reason', { reason: '  ' }, 'INVALID_REQUEST', /reason is required/],
    ['requires an incident when the policy does', { incident: undefined }, 'INVALID_REQUEST', /incident reference is required/],
    ['refuses a bad path', { paths: ['spec.containers[0]'] }, 'INVALID_REQUEST', /path "spec.containers\[0\]"/],
    ['refuses a grant naming no resource', { resources: [] }, 'INVALID_REQUEST', /at least one resource/],
  ] as const) {
    it(name, () => assert.throws(() => grant(over), { code, message }));
  }

  it('refuses a requester outside breakGlass.requesters', () => {
    assert.throws(() => newGrant(REQUEST, { username: 'mallory', groups: ['dev'] }, policy, NOW, 'g'), { code: 'FORBIDDEN', message: /mallory may not request/ });
  });

  it('starts pending when approvals are required, and becomes active after one', () => {
    const g = { ...grant({}, withApproval), token: '' };
    assert.equal(g.state, 'pending-approval');
    const { state } = approve(g, BOB_LEAD, withApproval, NOW);
    assert.equal(state, 'active');
  });

  it('forbids self-approval', () => {
    const g = { ...grant({}, withApproval), token: '' };
    const aliceLead = { username: 'alice', groups: ['sre-leads'] };
    assert.throws(() => approve(g, aliceLead, withApproval, NOW), { code: 'FORBIDDEN', message: /must differ from the requester/ });
  });

  it('forbids approval by someone who is not an approver', () => {
    const g = { ...grant({}, withApproval), token: '' };
    assert.throws(() => approve(g, { username: 'carol', groups: ['oncall'] }, withApproval, NOW), { code: 'FORBIDDEN' });
  });

  it('refuses to approve an active grant (409)', () => {
    assert.throws(() => approve({ ...grant(), token: '' }, BOB_LEAD, policy, NOW), { code: 'CONFLICT' });
  });

  it('lets the requester revoke, but not a stranger', () => {
    const g = { ...grant(), token: '' };
    assert.doesNotThrow(() => checkRevoke(g, ALICE_ID, policy, NOW));
    assert.throws(() => checkRevoke(g, { username: 'carol', groups: ['dev'] }, policy, NOW), { code: 'FORBIDDEN' });
  });

  it('derives expired and revoked states from the clock and the record', () => {
    const g = { ...grant(), token: '' };
    assert.equal(stateAt(g, new Date('2026-11-24T12:29:59Z')), 'active');
    assert.equal(stateAt(g, new Date('2026-11-24T12:30:00Z')), 'expired');
    assert.equal(stateAt({ ...g, revokedAt: NOW.toISOString() }, NOW), 'revoked');
  });
});

describe('grant tokens', () => {
  it('verifies a token driftgate signed for exactly this grant', async () => {
    const f = await storeFixture();
    const unsigned = grant();
    const g = { ...unsigned, token: await signGrant(unsigned, f.keys) };
    assert.equal(await tokenProblem(g, f.keys), undefined);
  });

  it('rejects a forged signature (another key claiming driftgate\'s kid)', async () => {
    const f = await storeFixture();
    const unsigned = grant();
    const { privateKey } = await generateKeyPair('EdDSA');
    const forged = await new SignJWT(claimsOf(unsigned)).setProtectedHeader({ alg: 'EdDSA', kid: f.keys.signing.kid }).sign(privateKey);
    assert.match((await tokenProblem({ ...unsigned, token: forged }, f.keys))!, /signature invalid/);
  });

  it('rejects a token from a key driftgate does not have', async () => {
    const f = await storeFixture();
    const other = await storeFixture();
    const unsigned = grant();
    assert.match((await tokenProblem({ ...unsigned, token: await signGrant(unsigned, other.keys) }, f.keys))!, /unknown key/);
  });

  it('rejects alg: none', async () => {
    const f = await storeFixture();
    const unsigned = grant();
    const none = new UnsecuredJWT(claimsOf(unsigned)).encode();
    assert.match((await tokenProblem({ ...unsigned, token: none }, f.keys))!, /algorithm none is not EdDSA/);
  });

  for (const [what, edit] of [
    ['scope', { resources: [{ group: 'apps', kind: 'Deployment', name: '*' }] }],
    ['subjects', { subjects: { users: ['alice', 'mallory'], groups: [] } }],
    ['expiry', { expiresAt: '2026-11-25T12:00:00.000Z' }],
    ['operations', { operations: ['UPDATE', 'DELETE'] }],
  ] as const) {
    it(`rejects a grant whose ${what} was edited after signing`, async () => {
      const f = await storeFixture();
      const unsigned = grant();
      const token = await signGrant(unsigned, f.keys);
      assert.match((await tokenProblem({ ...unsigned, ...edit, token }, f.keys))!, /claims do not match/);
    });
  }
});
