/**
 * The normalized field diff: every leaf that differs between two objects, addressed by field path.
 *
 * - Associative lists are matched by merge key (from managedFields `k:{…}` keys when present, else the
 *   Kubernetes merge keys of well-known lists), so reordering a list is not a change and a path names
 *   the container, env var or port, never an index. Other lists are atomic: one leaf, whole value.
 * - Added or removed objects are walked to their leaves, so rules can match e.g. one new annotation.
 * - null counts as absent (the API server drops it); `{}` and `[]` are values: adding or removing an
 *   empty map or list is a change at its path (an empty selector, `automated: {}`).
 * - Keys are request data: they are only ever compared, read with Object.hasOwn and stored in Maps
 *   or prototype-less objects, so `__proto__` or `constructor` is a key like any other.
 * - Every recursion here is bounded by MAX_DEPTH: hostile nesting becomes a 400, never a stack overflow.
 *   Parts of an object the walk never enters (runtime fields) are never recursed into by anyone.
 */
import { itemSeg, keySeg, type FieldPath, type Segment } from '../lib/field-path.ts';
import { deepEqual, isMap, MAX_DEPTH, present, tooDeep } from '../lib/value.ts';
import { isRuntimePath } from './runtime-fields.ts';

export { deepEqual, MAX_DEPTH, present };

export interface FieldChange {
  readonly path: FieldPath;
  /** undefined: the field is absent on that side */
  readonly before: unknown;
  readonly after: unknown;
}

/** Merge keys by abstract list path; a Map, or a lazy view of managedFields (see lazyMergeKeys). */
export interface MergeKeySource {
  get(abstractPath: string): readonly string[] | undefined;
}

export interface DiffOptions {
  readonly mergeKeys: MergeKeySource;
  /** skip runtime fields entirely (the webhook never needs them; `driftgate diff` shows them) */
  readonly skipRuntime: boolean;
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

/** Leaf values are printed and stored later (JSON.stringify recurses): bound their depth here. */
function assertDepth(v: unknown, depth: number): void {
  if (typeof v !== 'object' || v === null) return;
  if (depth > MAX_DEPTH) throw tooDeep();
  if (Array.isArray(v)) for (const x of v) assertDepth(x, depth + 1);
  else for (const k in v) if (Object.hasOwn(v, k)) assertDepth((v as Obj)[k], depth + 1);
}

/** The Kubernetes merge keys of well-known lists; fixed by the API, so no managedFields needed. */
function knownKeys(field: string, items: readonly unknown[]): readonly string[] | undefined {
  const known = KNOWN_LISTS.get(field);
  if (known) return known;
  if (field === 'ports') {
    if (items.every((i) => isObj(i) && Object.hasOwn(i, 'containerPort'))) return ['containerPort', 'protocol'];
    if (items.every((i) => isObj(i) && Object.hasOwn(i, 'port'))) return ['port', 'protocol'];
  }
  return undefined;
}

/** Lists of objects that all carry a distinct name read best keyed by it. */
function nameKeys(items: readonly unknown[]): readonly string[] | undefined {
  return items.every((i) => isObj(i) && typeof i.name === 'string') ? BY_NAME : undefined;
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

interface ListIndex {
  readonly ids: string[];
  readonly keys: Map<string, ItemKeys>;
  readonly b: Map<string, unknown>;
  readonly a: Map<string, unknown>;
}

/** Indexes both lists by the given merge key names; undefined when an item lacks them or keys collide. */
function indexBy(names: readonly string[], before: readonly unknown[], after: readonly unknown[]): ListIndex | undefined {
  const keys = new Map<string, ItemKeys>();
  const ids: string[] = [];
  const index = (list: readonly unknown[]): Map<string, unknown> | undefined => {
    const m = new Map<string, unknown>();
    for (const item of list) {
      const k = itemKeysOf(item, names);
      if (!k) return undefined;
      const id = JSON.stringify(k);
      if (m.has(id)) return undefined;
      // A key field the API server defaults (protocol) is part of the item's identity: fill it in.
      m.set(id, isObj(item) && Object.hasOwn(k, 'protocol') && item.protocol === undefined ? { ...item, protocol: k.protocol } : item);
      if (!keys.has(id)) {
        keys.set(id, k);
        ids.push(id);
      }
    }
    return m;
  };
  const a = index(after);
  const b = index(before);
  return a && b ? { ids, keys, a, b } : undefined;
}

/**
 * Merge keys, in order: the API's fixed keys for well-known lists; the object's managedFields
 * (`k:{…}`), looked up only for other lists; a distinct `name`. Otherwise the list is atomic.
 */
function indexLists(path: readonly Segment[], before: readonly unknown[], after: readonly unknown[], opts: DiffOptions): ListIndex | undefined {
  const last = path[path.length - 1];
  const field = last?.k === 'key' ? last.key : '';
  const items = before.length === 0 ? after : after.length === 0 ? before : [...before, ...after];
  const known = knownKeys(field, items);
  const byKnown = known && indexBy(known, before, after);
  if (byKnown) return byKnown;
  const managed = opts.mergeKeys.get(abstractOf(path));
  const byManaged = managed && managed.length > 0 && indexBy(managed, before, after);
  if (byManaged) return byManaged;
  const named = nameKeys(items);
  return named ? indexBy(named, before, after) : undefined;
}

/** `spec.template.spec.containers[].ports`: the path with list items abstracted, as merge keys are indexed. */
function abstractOf(path: readonly Segment[]): string {
  let out = '';
  for (const seg of path) {
    if (seg.k === 'item') out += '[]';
    else out += out === '' ? seg.key : `.${seg.key}`;
  }
  return out;
}

/** Walks both values; `path` is a stack shared by the whole walk and copied only into results. */
function walk(path: Segment[], before: unknown, after: unknown, opts: DiffOptions, out: FieldChange[]): void {
  if (path.length > MAX_DEPTH) throw tooDeep();
  if (opts.skipRuntime && path.length <= 3 && path.length > 0 && isRuntimePath(path)) return;
  const b = present(before);
  const a = present(after);
  if (b === undefined && a === undefined) return;
  if (inTextMap(path)) {
    // A value in an annotation/label map, which the API stores as text: compared whole, so a map
    // smuggled in under an allowed key is one non-text change, never text leaves below it.
    if (!deepEqual(b, a, path.length)) push(path, b, a, out);
    return;
  }
  if ((b === undefined || isObj(b)) && (a === undefined || isObj(a))) {
    const bo = (b ?? {}) as Obj;
    const ao = (a ?? {}) as Obj;
    let keys = 0;
    for (const k in bo) {
      if (!Object.hasOwn(bo, k)) continue;
      keys += 1;
      const bv = bo[k];
      const av = Object.hasOwn(ao, k) ? ao[k] : undefined;
      if (bv === av) continue; // same primitive (or same reference): nothing below can differ
      path.push(keySeg(k));
      walk(path, bv, av, opts, out);
      path.pop();
    }
    for (const k in ao) {
      if (!Object.hasOwn(ao, k) || Object.hasOwn(bo, k)) continue;
      keys += 1;
      path.push(keySeg(k));
      walk(path, undefined, ao[k], opts, out);
      path.pop();
    }
    // `{}` came or went: a value (an empty selector selects everything), reported at its own path.
    if (keys === 0 && (b === undefined || a === undefined)) push(path, b, a, out);
    return;
  }
  if ((b === undefined || Array.isArray(b)) && (a === undefined || Array.isArray(a))) {
    const bl = (b ?? []) as unknown[];
    const al = (a ?? []) as unknown[];
    if (bl.length === 0 && al.length === 0) {
      if (b === undefined || a === undefined) push(path, b, a, out); // `[]` came or went
      return;
    }
    const idx = indexLists(path, bl, al, opts);
    if (idx) {
      for (const id of idx.ids) {
        path.push(itemSeg(idx.keys.get(id)!));
        walk(path, idx.b.get(id), idx.a.get(id), opts, out);
        path.pop();
      }
      return;
    }
  }
  if (!deepEqual(b, a, path.length)) push(path, b, a, out);
}

function push(path: readonly Segment[], b: unknown, a: unknown, out: FieldChange[]): void {
  assertDepth(b, path.length);
  assertDepth(a, path.length);
  out.push({ path: path.slice(), before: b, after: a });
}

/** `…annotations[key]` or `…labels[key]`: a value of a map the API server keeps as string → string. */
function inTextMap(path: readonly Segment[]): boolean {
  const parent = path[path.length - 2];
  return parent?.k === 'key' && (parent.key === 'annotations' || parent.key === 'labels') && path[path.length - 1]?.k === 'key';
}

/** All differing leaves from `before` to `after` (either may be undefined for CREATE / DELETE). */
export function diffObjects(before: unknown, after: unknown, opts: DiffOptions): FieldChange[] {
  const out: FieldChange[] = [];
  walk([], before, after, opts, out);
  return out;
}
