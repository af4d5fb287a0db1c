/**
 * Verifying a task against Git (SPEC §5): at each changed path, does Git's desired value now equal the
 * bypass's `after` (backported) or its `before` (reverted, once live agrees when it is available)?
 */
import { isSecretKind, redactSecret, type SecretHashKey } from '../admission/redact.ts';
import { isMap, ownValue, present, sameValue } from '../lib/value.ts';
import type { KubeObject } from '../admission/types.ts';
import { DriftgateError } from '../errors.ts';
import { groupOf, objectKey, type SourcedObject } from '../manifests/read.ts';
import { parsePathPattern } from '../policy/path-pattern.ts';
import type { Task } from '../tasks/task.ts';
import { showValue } from '../admission/redact.ts';

const NO_KEY =
  "Secret values are compared by keyed hash: pass the installation's key with --secret-hash-key FILE (embedded: <data-dir>/keys/secret-hash.key; cluster: the Secret driftgate-secret-hash-key)";

export type VerifyVerdict = 'backported' | 'reverted' | 'pending';

export interface Verification {
  readonly taskId: string;
  readonly verdict: VerifyVerdict;
  /** one line per changed path (or per object) saying what Git and live hold */
  readonly explanation: readonly string[];
}

const isObj = isMap;

/** The value at a printed field path (`spec.template.spec.containers[name=api].image`), or undefined. */
export function valueAt(obj: unknown, printed: string): unknown {
  let node: unknown = obj;
  for (const seg of parsePathPattern(printed).segments) {
    if (seg.k === 'key') {
      if (!isObj(node) || !Object.hasOwn(node, seg.key)) return undefined;
      node = node[seg.key];
    } else if (seg.k === 'item') {
      if (!Array.isArray(node)) return undefined;
      node = node.find(
        (item) => isObj(item) && Object.entries(seg.keys).every(([k, v]) => String(ownValue(item, k) ?? (k === 'protocol' ? 'TCP' : '')) === v),
      );
    } else {
      return undefined;
    }
  }
  return present(node);
}

/** Equal once null counts as absent (one definition, shared with the diff and the landing check). */
export { sameValue };

/** Secrets are indexed with their values hashed by the installation's key, as the webhook hashed them. */
function index(objects: readonly SourcedObject[], key: SecretHashKey | undefined): Map<string, KubeObject> {
  const m = new Map<string, KubeObject>();
  for (const { object } of objects) {
    const secret = isSecretKind(groupOf(object.apiVersion ?? ''), object.kind ?? '');
    m.set(objectKey(object), secret ? redactSecret(object, key)! : object);
  }
  return m;
}

export interface VerifyInputs {
  readonly desired: readonly SourcedObject[];
  /** live objects (kubectl get -o yaml), when available */
  readonly live?: readonly SourcedObject[];
  /** the installation's secret hash key: without it, a Secret's values cannot be compared */
  readonly secretHashKey?: SecretHashKey;
}

export function verifyTasks(tasks: readonly Task[], inputs: VerifyInputs): Verification[] {
  const key = inputs.secretHashKey;
  const desired = index(requireObjects(inputs.desired, 'desired'), key);
  // no live object is evidence too (read from the cluster: absent); an empty dump file is refused by the CLI
  const live = inputs.live ? index(inputs.live, key) : undefined;
  return tasks.map((t) => {
    const v = verifyTask(t, desired, live);
    if (key || v.verdict !== 'pending' || !isSecretKind(groupOf(t.object.apiVersion), t.object.kind)) return v;
    return { ...v, explanation: [...v.explanation, NO_KEY] };
  });
}

/** A revert is a fact about live, not Git: Git keeping the old values does not undo the bypass. */
const NO_LIVE = 'Git kept the old values, but live was not checked: a revert needs live evidence (--live with kubectl get -o yaml of the objects, or --live-from-cluster)';

/** Whether the desired manifests declare anything in this namespace (or omit namespaces, as rendered output often does). */
function covers(desired: Map<string, KubeObject>, namespace: string): boolean {
  for (const o of desired.values()) {
    const ns = o.metadata?.namespace ?? '';
    if (ns === '' || ns === namespace) return true;
  }
  return false;
}

/**
 * Refuses a manifest set with no objects: an empty file from a failed `kustomize build`, a directory
 * without manifests. Verified against nothing, every task would look "not in Git".
 */
export function requireObjects(objects: readonly SourcedObject[], what: 'desired' | 'live', path = ''): readonly SourcedObject[] {
  if (objects.length > 0) return objects;
  const hint = what === 'desired' ? 'render them again (kustomize build / helm template) and check that the command succeeded' : 'dump them again with kubectl get -o yaml';
  throw new DriftgateError('INPUT_INVALID', `--${what}${path ? ` ${path}` : ''}: no Kubernetes objects (an empty file, or a directory without .yaml/.yml/.json files?): ${hint}`);
}

function lookup(m: Map<string, KubeObject>, t: Task): KubeObject | undefined {
  const group = groupOf(t.object.apiVersion);
  return m.get([group, t.object.kind, t.object.namespace, t.object.name].join('|')) ?? m.get([group, t.object.kind, '', t.object.name].join('|'));
}

export function verifyTask(t: Task, desired: Map<string, KubeObject>, live: Map<string, KubeObject> | undefined): Verification {
  const git = lookup(desired, t);
  const liveObj = live ? lookup(live, t) : undefined;
  const v = (verdict: VerifyVerdict, ...explanation: string[]): Verification => ({ taskId: t.id, verdict, explanation });
  const ref = `${t.object.kind} ${t.object.namespace}/${t.object.name}`;

  if (t.operation === 'DELETE') {
    if (!git && !covers(desired, t.object.namespace)) return v('pending', `${ref}: the desired manifests hold nothing in namespace ${t.object.namespace}: render the manifests that declare it`);
    if (!git) return v('backported', `${ref} is no longer in Git: the deletion is in Git`);
    if (live && liveObj) return v('reverted', `${ref} is in Git and live again: the deletion was reverted`);
    return v('pending', `${ref} is still in Git${live ? ' but not live' : ''}: sync it back from Git, or delete it in Git`);
  }
  if (!git) {
    if (t.operation === 'CREATE' && live && !liveObj) return v('reverted', `${ref} is neither in Git nor live: the hand-made object was removed`);
    return v('pending', `${ref} is not in the desired manifests: put it into Git${t.operation === 'CREATE' ? ', or delete it' : ''}`);
  }
  const lines: string[] = [];
  let allAfter = true;
  let allBefore = true;
  let liveAgrees = true;
  for (const c of t.changes) {
    const g = valueAt(git, c.path);
    const isAfter = sameValue(g, c.after);
    const isBefore = sameValue(g, c.before);
    allAfter &&= isAfter;
    allBefore &&= isBefore;
    if (live) liveAgrees &&= sameValue(valueAt(liveObj, c.path), g);
    const state = isAfter ? 'Git has the bypass value' : isBefore ? 'Git has the old value' : 'Git has neither';
    lines.push(`${c.path}: ${state}: Git ${showValue(g)}, bypass ${showValue(c.before)} → ${showValue(c.after)}`);
  }
  if (allAfter) return v('backported', ...lines);
  if (allBefore && live && liveAgrees) return v('reverted', ...lines, 'live equals Git again');
  if (allBefore && !live) lines.push(NO_LIVE);
  else if (allBefore) lines.push('live still differs from Git: revert it (sync), or put the change into Git');
  else lines.push('partly done: some paths match neither side or only one side');
  return v('pending', ...lines);
}
