/**
 * What a request writes to, in the vocabulary of policies and grants: group, kind, namespace, name.
 * For the `scale` subresource the target is the parent object (a Deployment, not a Scale).
 */
import type { AdmissionRequest } from './types.ts';

export interface Target {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly subResource: string | undefined;
  readonly clusterScoped: boolean;
}

const SCALE_PARENTS: ReadonlyMap<string, string> = new Map([
  ['deployments', 'Deployment'],
  ['statefulsets', 'StatefulSet'],
  ['replicasets', 'ReplicaSet'],
  ['replicationcontrollers', 'ReplicationController'],
]);

/** Groups whose kinds are unambiguous on the command line without the group suffix. */
const SHORT_GROUPS = new Set(['', 'apps', 'batch', 'autoscaling', 'policy', 'networking.k8s.io']);

function nameOf(r: AdmissionRequest): string {
  if (r.name) return r.name;
  const md = (r.object ?? r.oldObject)?.metadata as { name?: unknown; generateName?: unknown } | undefined;
  if (typeof md?.name === 'string' && md.name) return md.name;
  if (typeof md?.generateName === 'string' && md.generateName) return `${md.generateName}*`;
  return '';
}

function kindOfResource(resource: string): string {
  const singular = resource.endsWith('s') ? resource.slice(0, -1) : resource;
  return singular.charAt(0).toUpperCase() + singular.slice(1);
}

export function targetOf(r: AdmissionRequest): Target {
  const scale = r.subResource === 'scale';
  const group = scale ? r.resource.group : r.kind.group;
  const kind = scale ? (SCALE_PARENTS.get(r.resource.resource) ?? kindOfResource(r.resource.resource)) : r.kind.kind;
  const clusterScoped = r.namespace === '' || (group === '' && kind === 'Namespace');
  return {
    group,
    version: scale ? r.resource.version : r.kind.version,
    kind,
    namespace: clusterScoped ? '' : r.namespace,
    name: nameOf(r),
    subResource: r.subResource,
    clusterScoped,
  };
}

/**
 * The longest request text (a name, a kind, a field path) a message or log line shows whole.
 * Kubernetes names are at most 253 characters and keys at most 317 (a 253-character prefix, `/`, a
 * 63-character name), so a real path through one fits with room to spare; longer text comes from a
 * request that did not come from the API server, and is cut so that it is not reflected whole into
 * every answer and log line.
 */
export const MAX_SHOWN = 512;

/** Request text for people: whole up to MAX_SHOWN characters, then cut with `…`. */
export function shownName(s: string): string {
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN - 1)}…` : s;
}

/** `Deployment prod/api`, `ClusterRole admin` */
export function describeTarget(t: Target): string {
  const kind = shownName(t.kind);
  return t.clusterScoped ? `${kind} ${shownName(t.name)}` : `${kind} ${shownName(t.namespace)}/${shownName(t.name)}`;
}

/** The kubectl-style reference the CLI takes: `deployment/api`, `kustomization.kustomize.toolkit.fluxcd.io/apps`. */
export function resourceRef(t: Target): string {
  const kind = shownName(t.kind.toLowerCase());
  const name = shownName(t.name);
  return SHORT_GROUPS.has(t.group) ? `${kind}/${name}` : `${kind}.${shownName(t.group)}/${name}`;
}
