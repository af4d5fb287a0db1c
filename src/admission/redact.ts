/**
 * Secret values never leave the diff step: a Secret's data, stringData and its last-applied
 * annotation (which holds the data too after a client-side apply) are replaced by a short hash, so
 * denials, logs and tasks can still show *that* a value changed and whether two values are equal.
 */
import { createHash } from 'node:crypto';
import { LAST_APPLIED } from './runtime-fields.ts';
import type { KubeObject } from './types.ts';

export function secretHash(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `<secret sha256:${createHash('sha256').update(text).digest('hex').slice(0, 12)}>`;
}

function hashValues(m: unknown): unknown {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return m === undefined ? m : secretHash(m);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) out[k] = secretHash(v);
  return out;
}

export function isSecretKind(group: string, kind: string): boolean {
  return group === '' && kind === 'Secret';
}

/** A copy of a Secret with every value hashed; other objects are returned as they are. */
export function redactSecret(obj: KubeObject | null): KubeObject | null {
  if (!obj || typeof obj !== 'object') return obj;
  const out: Record<string, unknown> = { ...obj };
  if ('data' in obj) out.data = hashValues(obj.data);
  if ('stringData' in obj) out.stringData = hashValues(obj.stringData);
  const ann = obj.metadata?.annotations;
  if (ann && typeof ann === 'object' && typeof ann[LAST_APPLIED] === 'string') {
    out.metadata = { ...obj.metadata, annotations: { ...ann, [LAST_APPLIED]: secretHash(ann[LAST_APPLIED]) } };
  }
  return out as KubeObject;
}

/** A value for one line of text: JSON, cut to `max` characters. */
export function showValue(v: unknown, max = 80): string {
  if (v === undefined) return '(absent)';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
