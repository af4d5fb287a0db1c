/**
 * Reading metadata.managedFields (FieldsV1): which list fields are associative and by which keys
 * (`k:{"name":"api"}`), and which fields a set of field managers owns.
 *
 * FieldsV1 keys: `f:<field>` a field, `k:<json>` a list item by merge key, `v:<json>` a set value,
 * `i:<n>` an item by index, `.` the node itself.
 */
import type { FieldPath } from './field-path.ts';
import type { JsonObject, ManagedFieldsEntry } from './types.ts';

/** Abstract list path (`spec.template.spec.containers[].ports`) → merge key names. */
export type MergeKeyIndex = Map<string, readonly string[]>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseItemKey(k: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(k.slice(2));
    return isObject(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

// `k:{…}` keys repeat across requests for the same objects; remember their key names (bounded).
const KEY_NAMES = new Map<string, readonly string[] | null>();
const KEY_NAMES_MAX = 10_000;

function itemKeyNames(k: string): readonly string[] | undefined {
  let names = KEY_NAMES.get(k);
  if (names === undefined) {
    const item = parseItemKey(k);
    names = item ? Object.keys(item) : null;
    if (KEY_NAMES.size >= KEY_NAMES_MAX) KEY_NAMES.clear();
    KEY_NAMES.set(k, names);
  }
  return names ?? undefined;
}

function hasKeys(o: JsonObject): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}

function collectKeys(node: JsonObject, abstract: string, out: MergeKeyIndex, depth: number): void {
  if (depth > 64) return;
  for (const key in node) {
    const child = node[key];
    if (!isObject(child)) continue;
    const kind = key.charCodeAt(0);
    if (kind === 102 /* f */ && key.charCodeAt(1) === 58 /* : */) {
      // A leaf `{}` cannot hold list keys: skip the call.
      if (hasKeys(child)) collectKeys(child, abstract === '' ? key.slice(2) : `${abstract}.${key.slice(2)}`, out, depth + 1);
    } else if (kind === 107 /* k */ && key.charCodeAt(1) === 58) {
      if (!out.has(abstract)) {
        const names = itemKeyNames(key);
        if (names) out.set(abstract, names);
      }
      collectKeys(child, `${abstract}[]`, out, depth + 1);
    }
  }
}

export function mergeKeysFromManagedFields(entries: readonly ManagedFieldsEntry[] | undefined): MergeKeyIndex {
  const out: MergeKeyIndex = new Map();
  if (!Array.isArray(entries)) return out;
  for (const e of entries) if (isObject(e?.fieldsV1)) collectKeys(e.fieldsV1, '', out, 0);
  return out;
}

/** A merge-key index built from managedFields on first use: most diffs never need it. */
export function lazyMergeKeys(entries: readonly ManagedFieldsEntry[]): { get(path: string): readonly string[] | undefined } {
  let index: MergeKeyIndex | undefined;
  return {
    get: (path) => (index ??= mergeKeysFromManagedFields(entries)).get(path),
  };
}

/** The managedFields entries written by any of `managers`, or undefined when there are none. */
export function fieldSetsOf(
  entries: readonly ManagedFieldsEntry[] | undefined,
  managers: ReadonlySet<string>,
): JsonObject[] {
  if (!Array.isArray(entries)) return [];
  const out: JsonObject[] = [];
  for (const e of entries) {
    if (isObject(e) && typeof e.manager === 'string' && managers.has(e.manager) && isObject(e.fieldsV1)) {
      out.push(e.fieldsV1);
    }
  }
  return out;
}

function itemMatches(key: string, want: Readonly<Record<string, unknown>>): boolean {
  const item = parseItemKey(key);
  if (!item) return false;
  const names = Object.keys(want);
  if (names.length !== Object.keys(item).length) return false;
  return names.every((n) => String(item[n]) === String(want[n]));
}

/**
 * True when the field set owns `path`: the path exists in it, or it owns an ancestor as a leaf
 * (an atomic field such as `f:selector: {}` owns everything below it).
 */
export function fieldSetOwns(set: JsonObject, path: FieldPath): boolean {
  let node: JsonObject = set;
  for (const seg of path) {
    if (Object.keys(node).length === 0) return node !== set;
    let next: unknown;
    if (seg.k === 'key') {
      next = Object.hasOwn(node, `f:${seg.key}`) ? node[`f:${seg.key}`] : undefined;
    } else {
      for (const key of Object.keys(node)) {
        if (key.startsWith('k:') && itemMatches(key, seg.keys)) {
          next = node[key];
          break;
        }
      }
    }
    if (!isObject(next)) return false;
    node = next;
  }
  return true;
}

export function anyFieldSetOwns(sets: readonly JsonObject[], path: FieldPath): boolean {
  return sets.some((s) => fieldSetOwns(s, path));
}
