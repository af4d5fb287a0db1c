/**
 * End to end, the landing check against a real kube-apiserver: the evidence it relies on
 * (resourceVersion, generation, uid, the watch) behaves as assumed. A ValidatingAdmissionPolicy stands
 * in for "another admission webhook denied the write"; a write by `argocd-controller` for self-heal.
 * The webhook is not registered here: tasks are recorded as driftgate records them at admission.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { ClusterCache } from '../../src/cluster/cluster-cache.ts';
import { LandingCheck } from '../../src/cluster/landing-check.ts';
import { createLogger } from '../../src/log.ts';
import type { TaskDraft } from '../../src/tasks/task.ts';
import { storeFixture, type Fixture } from '../helpers/breakglass.ts';
import { deploymentBypass } from '../helpers/landing.ts';
import { Cluster, missingPrerequisite } from './harness/cluster.ts';
import { deployment } from './harness/fixtures.ts';

const skip = missingPrerequisite() ?? false;

/** Denies images tagged `:bad` on create and update, as another admission check would. */
const POLICY = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-bad-images}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  validations:
    - {expression: "object.spec.template.spec.containers.all(c, !c.image.endsWith(':bad'))", message: "image tag :bad is not allowed"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-bad-images}
spec: {policyName: no-bad-images, validationActions: [Deny]}
`;

type Meta = { metadata: { uid: string; resourceVersion: string; generation: number } };

describe('landing check against a real API server', { skip }, () => {
  let cluster: Cluster;
  let cache: ClusterCache;
  let f: Fixture;
  let check: LandingCheck;

  before(async () => {
    cluster = await Cluster.start();
    cluster.ok(['create', 'namespace', 'prod']);
    cluster.apply(POLICY);
    for (const name of ['healed', 'denied', 'status-only']) cluster.apply(deployment(name, { image: 'registry.example.com/app:1.0' }));
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    kc.setCurrentContext('admin');
    cache = await ClusterCache.open({ kubeConfig: kc, logger: createLogger('silent') });
    f = await storeFixture();
    check = new LandingCheck({ store: f.store, live: cache, logger: createLogger('silent'), now: () => new Date(), afterMs: 0 });
    // the policy takes effect once the API server has loaded it
    for (let i = 0; i < 100 && cluster.kubectl(['-n', 'prod', 'set', 'image', 'deployment/denied', 'denied=registry.example.com/app:bad', '--dry-run=server']).status === 0; i += 1) await sleep(100);
  });
  after(async () => {
    await cache?.close();
    cluster?.stop();
  });

  const live = (name: string) => cluster.json<Meta & { spec: unknown }>(['-n', 'prod', 'get', 'deployment', name]);

  /** The task driftgate records for `set image` (the write bumps the generation, admitted against the current version). */
  async function bypass(name: string, operation: TaskDraft['operation'] = 'UPDATE', uid?: string) {
    f.now.value = new Date();
    const change = { path: `spec.template.spec.containers[name=${name}].image`, before: 'registry.example.com/app:1.0', after: 'registry.example.com/app:2.0' };
    return f.store.recordBypass(deploymentBypass(name, operation, { live: operation === 'CREATE' ? undefined : live(name).metadata, ...(uid ? { uid } : {}), change, owner: 'argocd/guestbook', at: f.now.value }));
  }

  async function cached(name: string): Promise<void> {
    const rv = cluster.kubectl(['-n', 'prod', 'get', 'deployment', name, '-o', 'jsonpath={.metadata.resourceVersion}']).stdout;
    for (let i = 0; i < 200; i += 1) {
      const o = cache.liveObject('apps', 'Deployment', 'prod', name);
      if (o !== 'unknown' && (o?.metadata?.resourceVersion ?? '') === rv) return;
      await sleep(25);
    }
    assert.fail(`the watch cache never caught up with ${name}`);
  }

  it('keeps a bypass pending that self-heal put back, and notes the revert and who wrote since', async () => {
    const t = await bypass('healed');
    cluster.ok(['-n', 'prod', 'set', 'image', 'deployment/healed', 'healed=registry.example.com/app:2.0']); // kubectl: image updated
    cluster.ok(['-n', 'prod', 'set', 'image', 'deployment/healed', 'healed=registry.example.com/app:1.0', '--field-manager=argocd-controller']); // self-heal
    await cached('healed');
    assert.deepEqual(await check.sweep(), []);
    const task = f.store.getTask(t.id)!;
    assert.equal(task.state, 'pending');
    assert.match(task.verifications!.at(-1)!.explanation.join('\n'), /generation is \d+[\s\S]*reverted since \(written since by [\s\S]*argocd-controller/);
  });

  it('closes a write another admission check denied as not-applied', async () => {
    const t = await bypass('denied');
    const r = cluster.kubectl(['-n', 'prod', 'set', 'image', 'deployment/denied', 'denied=registry.example.com/app:bad']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /image tag :bad is not allowed/);
    await cached('denied');
    assert.deepEqual(await check.sweep(), [t.id]);
    assert.match(f.store.getTask(t.id)!.resolution!.evidence, /still at resourceVersion \d+, the version the write was admitted against/);
  });

  it('closes it though the status changed since: a status write bumps no generation', async () => {
    const t = await bypass('status-only');
    const before = live('status-only');
    cluster.ok(['-n', 'prod', 'patch', 'deployment', 'status-only', '--subresource=status', '--type=merge', '-p', '{"status":{"observedGeneration":1}}']);
    const after = live('status-only');
    assert.notEqual(after.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.equal(after.metadata.generation, before.metadata.generation);
    await cached('status-only');
    assert.deepEqual(await check.sweep(), [t.id]);
    assert.match(f.store.getTask(t.id)!.resolution!.evidence, /generation is \d+; the write would have made it \d+/);
  });

  it('closes a create the API server refused (the watch never saw it), keeps one that was created and deleted', async () => {
    const refusedUid = '00000000-0000-4000-8000-000000000001';
    const refused = await bypass('never', 'CREATE', refusedUid);
    const r = cluster.kubectl(['apply', '-f', '-'], { input: deployment('never', { image: 'registry.example.com/app:bad' }) });
    assert.notEqual(r.status, 0);
    cluster.apply(deployment('short-lived', { image: 'registry.example.com/app:1.0' }));
    const created = await bypass('short-lived', 'CREATE', live('short-lived').metadata.uid);
    cluster.ok(['-n', 'prod', 'delete', 'deployment', 'short-lived']);
    await cached('short-lived');
    assert.deepEqual(await check.sweep(), [refused.id]);
    assert.equal(f.store.getTask(created.id)!.state, 'pending');
  });
});
