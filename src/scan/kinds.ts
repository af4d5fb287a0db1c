/**
 * The collections a live scan lists. The default covers what GitOps delivers and people edit by hand;
 * controller products (ReplicaSets, Pods, Endpoints) are left out. `--kind` names others as
 * `<group>/<version>/<plural>` (`apps/v1/deployments`) or `<version>/<plural>` for the core group.
 */
import { DriftgateError } from '../errors.ts';

export interface ScanKind {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

export const DEFAULT_KINDS: readonly ScanKind[] = [
  { group: 'apps', version: 'v1', plural: 'deployments' },
  { group: 'apps', version: 'v1', plural: 'statefulsets' },
  { group: 'apps', version: 'v1', plural: 'daemonsets' },
  { group: '', version: 'v1', plural: 'configmaps' },
  { group: '', version: 'v1', plural: 'secrets' },
  { group: '', version: 'v1', plural: 'services' },
];

/** Managers of the API server's own controllers: what they alone own is controller-managed variance. */
export const DEFAULT_CONTROLLER_MANAGERS: readonly string[] = ['kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-apiserver'];

const SEGMENT = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;

export function parseScanKind(text: string): ScanKind {
  const parts = text.split('/');
  const [group, version, plural] = parts.length === 2 ? ['', parts[0]!, parts[1]!] : parts.length === 3 ? [parts[0]!, parts[1]!, parts[2]!] : [];
  if (version === undefined || plural === undefined || ![version, plural].every((p) => SEGMENT.test(p)) || (group !== '' && !SEGMENT.test(group!))) {
    throw new DriftgateError('INPUT_INVALID', `--kind ${JSON.stringify(text)}: write <group>/<version>/<plural> (apps/v1/deployments) or v1/<plural> for the core group`);
  }
  return { group: group!, version, plural };
}

/** The collection path: /api/v1/namespaces/prod/configmaps, /apis/apps/v1/namespaces/prod/deployments. */
export function collectionPath(k: ScanKind, namespace: string | undefined): string {
  const root = k.group === '' ? `/api/${k.version}` : `/apis/${k.group}/${k.version}`;
  return `${root}${namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`}/${k.plural}`;
}
