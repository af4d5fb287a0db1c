/**
 * One live object, all of its drift: with Git's object at hand (`--desired`), every difference from
 * Git; otherwise, on a GitOps-owned object, the fields a non-GitOps manager owns; on an object no
 * GitOps application owns, whether it is an orphan. Guarded drift and orphans are then matched with
 * the recorded tasks.
 */
import { operatorOf, ownerOf } from '../admission/ownership.ts';
import { isSecretKind, redactSecret, type SecretHashKey } from '../admission/redact.ts';
import type { KubeObject } from '../admission/types.ts';
import { groupOf } from '../manifests/read.ts';
import type { Policy } from '../policy/policy.ts';
import { desiredFindings, type DesiredIndex } from './desired.ts';
import type { TaskLedger } from './ledger.ts';
import { orphanFinding } from './orphans.ts';
import type { Finding, ObjectRef, ObjectReport } from './types.ts';
import { attributedFindings } from './unrecorded.ts';

export interface AnalyzeContext {
  readonly policy: Policy;
  readonly controllerManagers: ReadonlySet<string>;
  readonly desired: DesiredIndex | undefined;
  readonly ledger: TaskLedger;
  /** the installation's key for Secret value hashes (as the webhook's tasks hold them); absent: this process's own */
  readonly secretHashKey: SecretHashKey | undefined;
}

export function refOf(o: KubeObject): ObjectRef {
  const md = o.metadata;
  return {
    apiVersion: o.apiVersion ?? '',
    kind: o.kind ?? '',
    namespace: md?.namespace ?? '',
    name: md?.name ?? '(unnamed)',
    ...(typeof md?.uid === 'string' ? { uid: md.uid } : {}),
  };
}

function findingsOf(obj: KubeObject, ctx: AnalyzeContext, owned: boolean): Finding[] {
  const { policy, controllerManagers } = ctx;
  const git = ctx.desired?.take(obj);
  if (git) return desiredFindings(git, obj, policy, ctx.secretHashKey);
  // An operator's child: the operator reconciles it; its GitOps-owned parent is what is guarded.
  const operator = owned ? operatorOf(obj, policy) : undefined;
  if (operator) {
    return [
      {
        category: 'delegated',
        path: '(object)',
        rule: 'operator-owned',
        note: `managed by the operator of ${operator.kind} ${operator.name} (${operator.apiVersion}, its controller): the GitOps-owned ${operator.kind} is guarded, not its children`,
      },
    ];
  }
  if (!owned) {
    const orphan = orphanFinding(obj, policy, controllerManagers, ctx.desired ? false : undefined);
    return orphan ? [{ ...orphan, recorded: false }] : [];
  }
  const group = groupOf(obj.apiVersion ?? '');
  const kind = obj.kind ?? '';
  const shown = isSecretKind(group, kind) ? redactSecret(obj, ctx.secretHashKey)! : obj;
  const findings = attributedFindings({ policy, group, kind, object: shown, controllerManagers }).map((f) => (f.category === 'guarded' ? { ...f, recorded: false } : f));
  if (ctx.desired) findings.push({ category: 'orphan', path: '(object)', note: 'GitOps-owned but not in the desired manifests: removed from Git and not pruned, or the manifests are incomplete' });
  return findings;
}

/** The object's report, or undefined when it has no findings at all. */
export async function analyzeObject(obj: KubeObject, ctx: AnalyzeContext): Promise<ObjectReport | undefined> {
  const owner = ownerOf(obj, ctx.policy);
  const ref = refOf(obj);
  const findings: Finding[] = [];
  for (const f of findingsOf(obj, ctx, owner !== undefined)) {
    const taskId = f.recorded !== false ? undefined : f.category === 'orphan' ? await ctx.ledger.creationTask(ref) : await ctx.ledger.fieldTask(ref, f.path, f.live);
    findings.push(taskId ? { ...f, recorded: true, taskId } : f);
  }
  if (findings.length === 0) return undefined;
  return { object: ref, ...(owner ? { owner: owner.display, ownerId: owner.id } : {}), findings };
}
