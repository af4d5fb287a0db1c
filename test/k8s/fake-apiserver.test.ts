/**
 * The test double must behave like a real API server for the client driftgate uses: these tests drive
 * it with @kubernetes/client-node's own API client and informer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CustomObjectsApi, ListWatch, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { FakeApiServer } from './fake-apiserver.ts';
import { kubeConfigFor } from './kubeconfig.ts';

const G = { group: 'driftgate.io', version: 'v1alpha1', namespace: 'driftgate', plural: 'drifttasks' };

function kubeconfig(server: string): KubeConfig {
  return kubeConfigFor(server);
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const task = (name: string) => ({ apiVersion: 'driftgate.io/v1alpha1', kind: 'DriftTask', metadata: { name }, spec: { grantId: 'g' } });

describe('fake API server speaks the protocol @kubernetes/client-node expects', () => {
  let api: FakeApiServer;
  let kc: KubeConfig;
  let client: CustomObjectsApi;

  before(async () => {
    api = new FakeApiServer();
    kc = kubeconfig(await api.start());
    client = kc.makeApiClient(CustomObjectsApi);
  });
  after(async () => api.stop());

  it('creates, reads and replaces objects with resourceVersions, and answers 409 on conflicts', async () => {
    const created = (await client.createNamespacedCustomObject({ ...G, body: task('t-1') })) as KubernetesObject;
    assert.match(created.metadata!.resourceVersion!, /^\d+$/);
    assert.ok(created.metadata!.uid);
    await assert.rejects(client.createNamespacedCustomObject({ ...G, body: task('t-1') }), (err: { code?: number }) => err.code === 409);
    const got = (await client.getNamespacedCustomObject({ ...G, name: 't-1' })) as KubernetesObject & { status?: unknown };
    const updated = (await client.replaceNamespacedCustomObjectStatus({ ...G, name: 't-1', body: { ...got, status: { state: 'reverted' } } })) as KubernetesObject & { status?: { state: string } };
    assert.equal(updated.status?.state, 'reverted');
    await assert.rejects(
      client.replaceNamespacedCustomObjectStatus({ ...G, name: 't-1', body: { ...got, status: { state: 'accepted' } } }),
      (err: { code?: number; body?: string }) => err.code === 409 && /has been modified/.test(String(err.body)),
    );
    await assert.rejects(client.getNamespacedCustomObject({ ...G, name: 'nope' }), (err: { code?: number }) => err.code === 404);
  });

  it('feeds an informer by list + watch, and it recovers from a dropped watch and from 410 Gone', async () => {
    // client-node's own list+watch, with its reconnect backoff shortened for the test
    const informer = new ListWatch<KubernetesObject>(
      '/apis/driftgate.io/v1alpha1/namespaces/driftgate/drifttasks',
      new Watch(kc),
      () => client.listNamespacedCustomObject(G) as never,
      false,
      undefined,
      undefined,
      { delayFn: (ms) => sleep(Math.min(ms, 50)) },
    );
    const seen = new Set<string>();
    let stopped = false;
    informer.on('add', (o) => seen.add(o.metadata!.name!));
    informer.on('error', () => void sleep(50).then(() => (stopped ? undefined : informer.start())));
    await informer.start();
    await until('the listed object', () => seen.has('t-1'));

    await client.createNamespacedCustomObject({ ...G, body: task('t-2') });
    await until('a watched ADD', () => seen.has('t-2'));

    api.dropWatches();
    await client.createNamespacedCustomObject({ ...G, body: task('t-3') });
    await until('an ADD after the watch was dropped (resumed from its resourceVersion)', () => seen.has('t-3'), 8000);
    api.compact();
    api.dropWatches();
    await client.createNamespacedCustomObject({ ...G, body: task('t-4') });
    await until('an object after a compaction (410 → relist)', () => informer.list().some((o) => o.metadata?.name === 't-4'), 8000);
    assert.ok(api.requests.filter((r) => r === 'GET /apis/driftgate.io/v1alpha1/namespaces/driftgate/drifttasks').length >= 2);
    stopped = true;
    await informer.stop();
  });

  it('answers 503 while unavailable', async () => {
    api.unavailable = true;
    await assert.rejects(client.listNamespacedCustomObject(G), (err: { code?: number }) => err.code === 503);
    api.unavailable = false;
  });
});
