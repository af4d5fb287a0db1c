/**
 * Classifying each change (SPEC §1–2): runtime, ignored, delegated (for this writer), allowance, or
 * guarded. Tracking markers and reconcile levers are guarded whatever the other rules say, and so is
 * every field of an object being deleted or created by hand.
 */
import { delegationInScope, type Policy, type ScopeTarget } from '../policy/policy.ts';
import { matchesAny } from '../policy/path-pattern.ts';
import { formatPath, type FieldPath } from '../lib/field-path.ts';
import type { FieldChange } from './diff.ts';
import { fieldOwnership, fieldsOf, type FieldOwnership } from './managed-fields.ts';
import { isRuntimePath } from './runtime-fields.ts';
import { isLeverPath } from './levers.ts';
import { lossPath, type DelegationClaim, type OwnershipLoss } from './ownership-loss.ts';
import { trackingKeys } from './ownership.ts';
import type { KubeObject, UserInfo } from './types.ts';

export type ChangeClass = 'runtime' | 'ignored' | 'delegated' | 'allowance' | 'guarded';

/** Why a change is guarded whatever the ignore, delegation and allowance rules say. */
export const TRACKING_MARKER = 'tracking-marker';
export const RECONCILE_LEVER = 'reconcile-lever';
export const GITOPS_OWNERSHIP = 'gitops-ownership';
export const DELEGATION_CLAIM = 'delegation-claim';

export interface ClassifiedChange extends FieldChange {
  readonly printed: string;
  readonly class: ChangeClass;
  /** the ignore / delegation / allowance rule that decided, or why a change is always guarded */
  readonly rule: string | undefined;
  /** owned by a GitOps field manager in the stored object (Git declares it); undefined: unknown */
  readonly declaredInGit: boolean | undefined;
  /** a guarded field that a delegation gives to other writers (e.g. one the GitOps tool ignores) */
  readonly delegatedTo?: { readonly rule: string; readonly source: string | undefined; readonly writers: readonly string[] };
}

export interface ClassifyInput {
  readonly policy: Policy;
  readonly group: string;
  readonly kind: string;
  /** undefined: the writer is unknown (the manual diff), so delegations apply whoever their writers are */
  readonly writer: UserInfo | undefined;
  /** the stored object: its managedFields say which fields Git and delegated managers own */
  readonly stored: KubeObject | null;
  /** DELETE, or CREATE by hand: every field is guarded */
  readonly wholeObject: boolean;
  /** the object's name, namespace and GitOps owner, for scoped delegations; absent: they never apply */
  readonly scopeTarget?: ScopeTarget;
}

function writerIn(set: ReadonlySet<string>, writer: UserInfo): boolean {
  return set.has(writer.username) || writer.groups.some((g) => set.has(g));
}

function isTrackingMarker(path: FieldPath, keys: ReturnType<typeof trackingKeys>): boolean {
  const [a, b, c] = path;
  if (a?.k !== 'key' || a.key !== 'metadata' || b?.k !== 'key' || c?.k !== 'key') return false;
  if (b.key === 'annotations') return keys.annotations.has(c.key);
  if (b.key === 'labels') return keys.labels.has(c.key);
  return false;
}

export function classifyChanges(changes: readonly FieldChange[], input: ClassifyInput): ClassifiedChange[] {
  return changes.map(changeClassifier(input));
}

/**
 * The classification of one change at a time, for a decision that reads changes as the diff finds
 * them. Field ownership (managedFields) is read only when a change's `declaredInGit` is asked for.
 */
export function changeClassifier(input: ClassifyInput): (c: FieldChange) => ClassifiedChange {
  const { policy, group, kind, writer, wholeObject } = input;
  const managed = input.stored?.metadata?.managedFields;
  const git = fieldOwnership(fieldsOf(managed, policy.gitops.fieldManagers));
  const markers = trackingKeys(policy);
  const applicable = policy.delegations
    .filter((d) => d.kinds(group, kind) && delegationInScope(d, input.scopeTarget))
    .map((d) => ({ d, owned: d.managers.size > 0 ? fieldOwnership(fieldsOf(managed, d.managers)) : undefined }));
  const forWriter = ({ d }: (typeof applicable)[number]) => d.writers === undefined || writer === undefined || writerIn(d.writers, writer);
  const delegations = applicable.filter(forWriter);
  // delegations of other writers: a denial names who may change the field, and why
  const others = applicable.filter((x) => !forWriter(x));
  const ignore = policy.ignore.filter((r) => r.kinds(group, kind));
  const allowances = policy.allowances.filter((r) => r.kinds(group, kind));

  const make = (c: FieldChange, cls: ChangeClass, rule?: string, delegatedTo?: ClassifiedChange['delegatedTo']): ClassifiedChange =>
    new Classified(c, cls, rule, git, delegatedTo);
  return (c) => {
    if (isRuntimePath(c.path)) return make(c, 'runtime');
    if (isTrackingMarker(c.path, markers)) return make(c, 'guarded', TRACKING_MARKER);
    if (isLeverPath(c.path, group, kind)) return make(c, 'guarded', RECONCILE_LEVER);
    if (wholeObject) return make(c, 'guarded');
    for (const r of ignore) if (matchesAny(r.paths, c.path)) return make(c, 'ignored', r.name);
    for (const { d, owned } of delegations) {
      if (matchesAny(d.paths, c.path) || owned?.owns(c.path) === true) return make(c, 'delegated', d.name);
    }
    // An allowance is an operational action on a text value (an annotation): a list, map or number
    // written under an allowed key is not that action.
    if (isText(c.before) && isText(c.after)) {
      for (const r of allowances) if (matchesAny(r.paths, c.path)) return make(c, 'allowance', r.name);
    }
    for (const { d, owned } of others) {
      if (matchesAny(d.paths, c.path) || owned?.owns(c.path) === true) {
        return make(c, 'guarded', undefined, { rule: d.name, source: d.source, writers: [...(d.writers ?? [])] });
      }
    }
    return make(c, 'guarded');
  };
}

/**
 * A classified change. Its printed path and whether Git declares it are worked out on first read: a
 * denial prints five paths, and a deleted object with 100,000 fields must not pay for the rest.
 */
class Classified implements ClassifiedChange {
  readonly path: FieldPath;
  readonly before: unknown;
  readonly after: unknown;
  readonly class: ChangeClass;
  readonly rule: string | undefined;
  readonly delegatedTo?: ClassifiedChange['delegatedTo'];
  #printed: string | undefined;
  #git: FieldOwnership | undefined;
  #declared: boolean | undefined | null = null;

  constructor(c: FieldChange, cls: ChangeClass, rule: string | undefined, git: FieldOwnership | undefined, delegatedTo: ClassifiedChange['delegatedTo'] | undefined) {
    this.path = c.path;
    this.before = c.before;
    this.after = c.after;
    this.class = cls;
    this.rule = rule;
    this.#git = git;
    if (delegatedTo) this.delegatedTo = delegatedTo;
  }

  get printed(): string {
    return (this.#printed ??= formatPath(this.path));
  }

  get declaredInGit(): boolean | undefined {
    if (this.#declared === null) this.#declared = this.#git ? this.#git.owns(this.path) : undefined;
    return this.#declared;
  }

  toJSON(): Record<string, unknown> {
    return { path: this.path, before: this.before, after: this.after, printed: this.printed, class: this.class, rule: this.rule, declaredInGit: this.declaredInGit, ...(this.delegatedTo ? { delegatedTo: this.delegatedTo } : {}) };
  }
}

function isText(v: unknown): boolean {
  return v === undefined || typeof v === 'string';
}

/** A guarded change to a field manager's managedFields entry, shown at `metadata.managedFields[manager=…]`. */
function managerChange(manager: string, before: string, after: string, rule: string): ClassifiedChange {
  const path = lossPath(manager);
  return { path, before, after, printed: formatPath(path), class: 'guarded', rule, declaredInGit: undefined };
}

/** Ownership a write takes from a GitOps field manager, as guarded changes (see ownership-loss.ts). */
export function ownershipLossChanges(losses: readonly OwnershipLoss[]): ClassifiedChange[] {
  return losses.map((l) =>
    managerChange(
      l.manager,
      `owns ${l.before} field(s)`,
      l.after === 0 ? 'owns nothing' : `owns ${l.after} field(s)${l.lost.length > 0 ? `, no longer ${l.lost.join(', ')}` : ''}`,
      GITOPS_OWNERSHIP,
    ),
  );
}

/** Fields a write hands to a delegated field manager without changing them, as guarded changes. */
export function delegationClaimChanges(claims: readonly DelegationClaim[]): ClassifiedChange[] {
  return claims.map((c) => managerChange(c.manager, `owns ${c.before} field(s)`, `claims ${c.claimed} more with no value changed: ${c.shown.join(', ')}`, DELEGATION_CLAIM));
}
