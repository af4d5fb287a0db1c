import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKeyRingFromSecret, rotateSecretKey } from '../../src/keys/secret-keys.ts';
import { FakeApiServer } from './fake-apiserver.ts';
import { kubeConfigFor } from './kubeconfig.ts';

describe('signing keys in a Secret shared by replicas', () => {
  let api: FakeApiServer;
  let kc: KubeConfig;
  before(async () => {
    api = new FakeApiServer();
    const server = await api.start();
    kc = kubeConfigFor(server);
  });
  after(async () => api.stop());

  it('gives replicas starting together one key (the loser of the create race reads the winner\'s)', async () => {
    const rings = await Promise.all([1, 2, 3].map(() => loadKeyRingFromSecret(kc, 'driftgate', 'driftgate-signing-keys')));
    assert.equal(new Set(rings.map((r) => r.signing.kid)).size, 1);
    const secret = api.get('secrets', 'driftgate', 'driftgate-signing-keys') as unknown as { data: Record<string, string> };
    assert.equal(Object.keys(secret.data).length, 1);
  });

  it('rotates by adding a key: the new one signs, the old one still verifies', async () => {
    const before = await loadKeyRingFromSecret(kc, 'driftgate', 'driftgate-signing-keys');
    const kid = await rotateSecretKey(kc, 'driftgate', 'driftgate-signing-keys');
    const afterRotation = await loadKeyRingFromSecret(kc, 'driftgate', 'driftgate-signing-keys');
    assert.equal(afterRotation.signing.kid, kid);
    assert.notEqual(kid, before.signing.kid);
    assert.ok(afterRotation.verificationKey(before.signing.kid));
    assert.equal(afterRotation.jwks().keys.length, 2);
  });
});
