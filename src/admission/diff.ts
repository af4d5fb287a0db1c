/**
 * The normalized field diff: every leaf that differs between two objects, addressed by field path.
 *
 * - Associative lists are matched by merge key (from managedFields `k:{…}` keys when present, else the
 *   Kubernetes merge keys of well-known lists), so reordering a list is not a change and a path names
 *   the container, env var or port, never an index. Other lists are atomic: one leaf, whole value.
 * - Added or removed objects are walked to their leaves, so rules can match e.g. one new annotation.
 * - `{}` and `[]` are values: adding or removing an empty map or list is a change at its path (an
 *   empty selector, `automated: {}`). null is absent, unless `nullIsValue` (admission: see DiffOptions).
 * - Keys are request data: they are only ever compared, read with Object.hasOwn and stored in Maps
 *   or prototype-less objects, so `__proto__` or `constructor` is a key like any other.
 * - Every recursion here is bounded by MAX_DEPTH: hostile nesting becomes a 400, never a stack overflow.
 *   Parts of an object the walk never enters (runtime fields) are never recursed into by anyone.
 * - Changes are handed to a sink as they are found, and the sink may stop the walk: a decision that
 *   is already certain (a denial) does not read the other 100,000 fields of a hostile request.
 */
import { itemSeg, keySeg, type FieldPath, type Segment } from '../lib/field-path.ts';
import { assertDepth, deepEqual, isMap, MAX_DEPTH, ownKeyCount, present, tooDeep } from '../lib/value.ts';
import { isRuntimePath } from './runtime-fields.ts';

export { deepEqual, MAX_DEPTH, present };

export interface FieldChange {
  readonly path: FieldPath;
  /** undefined: the field is absent on that side */
  readonly before: unknown;
  readonly after: unknown;
}

/**
 * Merge keys as a tree that the walk descends with the object, one step per field name (`[]` for a
 * list's items): each key is looked up once, where it is visited, so no path string is ever built or
 * hashed (a 16,000-character key above 370,000 small lists once cost 8.5 s). See mergeKeyTree.
 */
export interface MergeKeyNode {
  /** the merge key names of the list at this node, from managedFields `k:{…}` */
  readonly keys: readonly string[] | undefined;
  child(segment: string): MergeKeyNode | undefined;
}

/** No merge keys from managedFields: lists use the API's fixed keys or a distinct `name`. */
export const NO_MERGE_KEYS: MergeKeyNode = { keys: undefined, child: () => undefined };

export interface DiffOptions {
  readonly mergeKeys: MergeKeyNode;
  /** skip runtime fields entirely (the webhook never needs them; `driftgate diff` shows them) */
  readonly skipRuntime: boolean;
  /**
   * Top-level maps whose values are compared whole, never walked into (a Secret's data and
   * stringData: each value is one change, so no value's shape becomes a path).
   */
  readonly opaque?: ReadonlySet<string>;
  /**
   * null is a value, not absence. Right for objects the API server sends a webhook: it drops the nulls
   * of typed fields before admission, so a null that arrives is one it stores (a Secret's `data.k: null`
   * becomes an empty value, a CR keeps it). Git manifests against live objects count null as absent.
   */
  readonly nullIsValue?: boolean;
}

type Obj = Record<string, unknown>;
type ItemKeys = Record<string, string | number | boolean>;

const BY_NAME = ['name'];
const KNOWN_LISTS: ReadonlyMap<string, readonly string[]> = new Map([
  ['containers', BY_NAME],
  ['initContainers', BY_NAME],
  ['ephemeralContainers', BY_NAME],
  ['env', BY_NAME],
  ['volumes', BY_NAME],
  ['volumeMounts', BY_NAME],
  ['imagePullSecrets', BY_NAME],
  ['resourceClaims', BY_NAME],
  ['volumeDevices', ['devicePath']],
  ['hostAliases', ['ip']],
  ['topologySpreadConstraints', ['topologyKey', 'whenUnsatisfiable']],
]);

const isObj = isMap;

/** True when every item of both lists passes `test` (the lists are read in place, never joined into a copy). */
function allItems(before: readonly unknown[], after: readonly unknown[], test: (item: unknown) => boolean): boolean {
  return before.every(test) && after.every(test);
}

const hasContainerPort = (i: unknown): boolean => isObj(i) && Object.hasOwn(i, 'containerPort');
const hasPort = (i: unknown): boolean => isObj(i) && Object.hasOwn(i, 'port');
const hasName = (i: unknown): boolean => isObj(i) && typeof i.name === 'string';

/** The Kubernetes merge keys of well-known lists; fixed by the API, so no managedFields needed. */
function knownKeys(field: string, before: readonly unknown[], after: readonly unknown[]): readonly string[] | undefined {
  const known = KNOWN_LISTS.get(field);
  if (known) return known;
  if (field === 'ports') {
    if (allItems(before, after, hasContainerPort)) return ['containerPort', 'protocol'];
    if (allItems(before, after, hasPort)) return ['port', 'protocol'];
  }
  return undefined;
}

/** Lists of objects that all carry a distinct name read best keyed by it. */
function nameKeys(before: readonly unknown[], after: readonly unknown[]): readonly string[] | undefined {
  return allItems(before, after, hasName) ? BY_NAME : undefined;
}

function itemKeysOf(item: unknown, names: readonly string[]): ItemKeys | undefined {
  if (!isObj(item)) return undefined;
  const keys: ItemKeys = {};
  let count = 0;
  for (const n of names) {
    if (n === '__proto__') return undefined; // a merge key by that name cannot be a plain key: atomic list
    let v = Object.hasOwn(item, n) ? item[n] : undefined;
    if (v === undefined && n === 'protocol') v = 'TCP'; // the API server's default
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      if (v === undefined && names.length > 1) continue; // optional part of a compound key
      return undefined;
    }
    keys[n] = v;
    count += 1;
  }
  return count > 0 ? keys : undefined;
}

/**
 * An item's identity within its list (a Map key: always a string, hashed with V8's per-process seed). One
 * merge key is its value with a type tag; compound keys are their JSON. Either way two items share an id
 * only if their keys match. indexByOne spares the tag when every id is a string.
 */
function itemId(k: ItemKeys, names: readonly string[]): string {
  if (names.length === 1) {
    const v = k[names[0]!];
    return typeof v === 'string' ? `s${v}` : `${typeof v}${String(v)}`;
  }
  return JSON.stringify(k);
}

/**
 * One item of an associative list: its merge keys and its value on each side (absent: undefined).
 * Keyed by one name, the keys are that name and the id, spelled out only for an item that differs.
 */
interface Paired {
  readonly keys: ItemKeys | undefined;
  readonly name: string;
  readonly id: string | number | boolean;
  a: unknown;
  b: unknown;
  hasB: boolean;
}

function keysOf(p: Paired): ItemKeys {
  return p.keys ?? { [p.name]: p.id };
}

/** Items by id, in the after list's order, then the items only the before list has. */
type ListIndex = Map<string, Paired>;

/** A key field the API server defaults (protocol) is part of the item's identity: fill it in. */
function withDefaults(item: unknown, k: ItemKeys): unknown {
  return isObj(item) && Object.hasOwn(k, 'protocol') && item.protocol === undefined ? { ...item, protocol: k.protocol } : item;
}

/**
 * Indexes both lists by the given merge key names (one Map lookup per item); undefined when an item
 * lacks them or two items of one list share a key.
 */
function indexBy(names: readonly string[], before: readonly unknown[], after: readonly unknown[]): ListIndex | undefined {
  const one = names.length === 1 ? names[0]! : undefined;
  if (one !== undefined && one !== 'protocol' && one !== '__proto__') return indexByOne(one, before, after);
  const m: ListIndex = new Map();
  for (const item of after) {
    const k = itemKeysOf(item, names);
    if (!k) return undefined;
    const id = itemId(k, names);
    if (m.has(id)) return undefined;
    m.set(id, { keys: k, name: '', id, a: withDefaults(item, k), b: undefined, hasB: false });
  }
  for (const item of before) {
    const k = itemKeysOf(item, names);
    if (!k) return undefined;
    const id = itemId(k, names);
    const p = m.get(id);
    if (p === undefined) m.set(id, { keys: k, name: '', id, a: undefined, b: withDefaults(item, k), hasB: true });
    else if (p.hasB) return undefined;
    else {
      p.b = withDefaults(item, k);
      p.hasB = true;
    }
  }
  return m;
}

/** The merge key's value of an item keyed by one name (not `protocol`, which has a default): indexBy's answer, without an object per item. */
function idOf(item: unknown, name: string): string | number | boolean | undefined {
  if (!isObj(item)) return undefined;
  const v = Object.hasOwn(item, name) ? item[name] : undefined;
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : undefined;
}

/**
 * indexBy for one merge key name: the same index, the items' keys spelled out later only where needed.
 * Names that are all strings are their own Map keys (V8 hashes strings with a per-process seed). A list
 * with any other id uses the typed id strings throughout: a number as a Map key is hashed unseeded, so
 * chosen numbers would share one bucket chain (12,000 of them: quadratic).
 */
function indexByOne(name: string, before: readonly unknown[], after: readonly unknown[]): ListIndex | undefined {
  let strings = true;
  for (const list of [after, before]) {
    for (const item of list) {
      const id = idOf(item, name);
      if (id === undefined) return undefined;
      if (typeof id !== 'string') strings = false;
    }
  }
  const keyOf = (id: string | number | boolean): string => (strings ? (id as string) : typeof id === 'string' ? `s${id}` : `${typeof id}${String(id)}`);
  const m: ListIndex = new Map();
  for (const item of after) {
    const id = idOf(item, name)!;
    const key = keyOf(id);
    if (m.has(key)) return undefined;
    m.set(key, { keys: undefined, name, id, a: item, b: undefined, hasB: false });
  }
  for (const item of before) {
    const id = idOf(item, name)!;
    const key = keyOf(id);
    const p = m.get(key);
    if (p === undefined) m.set(key, { keys: undefined, name, id, a: undefined, b: item, hasB: true });
    else if (p.hasB) return undefined;
    else {
      p.b = item;
      p.hasB = true;
    }
  }
  return m;
}

/**
 * Merge keys, in order: the API's fixed keys for well-known lists; the object's managedFields
 * (`k:{…}`), looked up only for other lists; a distinct `name`. Otherwise the list is atomic.
 */
function indexLists(path: readonly Segment[], before: readonly unknown[], after: readonly unknown[], mk: MergeKeyNode | undefined): ListIndex | undefined {
  const last = path[path.length - 1];
  const field = last?.k === 'key' ? last.key : '';
  const known = knownKeys(field, before, after);
  const byKnown = known && indexBy(known, before, after);
  if (byKnown) return byKnown;
  const managed = mk?.keys;
  const byManaged = managed && managed.length > 0 && indexBy(managed, before, after);
  if (byManaged) return byManaged;
  const named = nameKeys(before, after);
  return named ? indexBy(named, before, after) : undefined;
}

/** Takes each change as it is found; returning false stops the walk (the diff is then partial). */
export type ChangeSink = (change: FieldChange) => boolean;

/** Thrown by push when the sink says stop; caught only by diffInto. */
const STOP = Symbol('stop');

/** One diff's fixed inputs, and what its comparisons have learned so far. */
interface Walk {
  readonly opts: DiffOptions;
  readonly out: ChangeSink;
  /** pairs (before → after) a comparison found unequal: see sameTree */
  readonly unequal: Map<object, unknown>;
}

/**
 * deepEqual (same answers, same depth errors) that remembers what it found: when it answers false, every
 * pair of maps or lists on the way down to the first difference is recorded in `unequal`, so asking again
 * for any of them (the walk descending to that difference, a list compared whole below one compared
 * first) costs one lookup instead of a second read of everything before the difference.
 */
function sameTree(a: unknown, b: unknown, depth: number, unequal: Map<object, unknown>): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (depth > MAX_DEPTH) throw tooDeep();
  if (unequal.size !== 0 && unequal.get(a) === b) return false;
  const listA = Array.isArray(a);
  const listB = Array.isArray(b);
  if (listA && listB) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i += 1) {
      if (!sameTree(a[i], b[i], depth + 1, unequal)) {
        unequal.set(a, b);
        return false;
      }
    }
    return true;
  }
  // Maps with a prototype (what JSON.parse makes); prototype-less ones, exact numbers among them, go to deepEqual.
  if (!listA && !listB && Object.getPrototypeOf(a) !== null && Object.getPrototypeOf(b) !== null) {
    const ma = a as Obj;
    const mb = b as Obj;
    // Counted first, as deepEqual does (so the same pairs throw tooDeep); for…in, not Object.keys, so
    // no array is made for each of a million small maps.
    if (ownKeyCount(ma) !== ownKeyCount(mb)) return false;
    for (const k in ma) {
      if (!Object.hasOwn(ma, k)) continue;
      if (!Object.hasOwn(mb, k) || !sameTree(ma[k], mb[k], depth + 1, unequal)) {
        unequal.set(a, b);
        return false;
      }
    }
    return true;
  }
  return deepEqual(a, b, depth); // exact numbers, prototype-less maps, a map against a list: nothing to remember
}

/**
 * True when a child of this place may be a runtime field, which the walk must skip unread (runtime
 * paths are at most three deep, below `metadata` or `status`).
 */
function childMayBeRuntime(path: readonly Segment[], opts: DiffOptions): boolean {
  if (!opts.skipRuntime || path.length >= 3) return false;
  const top = path[0];
  return top === undefined || (top.k === 'key' && (top.key === 'metadata' || top.key === 'status'));
}

/**
 * Walks both values; `path` is a stack shared by the whole walk and copied only into results, and
 * `up` is the merge-key tree's node for the parent (undefined: nothing below has managedFields keys).
 * This place's node is asked for only where a map or a changed list needs it, never for a leaf.
 */
function walk(w: Walk, path: Segment[], before: unknown, after: unknown, up: MergeKeyNode | undefined, scanned = false): void {
  const { opts, out } = w;
  if (path.length > MAX_DEPTH) throw tooDeep();
  if (opts.skipRuntime && path.length <= 3 && path.length > 0 && isRuntimePath(path)) return;
  const b = opts.nullIsValue === true ? before : present(before);
  const a = opts.nullIsValue === true ? after : present(after);
  if (b === undefined && a === undefined) return;
  if (inTextMap(path) || (opts.opaque !== undefined && opaqueValue(path, opts.opaque))) {
    // A value in an annotation/label map, which the API stores as text: compared whole, so a map
    // smuggled in under an allowed key is one non-text change, never text leaves below it.
    if (!sameTree(b, a, path.length, w.unequal)) push(path, b, a, out);
    return;
  }
  if ((b === undefined || isObj(b)) && (a === undefined || isObj(a))) {
    const bo = (b ?? {}) as Obj;
    const ao = (a ?? {}) as Obj;
    const mk = nodeHere(path, up, opts);
    // A list below is compared whole here, before its path is pushed (as walk would first thing below).
    const listsHere = !scanned && !childMayBeRuntime(path, opts);
    // for…in, not Object.keys: no array of keys is made for each map walked
    let beforeCount = 0;
    let shared = 0;
    for (const k in bo) {
      if (!Object.hasOwn(bo, k)) continue;
      beforeCount += 1;
      const bv = bo[k];
      let av: unknown;
      if (Object.hasOwn(ao, k)) {
        av = ao[k];
        shared += 1;
      }
      if (bv === av) continue; // same primitive (or same reference): nothing below can differ
      let below = scanned;
      if (listsHere && Array.isArray(bv) && Array.isArray(av)) {
        if (sameTree(bv, av, path.length + 1, w.unequal)) continue;
        below = true;
      }
      path.push(keySeg(k));
      walk(w, path, bv, av, mk, below);
      path.pop();
    }
    const afterCount = ownKeyCount(ao);
    // Keys only the after side has: none when every one of its keys was met above.
    if (afterCount > shared) {
      for (const k in ao) {
        if (!Object.hasOwn(ao, k) || Object.hasOwn(bo, k)) continue;
        path.push(keySeg(k));
        walk(w, path, undefined, ao[k], mk, scanned);
        path.pop();
      }
    }
    // `{}` came or went: a value (an empty selector selects everything), reported at its own path.
    if (beforeCount + afterCount === 0 && (b === undefined || a === undefined)) push(path, b, a, out);
    return;
  }
  if ((b === undefined || Array.isArray(b)) && (a === undefined || Array.isArray(a))) {
    const bl = (b ?? []) as unknown[];
    const al = (a ?? []) as unknown[];
    if (bl.length === 0 && al.length === 0) {
      if (b === undefined || a === undefined) push(path, b, a, out); // `[]` came or went
      return;
    }
    // Most lists are unchanged: equal values need no index (it stops at the first difference). Only
    // the outermost list of a subtree is compared so: below one found unequal, a second scan would
    // read the same items again at every level (depth × size).
    if (!scanned && b !== undefined && a !== undefined) {
      if (sameTree(bl, al, path.length, w.unequal)) return;
      scanned = true;
    }
    const mk = nodeHere(path, up, opts);
    const idx = indexLists(path, bl, al, mk);
    if (idx) {
      for (const p of idx.values()) {
        // An item found on both sides and equal has nothing to report: no path is built for it. The
        // comparison stops at the first difference, and what it read up to there is remembered.
        if (p.hasB && p.a !== undefined && sameTree(p.b, p.a, path.length + 1, w.unequal)) continue;
        path.push(itemSeg(keysOf(p)));
        walk(w, path, p.b, p.a, mk, scanned);
        path.pop();
      }
      return;
    }
  }
  if (!sameTree(b, a, path.length, w.unequal)) push(path, b, a, out);
}

/** The merge-key node for the place `path` names, from its parent's node: a field name, or `[]` for an item. */
function nodeHere(path: readonly Segment[], up: MergeKeyNode | undefined, opts: DiffOptions): MergeKeyNode | undefined {
  const last = path[path.length - 1];
  if (last === undefined) return opts.mergeKeys;
  return up?.child(last.k === 'key' ? last.key : '[]');
}

function push(path: readonly Segment[], b: unknown, a: unknown, out: ChangeSink): void {
  assertDepth(b, path.length);
  assertDepth(a, path.length);
  if (!out({ path: path.slice(), before: b, after: a })) throw STOP;
}

/** `data[key]` with `data` in `opaque`: a value compared whole. */
function opaqueValue(path: readonly Segment[], opaque: ReadonlySet<string>): boolean {
  const [top, key] = path;
  return path.length === 2 && top?.k === 'key' && opaque.has(top.key) && key?.k === 'key';
}

/** `…annotations[key]` or `…labels[key]`: a value of a map the API server keeps as string → string. */
function inTextMap(path: readonly Segment[]): boolean {
  const parent = path[path.length - 2];
  return parent?.k === 'key' && (parent.key === 'annotations' || parent.key === 'labels') && path[path.length - 1]?.k === 'key';
}

/** All differing leaves from `before` to `after` (either may be undefined for CREATE / DELETE). */
export function diffObjects(before: unknown, after: unknown, opts: DiffOptions): FieldChange[] {
  const out: FieldChange[] = [];
  diffInto(before, after, opts, (c) => out.push(c) > 0);
  return out;
}

/** Hands each differing leaf to `sink` in walk order; returns false when the sink stopped the walk. */
export function diffInto(before: unknown, after: unknown, opts: DiffOptions, sink: ChangeSink): boolean {
  try {
    walk({ opts, out: sink, unequal: new Map() }, [], before, after, undefined);
    return true;
  } catch (e) {
    if (e === STOP) return false;
    throw e;
  }
}
