import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterCache } from '../../src/cluster/cluster-cache.ts';
import { KeyRing } from '../../src/keys/key-ring.ts';
import { createLogger } from '../../src/log.ts';
import { Metrics } from '../../src/metrics.ts';
import { DriftScanner } from '../../src/scan/scheduler.ts';
import { EmbeddedStore } from '../../src/store/embedded-store.ts';
import { examplePolicy, NOW } from '../helpers/deps.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeApiServer } from '../k8s/fake-apiserver.ts';
import { kubeConfigFor } from '../k8s/kubeconfig.ts';
import { argoDeploymentEditedByHand, fluxDeploymentWithHpaAndHotfix, handMadeConfigMap } from './objects.ts';

describe('the server\'s scheduled drift scan (cluster mode)', () => {
  let api: FakeApiServer;
  let server: string;
  let store: EmbeddedStore;
  let scanner: DriftScanner;
  const metrics = new Metrics({ store: undefined, policy: examplePolicy, now: () => NOW }, false);
  const gauge = async () =>
    Object.fromEntries(
      ((await metrics.registry.getSingleMetric('driftgate_drift_objects')!.get()).values).map((v) => [`${String(v.labels.namespace)}/${String(v.labels.category)}`, v.value]),
    );

  before(async () => {
    api = new FakeApiServer();
    server = await api.start();
    api.put('deployments', argoDeploymentEditedByHand() as never);
    api.put('configmaps', handMadeConfigMap() as never);
    const dir = tempDir();
    store = await EmbeddedStore.open(dir, await KeyRing.load(join(dir, 'keys'), NOW), createLogger('silent'), () => NOW);
    scanner = new DriftScanner({ kubeConfig: kubeConfigFor(server), policy: examplePolicy, store, logger: createLogger('silent'), now: () => NOW, intervalMs: 600_000, onResult: (c) => metrics.driftObjects(c) });
  });
  after(async () => {
    scanner.stop();
    await store.close();
    await api.stop();
  });

  it('records unrecorded drift as detected tasks and publishes driftgate_drift_objects', async () => {
    const r = await scanner.scan();
    assert.equal(r?.recordedTasks?.length, 7); // 6 writes on the Deployment, the orphan ConfigMap
    assert.equal(store.listTasks({ state: 'pending' }).filter((t) => t.source === 'detected').length, 7);
    assert.deepEqual(await gauge(), { 'prod/unrecorded': 2, 'prod/recorded': 0, 'prod/orphan': 1, 'prod/guarded': 1 });
  });

  it('finds the same drift recorded on the next scan, and records nothing twice', async () => {
    const r = await scanner.scan();
    assert.equal(store.listTasks({}).length, 7);
    assert.equal(r?.summary.findings.unrecorded, 0);
    assert.deepEqual(await gauge(), { 'prod/unrecorded': 0, 'prod/recorded': 2, 'prod/orphan': 1, 'prod/guarded': 1 });
  });

  it('between scans, judges the Deployments the cluster cache sees change, in batches', async () => {
    const cache = await ClusterCache.open({ kubeConfig: kubeConfigFor(server), logger: createLogger('silent'), delay: (ms) => sleep(Math.min(ms, 50)) });
    const follower = new DriftScanner({ kubeConfig: kubeConfigFor(server), policy: examplePolicy, store, logger: createLogger('silent'), now: () => NOW, intervalMs: 600_000, batchMs: 20 });
    try {
      follower.follow(cache);
      const before = store.listTasks({}).length;
      api.put('deployments', fluxDeploymentWithHpaAndHotfix() as never); // a hotfix image by client-side apply
      api.put('deployments', { ...fluxDeploymentWithHpaAndHotfix(), metadata: { ...fluxDeploymentWithHpaAndHotfix().metadata, name: 'web', namespace: 'dev' } } as never); // unprotected
      for (let i = 0; i < 200 && store.listTasks({}).length === before; i += 1) await sleep(25);
      const added = store.listTasks({}).slice(before);
      assert.deepEqual(added.map((t) => `${t.namespace}/${t.name} ${t.writer}`), ['prod/web field-manager:kubectl-client-side-apply']);
    } finally {
      follower.stop();
      await cache.close();
    }
  });

  it('logs and survives a scan the API server refuses', async () => {
    api.unavailable = true;
    try {
      assert.equal(await scanner.scan(), undefined);
    } finally {
      api.unavailable = false;
    }
  });
});
