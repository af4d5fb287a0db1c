/**
 * Decode: raw body → a checked AdmissionRequest, or a DriftgateError with a message that names the
 * problem. Nothing here trusts the input: every field the decision reads is type-checked. (Nesting is
 * bounded where objects are walked, in diff.ts.)
 */
import { isUtf8 } from 'node:buffer';
import { DriftgateError } from '../errors.ts';
import { parseJsonExact } from '../lib/exact-json.ts';
import { ownValue } from '../lib/value.ts';
import { shownName } from './target.ts';
import type { AdmissionRequest, KubeObject, Operation } from './types.ts';

const OPERATIONS: ReadonlySet<string> = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);
export const REVIEW_API_VERSION = 'admission.k8s.io/v1';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function malformed(message: string): DriftgateError {
  return new DriftgateError('REVIEW_MALFORMED', `malformed AdmissionReview: ${message}`);
}

function str(o: Obj, key: string, where: string, optional = false): string {
  const v = o[key];
  if (v === undefined && optional) return '';
  if (typeof v !== 'string') throw malformed(`${where}.${key} must be a string${v === undefined ? ' (missing)' : `, got ${typeName(v)}`}`);
  return v;
}

/** A value of the request in a message: text cut like every name driftgate shows (MAX_SHOWN), anything else by its type. */
function shown(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(shownName(v)) : typeName(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  return Array.isArray(v) ? 'array' : typeof v;
}

function gvk<T extends 'kind' | 'resource'>(o: Obj, key: string, leaf: T): Record<'group' | 'version' | T, string> {
  const v = o[key];
  if (!isObj(v)) throw malformed(`request.${key} must be an object with group, version and ${leaf}`);
  return {
    group: str(v, 'group', `request.${key}`, true),
    version: str(v, 'version', `request.${key}`),
    [leaf]: str(v, leaf, `request.${key}`),
  } as Record<'group' | 'version' | T, string>;
}

function kubeObject(o: Obj, key: 'object' | 'oldObject'): KubeObject | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (!isObj(v)) throw malformed(`request.${key} must be an object or null, got ${typeName(v)}`);
  if (v.metadata !== undefined && !isObj(v.metadata)) throw malformed(`request.${key}.metadata must be an object`);
  const md = v.metadata as Obj | undefined;
  for (const m of ['labels', 'annotations'] as const) {
    const map = md?.[m];
    if (map !== undefined && map !== null && !isObj(map)) throw textMapError(key, m);
  }
  if (md?.managedFields !== undefined && md.managedFields !== null && !Array.isArray(md.managedFields)) {
    throw malformed(`request.${key}.metadata.managedFields must be a list`);
  }
  return v as KubeObject;
}

function textMapError(key: 'object' | 'oldObject', m: 'labels' | 'annotations'): DriftgateError {
  return malformed(`request.${key}.metadata.${m} must map strings to strings`);
}

/**
 * Every label and annotation value is text. Checked by the decision when it is about to compare the
 * write, after it has counted the review's keys (limits.maxKeys), not while decoding: listing the values
 * of a map of 380,000 labels is V8's own O(N log N) work, and until then only single keys are looked up
 * (ownership and levers read them one at a time, as text or not at all).
 */
export function assertTextMaps(r: AdmissionRequest): void {
  eachTextMap(r, (map, key, m) => {
    for (const k in map) if (Object.hasOwn(map, k) && typeof map[k] !== 'string') throw textMapError(key, m);
  });
}

/**
 * The given keys of the labels and annotations, where a review has them, are text: the policy's tracking
 * markers, which ownership reads before the rest is checked (assertTextMaps, after the key count). A
 * marker that is a map or a number must not read as "no marker"; the API server stores only text, so
 * this is a hand-made review: a 400 as any malformed one.
 */
export function assertKeysText(r: AdmissionRequest, keys: Readonly<Record<'labels' | 'annotations', readonly string[]>>): void {
  eachTextMap(r, (map, key, m) => {
    for (const name of keys[m]) {
      const v = ownValue(map, name);
      if (v !== undefined && typeof v !== 'string') throw textMapError(key, m);
    }
  });
}

/** Each labels or annotations map of the object and the old object (decodeReview has checked it is a map). */
function eachTextMap(r: AdmissionRequest, visit: (map: Obj, key: 'object' | 'oldObject', m: 'labels' | 'annotations') => void): void {
  for (const key of ['object', 'oldObject'] as const) {
    const md = r[key]?.metadata;
    for (const m of ['labels', 'annotations'] as const) {
      const map = md?.[m] as Obj | null | undefined;
      if (map !== undefined && map !== null) visit(map, key, m);
    }
  }
}

/** The request uid, when the body got far enough to have one: every answer echoes it. */
export function uidOf(parsed: unknown): string {
  if (!isObj(parsed) || !isObj(parsed.request)) return '';
  return typeof parsed.request.uid === 'string' ? parsed.request.uid : '';
}

/**
 * JSON.parse's message, without the input it quotes ("Unexpected token 'x', "…" is not valid JSON" would
 * echo bytes of a Secret): only the engine's fixed wording and the position are kept.
 */
function jsonSyntaxProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : '';
  const positioned = /^([A-Za-z ,':{}[\]-]+?)(?: in JSON)? (at position \d+(?: \(line \d+ column \d+\))?)/.exec(message);
  if (positioned && !positioned[1]!.startsWith('Unexpected token')) return `${positioned[1]} ${positioned[2]}`;
  if (message.startsWith('Unexpected end of JSON input')) return 'the body ends inside a JSON value (truncated?)';
  return 'a character that cannot start or continue a JSON value';
}

export function parseReviewJson(body: string): unknown {
  try {
    return parseJsonExact(body); // integers beyond 2^53 stay exact
  } catch (err) {
    // an empty body is told apart only once parsing failed: no copy of every body on the hot path
    if (body.trim() === '') throw malformed('empty body');
    throw malformed(`invalid JSON: ${jsonSyntaxProblem(err)}; send the AdmissionReview as one JSON object`);
  }
}

/** The body as text. JSON is UTF-8 (RFC 8259 §8.1): other bytes are refused, never silently replaced. */
export function bodyText(body: Buffer): string {
  if (!isUtf8(body)) throw malformed('the body is not valid UTF-8: send the AdmissionReview as UTF-8 JSON');
  return body.toString('utf8');
}

/** The uid of a body that was refused before decoding (e.g. not UTF-8), when it can still be read. */
export function uidOfBytes(body: Buffer): string {
  try {
    return uidOf(JSON.parse(body.toString('utf8')));
  } catch {
    return '';
  }
}

export function decodeReview(parsed: unknown): AdmissionRequest {
  if (!isObj(parsed)) throw malformed(`expected a JSON object, got ${typeName(parsed)}`);
  if (parsed.apiVersion !== REVIEW_API_VERSION) {
    throw new DriftgateError(
      'REVIEW_UNSUPPORTED_VERSION',
      `unsupported AdmissionReview apiVersion ${shown(parsed.apiVersion ?? null)}: driftgate speaks ${REVIEW_API_VERSION} (admissionReviewVersions: [v1])`,
    );
  }
  if (parsed.kind !== 'AdmissionReview') throw malformed(`kind must be "AdmissionReview", got ${shown(parsed.kind ?? null)}`);
  const r = parsed.request;
  if (!isObj(r)) throw malformed('request is missing');
  const uid = str(r, 'uid', 'request');
  if (uid === '') throw malformed('request.uid is empty');
  const operation = str(r, 'operation', 'request');
  if (!OPERATIONS.has(operation)) throw malformed(`request.operation ${shown(operation)} is not CREATE, UPDATE, DELETE or CONNECT`);
  const ui = r.userInfo;
  if (!isObj(ui)) throw malformed('request.userInfo is missing');
  const groups = ui.groups ?? [];
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) {
    throw malformed('request.userInfo.groups must be a list of strings');
  }
  const dryRun = r.dryRun ?? false;
  if (typeof dryRun !== 'boolean') throw malformed('request.dryRun must be a boolean');
  const options = isObj(r.options) ? r.options : {};
  const subResource = str(r, 'subResource', 'request', true);
  const request: AdmissionRequest = {
    uid,
    kind: gvk(r, 'kind', 'kind'),
    resource: gvk(r, 'resource', 'resource'),
    subResource: subResource === '' ? undefined : subResource,
    name: str(r, 'name', 'request', true),
    namespace: str(r, 'namespace', 'request', true),
    operation: operation as Operation,
    userInfo: { username: str(ui, 'username', 'request.userInfo', true), groups: groups as string[] },
    object: kubeObject(r, 'object'),
    oldObject: kubeObject(r, 'oldObject'),
    dryRun,
    fieldManager: typeof options.fieldManager === 'string' ? options.fieldManager : undefined,
  };
  if (operation === 'UPDATE' && (!request.object || !request.oldObject)) {
    throw malformed('UPDATE needs both request.object and request.oldObject');
  }
  if (operation === 'CREATE' && !request.object) throw malformed('CREATE needs request.object');
  if (operation === 'DELETE' && !request.oldObject) throw malformed('DELETE needs request.oldObject');
  return request;
}
