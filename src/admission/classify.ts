/**
 * Classifying each change (SPEC §1–2): runtime, ignored, delegated (for this writer), allowance, or
 * guarded. Tracking markers and reconcile levers are guarded whatever the other rules say, and so is
 * every field of an object being deleted or created by hand.
 */
import { delegationInScope, type Policy, type ScopeTarget } from '../policy/policy.ts';
import { matchesAny } from '../policy/path-pattern.ts';
import { formatPath, type FieldPath } from './field-path.ts';
import type { FieldChange } from './diff.ts';
import { anyFieldSetOwns, fieldSetsOf } from './managed-fields.ts';
import { isRuntimePath } from './runtime-fields.ts';
import { isLeverPath } from './levers.ts';
import { trackingKeys } from './ownership.ts';
import type { KubeObject, UserInfo } from './types.ts';

export type ChangeClass = 'runtime' | 'ignored' | 'delegated' | 'allowance' | 'guarded';

export interface ClassifiedChange extends FieldChange {
  readonly printed: string;
  readonly class: ChangeClass;
  /** the ignore / delegation / allowance rule that decided, or why a change is always guarded */
  readonly rule: string | undefined;
  /** owned by a GitOps field manager in the stored object (Git declares it); undefined: unknown */
  readonly declaredInGit: boolean | undefined;
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
  const { policy, group, kind, writer, wholeObject } = input;
  const managed = input.stored?.metadata?.managedFields;
  const gitSets = fieldSetsOf(managed, policy.gitops.fieldManagers);
  const markers = trackingKeys(policy);
  const delegations = policy.delegations
    .filter((d) => d.kinds(group, kind) && delegationInScope(d, input.scopeTarget) && (d.writers === undefined || writer === undefined || writerIn(d.writers, writer)))
    .map((d) => ({ d, sets: d.managers.size > 0 ? fieldSetsOf(managed, d.managers) : [] }));
  const ignore = policy.ignore.filter((r) => r.kinds(group, kind));
  const allowances = policy.allowances.filter((r) => r.kinds(group, kind));

  return changes.map((c) => {
    const make = (cls: ChangeClass, rule?: string): ClassifiedChange => ({
      ...c,
      printed: formatPath(c.path),
      class: cls,
      rule,
      declaredInGit: gitSets.length > 0 ? anyFieldSetOwns(gitSets, c.path) : undefined,
    });
    if (isRuntimePath(c.path)) return make('runtime');
    if (isTrackingMarker(c.path, markers)) return make('guarded', 'tracking-marker');
    if (isLeverPath(c.path, group, kind)) return make('guarded', 'reconcile-lever');
    if (wholeObject) return make('guarded');
    for (const r of ignore) if (matchesAny(r.paths, c.path)) return make('ignored', r.name);
    for (const { d, sets } of delegations) {
      if (matchesAny(d.paths, c.path) || anyFieldSetOwns(sets, c.path)) return make('delegated', d.name);
    }
    for (const r of allowances) if (matchesAny(r.paths, c.path)) return make('allowance', r.name);
    return make('guarded');
  });
}
