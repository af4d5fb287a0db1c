/**
 * Secret values never leave the diff step: a Secret's data, stringData and its last-applied
 * annotation (which holds the data too after a client-side apply) are replaced by a keyed hash
 * (HMAC-SHA256 with the installation's secret hash key), so denials, logs and tasks can still show
 * *that* a value changed and whether two values are equal, but nobody without the key can confirm a
 * guessed value offline. The key is data passed in; see src/keys/secret-hash-key.ts.
 */
import { createHash, hash, randomBytes } from 'node:crypto';
import type { FieldPath } from '../lib/field-path.ts';
import { jsonPrefix } from '../lib/json-prefix.ts';
import { assertDepth } from '../lib/value.ts';
import type { FieldChange } from './diff.ts';
import { LAST_APPLIED } from './runtime-fields.ts';
import type { KubeObject } from './types.ts';

export type SecretHashKey = Uint8Array;

/**
 * For callers that have no installation key (a one-off `driftgate review`): a key that lives only as
 * long as the process, so hashes compare within one run and confirm nothing afterwards.
 */
export const EPHEMERAL_SECRET_HASH_KEY: SecretHashKey = randomBytes(32);

const HASH_PREFIX = '<secret hmac-sha256:';

const BLOCK = 64;

/**
 * HMAC-SHA256 (RFC 2104) with the key's pads made once per key; each value then costs two one-shot
 * hashes (about 1.3 µs here, half of what copying prepared Hash objects costs).
 */
interface Pads {
  readonly inner: Buffer;
  readonly outer: Buffer;
}
const PADS = new WeakMap<SecretHashKey, Pads>();

function padsOf(key: SecretHashKey): Pads {
  let pads = PADS.get(key);
  if (!pads) {
    const k = Buffer.alloc(BLOCK);
    (key.length > BLOCK ? createHash('sha256').update(key).digest() : Buffer.from(key)).copy(k);
    const xor = (b: number) => Buffer.from(k.map((x) => x ^ b));
    pads = { inner: xor(0x36), outer: xor(0x5c) };
    PADS.set(key, pads);
  }
  return pads;
}

export function secretHash(value: unknown, key: SecretHashKey = EPHEMERAL_SECRET_HASH_KEY): string {
  if (typeof value !== 'string') assertDepth(value); // JSON.stringify recurses: hostile nesting is a 400, not a stack overflow
  // a non-text value is hashed with a prefix no text can start with: null never hashes like "null"
  const text = typeof value === 'string' ? value : `\u0000json:${JSON.stringify(value)}`;
  const { inner, outer } = padsOf(key);
  const innerHash = hash('sha256', Buffer.concat([inner, Buffer.from(text, 'utf8')]), 'buffer');
  const mac = hash('sha256', Buffer.concat([outer, innerHash]), 'hex');
  return `${HASH_PREFIX}${mac.slice(0, 16)}>`;
}

function hashValues(m: unknown, key: SecretHashKey): unknown {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return m === undefined ? m : secretHash(m, key);
  // Keys are the request's: `__proto__` must stay a data key, so no prototype to collide with.
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(m)) out[k] = secretHash((m as Record<string, unknown>)[k], key);
  return out;
}

export function isSecretKind(group: string, kind: string): boolean {
  return group === '' && kind === 'Secret';
}

/**
 * A copy of a Secret with every value hashed; other objects are returned as they are. Without the
 * installation's key, hashes compare only within this process.
 */
export function redactSecret(obj: KubeObject | null, key: SecretHashKey = EPHEMERAL_SECRET_HASH_KEY): KubeObject | null {
  if (!obj || typeof obj !== 'object') return obj;
  const out: Record<string, unknown> = { ...obj };
  if (Object.hasOwn(obj, 'data')) out.data = hashValues(obj.data, key);
  if (Object.hasOwn(obj, 'stringData')) out.stringData = hashValues(obj.stringData, key);
  const ann = obj.metadata?.annotations;
  if (ann && typeof ann === 'object' && Object.hasOwn(ann, LAST_APPLIED) && typeof ann[LAST_APPLIED] === 'string') {
    out.metadata = { ...obj.metadata, annotations: { ...ann, [LAST_APPLIED]: secretHash(ann[LAST_APPLIED], key) } };
  }
  return out as KubeObject;
}

/** A Secret value at `path` of a Secret, hashed; anything else as it is. */
function redactAt(path: FieldPath, v: unknown, key: SecretHashKey): unknown {
  if (v === undefined) return v;
  const [a, b, c] = path;
  if (!a) return redactSecret(v as KubeObject, key); // the whole object (a type change at the root)
  if (a.k !== 'key') return v;
  if (a.key === 'data' || a.key === 'stringData') return path.length === 1 ? hashValues(v, key) : secretHash(v, key);
  if (a.key !== 'metadata' || typeof v !== 'object' || v === null) {
    return a.key === 'metadata' && b?.k === 'key' && b.key === 'annotations' && c?.k === 'key' && c.key === LAST_APPLIED ? secretHash(v, key) : v;
  }
  // a whole metadata or annotations map: hash the last-applied annotation inside it
  if (!b) return (redactSecret({ metadata: v } as KubeObject, key) as { metadata: unknown }).metadata;
  if (b.k === 'key' && b.key === 'annotations' && !c) {
    return (redactSecret({ metadata: { annotations: v } } as KubeObject, key) as { metadata: { annotations: unknown } }).metadata.annotations;
  }
  return c?.k === 'key' && c.key === LAST_APPLIED ? secretHash(v, key) : v;
}

function mapOrAbsent(m: unknown): boolean {
  return m === undefined || m === null || (typeof m === 'object' && !Array.isArray(m));
}

/**
 * A Secret whose data and stringData are maps (what the API server stores): it can be diffed first
 * and hashed after, with SECRET_VALUE_MAPS making each value one change whatever its shape. Anything
 * else (a list or text in place of a map) is hashed whole before the diff. Constant time: a
 * 250,000-key Secret is not read here.
 */
export function hasDataMaps(obj: KubeObject | null): boolean {
  return !obj || (mapOrAbsent(obj.data) && mapOrAbsent(obj.stringData));
}

/** The Secret maps whose values the diff compares whole (see DiffOptions.opaque). */
export const SECRET_VALUE_MAPS: ReadonlySet<string> = new Set(['data', 'stringData']);

/**
 * The changes of a diff between two Secrets with every Secret value hashed. Diffing first and hashing
 * only what changed gives the same changes as diffing redacted copies (equal values, equal hashes),
 * but an edit of one key of a 100,000-key Secret hashes two values, not 200,000.
 */
export function redactSecretChanges(changes: readonly FieldChange[], key: SecretHashKey = EPHEMERAL_SECRET_HASH_KEY): FieldChange[] {
  return changes.map((c) => redactSecretChange(c, key));
}

/** One change of a Secret with its Secret values hashed (see redactSecretChanges). */
export function redactSecretChange(c: FieldChange, key: SecretHashKey = EPHEMERAL_SECRET_HASH_KEY): FieldChange {
  return { path: c.path, before: redactAt(c.path, c.before, key), after: redactAt(c.path, c.after, key) };
}

/** A value for one line of text: JSON, cut to `max` characters (only what shows is written). */
export function showValue(v: unknown, max = 80): string {
  if (v === undefined) return '(absent)';
  const text = jsonPrefix(v, max + 1) ?? String(v);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
