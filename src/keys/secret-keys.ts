/**
 * Grant-signing keys shared by replicas through one Secret (`<kid>.jwk.json` entries). The first
 * replica to start creates it (409 AlreadyExists → another replica won: use its key); rotation adds
 * an entry with the Secret's resourceVersion. Older keys stay and keep verifying.
 */
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { DriftgateError, errorMessage } from '../errors.ts';
import { KeyRing, newStoredKey, parseStoredKey, type StoredKey } from './key-ring.ts';

const code = (err: unknown) => (err as { code?: number }).code;

function keysOf(s: V1Secret): StoredKey[] {
  return Object.entries(s.data ?? {})
    .filter(([k]) => k.endsWith('.jwk.json'))
    .map(([k, v]) => parseStoredKey(Buffer.from(v, 'base64').toString('utf8'), `${s.metadata?.name}/${k}`));
}

async function withSecret(kc: KubeConfig, namespace: string, name: string, wantNewKey: (keys: StoredKey[]) => boolean, now: Date): Promise<StoredKey[]> {
  const api = kc.makeApiClient(CoreV1Api);
  for (let attempt = 1; attempt <= 5; attempt += 1) {
    let secret: V1Secret | undefined;
    try {
      secret = await api.readNamespacedSecret({ name, namespace });
    } catch (err) {
      if (code(err) !== 404) throw new DriftgateError('INTERNAL', `cannot read signing keys Secret ${namespace}/${name}: ${errorMessage(err)}`, { cause: err });
    }
    const keys = secret ? keysOf(secret) : [];
    if (!wantNewKey(keys)) return keys;
    const key = await newStoredKey(now);
    const data = { ...(secret?.data ?? {}), [`${key.kid}.jwk.json`]: Buffer.from(JSON.stringify(key)).toString('base64') };
    try {
      if (secret) await api.replaceNamespacedSecret({ name, namespace, body: { ...secret, data } });
      else await api.createNamespacedSecret({ namespace, body: { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'driftgate' } }, data } });
      return [...keys, key];
    } catch (err) {
      if (code(err) === 409) continue; // another replica wrote first: read again
      throw new DriftgateError('INTERNAL', `cannot write signing keys Secret ${namespace}/${name}: ${errorMessage(err)}`, { cause: err });
    }
  }
  throw new DriftgateError('INTERNAL', `signing keys Secret ${namespace}/${name} kept changing`);
}

export async function loadKeyRingFromSecret(kc: KubeConfig, namespace: string, name: string, now = new Date()): Promise<KeyRing> {
  return KeyRing.from(await withSecret(kc, namespace, name, (keys) => keys.length === 0, now));
}

/** Adds a new signing key to the Secret; replicas sign with it after they restart. */
export async function rotateSecretKey(kc: KubeConfig, namespace: string, name: string, now = new Date()): Promise<string> {
  const keys = await withSecret(kc, namespace, name, () => true, now); // the added key comes last
  return keys[keys.length - 1]!.kid;
}
