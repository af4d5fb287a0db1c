/**
 * Detaching by managedFields (SPEC §2 rule 5, issue 10 item 1): an object GitOps owns only through a
 * GitOps field manager's managedFields entry loses that evidence when a write empties managedFields
 * (`managedFields: [{}]`), takes its fields over (`kubectl apply --server-side --force-conflicts`) or
 * empties its fieldsV1. The next write would then see an unowned object. So a write by a non-GitOps
 * writer that removes or shrinks a GitOps manager's ownership is itself a guarded change, like
 * removing a tracking marker.
 *
 * What counts, per GitOps manager in the stored object: its entry disappears; its entry is left
 * owning nothing; or a field it owned is taken by another manager (a force-conflicts takeover; a field
 * taken by a delegated manager would turn the next write into a "delegated" one). A field released to
 * nobody while the entry keeps other fields (an apply that sends fewer fields) detaches nothing.
 *
 * Ownership legitimately moves with a value: when a writer changes a field (an HPA's spec.replicas, a
 * removed last-applied annotation), the API server hands that field to the writer. A taken field is
 * excused when this write changes its value (that change is classified on its own merits) or when it
 * is a runtime field. Linear: each field set and each change path is walked once.
 */
import { deepEqual } from '../lib/value.ts';
import { formatPath, itemSeg, keySeg, type FieldPath, type Segment } from '../lib/field-path.ts';
import type { FieldChange } from './diff.ts';
import { childAt, fieldOwnership, fieldSetOwns, fieldsOf, fieldsWithin, holdsNothing, segmentKey, segmentOfRaw, unionOf, type FieldOwnership } from './managed-fields.ts';
import { isRuntimePath } from './runtime-fields.ts';
import type { JsonObject, ManagedFieldsEntry } from './types.ts';

export interface OwnershipLoss {
  readonly manager: string;
  /** owned fields (leaves) before and after the write */
  readonly before: number;
  readonly after: number;
  /** a few of the lost fields, printed */
  readonly lost: readonly string[];
}

/** Change paths as a tree of canonical segment keys; `end`: a change is at this node. */
interface ChangeNode {
  readonly children: Map<string, ChangeNode>;
  end: boolean;
}

function changeTree(changes: readonly FieldChange[]): ChangeNode {
  const root: ChangeNode = { children: new Map(), end: false };
  for (const c of changes) {
    let node = root;
    for (const seg of c.path) {
      const k = segmentKey(seg);
      let next = node.children.get(k);
      if (!next) node.children.set(k, (next = { children: new Map(), end: false }));
      node = next;
    }
    node.end = true;
  }
  return root;
}

/** True when a change lies at, above or below `path`. */
function changed(tree: ChangeNode, path: FieldPath): boolean {
  let node = tree;
  for (const seg of path) {
    if (node.end) return true;
    const next = node.children.get(segmentKey(seg));
    if (!next) return false;
    node = next;
  }
  return true;
}

/**
 * Owned leaves below a node (a node that holds nothing owns its whole value). Each node is visited
 * once, so emptiness is seen by the loop itself rather than asked of a cache (ownsWhole's WeakMap
 * costs more than the walk on a 30,000-field set).
 */
function countLeaves(node: JsonObject, depth = 0): number {
  let n = 0;
  let holds = false;
  for (const k in node) {
    if (!Object.hasOwn(node, k)) continue;
    holds = true;
    if (depth >= MAX_SET_DEPTH) break;
    const child = node[k];
    if (isObject(child)) n += countLeaves(child, depth + 1);
  }
  return depth > 0 && !holds ? 1 : n;
}

/** True when the set owns at least one field (stops at the first). */
function hasLeaf(node: JsonObject, depth = 0): boolean {
  let holds = false;
  for (const k in node) {
    if (!Object.hasOwn(node, k)) continue;
    holds = true;
    if (depth >= MAX_SET_DEPTH) return false;
    const child = node[k];
    if (isObject(child) && hasLeaf(child, depth + 1)) return true;
  }
  return depth > 0 && !holds;
}

const SHOWN = 3;
const MAX_SET_DEPTH = 64;

interface Walk {
  readonly excuse: ChangeNode;
  /** what the other managers own before and after the write (asked only about lost fields) */
  readonly othersBefore: FieldOwnership | undefined;
  readonly othersAfter: FieldOwnership | undefined;
  count: number;
  readonly shown: string[];
  readonly memo: SegmentMemo;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The node of `now` for the raw key `k` of the old set: the same key, or the same item. */
function counterpart(now: JsonObject | undefined, k: string): JsonObject | undefined {
  if (!now) return undefined;
  const same = Object.hasOwn(now, k) ? now[k] : undefined;
  if (isObject(same)) return same;
  if (!k.startsWith('k:')) return undefined;
  const seg = segmentOfRaw(k); // the same item written differently: compare canonically
  return seg ? childAt(now, seg) : undefined;
}

/** A walk's raw keys already turned into segments (null: `.`, `v:`, `i:`): a `k:{…}` key is parsed once. */
type SegmentMemo = Map<string, Segment | null>;

/**
 * The field path of a walk's raw keys (`.`, `v:` and `i:` name the parent's value itself). Each key is
 * parsed once per walk, not once per leaf below it: 12,000 lost leaves below 60 keys of 4,000 characters
 * once cost a second.
 */
function pathOf(raw: readonly string[], memo: SegmentMemo): Segment[] {
  const out: Segment[] = [];
  for (const k of raw) {
    let seg = memo.get(k);
    if (seg === undefined) memo.set(k, (seg = segmentOfRaw(k) ?? null));
    if (seg) out.push(seg);
  }
  return out;
}

/**
 * Walks the old set against the new one (both as the API server wrote them) and counts each owned
 * leaf of `old` that `now` no longer holds, that another manager took, and that no change excuses.
 * Raw keys are turned into a field path only for a leaf that is gone.
 */
function takenLeaves(old: JsonObject, now: JsonObject | undefined, raw: string[], out: Walk): void {
  const depth = raw.length;
  if (depth > 0 && now && holdsNothing(now)) return; // the new entry owns everything below
  if (depth > 0 && holdsNothing(old)) {
    if (now) return;
    const path = pathOf(raw, out.memo);
    if (isRuntimePath(path) || changed(out.excuse, path)) return;
    if (out.othersAfter?.owns(path) !== true || out.othersBefore?.owns(path) === true) return; // released, not taken
    out.count += 1;
    if (out.shown.length < SHOWN) out.shown.push(formatPath(path));
    return;
  }
  if (depth >= MAX_SET_DEPTH) return;
  for (const k in old) {
    const child = old[k];
    if (!Object.hasOwn(old, k) || !isObject(child)) continue;
    raw.push(k);
    takenLeaves(child, counterpart(now, k), raw, out);
    raw.pop();
  }
}

/**
 * The GitOps field managers whose ownership a write removes or shrinks, with nothing in the write
 * that moves it legitimately. `changes`: the write's value changes (runtime fields excluded).
 * A GitOps manager's entry that disappears is always a loss: the entry alone makes the object owned.
 */
export function ownershipLosses(
  before: readonly ManagedFieldsEntry[] | undefined,
  after: readonly ManagedFieldsEntry[] | undefined,
  gitopsManagers: ReadonlySet<string>,
  changes: readonly FieldChange[],
): OwnershipLoss[] {
  if (!Array.isArray(before)) return [];
  const managers = new Set<string>();
  for (const e of before) if (typeof e?.manager === 'string' && gitopsManagers.has(e.manager)) managers.add(e.manager);
  if (managers.size === 0) return [];
  const afterEntries = Array.isArray(after) ? after : [];
  const stillThere = new Set<string>();
  for (const e of afterEntries) if (typeof e?.manager === 'string' && managers.has(e.manager)) stillThere.add(e.manager);
  let excuse: ChangeNode | undefined;
  const out: OwnershipLoss[] = [];
  // what the other managers own: asked only once a manager's fields have changed (not in the usual case)
  let othersBefore: ReturnType<typeof othersThan> | undefined;
  let othersAfter: ReturnType<typeof othersThan> | undefined;
  for (const manager of managers) {
    const only = new Set([manager]);
    const oldFields = fieldsOf(before, only);
    const newFields = fieldsOf(afterEntries, only);
    if (stillThere.has(manager) && (sameFields(oldFields, newFields) || within(oldFields, newFields))) continue; // the usual case
    const old = unionOf(oldFields);
    const now = unionOf(newFields);
    const owned = old !== undefined && hasLeaf(old);
    const left = now !== undefined && hasLeaf(now);
    const walk: Walk = {
      excuse: (excuse ??= changeTree(changes)),
      othersBefore: (othersBefore ??= othersThan(before, managers))(manager),
      othersAfter: (othersAfter ??= othersThan(afterEntries, managers))(manager),
      count: 0,
      shown: [],
      memo: new Map(),
    };
    if (old && owned && left) takenLeaves(old, now, [], walk);
    if (!stillThere.has(manager) || (owned && !left) || walk.count > 0) {
      out.push({ manager, before: old ? countLeaves(old) : 0, after: now ? countLeaves(now) : 0, lost: walk.shown });
    }
  }
  return out;
}

function sameFields(a: readonly JsonObject[], b: readonly JsonObject[]): boolean {
  return a.length === b.length && a.every((f, i) => deepEqual(f, b[i]));
}

/** One entry before and after, and the new one holds every field of the old: nothing lost. */
function within(a: readonly JsonObject[], b: readonly JsonObject[]): boolean {
  return a.length === 1 && b.length === 1 && fieldsWithin(a[0]!, b[0]!);
}

/**
 * What the managers other than one (of `split`) own, for each of `split`: the fields of every manager not in
 * `split` are put together once (on first use), each of `split` apart, and a question goes to each part.
 * The same answers as one union of the others per manager (a path is owned by a union exactly when some
 * part owns it), without building a union of everyone else's fields once per GitOps manager: three
 * GitOps managers beside 250 entries of 290 fields once cost ~170 ms.
 */
export function othersThan(entries: readonly ManagedFieldsEntry[], split: ReadonlySet<string>): (manager: string) => FieldOwnership | undefined {
  const rest: JsonObject[] = [];
  const apart = new Map<string, JsonObject[]>();
  for (const e of entries) {
    const f = e?.fieldsV1;
    if (typeof f !== 'object' || f === null || Array.isArray(f)) continue;
    const m = e?.manager;
    if (typeof m !== 'string' || !split.has(m)) rest.push(f);
    else if (apart.has(m)) apart.get(m)!.push(f);
    else apart.set(m, [f]);
  }
  const parts = new Map<string | undefined, FieldOwnership | undefined>([[undefined, fieldOwnership(rest)], ...[...apart].map(([m, sets]) => [m, fieldOwnership(sets)] as const)]);
  return (manager) => {
    const others: FieldOwnership[] = [];
    for (const [m, o] of parts) if (m !== manager && o) others.push(o);
    return others.length === 0 ? undefined : { owns: (path) => others.some((o) => o.owns(path)) };
  };
}

/** Where a loss is reported: `metadata.managedFields[manager=argocd-controller]`. */
export function lossPath(manager: string): FieldPath {
  return [keySeg('metadata'), keySeg('managedFields'), itemSeg({ manager })];
}

/** A delegated field manager's ownership that a write adds without the value change that would earn it. */
export interface DelegationClaim {
  readonly manager: string;
  /** fields (leaves) the manager owned before, and how many it gained unearned */
  readonly before: number;
  readonly claimed: number;
  /** a few of the claimed fields, printed */
  readonly shown: readonly string[];
}

/** Where a change lies relative to `path`: at it or above it, only below it, or nowhere on it. */
function changeRelation(tree: ChangeNode, path: FieldPath): 'at-or-above' | 'below' | 'none' {
  let node = tree;
  for (const seg of path) {
    if (node.end) return 'at-or-above';
    const next = node.children.get(segmentKey(seg));
    if (!next) return 'none';
    node = next;
  }
  return node.end ? 'at-or-above' : 'below';
}

interface ClaimWalk {
  readonly had: FieldOwnership | undefined;
  readonly excuse: ChangeNode;
  readonly git: JsonObject | undefined;
  count: number;
  readonly shown: string[];
  readonly memo: SegmentMemo;
}

/** Counts the leaves of the manager's new set that it did not own before and that no change earns. */
function claimedLeaves(node: JsonObject, raw: string[], out: ClaimWalk): void {
  if (raw.length > 0 && holdsNothing(node)) {
    const path = pathOf(raw, out.memo);
    if (path.length === 0 || isRuntimePath(path) || out.had?.owns(path) === true) return;
    const rel = changeRelation(out.excuse, path);
    // The API server gives an Update's manager the fields it changed (an atomic map whole, for a change
    // inside it); a field Git owns part of is never earned by a change below it (`f:spec: {}` claimed
    // on the strength of one allowed annotation).
    if (rel === 'at-or-above' || (rel === 'below' && !fieldSetOwns(out.git, path))) return;
    out.count += 1;
    if (out.shown.length < SHOWN) out.shown.push(formatPath(path));
    return;
  }
  if (raw.length >= MAX_SET_DEPTH) return;
  for (const k in node) {
    const child = node[k];
    if (!Object.hasOwn(node, k) || !isObject(child)) continue;
    raw.push(k);
    claimedLeaves(child, raw, out);
    raw.pop();
  }
}

/**
 * The other direction of a detach (issue 10 item 1): a delegation by `managers` trusts the stored
 * object's managedFields, which a client writes as it likes (`metadata.managedFields` in the body, or a
 * server-side apply under the delegated manager's name with the values unchanged). A write that hands a
 * delegated manager fields it did not own, without changing them, would make the next write's change to
 * those fields "delegated": that claim is itself a guarded change. Linear in the manager's field set.
 */
export function delegationClaims(
  before: readonly ManagedFieldsEntry[] | undefined,
  after: readonly ManagedFieldsEntry[] | undefined,
  delegatedManagers: ReadonlySet<string>,
  gitopsManagers: ReadonlySet<string>,
  changes: readonly FieldChange[],
): DelegationClaim[] {
  if (delegatedManagers.size === 0 || !Array.isArray(after)) return [];
  const beforeEntries = Array.isArray(before) ? before : [];
  const out: DelegationClaim[] = [];
  let excuse: ChangeNode | undefined;
  let git: JsonObject | undefined | null = null;
  const seen = new Set<string>();
  for (const e of after) {
    const manager = e?.manager;
    if (typeof manager !== 'string' || !delegatedManagers.has(manager) || gitopsManagers.has(manager) || seen.has(manager)) continue;
    seen.add(manager);
    const only = new Set([manager]);
    const oldFields = fieldsOf(beforeEntries, only);
    const newFields = fieldsOf(after, only);
    if (sameFields(oldFields, newFields) || (newFields.length === 1 && oldFields.length === 1 && fieldsWithin(newFields[0]!, oldFields[0]!))) continue; // the usual case
    const now = unionOf(newFields);
    if (!now) continue;
    const walk: ClaimWalk = {
      had: fieldOwnership(oldFields),
      excuse: (excuse ??= changeTree(changes)),
      git: git === null ? (git = unionOf(fieldsOf(beforeEntries, gitopsManagers))) : git,
      count: 0,
      shown: [],
      memo: new Map(),
    };
    claimedLeaves(now, [], walk);
    if (walk.count > 0) out.push({ manager, before: oldFields.length > 0 ? countLeaves(unionOf(oldFields)!) : 0, claimed: walk.count, shown: walk.shown });
  }
  return out;
}
