/**
 * Values as driftgate compares them, shared by the diff, `tasks verify` and the landing check:
 * one definition of "absent" and one exact equality.
 *
 * - `null` is absent (the API server drops nulls); `{}` and `[]` are values: an empty selector or an
 *   empty `automated: {}` means something, and removing it is a change.
 * - Integers beyond 2^53 arrive as raw JSON text (see exact-json.ts) and compare by their digits.
 */
import { DriftgateError } from '../errors.ts';

export const MAX_DEPTH = 100;

type Obj = Record<string, unknown>;

interface RawJsonApi {
  rawJSON(text: string): object;
  isRawJSON(v: unknown): boolean;
}
const RAW = JSON as unknown as RawJsonApi;

/** An exact number kept as its JSON text (JSON.rawJSON): a leaf, never a map. */
export function isRawJson(v: unknown): boolean {
  return RAW.isRawJSON(v);
}

export function rawJson(text: string): unknown {
  return RAW.rawJSON(text);
}

/** A JSON object (a map): not null, not a list, not an exact number. */
export function isMap(v: unknown): v is Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  // A raw JSON value has no prototype; asking only then keeps the common case cheap.
  return Object.getPrototypeOf(v) !== null || !RAW.isRawJSON(v);
}

/** The one definition of absent: undefined and null are; `{}` and `[]` are values. */
export function present(v: unknown): unknown {
  return v === null ? undefined : v;
}

/** Throws tooDeep when `v` nests deeper than MAX_DEPTH below `depth`; recursion stops there, so no stack overflows. */
export function assertDepth(v: unknown, depth = 0): void {
  if (typeof v !== 'object' || v === null) return;
  if (depth > MAX_DEPTH) throw tooDeep();
  if (Array.isArray(v)) for (const x of v) assertDepth(x, depth + 1);
  else for (const k in v) if (Object.hasOwn(v, k)) assertDepth((v as Obj)[k], depth + 1);
}

export function tooDeep(): DriftgateError {
  return new DriftgateError('REVIEW_TOO_DEEP', `malformed AdmissionReview: the object nests deeper than ${MAX_DEPTH} levels`);
}

/** Exact structural equality of JSON values (raw JSON numbers compare by their text). */
export function deepEqual(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (depth > MAX_DEPTH) throw tooDeep();
  // an exact number equals only the same exact number, never a map that spells `{"rawJSON": …}`
  const rawA = Object.getPrototypeOf(a) === null && RAW.isRawJSON(a);
  const rawB = Object.getPrototypeOf(b) === null && RAW.isRawJSON(b);
  if (rawA || rawB) return rawA && rawB && (a as { rawJSON: string }).rawJSON === (b as { rawJSON: string }).rawJSON;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i += 1) if (!deepEqual(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  // counted first, then compared: for…in, so no array of keys is made for each pair of maps
  if (ownKeyCount(a as Obj) !== ownKeyCount(b as Obj)) return false;
  for (const k in a) {
    if (!Object.hasOwn(a, k)) continue;
    if (!Object.hasOwn(b, k) || !deepEqual((a as Obj)[k], (b as Obj)[k], depth + 1)) return false;
  }
  return true;
}

/** How many own enumerable keys a map has, without making an array of them. */
export function ownKeyCount(o: Obj): number {
  let n = 0;
  for (const k in o) if (Object.hasOwn(o, k)) n += 1;
  return n;
}

/** Equal once null counts as absent. */
export const sameValue = (a: unknown, b: unknown): boolean => deepEqual(present(a), present(b));

/** An own property of a request's map (never one inherited from Object.prototype), or undefined. */
export function ownValue(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null && Object.hasOwn(o, key) ? (o as Obj)[key] : undefined;
}
