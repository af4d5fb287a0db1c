import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadSecretHashKey, loadSecretHashKeyFromSecret, readSecretHashKey, SECRET_HASH_KEY_SECRET } from '../../src/keys/secret-hash-key.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeApiServer } from './fake-apiserver.ts';
import { kubeConfigFor } from './kubeconfig.ts';

describe('the secret hash key, kept with the signing keys', () => {
  let api: FakeApiServer;
  let kc: KubeConfig;
  before(async () => {
    api = new FakeApiServer();
    kc = kubeConfigFor(await api.start());
  });
  after(async () => api.stop());

  it('gives replicas starting together one key from one Secret (the create race loser reads the winner\'s)', async () => {
    const keys = await Promise.all([1, 2, 3].map(() => loadSecretHashKeyFromSecret(kc, 'driftgate')));
    assert.equal(new Set(keys.map((k) => Buffer.from(k).toString('hex'))).size, 1);
    assert.ok(keys[0]!.length >= 32);
    assert.ok(api.get('secrets', 'driftgate', SECRET_HASH_KEY_SECRET));
    const again = await loadSecretHashKeyFromSecret(kc, 'driftgate');
    assert.deepEqual(Buffer.from(again), Buffer.from(keys[0]!));
  });

  it('creates the file once, 0600, and reads the same key afterwards', () => {
    const dir = join(tempDir('driftgate-hash-key-'), 'keys');
    const key = loadSecretHashKey(dir);
    assert.equal(statSync(join(dir, 'secret-hash.key')).mode & 0o777, 0o600);
    assert.deepEqual(Buffer.from(loadSecretHashKey(dir)), Buffer.from(key));
    assert.deepEqual(Buffer.from(readSecretHashKey(join(dir, 'secret-hash.key'))!), Buffer.from(key));
    assert.equal(readFileSync(join(dir, 'secret-hash.key'), 'utf8'), Buffer.from(key).toString('base64'));
  });

  it('refuses a key file that is too short, saying what it expected', () => {
    const file = join(tempDir('driftgate-hash-key-'), 'short.key');
    writeFileSync(file, Buffer.from('short').toString('base64'));
    assert.throws(() => readSecretHashKey(file), /at least 16 bytes/);
  });
});
