/**
 * breakGlass.maxOpenGrantsPerRequester: a requester holding the limit of open (pending or active)
 * grants is refused another, with TOO_MANY_OPEN_GRANTS (409) and what to do next; expired, revoked and
 * denied grants free their place; nobody else is affected. Through the service, on both stores.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DriftgateError } from '../../src/errors.ts';
import type { Identity } from '../../src/grants/rules.ts';
import { KeyRing } from '../../src/keys/key-ring.ts';
import { createLogger } from '../../src/log.ts';
import type { Policy } from '../../src/policy/policy.ts';
import { BreakGlassService } from '../../src/service/break-glass.ts';
import { KubernetesStore } from '../../src/store/kubernetes-store.ts';
import { NOW, policyFrom } from '../helpers/deps.ts';
import { ALICE_ID, BOB_LEAD, REQUEST, storeFixture } from '../helpers/breakglass.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeApiServer } from '../k8s/fake-apiserver.ts';
import { kubeConfigFor } from '../k8s/kubeconfig.ts';

const CAROL: Identity = { username: 'carol', groups: ['oncall'] };
const AUDITOR: Identity = { username: 'dana', groups: ['auditors'] };

/** A policy with the limit (and `required` approvals in every namespace). */
const limited = (max: number, required = 0): Policy =>
  policyFrom(`protectedNamespaces: [prod]\nbreakGlass:\n  maxOpenGrantsPerRequester: ${max}\n  approval: {required: ${required}, approvers: {groups: [sre-leads]}}\n`);

async function embedded(policy: Policy) {
  const f = await storeFixture();
  const service = new BreakGlassService({ store: f.store, policy: () => policy, clock: { now: () => f.now.value } });
  return { f, service };
}

const ask = (service: BreakGlassService, who: Identity = ALICE_ID, name = 'api') => service.requestGrant(who, { ...REQUEST, resources: [{ group: 'apps', kind: 'Deployment', name }] });

/** Settles every promise; the refusals' codes, or 'ok'. */
async function outcomes(requests: Promise<unknown>[]): Promise<string[]> {
  return (await Promise.allSettled(requests)).map((r) => (r.status === 'fulfilled' ? 'ok' : r.reason instanceof DriftgateError ? r.reason.code : String(r.reason)));
}

describe('breakGlass.maxOpenGrantsPerRequester: refusing a grant flood', () => {
  it('refuses the request that would exceed the limit with TOO_MANY_OPEN_GRANTS (409) and what to do next', async () => {
    const { f, service } = await embedded(limited(2));
    const first = await ask(service, ALICE_ID, 'api');
    f.now.value = new Date(NOW.getTime() + 60_000); // the second expires later: the first is named first
    const second = await ask(service, ALICE_ID, 'web');
    await assert.rejects(ask(service, ALICE_ID, 'worker'), (err: unknown) => {
      assert.ok(err instanceof DriftgateError);
      assert.equal(err.code, 'TOO_MANY_OPEN_GRANTS');
      assert.equal(err.status, 409);
      assert.equal(
        err.message,
        `alice already holds 2 open grant(s), the most one requester may hold (breakGlass.maxOpenGrantsPerRequester: 2): ` +
          `revoke one you no longer need with \`driftgate grant revoke <id>\` (yours, soonest to expire first: ${first.id}, ${second.id}; ` +
          `\`driftgate grant list --state active\` and \`--state pending-approval\` list them), wait until ${first.id} expires at ${first.expiresAt}, ` +
          'or ask an auditor or approver to revoke the ones the incident no longer needs',
      );
      return true;
    });
    assert.equal(f.store.listGrants({}, f.now.value).length, 2, 'a refused request is neither signed nor journaled');
  });

  it('names the five grants that expire soonest and counts the rest', async () => {
    const { f, service } = await embedded(limited(7));
    const ids: string[] = [];
    for (let i = 0; i < 7; i += 1) {
      f.now.value = new Date(NOW.getTime() + (7 - i) * 60_000); // created in reverse order of expiry
      ids.unshift((await ask(service, ALICE_ID, `api-${i}`)).id);
    }
    await assert.rejects(ask(service), new RegExp(`soonest to expire first: ${ids.slice(0, 5).join(', ')} and 2 more;`));
  });

  const transitions: { name: string; required: number; then: (s: BreakGlassService, id: string, f: { now: { value: Date } }) => Promise<unknown>; want: string }[] = [
    { name: 'counts an active grant', required: 0, then: async () => undefined, want: 'TOO_MANY_OPEN_GRANTS' },
    { name: 'counts a grant pending approval', required: 1, then: async () => undefined, want: 'TOO_MANY_OPEN_GRANTS' },
    { name: 'counts a pending grant once approved (still one grant)', required: 1, then: (s, id) => s.approveGrant(BOB_LEAD, id), want: 'TOO_MANY_OPEN_GRANTS' },
    {
      name: 'counts a grant until the second it expires',
      required: 0,
      then: async (_s, _id, f) => void (f.now.value = new Date(NOW.getTime() + 30 * 60_000 - 1)),
      want: 'TOO_MANY_OPEN_GRANTS',
    },
    { name: 'does not count an expired grant', required: 0, then: async (_s, _id, f) => void (f.now.value = new Date(NOW.getTime() + 30 * 60_000)), want: 'ok' },
    { name: 'does not count a grant its requester revoked', required: 0, then: (s, id) => s.revokeGrant(ALICE_ID, id, 'fixed'), want: 'ok' },
    { name: 'does not count a grant an auditor revoked', required: 0, then: (s, id) => s.revokeGrant(AUDITOR, id), want: 'ok' },
    { name: 'does not count a request an approver denied', required: 1, then: (s, id) => s.denyGrant(BOB_LEAD, id, 'use Git'), want: 'ok' },
  ];
  for (const t of transitions) {
    it(`${t.name} (limit 1)`, async () => {
      const { f, service } = await embedded(limited(1, t.required));
      const g = await ask(service);
      await t.then(service, g.id, f);
      assert.deepEqual(await outcomes([ask(service, ALICE_ID, 'web')]), [t.want]);
    });
  }

  it('leaves another requester unaffected', async () => {
    const { service } = await embedded(limited(1));
    await ask(service, ALICE_ID);
    assert.deepEqual(await outcomes([ask(service, ALICE_ID, 'web'), ask(service, CAROL, 'web')]), ['TOO_MANY_OPEN_GRANTS', 'ok']);
  });

  it('counts by requester: grants others requested naming alice as a subject do not count against her', async () => {
    const { service } = await embedded(limited(1));
    await service.requestGrant(CAROL, { ...REQUEST, subjects: { users: ['alice'] } });
    assert.deepEqual(await outcomes([ask(service, ALICE_ID)]), ['ok']);
  });

  it('leaves approvers and auditors their work on a requester at the limit: approve, deny, list, revoke', async () => {
    const { f, service } = await embedded(limited(2, 1));
    const one = await ask(service, ALICE_ID, 'api');
    const two = await ask(service, ALICE_ID, 'web');
    assert.equal((await service.approveGrant(BOB_LEAD, one.id)).state, 'active');
    assert.equal((await service.denyGrant(BOB_LEAD, two.id, 'one is enough')).state, 'revoked');
    await ask(service, ALICE_ID, 'worker');
    assert.deepEqual(await outcomes([ask(service, ALICE_ID, 'cron')]), ['TOO_MANY_OPEN_GRANTS']);
    assert.equal(service.listGrants(AUDITOR, { state: 'active' }).length, 1);
    assert.equal((await service.revokeGrant(AUDITOR, one.id, 'incident closed')).state, 'revoked');
    assert.deepEqual(await outcomes([ask(service, ALICE_ID, 'cron')]), ['ok']);
    assert.equal(f.store.openGrants('alice', f.now.value).length, 2);
  });

  it('admits exactly the limit when requests arrive at once (the check runs under the store lock)', async () => {
    const { f, service } = await embedded(limited(3));
    const results = await outcomes(Array.from({ length: 8 }, (_, i) => ask(service, ALICE_ID, `api-${i}`)));
    assert.equal(results.filter((r) => r === 'ok').length, 3, results.join(', '));
    assert.equal(results.filter((r) => r === 'TOO_MANY_OPEN_GRANTS').length, 5, results.join(', '));
    assert.equal(f.store.listGrants({}, f.now.value).length, 3);
  });

  it('still counts the open grants after a restart (replayed from the journal)', async () => {
    const policy = limited(1);
    const { f, service } = await embedded(policy);
    await ask(service);
    await f.store.close();
    const reopened = await f.reopen();
    const again = new BreakGlassService({ store: reopened, policy: () => policy, clock: { now: () => f.now.value } });
    assert.deepEqual(await outcomes([ask(again, ALICE_ID, 'web')]), ['TOO_MANY_OPEN_GRANTS']);
    await reopened.close();
  });
});

describe('breakGlass.maxOpenGrantsPerRequester on the Kubernetes store', () => {
  it('admits exactly the limit through one replica, and the other replica counts them once its watch has them', async () => {
    const api = new FakeApiServer();
    const kc = kubeConfigFor(await api.start());
    const keys = await KeyRing.load(join(tempDir('driftgate-limit-keys-'), 'keys'));
    const open = () => KubernetesStore.open({ kubeConfig: kc, namespace: 'driftgate', keys, logger: createLogger('silent'), delay: (ms) => sleep(Math.min(ms, 50)) });
    const [a, b] = await Promise.all([open(), open()]);
    try {
      const policy = limited(2);
      const clock = { now: () => new Date() };
      const onA = new BreakGlassService({ store: a, policy: () => policy, clock });
      const onB = new BreakGlassService({ store: b, policy: () => policy, clock });
      const results = await outcomes(Array.from({ length: 5 }, (_, i) => ask(onA, ALICE_ID, `api-${i}`)));
      assert.deepEqual(results.filter((r) => r === 'ok').length, 2, results.join(', '));
      assert.equal(a.listGrants({}, new Date()).length, 2, 'a refused request writes no object');
      for (let i = 0; b.openGrants('alice', new Date()).length < 2; i += 1) {
        assert.ok(i < 250, 'replica B never saw the grants');
        await sleep(20);
      }
      assert.deepEqual(await outcomes([ask(onB, ALICE_ID, 'web'), ask(onB, CAROL, 'web')]), ['TOO_MANY_OPEN_GRANTS', 'ok']);
      const [first] = a.openGrants('alice', new Date());
      await onB.revokeGrant(ALICE_ID, first!.id);
      assert.deepEqual(await outcomes([ask(onB, ALICE_ID, 'web')]), ['ok']);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await api.stop();
    }
  });
});

describe('breakGlass.maxOpenGrantsPerRequester in the policy file', () => {
  it('defaults to 10: an on-call responder needs a few grants in an incident, not a flood', () => {
    assert.equal(policyFrom('protectedNamespaces: [prod]\n').breakGlass.maxOpenGrantsPerRequester, 10);
  });

  const REFUSED = /breakGlass\.maxOpenGrantsPerRequester: a whole number of grants from 1 to 1000 \(default 10\)/;
  const values: { value: string; want: number | RegExp }[] = [
    { value: '1', want: 1 },
    { value: '1000', want: 1000 },
    { value: '0', want: REFUSED },
    { value: '-3', want: REFUSED },
    { value: '1001', want: REFUSED },
    { value: '2.5', want: REFUSED },
    { value: 'ten', want: REFUSED },
    { value: 'null', want: REFUSED },
  ];
  for (const v of values) {
    it(`${typeof v.want === 'number' ? 'accepts' : 'refuses'} ${v.value}${typeof v.want === 'number' ? '' : ' with the setting named'}`, () => {
      const yaml = `protectedNamespaces: [prod]\nbreakGlass: {maxOpenGrantsPerRequester: ${v.value}}\n`;
      if (typeof v.want === 'number') assert.equal(policyFrom(yaml).breakGlass.maxOpenGrantsPerRequester, v.want);
      else assert.throws(() => policyFrom(yaml), v.want);
    });
  }
});
