/**
 * Reading metadata.managedFields (FieldsV1): which list fields are associative and by which keys
 * (`k:{"name":"api"}`), and which fields a set of field managers owns.
 *
 * FieldsV1 keys: `f:<field>` a field, `k:<json>` a list item by merge key, `v:<json>` a set value,
 * `i:<n>` an item by index, `.` the node itself.
 *
 * Field sets are indexed once per request into a tree of Maps keyed by canonical segment keys, so
 * asking whether a set owns a path costs the path's length, never the size of the set: a request
 * whose managedFields lists 8,000 env vars is decided in linear time.
 */
import { itemSeg, keySeg, type FieldPath, type Segment } from '../lib/field-path.ts';
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

/**
 * A union of FieldsV1 sets, indexed. `whole`: some entry owns this node as a leaf (an atomic field such
 * as `f:selector: {}`), so it owns everything below. `seg`: the path segment the node stands for
 * (absent for `.`, `v:` and `i:` nodes, which name the parent's value itself).
 */
export class FieldSet {
  readonly children = new Map<string, FieldSet>();
  whole = false;
  readonly seg: Segment | undefined;
  constructor(seg: Segment | undefined) {
    this.seg = seg;
  }
}

const MAX_SET_DEPTH = 64;

function newNode(seg: Segment | undefined): FieldSet {
  return new FieldSet(seg);
}

/** Canonical key of an associative-list item: its merge keys sorted, values as text. */
function itemKey(keys: Readonly<Record<string, unknown>>): string {
  const names = Object.keys(keys).sort();
  return `k:${JSON.stringify(names.map((n) => [n, String(keys[n])]))}`;
}

/** The canonical key of a path segment, as field-set nodes are keyed. */
export function segmentKey(seg: Segment): string {
  return seg.k === 'key' ? `f:${seg.key}` : itemKey(seg.keys);
}

function insert(node: FieldSet, fields: JsonObject, depth: number): void {
  let any = false;
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue;
    any = true;
    const child = fields[key];
    if (!isObject(child) || depth >= MAX_SET_DEPTH) continue;
    let canonical = key;
    let seg: Segment | undefined;
    if (key.startsWith('f:')) seg = keySeg(key.slice(2));
    else if (key.startsWith('k:')) {
      const item = parseItemKey(key);
      if (!item) continue; // unreadable: matches nothing
      const keys = Object.create(null) as Record<string, string | number | boolean>;
      for (const n of Object.keys(item)) {
        const v = item[n];
        keys[n] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
      }
      seg = itemSeg(keys);
      canonical = itemKey(keys);
    }
    let next = node.children.get(canonical);
    if (!next) node.children.set(canonical, (next = newNode(seg)));
    insert(next, child, depth + 1);
  }
  if (!any) node.whole = true;
}

/** One indexed set for several FieldsV1 objects (the entries of one or more managers). */
export function fieldSetOf(sets: readonly JsonObject[]): FieldSet | undefined {
  if (sets.length === 0) return undefined;
  const root = newNode(undefined);
  for (const s of sets) insert(root, s, 0);
  root.whole = false; // an empty entry owns nothing
  return root;
}

/** The FieldsV1 objects of the managedFields entries written by any of `managers`. */
export function fieldsOf(entries: readonly ManagedFieldsEntry[] | undefined, managers: ReadonlySet<string>): JsonObject[] {
  if (!Array.isArray(entries)) return [];
  const out: JsonObject[] = [];
  for (const e of entries) {
    if (isObject(e) && typeof e.manager === 'string' && managers.has(e.manager) && isObject(e.fieldsV1)) out.push(e.fieldsV1);
  }
  return out;
}

/** The indexed union of the fields `managers` own: one set, or none when no entry is theirs. */
export function fieldSetsOf(entries: readonly ManagedFieldsEntry[] | undefined, managers: ReadonlySet<string>): FieldSet[] {
  const set = fieldSetOf(fieldsOf(entries, managers));
  return set ? [set] : [];
}

// A raw FieldsV1 object passed to fieldSetOwns is indexed once, on first use.
const INDEXED = new WeakMap<JsonObject, FieldSet>();

function indexed(set: FieldSet | JsonObject): FieldSet {
  if (set instanceof FieldSet) return set;
  let found = INDEXED.get(set);
  if (!found) INDEXED.set(set, (found = fieldSetOf([set])!));
  return found;
}

/**
 * True when the set owns `path`: the path exists in it, or it owns an ancestor as a leaf
 * (an atomic field such as `f:selector: {}` owns everything below it).
 */
export function fieldSetOwns(set: FieldSet | JsonObject | undefined, path: FieldPath): boolean {
  if (!set) return false;
  const root = indexed(set);
  let node = root;
  for (const seg of path) {
    if (node.whole) return true;
    const next = node.children.get(segmentKey(seg));
    if (!next) return false;
    node = next;
  }
  return true;
}

export function anyFieldSetOwns(sets: readonly (FieldSet | JsonObject)[], path: FieldPath): boolean {
  return sets.some((s) => fieldSetOwns(s, path));
}

/** Who owns which paths, as classify asks it: one question per change. */
export interface FieldOwnership {
  owns(path: FieldPath): boolean;
}

// Canonical item keys of raw `k:{…}` keys repeat across requests; remember them (bounded).
const ITEM_KEYS = new Map<string, string | null>();

function canonicalOfRaw(k: string): string | undefined {
  let c = ITEM_KEYS.get(k);
  if (c === undefined) {
    const item = parseItemKey(k);
    c = item ? itemKey(item) : null;
    if (ITEM_KEYS.size >= KEY_NAMES_MAX) ITEM_KEYS.clear();
    ITEM_KEYS.set(k, c);
  }
  return c ?? undefined;
}

/** fieldSetOwns on the raw FieldsV1 object: costs up to the set's size, no index built. */
function rawOwns(set: JsonObject, path: FieldPath): boolean {
  let node: JsonObject = set;
  for (const seg of path) {
    if (node !== set && !hasKeys(node)) return true;
    let next: unknown;
    if (seg.k === 'key') {
      const f = `f:${seg.key}`;
      next = Object.hasOwn(node, f) ? node[f] : undefined;
    } else {
      const want = itemKey(seg.keys);
      for (const k in node) {
        if (Object.hasOwn(node, k) && k.startsWith('k:') && canonicalOfRaw(k) === want) {
          next = node[k];
          break;
        }
      }
    }
    if (!isObject(next)) return false;
    node = next;
  }
  return true;
}

/** Raw lookups a single set answers before it is indexed: a few changes never pay for an index. */
const RAW_LOOKUPS = 8;

/**
 * Ownership of the union of `sets`, answered in time linear in the request: one set is first asked
 * directly (a handful of lookups, each at most the set's size), then indexed once; several sets
 * are indexed as one union at once, so many entries cannot multiply the cost of each lookup.
 */
export function fieldOwnership(sets: readonly JsonObject[]): FieldOwnership | undefined {
  if (sets.length === 0) return undefined;
  let index: FieldSet | undefined = sets.length > 1 ? fieldSetOf(sets) : undefined;
  let raw = 0;
  const only = sets[0]!;
  return {
    owns(path) {
      if (!index && raw < RAW_LOOKUPS) {
        raw += 1;
        return rawOwns(only, path);
      }
      index ??= fieldSetOf(sets)!;
      return fieldSetOwns(index, path);
    },
  };
}

/** True when every field `a` holds is held by `b` too (same serialization, as the API server writes). */
export function fieldsWithin(a: JsonObject, b: JsonObject, depth = 0): boolean {
  if (depth > MAX_SET_DEPTH) return false;
  if (!hasKeys(b) && depth > 0) return true; // b owns this node whole
  for (const k in a) {
    if (!Object.hasOwn(a, k)) continue;
    if (!Object.hasOwn(b, k)) return false;
    const av = a[k];
    const bv = b[k];
    if (isObject(av) && isObject(bv)) {
      if (hasKeys(av) && !fieldsWithin(av, bv, depth + 1)) return false;
    } else if (isObject(av) !== isObject(bv)) return false;
  }
  return true;
}
