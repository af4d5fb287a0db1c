/**
 * The decision (SPEC §2): a pure function of the request, the policy, the clock reading and the
 * grants and cluster facts the caller looked up. Rules in order; the first that decides wins.
 * Recording the task for a bypass is the orchestrator's job (review.ts): this only says one is due.
 */
import type { Grant } from '../grants/grant.ts';
import { delegationInScope, type Mode, type Policy, type ScopeTarget, type UnmanagedCreates } from '../policy/policy.ts';
import { changeClassifier, delegationClaimChanges, ownershipLossChanges, RECONCILE_LEVER, type ClassifiedChange } from './classify.ts';
import { assertKeysText, assertTextMaps } from './decode.ts';
import { diffInto, type FieldChange } from './diff.ts';
import { keySeg } from '../lib/field-path.ts';
import { grantApplies, grantCoversPath, narrowestGrant, type GrantTarget } from './grant-match.ts';
import { isReconcilerKind, leverView, touchesLever } from './levers.ts';
import { lazyMergeKeyTree } from './managed-fields.ts';
import { allowanceWarning, auditWarning, denialMessage, MAX_LISTED_PATHS, operatorWarning, tooManyKeysMessage, tooManyKeysWarning, type TooLarge } from './message.ts';
import { operatorOf, ownerOf, type Owner } from './ownership.ts';
import { delegationClaims, ownershipLosses } from './ownership-loss.ts';
import { EPHEMERAL_SECRET_HASH_KEY, hasDataMaps, isSecretKind, redactSecret, redactSecretChange, SECRET_VALUE_MAPS, type SecretHashKey } from './redact.ts';
import { describeTarget, targetOf, type Target } from './target.ts';
import { ownValue } from '../lib/value.ts';
import type { AdmissionRequest, KubeObject } from './types.ts';

/** One vocabulary for outcomes, used by responses, logs and metrics. */
export type Outcome = 'allowed' | 'warned' | 'bypassed' | 'denied';

export type Rule =
  | 'connect'
  | 'namespace-unprotected'
  | 'cluster-scoped-ignored'
  | 'gitops-controller'
  | 'system-writer'
  | 'not-gitops-owned'
  | 'operator-owned'
  | 'unmanaged-create'
  | 'no-guarded-change'
  | 'allowance'
  | 'grant'
  | 'guarded-change'
  | 'too-many-keys';

/** What a cluster cache knows of a scale request's parent object. */
export type ScaleParent = { readonly state: 'found'; readonly object: KubeObject } | { readonly state: 'unknown' };

export interface DecisionInput {
  readonly request: AdmissionRequest;
  readonly policy: Policy;
  readonly now: Date;
  /**
   * Grants that verified, for the object written; asked only when a write reaches rule 6 (most
   * writes are decided before). The decision still checks window, subject and scope.
   */
  readonly grantsFor: (target: Target) => readonly Grant[];
  /** for the scale subresource; absent or unknown: the documented fallback */
  readonly scaleParent?: ScaleParent;
  /** labels of the request's namespace when a cache knows them */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** the installation's key for hashing Secret values; absent: a key that lives as long as the process */
  readonly secretHashKey?: SecretHashKey;
  /**
   * Whether the review's text holds more than `limit` map keys (object and oldObject together), asked
   * only when a direct write has to be compared (policy limits.maxKeys); absent: never more.
   */
  readonly moreKeysThan?: (limit: number) => boolean;
}

export interface Verdict {
  readonly outcome: Outcome;
  readonly allowed: boolean;
  readonly rule: Rule;
  /** true when `mode: audit` turned a deny into an allow */
  readonly audited: boolean;
  readonly message: string | undefined;
  readonly warnings: readonly string[];
  readonly target: Target;
  readonly owner: Owner | undefined;
  /** every classified change that is not a runtime field */
  readonly changes: readonly ClassifiedChange[];
  readonly guarded: readonly ClassifiedChange[];
  readonly allowancesUsed: readonly string[];
  readonly grant: Grant | undefined;
  /**
   * true when the decision stopped reading the request once its denial was certain (more guarded
   * changes than a message lists, none of them coverable by any grant): `changes` and `guarded` then
   * hold only what was read, so a hostile write of 100,000 changed fields classifies six of them.
   */
  readonly partial: boolean;
}

export const SCALE_FALLBACK_OWNER: Owner = {
  display: 'GitOps (assumed: without a parent-object cache every scale write in a protected namespace counts as GitOps-owned)',
  id: 'unknown',
  via: 'scale fallback',
};

export function isProtected(ns: string, policy: Policy, labels: Readonly<Record<string, string>> | undefined): boolean {
  const p = policy.protectedNamespaces;
  if (p.names.has(ns)) return true;
  if (!p.matchLabels) return false;
  // Without namespace labels, trust the webhook's namespaceSelector (same labels) to have filtered.
  if (!labels) return true;
  return Object.entries(p.matchLabels).every(([k, v]) => ownValue(labels, k) === v);
}

function modeFor(policy: Policy, ns: string): Mode {
  return policy.namespaces.get(ns)?.mode ?? policy.mode;
}

function unmanagedCreatesFor(policy: Policy, ns: string): UnmanagedCreates {
  return policy.namespaces.get(ns)?.unmanagedCreates ?? policy.unmanagedCreates;
}

function scaleChanges(r: AdmissionRequest): FieldChange[] {
  const replicas = (o: KubeObject | null): unknown => (o?.spec as { replicas?: unknown } | undefined)?.replicas;
  const before = replicas(r.oldObject);
  const after = replicas(r.object);
  return before === after ? [] : [{ path: [keySeg('spec'), keySeg('replicas')], before, after }];
}

/** The field managers of the delegations that apply to this object (their ownership delegates fields). */
function delegatedManagers(policy: Policy, group: string, kind: string, scope: ScopeTarget): ReadonlySet<string> {
  const out = new Set<string>();
  for (const d of policy.delegations) {
    if (d.managers.size > 0 && d.kinds(group, kind) && delegationInScope(d, scope)) for (const m of d.managers) out.add(m);
  }
  return out;
}

/** The most managedFields entries a side of a compared write may list (real objects: a handful to a few dozen). */
export const MAX_MANAGED_FIELDS_ENTRIES = 256;

function managedFieldsCount(o: KubeObject | null): number {
  const m = o?.metadata?.managedFields;
  return Array.isArray(m) ? m.length : 0;
}

function reconcilerOwner(t: Target): Owner {
  return { display: `the GitOps reconciler configuration ${describeTarget(t)}`, id: `reconciler/${t.namespace}/${t.name}`, via: 'reconcile lever' };
}

export function decide(input: DecisionInput): Verdict {
  const { request: r, policy, now } = input;
  const target = targetOf(r);
  let owner: Owner | undefined;
  let changes: readonly ClassifiedChange[] = [];

  const verdict = (outcome: Outcome, rule: Rule, extra: Partial<Verdict> = {}): Verdict => ({
    outcome,
    allowed: outcome !== 'denied',
    rule,
    audited: false,
    message: undefined,
    warnings: [],
    target,
    owner,
    changes,
    guarded: [],
    allowancesUsed: [],
    grant: undefined,
    partial: false,
    ...extra,
  });

  // Rules 1 (malformed input) is the decoder's; CONNECT is always allowed.
  if (r.operation === 'CONNECT') return verdict('allowed', 'connect');

  // Rule 2: only protected namespaces (and tracked cluster-scoped objects unless ignored).
  if (target.clusterScoped) {
    if (policy.clusterScoped === 'ignore') return verdict('allowed', 'cluster-scoped-ignored');
  } else if (!isProtected(target.namespace, policy, input.namespaceLabels)) {
    return verdict('allowed', 'namespace-unprotected');
  }

  // Rule 3: the GitOps path itself, and system writers. Identity only: field managers can be spoofed.
  const user = r.userInfo.username;
  if (policy.gitops.controllers.has(user)) return verdict('allowed', 'gitops-controller');
  if (policy.systemWriters.has(user)) return verdict('allowed', 'system-writer');

  // Rule 4: ownership of the stored object (for scale: of the parent).
  assertKeysText(r, { annotations: policy.gitops.trackingAnnotations, labels: policy.gitops.trackingLabels }); // markers: text, or a 400
  const scale = r.subResource === 'scale';
  let stored: KubeObject | null;
  if (scale) {
    const parent = input.scaleParent;
    stored = parent?.state === 'found' ? parent.object : null;
    owner = parent?.state === 'found' ? ownerOf(parent.object, policy) : SCALE_FALLBACK_OWNER;
  } else {
    stored = r.operation === 'CREATE' ? r.object : r.oldObject;
    owner = ownerOf(stored, policy);
  }

  // An operator's child (stored controller ownerReference to a custom resource): the operator
  // reconciles it and the GitOps-owned parent is what driftgate guards.
  const operator = owner && r.operation !== 'CREATE' ? operatorOf(stored, policy) : undefined;
  if (operator) {
    owner = undefined;
    return verdict('allowed', 'operator-owned', { warnings: [operatorWarning(target, operator)] });
  }

  let unmanagedCreate = false;
  let leverOnly = false;
  if (!owner) {
    if (r.operation === 'CREATE' && !target.clusterScoped) {
      // ownerReferences are client-supplied: a controller's creates pass by identity (rule 3) only.
      const setting = unmanagedCreatesFor(policy, target.namespace);
      if (setting === 'allow') return verdict('allowed', 'not-gitops-owned');
      if (setting === 'audit') {
        return verdict('warned', 'unmanaged-create', { audited: true, warnings: [auditWarning(target, [], true)] });
      }
      unmanagedCreate = true;
    } else if (
      r.operation === 'UPDATE' &&
      !scale &&
      touchesLever(r.oldObject?.metadata, r.object?.metadata, target.group, target.kind)
    ) {
      // A reconcile lever is always guarded, even on an object nothing else marks as GitOps-owned.
      owner = reconcilerOwner(target);
      leverOnly = true;
    } else if (r.operation === 'DELETE' && isReconcilerKind(target.group, target.kind)) {
      // Deleting a Kustomization, HelmRelease or Application switches GitOps off for everything it applies
      // (and with prune or Argo CD's resources finalizer, its controller deletes all of it): a lever too.
      owner = reconcilerOwner(target);
    } else {
      return verdict('allowed', 'not-gitops-owned');
    }
  }

  // Rule 5: the guarded changes, classified as the diff finds them. A review holding more map keys than
  // one decision may list is not read at all (listing them is V8's O(N log N) work, seconds per million):
  // denied unread, or allowed with a warning in audit mode. The GitOps controllers never get here.
  // The ownership walks read every other manager's fields once per GitOps manager: the entries are bounded
  // too (the API server keeps ten Update entries and one per apply manager; 1.3 million empty ones cost 0.4 s).
  const large: TooLarge | undefined =
    input.moreKeysThan?.(policy.limits.maxKeys) === true
      ? { keys: policy.limits.maxKeys }
      : managedFieldsCount(r.oldObject) > MAX_MANAGED_FIELDS_ENTRIES || managedFieldsCount(r.object) > MAX_MANAGED_FIELDS_ENTRIES
        ? { managers: MAX_MANAGED_FIELDS_ENTRIES }
        : undefined;
  if (large) {
    if (modeFor(policy, target.namespace) === 'audit') {
      return verdict('warned', 'too-many-keys', { audited: true, partial: true, warnings: [tooManyKeysWarning(target, owner !== undefined, large)] });
    }
    return verdict('denied', 'too-many-keys', { partial: true, message: tooManyKeysMessage(target, r.operation, owner, large) });
  }
  assertTextMaps(r); // labels and annotations are text: a 400 otherwise, as for any malformed review

  // The guarded changes, classified as the diff finds them.
  const secret = isSecretKind(target.group, target.kind);
  const hashKey = input.secretHashKey ?? EPHEMERAL_SECRET_HASH_KEY;
  // Secrets as the API server stores them (data and stringData maps) are diffed as they are, each value
  // compared whole, and only the changed values hashed; anything else is hashed whole before the diff,
  // so no value shapes a path.
  const hashAfter = secret && hasDataMaps(r.oldObject) && hasDataMaps(r.object);
  const hashBefore = secret && !hashAfter;
  // Not GitOps-owned: only the levers are guarded, so only they are read.
  const before = leverOnly ? leverView(r.oldObject, target.group, target.kind) : hashBefore ? redactSecret(r.oldObject, hashKey) : r.oldObject;
  const after = leverOnly ? leverView(r.object, target.group, target.kind) : hashBefore ? redactSecret(r.object, hashKey) : r.object;
  const wholeObject = r.operation !== 'UPDATE';
  const scopeTarget: ScopeTarget = { name: target.name, namespace: target.namespace, owner: owner?.id };
  const classify = changeClassifier({ policy, group: target.group, kind: target.kind, writer: r.userInfo, stored, wholeObject, scopeTarget });
  const grantTarget: GrantTarget = { namespace: target.namespace, group: target.group, kind: target.kind, name: target.name, operation: r.operation, writer: r.userInfo };
  // Grants that apply to this write and cover every guarded change read so far (looked up at the first).
  let covering: Grant[] | undefined;
  const applicable = (): Grant[] => input.grantsFor(target).filter((g) => grantApplies(g, grantTarget, now));
  const kept: ClassifiedChange[] = [];
  const guarded: ClassifiedChange[] = [];
  const checksOwnership = r.operation === 'UPDATE' && !scale && !leverOnly;
  const raw: FieldChange[] = [];
  // An UPDATE's guarded changes are what a grant lets through; a CREATE's or DELETE's are the object itself.
  const maxChanges = wholeObject ? Number.POSITIVE_INFINITY : policy.breakGlass.maxChangesPerBypass;
  /** Records a guarded change and keeps only the grants that also cover it; returns how many are left. */
  const guard = (c: ClassifiedChange): number => {
    guarded.push(c);
    // Past the bypass limit no grant covers the write (tooLarge), whatever its paths.
    covering = guarded.length > maxChanges ? [] : (covering ?? applicable()).filter((g) => grantCoversPath(g, c.path));
    return covering.length;
  };
  const take = (change: FieldChange): boolean => {
    if (checksOwnership) raw.push(change);
    const c = classify(hashAfter ? redactSecretChange(change, hashKey) : change);
    if (c.class === 'runtime') return true;
    if (leverOnly && c.rule !== RECONCILE_LEVER) return true; // not GitOps-owned: only the lever is guarded
    kept.push(c);
    if (c.class !== 'guarded') return true;
    // No grant can cover this write any more: the denial is certain once a message's worth is read.
    return !(guard(c) === 0 && guarded.length > MAX_LISTED_PATHS);
  };
  let partial = false;
  if (scale) {
    for (const c of scaleChanges(r)) take(c);
  } else {
    const mergeKeys = lazyMergeKeyTree([
      ...(r.oldObject?.metadata?.managedFields ?? []),
      ...(r.object?.metadata?.managedFields ?? []),
    ]);
    const opts = { mergeKeys, skipRuntime: true, nullIsValue: true, ...(hashAfter ? { opaque: SECRET_VALUE_MAPS } : {}) };
    partial = !diffInto(r.operation === 'CREATE' ? undefined : before, r.operation === 'DELETE' ? undefined : after, opts, take);
  }
  if (checksOwnership && !partial) {
    // Shrinking a GitOps manager's managedFields ownership detaches the object, like a tracking marker.
    const losses = ownershipLosses(r.oldObject?.metadata?.managedFields, r.object?.metadata?.managedFields, policy.gitops.fieldManagers, raw);
    // Handing a delegated manager fields it did not own, with no value changed, makes the next write "delegated".
    const delegated = delegatedManagers(policy, target.group, target.kind, scopeTarget);
    const claims = delegated.size > 0 ? delegationClaims(r.oldObject?.metadata?.managedFields, r.object?.metadata?.managedFields, delegated, policy.gitops.fieldManagers, raw) : [];
    for (const c of [...ownershipLossChanges(losses), ...delegationClaimChanges(claims)]) {
      kept.push(c);
      guard(c);
    }
  }
  changes = kept;
  if (leverOnly && changes.length === 0) {
    owner = undefined;
    return verdict('allowed', 'not-gitops-owned');
  }

  if (guarded.length === 0 && !(wholeObject && (r.operation === 'DELETE' || unmanagedCreate))) {
    const used = [...new Set(changes.filter((c) => c.class === 'allowance').map((c) => c.rule ?? ''))];
    if (used.length > 0) {
      return verdict('warned', 'allowance', { allowancesUsed: used, warnings: [allowanceWarning(target, used, user)] });
    }
    return verdict('allowed', 'no-guarded-change');
  }

  // Rule 6: a grant covering every guarded change.
  const grant = partial ? undefined : narrowestGrant(covering ?? applicable());
  if (grant) return verdict('bypassed', 'grant', { guarded, grant });

  // Rule 7: deny, or in audit mode allow with a warning.
  const rule: Rule = unmanagedCreate ? 'unmanaged-create' : 'guarded-change';
  const tooLarge = guarded.length > maxChanges;
  const message = denialMessage({ target, operation: r.operation, owner, guarded, unmanagedCreate, partial, ...(tooLarge ? { bypassLimit: maxChanges } : {}) });
  if (modeFor(policy, target.namespace) === 'audit') {
    return verdict('warned', rule, { audited: true, guarded, partial, message, warnings: [auditWarning(target, guarded, unmanagedCreate, partial)] });
  }
  return verdict('denied', rule, { guarded, partial, message });
}
