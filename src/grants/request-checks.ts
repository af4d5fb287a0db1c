/**
 * Grant requests that can never match anything are refused before a grant exists, each with the
 * reason and what to write instead: a grant that covers nothing is a token that looks like
 * permission, and a wildcard it does not honour (`*` as a namespace, group or kind) misleads the
 * person who asked for it. The webhook compares namespace and group exactly and kind
 * case-insensitively (admission/grant-match.ts); only resource names are globs.
 */
import { keySeg, type FieldPath, type Segment } from '../lib/field-path.ts';
import { isRuntimePath } from '../admission/runtime-fields.ts';
import { globProblem } from '../policy/glob.ts';
import type { PathPattern } from '../policy/path-pattern.ts';
import type { Policy } from '../policy/policy.ts';
import type { ResourceRef } from './grant.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const API_GROUP = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const KIND = /^[A-Za-z][A-Za-z0-9]{0,62}$/;
/** A top-level field of a Kubernetes object (apiVersion, spec, data, rules, webhooks, …), or a glob of one. */
const TOP_LEVEL_FIELD = /^[A-Za-z*][A-Za-z0-9_*-]*$/;
const OBJECT_META = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);

const quoted = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

export function namespaceProblem(namespace: string, policy: Policy): string | undefined {
  if (namespace.includes('*')) {
    return `namespace ${quoted(namespace)}: a grant names one namespace exactly, "*" and globs match none; request one grant per namespace`;
  }
  if (!DNS_LABEL.test(namespace)) return `namespace ${quoted(namespace)} is not a namespace name (lowercase letters, digits and "-", at most 63)`;
  const p = policy.protectedNamespaces;
  // With a label selector, any namespace may be protected: only the cluster knows its labels.
  if (!p.names.has(namespace) && !p.matchLabels) {
    const names = [...p.names].join(', ') || 'none';
    return `namespace ${namespace} is not protected (protectedNamespaces: ${names}): driftgate never denies a write there, so no grant is needed`;
  }
  return undefined;
}

export function resourceProblem(r: ResourceRef): string | undefined {
  const what = `resource ${r.group ? `${r.group}/` : ''}${r.kind}/${r.name}`;
  if (r.group.includes('*')) return `${what}: group "*" matches no group (groups are compared exactly); name the API group, e.g. apps, or "" for the core group`;
  if (r.group !== '' && !API_GROUP.test(r.group)) return `${what}: ${quoted(r.group)} is not an API group name`;
  if (r.kind.includes('*')) return `${what}: kind "*" matches no kind (kinds are compared exactly); name each kind, e.g. deployment/api and statefulset/api`;
  if (!KIND.test(r.kind)) return `${what}: ${quoted(r.kind)} is not a kind (e.g. Deployment)`;
  if (/[\s/]/.test(r.name)) return `${what}: a name cannot contain "/" or white space`;
  if (r.name.length > 253 && !r.name.includes('*')) return `${what}: names are at most 253 characters`;
  const glob = r.name.includes('*') ? globProblem(r.name) : undefined;
  return glob ? `${what}: the name glob ${glob}` : undefined;
}

/** The literal key segments a pattern starts with (up to the first glob, list item or subtree). */
function literalPrefix(p: PathPattern): FieldPath {
  const out: Segment[] = [];
  for (const s of p.segments) {
    if (s.k !== 'key' || s.glob) break;
    out.push(keySeg(s.key));
  }
  return out;
}

/** A parsed grant path that no guarded change can ever lie on. */
export function pathProblem(p: PathPattern): string | undefined {
  const first = p.segments[0]!;
  if (first.k !== 'key') return 'an object starts with a field name, not a list item: e.g. spec.template.spec.containers[name=app].image';
  if (!TOP_LEVEL_FIELD.test(first.key)) return `${quoted(first.key)} is not a field name: copy a path from the denial, e.g. spec.replicas`;
  const prefix = literalPrefix(p);
  if (isRuntimePath(prefix)) return 'is a runtime field (status, server-set metadata): it is never guarded, so no grant is needed';
  const second = p.segments[1];
  if (prefix[0]?.k === 'key' && prefix[0].key === 'metadata' && second?.k === 'key' && !second.glob && !OBJECT_META.has(second.key)) {
    return `metadata has no field ${quoted(second.key)} (labels, annotations, ownerReferences, finalizers, …)`;
  }
  return undefined;
}

/** Groups that every identity, every unauthenticated request or every pod's service account is in. */
const EVERYONE = new Set(['system:authenticated', 'system:unauthenticated', 'system:serviceaccounts']);

/**
 * A grant's subject that is everyone (a built-in group every user or every workload belongs to, the
 * anonymous user) would let any identity in the cluster bypass Git under one person's request; a `*`
 * matches nobody (subjects are compared exactly).
 */
export function subjectProblem(kind: 'user' | 'group', name: string): string | undefined {
  const what = `subject ${kind} ${quoted(name)}`;
  if (name.trim() === '') return `${what}: name a ${kind}`;
  if (name.includes('*')) return `${what}: "*" matches nobody (subjects are compared exactly); name each user or group`;
  if ((kind === 'group' && EVERYONE.has(name)) || (kind === 'user' && name === 'system:anonymous')) {
    return `${what} is everyone${kind === 'group' && name === 'system:serviceaccounts' ? "'s workloads" : ''}: a grant is for the people (or the one service account) who will make the change; name them`;
  }
  return undefined;
}

/**
 * Text copied from a denial's example command (`--reason "..." --incident INC-...`) or a usage line
 * (`<reason>`): a reason with no word in it, an incident reference with an ellipsis or no number.
 */
export function placeholderProblem(field: 'reason' | 'incident', value: string): string | undefined {
  const v = value.trim();
  const words = field === 'incident' ? v.replace(/^INC-?/i, '') : v;
  const placeholder = /^<[^<>]*>$/.test(v) || !/[\p{L}\p{N}]/u.test(words) || (field === 'incident' && /\.\.\.|…/.test(v));
  if (!placeholder) return undefined;
  return `${field} ${quoted(v)} is the placeholder from the example command: write the real ${field === 'reason' ? 'reason' : 'incident reference (e.g. INC-4711)'}`;
}
