/**
 * Orphan drift (SPEC §2 rule 4): an object in a protected namespace that no GitOps application owns
 * (no tracking marker, no GitOps field manager) and that no controller made. Objects a controller made
 * carry a controller ownerReference, or only controller managers in managedFields (the namespace's
 * `kube-root-ca.crt`, the `default` ServiceAccount). Namespaces whose policy allows unmanaged creates
 * have no orphans by definition.
 */
import type { KubeObject } from '../admission/types.ts';
import type { Policy } from '../policy/policy.ts';
import { ownedFields } from './attribution.ts';
import type { Finding, WriteEvidence } from './types.ts';

function hasControllerOwner(obj: KubeObject): boolean {
  const refs = obj.metadata?.ownerReferences;
  return Array.isArray(refs) && refs.some((r) => r?.controller === true);
}

/** The earliest write in managedFields: who most likely made the object. */
function maker(obj: KubeObject): WriteEvidence | undefined {
  let first: WriteEvidence | undefined;
  for (const { writer } of ownedFields(obj.metadata?.managedFields)) {
    if (!first || (writer.time !== undefined && (first.time === undefined || writer.time < first.time))) first = writer;
  }
  return first;
}

/** The orphan finding for a non-GitOps-owned object, or undefined when it is not orphan drift. */
export function orphanFinding(obj: KubeObject, policy: Policy, controllerManagers: ReadonlySet<string>, inGit: boolean | undefined): Finding | undefined {
  const ns = obj.metadata?.namespace ?? '';
  if ((policy.namespaces.get(ns)?.unmanagedCreates ?? policy.unmanagedCreates) === 'allow') return undefined;
  if (inGit === true || hasControllerOwner(obj)) return undefined;
  const managers = new Set((obj.metadata?.managedFields ?? []).map((e) => e?.manager ?? ''));
  if (managers.size > 0 && [...managers].every((m) => controllerManagers.has(m))) return undefined;
  const made = maker(obj);
  const notInGit = inGit === false ? 'not in Git; ' : '';
  return {
    category: 'orphan',
    path: '(object)',
    ...(made ? { writer: made } : {}),
    note: made
      ? `${notInGit}no GitOps application owns it: put it into Git, or delete it`
      : `${notInGit}no GitOps application owns it; the dump has no managedFields to tell who made it (kubectl get --show-managed-fields)`,
  };
}
