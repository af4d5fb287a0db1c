/**
 * Reconcile levers (SPEC §1): writes that switch GitOps off for an object without touching its spec.
 * Always guarded, whatever the ignore, delegation and allowance rules say.
 */
import type { FieldPath } from './field-path.ts';

export const LEVER_KEYS: ReadonlySet<string> = new Set([
  'kustomize.toolkit.fluxcd.io/reconcile',
  'kustomize.toolkit.fluxcd.io/ssa',
  'helm.toolkit.fluxcd.io/driftDetection',
  'argocd.argoproj.io/skip-reconcile',
]);

/** Kinds whose spec configures the GitOps reconciler itself. */
const RECONCILER_SPEC: Record<string, { kind: string; path: readonly string[] }> = {
  'kustomize.toolkit.fluxcd.io/Kustomization': { kind: 'Kustomization', path: ['spec', 'suspend'] },
  'helm.toolkit.fluxcd.io/HelmRelease': { kind: 'HelmRelease', path: ['spec', 'suspend'] },
  'argoproj.io/Application': { kind: 'Application', path: ['spec', 'syncPolicy', 'automated'] },
};

export function isReconcilerKind(group: string, kind: string): boolean {
  return RECONCILER_SPEC[`${group}/${kind}`] !== undefined;
}

function startsWith(path: FieldPath, keys: readonly string[]): boolean {
  return keys.every((k, i) => {
    const s = path[i];
    return s?.k === 'key' && s.key === k;
  });
}

export function isLeverPath(path: FieldPath, group: string, kind: string): boolean {
  const [a, b, c] = path;
  if (a?.k === 'key' && a.key === 'metadata' && b?.k === 'key' && (b.key === 'annotations' || b.key === 'labels')) {
    if (c?.k === 'key' && LEVER_KEYS.has(c.key)) return true;
  }
  const spec = RECONCILER_SPEC[`${group}/${kind}`];
  return spec !== undefined && startsWith(path, spec.path);
}

/** Cheap pre-check on an object the policy does not see as GitOps-owned: could this write pull a lever? */
export function touchesLever(
  before: Readonly<Record<string, unknown>> | undefined,
  after: Readonly<Record<string, unknown>> | undefined,
  group: string,
  kind: string,
): boolean {
  if (isReconcilerKind(group, kind)) return true;
  for (const where of ['annotations', 'labels'] as const) {
    const b = (before?.[where] ?? {}) as Record<string, unknown>;
    const a = (after?.[where] ?? {}) as Record<string, unknown>;
    for (const key of LEVER_KEYS) if (b[key] !== a[key]) return true;
  }
  return false;
}
