/**
 * driftgate's grant-signing keys: Ed25519 (jose), generated on first start, one private JWK per file
 * (mode 0600) in `<data-dir>/keys/`. The newest key signs; every key still on disk verifies, so a
 * rotation never invalidates grants signed before it. Public keys are served as a JWKS.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { DriftgateError, errorMessage } from '../errors.ts';

export const SIGNING_ALG = 'EdDSA';

/** A key as jose imports it (a WebCrypto Key on Node). */
export type Key = Awaited<ReturnType<typeof importJWK>>;

export interface StoredKey extends JWK {
  readonly kid: string;
  readonly createdAt: string;
}

export interface SigningKey {
  readonly kid: string;
  readonly key: Key;
}

/** A new Ed25519 signing key as a private JWK with its kid (the JWK thumbprint). */
export async function newStoredKey(now: Date): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg: SIGNING_ALG, use: 'sig', createdAt: now.toISOString() };
}

export function parseStoredKey(text: string, where: string): StoredKey {
  try {
    const k = JSON.parse(text) as StoredKey;
    if (k.kty !== 'OKP' || typeof k.d !== 'string' || typeof k.kid !== 'string') throw new Error('not an Ed25519 private JWK');
    return k;
  } catch (err) {
    throw new DriftgateError('INTERNAL', `signing key ${where} is unreadable: ${errorMessage(err)}`);
  }
}

async function newKeyFile(dir: string, now: Date): Promise<StoredKey> {
  const stored = await newStoredKey(now);
  const kid = stored.kid;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${now.toISOString().replace(/[:.]/g, '')}-${kid.slice(0, 12)}.jwk.json`);
  writeFileSync(file, JSON.stringify(stored), { mode: 0o600 });
  chmodSync(file, 0o600);
  return stored;
}

function readKeyFiles(dir: string): StoredKey[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jwk.json'))
    .map((f) => parseStoredKey(readFileSync(join(dir, f), 'utf8'), join(dir, f)));
}

function publicOf(k: StoredKey): JWK {
  return { kty: k.kty, crv: k.crv, x: k.x, kid: k.kid, alg: SIGNING_ALG, use: 'sig' };
}

export class KeyRing {
  readonly #signing: SigningKey;
  readonly #verify: ReadonlyMap<string, Key>;
  readonly #public: readonly JWK[];

  private constructor(signing: SigningKey, verify: Map<string, Key>, pub: JWK[]) {
    this.#signing = signing;
    this.#verify = verify;
    this.#public = pub;
  }

  /** Loads every key in `dir`, creating the first one when there is none. */
  static async load(dir: string, now: Date = new Date()): Promise<KeyRing> {
    let files = readKeyFiles(dir);
    if (files.length === 0) files = [await newKeyFile(dir, now)];
    return KeyRing.from(files);
  }

  /** A key ring from stored keys (files, or a Secret's entries); the newest signs. */
  static async from(stored: readonly StoredKey[]): Promise<KeyRing> {
    if (stored.length === 0) throw new DriftgateError('INTERNAL', 'no grant-signing key');
    const files = [...stored].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    const verify = new Map<string, Key>();
    let signing: SigningKey | undefined;
    for (const f of files) {
      const priv = (await importJWK({ ...f }, SIGNING_ALG)) as Key;
      const pub = (await importJWK(publicOf(f), SIGNING_ALG)) as Key;
      verify.set(f.kid, pub);
      signing = { kid: f.kid, key: priv };
    }
    return new KeyRing(signing!, verify, files.map(publicOf));
  }

  /** Adds a new signing key to `dir`; old keys stay and keep verifying. Returns the new kid. */
  static async rotate(dir: string, now: Date = new Date()): Promise<string> {
    return (await newKeyFile(dir, now)).kid;
  }

  get signing(): SigningKey {
    return this.#signing;
  }

  verificationKey(kid: string | undefined): Key | undefined {
    return kid === undefined ? undefined : this.#verify.get(kid);
  }

  jwks(): { keys: JWK[] } {
    return { keys: [...this.#public] };
  }
}
