import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { approve, checkRevoke } from '../../src/grants/rules.ts';
import { tokenProblem } from '../../src/grants/token.ts';
import type { Grant } from '../../src/grants/grant.ts';
import { GrantTokens } from '../../src/store/grant-tokens.ts';
import { policyFrom } from '../helpers/deps.ts';
import { ALICE_ID, BOB_LEAD, requestGrant, storeFixture, type Fixture } from '../helpers/breakglass.ts';

const PENDING = policyFrom('protectedNamespaces: [prod]\nbreakGlass: {approval: {required: 1, approvers: {groups: [sre-leads]}}}');

/** a grant as a caller receives it, as plain JSON (the API's view) */
const plain = (g: Grant | undefined) => JSON.parse(JSON.stringify(g)) as Grant;

type Step = (f: Fixture) => Promise<unknown>;
const steps: Record<string, Step> = {
  requested: (f) => requestGrant(f, {}, ALICE_ID, PENDING),
  approved: (f) => f.store.approveGrant('g-test', (g) => approve(g, BOB_LEAD, PENDING, f.now.value)),
  revoked: (f) => f.store.revokeGrant('g-test', (g) => checkRevoke(g, ALICE_ID, policyFrom('{}'), f.now.value), 'alice', f.now.value, 'fixed'),
};

describe('embedded store: grant tokens are read from the journal', () => {
  const cases: { name: string; run: (keyof typeof steps)[]; state: Grant['state'] }[] = [
    { name: 'a requested grant', run: ['requested'], state: 'pending-approval' },
    { name: 'an approved grant (the token re-signed by the approval)', run: ['requested', 'approved'], state: 'active' },
    { name: 'a revoked grant (the token of its last signed state)', run: ['requested', 'approved', 'revoked'], state: 'revoked' },
  ];
  for (const c of cases) {
    it(`shows the genuine current token of ${c.name}, the same after a reopen`, async () => {
      const f = await storeFixture();
      let returned: unknown;
      for (const s of c.run) returned = await steps[s]!(f);
      const shown = plain(f.store.getGrant('g-test')?.grant);
      assert.equal(shown.state, c.state);
      assert.deepEqual(shown, plain(returned as Grant), 'the store shows what the transition returned');
      assert.equal(await tokenProblem(shown, f.keys), undefined, 'the token shown proves the grant shown');
      assert.deepEqual(Object.keys(shown), Object.keys(plain(returned as Grant)), 'same field order');
      const again = await f.reopen();
      assert.deepEqual(plain(again.getGrant('g-test')?.grant), shown);
      assert.deepEqual(again.listGrants({}, f.now.value).map(plain), [shown]);
    });
  }

  it('a spread copy of a grant (the API view) carries its token as a string', async () => {
    const f = await storeFixture();
    const created = await requestGrant(f);
    const copy = { ...f.store.getGrant('g-test')!.grant };
    assert.equal(Object.getOwnPropertyDescriptor(copy, 'token')?.value, created.token);
  });
});

describe('grant tokens: the fields a kept grant holds', () => {
  const grant = (notBefore: string): Omit<Grant, 'token'> => ({
    id: 'g-1', requester: 'alice', subjects: { users: ['alice'], groups: [] }, namespace: 'prod',
    resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }], operations: ['UPDATE'], reason: 'hotfix',
    createdAt: '2026-11-24T10:00:00.000Z', notBefore, expiresAt: '2026-11-24T12:00:00.000Z', approvals: [], state: 'active',
  });
  for (const [name, notBefore] of [
    ['starting when created', '2026-11-24T10:00:00.000Z'],
    ['starting later', '2026-11-24T11:00:00.000Z'],
  ] as const) {
    it(`keeps every field, value and key order of a grant ${name}`, () => {
      const tokens = new GrantTokens(() => ({ seq: 1, at: '', type: 'grant.requested', data: { grant: { token: 'tok' } } }));
      tokens.at('g-1', { offset: 0, length: 1 });
      const kept = tokens.keep({ ...grant(notBefore), token: 'ignored' });
      assert.deepEqual(Object.keys(kept), [...Object.keys(grant(notBefore)), 'token']);
      assert.deepEqual({ ...kept }, { ...grant(notBefore), token: 'tok' });
    });
  }
});
