/**
 * Drift on a GitOps-owned object, read from managedFields alone: the fields whose current owner is a
 * manager other than a GitOps field manager, classified exactly as the webhook classifies a change
 * (runtime, ignored, delegated, allowance, guarded). Manager names are chosen by clients, so this is
 * evidence of who wrote a field, not proof: `--desired` compares with Git itself.
 *
 * - A field co-owned by a GitOps manager (server-side apply shares ownership of equal values) is Git's.
 * - Delegations that name writers apply only to controller managers (the HPA writes spec.replicas as
 *   kube-controller-manager); a hand-run `kubectl scale` is the writer the webhook would have denied.
 * - A field only a controller manager owns, and no delegation covers, is controller-managed variance:
 *   reported as runtime with the rule `controller <manager>`.
 */
import { classifyChanges, type ClassifiedChange } from '../admission/classify.ts';
import type { FieldChange } from '../admission/diff.ts';
import { formatPath } from '../lib/field-path.ts';
import { anyFieldSetOwns, fieldSetsOf } from '../admission/managed-fields.ts';
import type { KubeObject, UserInfo } from '../admission/types.ts';
import { valueAt } from '../drift/verify.ts';
import type { Policy } from '../policy/policy.ts';
import { ownedFields } from './attribution.ts';
import type { Finding, WriteEvidence } from './types.ts';

export interface AttributionInput {
  readonly policy: Policy;
  readonly group: string;
  readonly kind: string;
  /** the live object, Secret values already hashed */
  readonly object: KubeObject;
  readonly controllerManagers: ReadonlySet<string>;
}

/** A writer that matches no policy subject: delegations restricted to named writers do not apply. */
const HAND_WRITER: UserInfo = { username: 'field-manager (not an identity)', groups: [] };

function toFinding(c: ClassifiedChange, writer: WriteEvidence, controller: boolean): Finding {
  const asController = controller && c.class === 'guarded' && c.rule === undefined;
  return {
    category: asController ? 'runtime' : c.class,
    path: c.printed,
    ...(asController ? { rule: `controller ${writer.manager}` } : c.rule ? { rule: c.rule } : {}),
    live: c.after,
    writer,
    ...(c.declaredInGit !== undefined ? { declaredInGit: c.declaredInGit } : {}),
  };
}

/** The non-GitOps-owned fields of a GitOps-owned object, classified; runtime fields left out. */
export function attributedFindings(input: AttributionInput): Finding[] {
  const { policy, object, controllerManagers } = input;
  const managed = object.metadata?.managedFields;
  const gitSets = fieldSetsOf(managed, policy.gitops.fieldManagers);
  const seen = new Map<string, { change: FieldChange; writer: WriteEvidence }>();
  for (const { path, writer } of ownedFields(managed)) {
    if (policy.gitops.fieldManagers.has(writer.manager) || anyFieldSetOwns(gitSets, path)) continue;
    const printed = formatPath(path);
    const prior = seen.get(printed);
    if (prior && (prior.writer.time ?? '') >= (writer.time ?? '')) continue;
    const value = valueAt(object, printed);
    if (value === undefined) continue;
    seen.set(printed, { change: { path, before: undefined, after: value }, writer });
  }
  const findings: Finding[] = [];
  for (const controller of [true, false]) {
    const group = [...seen.values()].filter((s) => controllerManagers.has(s.writer.manager) === controller);
    if (group.length === 0) continue;
    const classified = classifyChanges(
      group.map((s) => s.change),
      { policy, group: input.group, kind: input.kind, writer: controller ? undefined : HAND_WRITER, stored: object, wholeObject: false },
    );
    classified.forEach((c, i) => {
      if (c.class !== 'runtime') findings.push(toFinding(c, group[i]!.writer, controller));
    });
  }
  return findings;
}
