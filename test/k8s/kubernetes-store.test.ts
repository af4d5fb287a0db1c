import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { KeyRing } from '../../src/keys/key-ring.ts';
import { createLogger } from '../../src/log.ts';
import { approve, newGrant } from '../../src/grants/rules.ts';
import { KubernetesStore, taskName } from '../../src/store/kubernetes-store.ts';
import { reviewBody } from '../../src/admission/review.ts';
import { examplePolicy, LogSink, policyFrom } from '../helpers/deps.ts';
import { ALICE_ID, REQUEST, taskDraft } from '../helpers/breakglass.ts';
import { fixtureText } from '../helpers/reviews.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeApiServer } from './fake-apiserver.ts';
import { kubeConfigFor } from './kubeconfig.ts';

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}


describe('Kubernetes store: replicas sharing one API server', () => {
  let api: FakeApiServer;
  let a: KubernetesStore;
  let b: KubernetesStore;
  let keys: KeyRing;
  const sink = new LogSink();

  before(async () => {
    api = new FakeApiServer();
    const server = await api.start();
    const kc = kubeConfigFor(server);
    keys = await KeyRing.load(join(tempDir('driftgate-k8skeys-'), 'keys')); // in a cluster: one Secret mounted by every replica
    const open = () => KubernetesStore.open({ kubeConfig: kc, namespace: 'driftgate', keys, logger: createLogger('debug', sink.stream), delay: (ms) => sleep(Math.min(ms, 50)) });
    [a, b] = await Promise.all([open(), open()]);
  });
  after(async () => {
    await Promise.all([a.close(), b.close()]);
    await api.stop();
  });

  it('is ready once both caches have synced', () => {
    assert.deepEqual(a.notReady(), []);
    assert.deepEqual(b.notReady(), []);
  });

  it('honours on one replica a grant made through the other', async () => {
    const now = new Date();
    await a.createGrant(newGrant({ ...REQUEST, ttl: '1h' }, ALICE_ID, examplePolicy(), now, 'g-shared'));
    assert.deepEqual(a.activeGrants('prod', 'apps', 'Deployment', 'api', now).map((g) => g.id), ['g-shared']);
    await until('replica B to honour the grant', () => b.activeGrants('prod', 'apps', 'Deployment', 'api', now).length === 1);
    const stored = api.get('breakglassgrants', 'driftgate', 'g-shared') as unknown as { spec: { namespace: string; resources: { name: string }[] }; status: { state: string } };
    assert.equal(stored.spec.namespace, 'prod'); // the printer columns' fields
    assert.equal(stored.spec.resources[0]!.name, 'api');
    assert.equal(stored.status.state, 'active');
  });

  it('records one task per admission uid across replicas (409 AlreadyExists is the same task)', async () => {
    const one = await a.recordBypass(taskDraft('uid-x'));
    const two = await b.recordBypass(taskDraft('uid-x'));
    assert.equal(one.id, two.id);
    assert.equal(one.id, taskName('uid-x'));
    await until('both replicas to list the task', () => a.listTasks({}).length === 1 && b.listTasks({}).length === 1);
    assert.equal(b.getTask(one.id)?.state, 'pending');
  });

  it('resyncs after a dropped watch', async () => {
    api.dropWatches();
    await a.recordBypass(taskDraft('uid-after-drop'));
    await until('replica B to see a task written after its watch dropped', () => b.getTask(taskName('uid-after-drop')) !== undefined, 8000);
  });

  it('resolves a conflict on approve: concurrent approvals on two replicas both count', async () => {
    const policy = policyFrom('protectedNamespaces: [prod]\nbreakGlass: {approval: {required: 2, approvers: {groups: [sre-leads]}}}');
    const now = new Date();
    await a.createGrant(newGrant({ ...REQUEST, resources: [{ group: 'apps', kind: 'Deployment', name: 'web' }] }, ALICE_ID, policy, now, 'g-two-approvals'));
    const [x, y] = await Promise.all([
      a.approveGrant('g-two-approvals', (g) => approve(g, { username: 'bob', groups: ['sre-leads'] }, policy, now)),
      b.approveGrant('g-two-approvals', (g) => approve(g, { username: 'carol', groups: ['sre-leads'] }, policy, now)),
    ]);
    const final = [x, y].find((g) => g.approvals.length === 2)!;
    assert.equal(final.state, 'active');
    assert.deepEqual(final.approvals.map((p) => p.by).sort(), ['bob', 'carol']);
    assert.ok(api.requests.filter((r) => r.startsWith('PUT') && r.endsWith('/g-two-approvals/status')).length >= 3, 'one write was retried after a 409');
    await until('both replicas to honour the approved grant', () => [a, b].every((s) => s.activeGrants('prod', 'apps', 'Deployment', 'web', now).length === 1));
  });

  it('with the API unavailable: bypasses are denied (no record), decisions still come from the cache', async () => {
    api.unavailable = true;
    try {
      await assert.rejects(a.recordBypass(taskDraft('uid-down')), { code: 'STORE_UNAVAILABLE' });
      const deps = {
        policy: examplePolicy,
        clock: { now: () => new Date() },
        grants: a,
        tasks: a,
        cluster: undefined,
        logger: createLogger('silent'),
      };
      const bypass = await reviewBody(fixtureText('10-alice-set-resources-deployment.json'), deps);
      assert.equal(bypass.review.response.allowed, false);
      assert.match(bypass.review.response.status!.message, /could not be recorded/);
      const sync = JSON.parse(fixtureText('09-alice-set-image-deployment.json'));
      sync.request.userInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: [] };
      assert.equal((await reviewBody(JSON.stringify(sync), deps)).review.response.allowed, true); // GitOps unaffected
    } finally {
      api.unavailable = false;
    }
  });
});
