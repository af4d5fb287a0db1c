/**
 * The embedded journal's chain key: 32 random bytes per installation, kept with the grant-signing
 * keys (`<keys-dir>/journal-chain.key`, mode 0600), created on first start. Each journal record
 * carries HMAC-SHA256(key, previous MAC + body), so the chain cannot be recomputed after an edit by
 * anyone who cannot read the keys directory.
 */
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DriftgateError } from '../errors.ts';

export const JOURNAL_KEY_FILE = 'journal-chain.key';

export interface ChainKey {
  /** HMAC-SHA256 over `prev`, a newline and `body`, as 64 hex characters */
  mac(prev: string, body: string): string;
}

export function chainKeyFrom(secret: Buffer): ChainKey {
  if (secret.length < 32) throw new DriftgateError('INTERNAL', 'journal chain key must be at least 32 bytes');
  // A KeyObject: createHmac with a raw Buffer re-imports the key on every call (7x slower).
  const key = createSecretKey(secret);
  return { mac: (prev, body) => createHmac('sha256', key).update(prev).update('\n').update(body).digest('hex') };
}

/** Reads the chain key in `dir`; `create`: make one when there is none (a new installation). */
export function loadChainKey(dir: string, create: boolean): ChainKey {
  const file = join(dir, JOURNAL_KEY_FILE);
  if (!existsSync(file)) {
    if (!create) {
      throw new DriftgateError('INPUT_INVALID', `no journal chain key ${file}: point --keys-dir at the directory holding the server's keys`);
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(32).toString('base64'));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(file, 0o600);
  }
  const secret = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (secret.length !== 32) throw new DriftgateError('INPUT_INVALID', `journal chain key ${file} is not 32 base64-encoded bytes (edited or truncated?)`);
  return chainKeyFrom(secret);
}
