/**
 * Reading metadata.managedFields (FieldsV1): which list fields are associative and by which keys
 * (`k:{"name":"api"}`), and which fields a set of field managers owns.
 *
 * FieldsV1 keys: `f:<field>` a field, `k:<json>` a list item by merge key, `v:<json>` a set value,
 * `i:<n>` an item by index, `.` the node itself.
 *
 * A field set is read as the API server wrote it. `f:` keys are looked up directly; the `k:` items
 * of a node are indexed by their canonical key the first time a path asks for one (a Map per list
 * node, built once), so asking whether a set owns a path costs the path's length, never the size
 * of the set: a request whose managedFields lists 8,000 env vars is decided in linear time.
 * Several sets are merged into one union first, so many entries cannot multiply the cost either.
 */
import { itemSeg, keySeg, type FieldPath, type Segment } from '../lib/field-path.ts';
import type { MergeKeyNode } from './diff.ts';
import type { JsonObject, ManagedFieldsEntry } from './types.ts';


function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The most fields a `k:{…}` key may name to be read as a list item's merge keys. Real ones name one to
 * three (a port and its protocol); the diff reads every named field of every item, so a key naming 30,000
 * fields, which the API server stores as it is, made one 0.7 MB write cost seconds. A key naming more
 * gives no merge keys (another manager's key for the same list still does). Its length is not bounded:
 * a merge-key value may be long (the API server takes an env var named by 4,201 characters), and a key
 * left unread would hide which item a field belongs to from the ownership walks.
 */
export const MAX_ITEM_KEY_FIELDS = 16;

function parseItemKey(k: string): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(k.slice(2));
  } catch {
    return undefined;
  }
  if (!isObject(v)) return undefined;
  let fields = 0;
  for (const name in v) if (Object.hasOwn(v, name) && ++fields > MAX_ITEM_KEY_FIELDS) return undefined;
  return v as Record<string, unknown>;
}

// `k:{…}` keys repeat across requests for the same objects; remember their key names (bounded: at most
// 10,000 keys of at most 256 characters, so ~5 MiB; a longer key is parsed each time it is met, since a
// cache of whatever text requests send would keep it: 40 keys of 4 MiB once held 168 MiB).
const KEY_NAMES = new Map<string, readonly string[] | null>();
const KEY_NAMES_MAX = 10_000;
const KEY_NAMES_TEXT_MAX = 256;

function itemKeyNames(k: string): readonly string[] | undefined {
  let names = KEY_NAMES.get(k);
  if (names === undefined) {
    const item = parseItemKey(k);
    names = item ? Object.keys(item) : null;
    if (k.length <= KEY_NAMES_TEXT_MAX) {
      if (KEY_NAMES.size >= KEY_NAMES_MAX) KEY_NAMES.clear();
      KEY_NAMES.set(k, names);
    }
  }
  return names ?? undefined;
}

function hasKeys(o: JsonObject): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}

/** One node of the merge-key tree: the list's key names here, and children by field name or `[]`. */
class KeyNode implements MergeKeyNode {
  keys: readonly string[] | undefined;
  children: Map<string, KeyNode> | undefined;

  child(segment: string): KeyNode | undefined {
    return this.children?.get(segment);
  }

  at(segment: string): KeyNode {
    this.children ??= new Map();
    let next = this.children.get(segment);
    if (!next) this.children.set(segment, (next = new KeyNode()));
    return next;
  }
}

function collectKeys(node: JsonObject, into: KeyNode, depth: number): void {
  if (depth > 64) return;
  for (const key in node) {
    if (!Object.hasOwn(node, key)) continue;
    const child = node[key];
    if (!isObject(child)) continue;
    const kind = key.charCodeAt(0);
    if (kind === 102 /* f */ && key.charCodeAt(1) === 58 /* : */) {
      // A leaf `{}` cannot hold list keys: skip the call.
      if (hasKeys(child)) collectKeys(child, into.at(key.slice(2)), depth + 1);
    } else if (kind === 107 /* k */ && key.charCodeAt(1) === 58) {
      if (!into.keys) {
        const names = itemKeyNames(key);
        if (names) into.keys = names;
      }
      collectKeys(child, into.at('[]'), depth + 1);
    }
  }
}

/** The merge keys that managedFields `k:{…}` entries give, as a tree the diff descends (see MergeKeyNode). */
export function mergeKeyTree(entries: readonly ManagedFieldsEntry[] | undefined): MergeKeyNode {
  const root = new KeyNode();
  if (Array.isArray(entries)) for (const e of entries) if (isObject(e?.fieldsV1)) collectKeys(e.fieldsV1, root, 0);
  return root;
}

/**
 * A place in a merge-key tree that is built from managedFields only when some list asks for its keys:
 * most diffs meet only well-known lists (containers, env, ports) and never need it, and building it
 * reads every managedFields entry. Descending records the field name; a cursor resolves once, from its
 * parent's resolution, so each visited key is looked up once, as with the built tree.
 */
class LazyCursor implements MergeKeyNode {
  readonly #parent: LazyCursor | undefined;
  readonly #segment: string;
  readonly #build: () => MergeKeyNode;
  #resolved: MergeKeyNode | undefined | null = null;

  constructor(parent: LazyCursor | undefined, segment: string, build: () => MergeKeyNode) {
    this.#parent = parent;
    this.#segment = segment;
    this.#build = build;
  }

  resolve(): MergeKeyNode | undefined {
    if (this.#resolved === null) this.#resolved = this.#parent ? this.#parent.resolve()?.child(this.#segment) : this.#build();
    return this.#resolved;
  }

  get keys(): readonly string[] | undefined {
    return this.resolve()?.keys;
  }

  child(segment: string): MergeKeyNode | undefined {
    if (this.#resolved === undefined) return undefined; // resolved already: nothing below
    return new LazyCursor(this, segment, this.#build);
  }
}

/** A merge-key tree built from managedFields on first use (see LazyCursor). */
export function lazyMergeKeyTree(entries: readonly ManagedFieldsEntry[]): MergeKeyNode {
  let tree: MergeKeyNode | undefined;
  return new LazyCursor(undefined, '', () => (tree ??= mergeKeyTree(entries)));
}

const MAX_SET_DEPTH = 64;

/** Canonical key of an associative-list item: its merge keys sorted, values as text. */
function itemKey(keys: Readonly<Record<string, unknown>>): string {
  const names = Object.keys(keys);
  if (names.length === 1) return `k:${names[0]!}\u0000${String(keys[names[0]!])}`;
  return `k:${JSON.stringify(names.sort().map((n) => [n, String(keys[n])]))}`;
}

// Item segments are shared by every change below one list item: canonicalize each once.
const SEGMENT_KEYS = new WeakMap<object, string>();

/** The canonical key of a path segment: `f:<name>`, or the canonical item key. */
export function segmentKey(seg: Segment): string {
  if (seg.k === 'key') return `f:${seg.key}`;
  let k = SEGMENT_KEYS.get(seg.keys);
  if (k === undefined) SEGMENT_KEYS.set(seg.keys, (k = itemKey(seg.keys)));
  return k;
}

/** The canonical key of a raw `k:{…}` key, or undefined when it does not parse. */
export function canonicalOfRaw(k: string): string | undefined {
  const item = parseItemKey(k);
  return item ? itemKey(item) : undefined;
}

/** The item segment a raw `k:{…}` key stands for. */
export function itemSegOfRaw(k: string): Segment | undefined {
  const item = parseItemKey(k);
  if (!item) return undefined;
  const keys = Object.create(null) as Record<string, string | number | boolean>;
  for (const n of Object.keys(item)) {
    const v = item[n];
    keys[n] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
  }
  return itemSeg(keys);
}

/** The segment a raw FieldsV1 key stands for; undefined for `.`, `v:` and `i:` (the node itself). */
export function segmentOfRaw(k: string): Segment | undefined {
  if (k.startsWith('f:')) return keySeg(k.slice(2));
  return k.startsWith('k:') ? itemSegOfRaw(k) : undefined;
}

// The `k:` items of a list node, by canonical key: built once per node, on the first item lookup.
const ITEMS = new WeakMap<JsonObject, Map<string, JsonObject>>();

/** The child of `node` for the item key `want` (canonical). */
function itemChild(node: JsonObject, want: string): JsonObject | undefined {
  let index = ITEMS.get(node);
  if (!index) {
    index = new Map();
    for (const k in node) {
      const child = node[k];
      if (!Object.hasOwn(node, k) || !k.startsWith('k:') || !isObject(child)) continue;
      const c = canonicalOfRaw(k);
      if (c !== undefined && !index.has(c)) index.set(c, child);
    }
    ITEMS.set(node, index);
  }
  return index.get(want);
}

/** The child of a raw field-set node at `seg`. */
export function childAt(node: JsonObject, seg: Segment): JsonObject | undefined {
  if (seg.k === 'key') {
    const f = `f:${seg.key}`;
    const next = Object.hasOwn(node, f) ? node[f] : undefined;
    return isObject(next) ? next : undefined;
  }
  return itemChild(node, segmentKey(seg));
}

// Whether a node holds anything: `for…in` lists every key first, so a 20,000-item node is asked once.
const HOLDS = new WeakMap<JsonObject, boolean>();

/** A node that holds nothing below it owns its whole value (an atomic field such as `f:selector: {}`). */
export function ownsWhole(node: JsonObject): boolean {
  let holds = HOLDS.get(node);
  if (holds === undefined) HOLDS.set(node, (holds = hasKeys(node)));
  return !holds;
}

/**
 * ownsWhole without the cache, for walks that visit each node once: a WeakMap entry per node costs
 * more than looking (a node is usually `{}` or small).
 */
export function holdsNothing(node: JsonObject): boolean {
  return !hasKeys(node);
}

// A union node that owns its whole value (an empty node in some entry): one shared, frozen, empty node.
// (A new node per leaf, remembered in a WeakSet, made a union of 35,000 leaves cost ~30 ms.)
const WHOLE: JsonObject = Object.freeze(Object.create(null) as JsonObject);

/** Copies `src` into `into` (prototype-less), an empty node winning: it owns everything below. */
function mergeInto(into: Record<string, unknown>, src: JsonObject, depth: number): void {
  for (const k in src) {
    if (!Object.hasOwn(src, k)) continue;
    const v = src[k];
    if (!isObject(v) || depth >= MAX_SET_DEPTH) continue;
    const have = into[k] as Record<string, unknown> | undefined;
    if (have === WHOLE) continue;
    if (!hasKeys(v)) {
      into[k] = WHOLE;
    } else if (have === undefined) {
      const copy = Object.create(null) as Record<string, unknown>;
      mergeInto(copy, v, depth + 1);
      into[k] = copy;
    } else {
      mergeInto(have, v, depth + 1);
    }
  }
}

/** One field set for several FieldsV1 objects (the entries of one or more managers). */
export function unionOf(sets: readonly JsonObject[]): JsonObject | undefined {
  if (sets.length <= 1) return sets[0];
  const out = Object.create(null) as Record<string, unknown>;
  for (const s of sets) mergeInto(out, s, 0);
  return out;
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

/** The union of the fields `managers` own: one set, or none when no entry is theirs. */
export function fieldSetsOf(entries: readonly ManagedFieldsEntry[] | undefined, managers: ReadonlySet<string>): JsonObject[] {
  const set = unionOf(fieldsOf(entries, managers));
  return set ? [set] : [];
}

/**
 * True when the set owns `path`: the path exists in it, or it owns an ancestor as a leaf
 * (an atomic field such as `f:selector: {}` owns everything below it).
 */
export function fieldSetOwns(set: JsonObject | undefined, path: FieldPath): boolean {
  if (!set) return false;
  let node = set;
  for (const seg of path) {
    if (node !== set && ownsWhole(node)) return true;
    const next = childAt(node, seg);
    if (!next) return false;
    node = next;
  }
  return true;
}

export function anyFieldSetOwns(sets: readonly JsonObject[], path: FieldPath): boolean {
  return sets.some((s) => fieldSetOwns(s, path));
}

/** Who owns which paths, as classify asks it: one question per change. */
export interface FieldOwnership {
  owns(path: FieldPath): boolean;
}

/** Ownership of the union of `sets`; linear in the request however many entries and paths. */
export function fieldOwnership(sets: readonly JsonObject[]): FieldOwnership | undefined {
  if (sets.length === 0) return undefined;
  let set: JsonObject | undefined;
  return { owns: (path) => fieldSetOwns((set ??= unionOf(sets)), path) }; // the union is made on first use
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
