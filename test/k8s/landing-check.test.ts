/**
 * The landing check against the API test double, through the real watch cache: a bypass that Argo CD
 * self-heal reverts within the window stays pending; only a write that never reached the object is
 * closed as not-applied.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterCache } from '../../src/cluster/cluster-cache.ts';
import { LandingCheck } from '../../src/cluster/landing-check.ts';
import { createLogger } from '../../src/log.ts';
import type { TaskDraft } from '../../src/tasks/task.ts';
import { storeFixture, type Fixture } from '../helpers/breakglass.ts';
import { deploymentBypass } from '../helpers/landing.ts';
import { FakeApiServer } from './fake-apiserver.ts';
import { kubeConfigFor } from './kubeconfig.ts';

type Stored = { metadata: { uid?: string; resourceVersion?: string; generation?: number }; spec?: { replicas?: number } };

const deployment = (name: string, replicas: number, managedFields: unknown[] = []) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'prod', managedFields },
  spec: { replicas },
});

describe('landing check against the API (watch cache)', () => {
  let api: FakeApiServer;
  let server: string;
  let cache: ClusterCache;
  let f: Fixture;
  let check: LandingCheck;

  before(async () => {
    api = new FakeApiServer();
    server = await api.start();
    cache = await ClusterCache.open({ kubeConfig: kubeConfigFor(server), logger: createLogger('silent'), delay: (ms) => sleep(Math.min(ms, 50)) });
    f = await storeFixture();
    check = new LandingCheck({ store: f.store, live: cache, logger: createLogger('silent'), now: () => new Date(), afterMs: 0 });
  });
  after(async () => {
    await cache.close();
    await api.stop();
  });

  /** The task the webhook records for `replicas 3 → 5` on the object as it is now. */
  async function bypass(name: string, operation: TaskDraft['operation'] = 'UPDATE', uid?: string) {
    f.now.value = new Date();
    const live = (api.get('deployments', 'prod', name) as Stored | undefined)?.metadata;
    return f.store.recordBypass(deploymentBypass(name, operation, { live, ...(uid ? { uid } : {}), change: { path: 'spec.replicas', before: 3, after: 5 }, owner: 'argocd/payments', at: f.now.value }));
  }

  /** Waits until the watch cache shows the object as the API has it now (or gone). */
  async function synced(name: string): Promise<void> {
    const rv = (api.get('deployments', 'prod', name) as Stored | undefined)?.metadata.resourceVersion;
    for (let i = 0; i < 200; i += 1) {
      const live = cache.liveObject('apps', 'Deployment', 'prod', name);
      if (live !== 'unknown' && live?.metadata?.resourceVersion === rv) return;
      await sleep(10);
    }
    assert.fail(`the watch cache never caught up with ${name}`);
  }

  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${server}/apis/apps/v1/namespaces/prod/deployments/${path}`, { method, ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });

  it('keeps a bypass pending that Argo CD self-heal reverted within the window, and says so', async () => {
    api.put('deployments', deployment('healed', 3));
    await synced('healed');
    const t = await bypass('healed');
    api.put('deployments', deployment('healed', 5, [{ manager: 'kubectl-scale', operation: 'Update', time: new Date().toISOString() }])); // kubectl: deployment.apps/healed scaled
    api.put('deployments', deployment('healed', 3, [{ manager: 'argocd-controller', operation: 'Update', time: new Date().toISOString() }])); // self-heal
    await synced('healed');
    assert.equal((cache.liveObject('apps', 'Deployment', 'prod', 'healed') as Stored).spec?.replicas, 3); // live equals before again
    assert.deepEqual(await check.sweep(), []);
    const task = f.store.getTask(t.id)!;
    assert.equal(task.state, 'pending');
    assert.match(task.verifications!.at(-1)!.explanation.join('\n'), /landed[\s\S]*reverted since \(written since by argocd-controller/);
  });

  it('closes as not-applied a write another webhook denied, though the controller updated status since', async () => {
    api.put('deployments', deployment('denied', 3));
    await synced('denied');
    const t = await bypass('denied');
    const res = await call('PUT', 'denied/status', { ...deployment('denied', 3), status: { readyReplicas: 3 } });
    assert.equal(res.status, 200);
    await synced('denied');
    assert.deepEqual(await check.sweep(), [t.id]);
    assert.match(f.store.getTask(t.id)!.resolution!.evidence, /generation is 1; the write would have made it 2/);
  });

  it('closes a create nothing ever saw, and keeps one that was created and deleted again', async () => {
    const never = await bypass('never-created', 'CREATE', 'uid-never');
    api.put('deployments', deployment('short-lived', 3));
    await synced('short-lived');
    const uid = (api.get('deployments', 'prod', 'short-lived') as Stored).metadata.uid!;
    const lived = await bypass('short-lived', 'CREATE', uid);
    assert.equal((await call('DELETE', 'short-lived')).status, 200);
    await synced('short-lived');
    assert.deepEqual(await check.sweep(), [never.id]);
    assert.equal(f.store.getTask(lived.id)!.state, 'pending');
  });

  it('closes a delete whose object is still there, and keeps one that went', async () => {
    api.put('deployments', deployment('kept', 3));
    api.put('deployments', deployment('gone', 3));
    await synced('kept');
    await synced('gone');
    const kept = await bypass('kept', 'DELETE');
    const gone = await bypass('gone', 'DELETE');
    assert.equal((await call('DELETE', 'gone')).status, 200);
    await synced('gone');
    assert.deepEqual(await check.sweep(), [kept.id]);
    assert.equal(f.store.getTask(gone.id)!.state, 'pending');
  });
});
