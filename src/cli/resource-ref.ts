/**
 * kubectl-style resource references for grants: `deployment/api`, `deploy/api`, `cm/settings`,
 * `kustomization.kustomize.toolkit.fluxcd.io/apps`, `deployment/*`, `deployment/api-*`.
 */
import { DriftgateError } from '../errors.ts';
import type { ResourceRef } from '../grants/grant.ts';

const KINDS: Record<string, { group: string; kind: string }> = {};
function add(group: string, kind: string, ...names: string[]): void {
  for (const n of [kind.toLowerCase(), `${kind.toLowerCase()}s`, ...names]) KINDS[n] = { group, kind };
}
add('apps', 'Deployment', 'deploy');
add('apps', 'StatefulSet', 'sts');
add('apps', 'DaemonSet', 'ds');
add('apps', 'ReplicaSet', 'rs');
add('', 'ConfigMap', 'cm');
add('', 'Secret');
add('', 'Service', 'svc');
add('', 'ServiceAccount', 'sa');
add('', 'PersistentVolumeClaim', 'pvc');
add('', 'Pod', 'po');
add('batch', 'Job');
add('batch', 'CronJob', 'cj');
add('autoscaling', 'HorizontalPodAutoscaler', 'hpa');
add('policy', 'PodDisruptionBudget', 'pdb');
add('networking.k8s.io', 'Ingress', 'ing', 'ingresses');
add('networking.k8s.io', 'NetworkPolicy', 'netpol', 'networkpolicies');
add('rbac.authorization.k8s.io', 'Role');
add('rbac.authorization.k8s.io', 'RoleBinding');

export function parseResourceRef(ref: string): ResourceRef {
  const slash = ref.indexOf('/');
  if (slash <= 0 || slash === ref.length - 1) {
    throw new DriftgateError('INPUT_INVALID', `"${ref}" is not a resource reference: write kind/name, e.g. deployment/api or deployment/*`);
  }
  const type = ref.slice(0, slash);
  const name = ref.slice(slash + 1);
  const dot = type.indexOf('.');
  if (dot > 0) {
    // kind.group/name, as kubectl prints for custom resources
    const kind = type.slice(0, dot);
    const known = KINDS[kind.toLowerCase()];
    return { group: type.slice(dot + 1), kind: known?.kind ?? kind.charAt(0).toUpperCase() + kind.slice(1), name };
  }
  const known = KINDS[type.toLowerCase()];
  if (!known) throw new DriftgateError('INPUT_INVALID', `unknown resource type "${type}": use kind.group/name for other kinds (e.g. kustomization.kustomize.toolkit.fluxcd.io/apps)`);
  return { ...known, name };
}

export function formatResourceRef(r: ResourceRef): string {
  return `${r.kind.toLowerCase()}${r.group && !['apps', 'batch', 'autoscaling', 'policy', 'networking.k8s.io'].includes(r.group) ? `.${r.group}` : ''}/${r.name}`;
}
