/**
 * The key of the keyed hash that stands in for Secret values in denials, logs and tasks
 * (HMAC-SHA256): without it nobody can check a guessed password against a hash they read. One
 * per installation, kept with the signing keys: `<keys dir>/secret-hash.key` (0600), or in cluster
 * mode the Secret `driftgate-secret-hash-key` shared by the replicas (the first creates it). The key
 * is data passed into the pure redaction step; `tasks verify` reads the same key to hash Git's values.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { DriftgateError, errorMessage } from '../errors.ts';

export const SECRET_HASH_KEY_FILE = 'secret-hash.key';
export const SECRET_HASH_KEY_SECRET = 'driftgate-secret-hash-key';
const KEY_BYTES = 32;

function decodeKey(text: string, where: string): Uint8Array {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length < 16) {
    throw new DriftgateError('INTERNAL', `secret hash key ${where} is unreadable: expected at least 16 bytes of base64, got ${key.length}`);
  }
  return key;
}

/** The key in `file`, or undefined when there is no such file. */
export function readSecretHashKey(file: string): Uint8Array | undefined {
  if (!existsSync(file)) return undefined;
  return decodeKey(readFileSync(file, 'utf8'), file);
}

/** The key in `<dir>/secret-hash.key`, created (0600) on first use. */
export function loadSecretHashKey(dir: string): Uint8Array {
  const file = join(dir, SECRET_HASH_KEY_FILE);
  const existing = readSecretHashKey(file);
  if (existing) return existing;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  try {
    writeFileSync(file, key.toString('base64'), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readSecretHashKey(file)!; // another process won
    throw err;
  }
  chmodSync(file, 0o600);
  return key;
}

/** The key in the Secret `name`, created once by the first replica (409: another replica won). */
export async function loadSecretHashKeyFromSecret(kc: KubeConfig, namespace: string, name = SECRET_HASH_KEY_SECRET): Promise<Uint8Array> {
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const api = kc.makeApiClient(CoreV1Api);
  const status = (err: unknown) => (err as { code?: number }).code;
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    try {
      const secret = await api.readNamespacedSecret({ name, namespace });
      const data = secret.data?.[SECRET_HASH_KEY_FILE];
      if (data) return decodeKey(Buffer.from(data, 'base64').toString('utf8'), `${namespace}/${name}`);
      throw new DriftgateError('INTERNAL', `Secret ${namespace}/${name} has no ${SECRET_HASH_KEY_FILE} entry`);
    } catch (err) {
      if (err instanceof DriftgateError) throw err;
      if (status(err) !== 404) throw new DriftgateError('INTERNAL', `cannot read the secret hash key Secret ${namespace}/${name}: ${errorMessage(err)}`, { cause: err });
    }
    const key = randomBytes(KEY_BYTES);
    try {
      await api.createNamespacedSecret({
        namespace,
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'Opaque',
          metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'driftgate' } },
          data: { [SECRET_HASH_KEY_FILE]: Buffer.from(key.toString('base64')).toString('base64') },
        },
      });
      return key;
    } catch (err) {
      if (status(err) !== 409) throw new DriftgateError('INTERNAL', `cannot create the secret hash key Secret ${namespace}/${name}: ${errorMessage(err)}`, { cause: err });
    }
  }
  throw new DriftgateError('INTERNAL', `the secret hash key Secret ${namespace}/${name} kept changing`);
}
