/**
 * `grant revoke --reason` is kept with the grant and shown: by the API, after a restart (embedded
 * store, replayed from the journal), through the Kubernetes store, and by `grant show`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderGrant } from '../../src/cli/render.ts';
import { KeyRing } from '../../src/keys/key-ring.ts';
import { createLogger } from '../../src/log.ts';
import { grantView } from '../../src/service/break-glass.ts';
import { KubernetesStore } from '../../src/store/kubernetes-store.ts';
import { NOW } from '../helpers/deps.ts';
import { ALICE_ID, requestGrant, storeFixture } from '../helpers/breakglass.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeApiServer } from '../k8s/fake-apiserver.ts';
import { kubeConfigFor } from '../k8s/kubeconfig.ts';

describe('the revoke reason', () => {
  it('is kept by the embedded store, across a restart', async () => {
    const f = await storeFixture();
    const g = await requestGrant(f);
    const revoked = await f.store.revokeGrant(g.id, () => {}, 'alice', NOW, 'incident closed');
    assert.equal(revoked.revokeReason, 'incident closed');
    await f.store.close();
    const reopened = await f.reopen();
    assert.equal(reopened.getGrant(g.id)?.grant.revokeReason, 'incident closed');
    await reopened.close();
  });

  it('is kept by the Kubernetes store, in the grant status', async () => {
    const api = new FakeApiServer();
    const kc = kubeConfigFor(await api.start());
    const keys = await KeyRing.load(join(tempDir('driftgate-revoke-keys-'), 'keys'));
    const store = await KubernetesStore.open({ kubeConfig: kc, namespace: 'driftgate', keys, logger: createLogger('silent'), delay: (ms) => sleep(Math.min(ms, 50)) });
    try {
      const f = await storeFixture();
      const unsigned = (await requestGrant(f)) as { token?: string };
      delete unsigned.token;
      const g = await store.createGrant({ ...(unsigned as Parameters<typeof store.createGrant>[0]), id: 'g-k8s' });
      const revoked = await store.revokeGrant(g.id, () => {}, ALICE_ID.username, NOW, 'rolled back instead');
      assert.equal(revoked.revokeReason, 'rolled back instead');
      assert.equal((api.get('breakglassgrants', 'driftgate', g.id)?.status as { revokeReason?: string }).revokeReason, 'rolled back instead');
    } finally {
      await store.close();
      await api.stop();
    }
  });

  it('is shown by grant show', async () => {
    const f = await storeFixture();
    const g = await f.store.revokeGrant((await requestGrant(f)).id, () => {}, 'bob', NOW, 'use the rollback');
    assert.match(renderGrant(grantView(g, NOW), NOW), /revoked: +by bob at 2026-11-24T12:00:00.000Z: use the rollback/);
  });
});
