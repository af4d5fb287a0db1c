/**
 * Delegations imported from the GitOps tools' own configuration: what Argo CD or Flux was told not to
 * reconcile is not Git's, so driftgate must not guard it either (else it joins a field fight).
 *
 * An imported rule is scoped to the objects its source rule targets: an Argo CD Application's
 * `ignoreDifferences` applies only to that application's objects; `argocd-cm` customizations to every
 * Argo CD-owned object; a Flux HelmRelease's `driftDetection.ignore` only to that release's objects.
 */

export type GitOpsTool = 'Argo CD' | 'Flux';

export interface ImportedScope {
  /**
   * owner ids as driftgate computes them (`argocd/payments`, `flux-helmrelease/apps/podinfo`); an
   * entry ending in `/*` matches every owner id under that prefix (all of one tool's objects)
   */
  readonly owners: readonly string[];
  /** empty: any name */
  readonly names: readonly string[];
  /** empty: any namespace */
  readonly namespaces: readonly string[];
}

export interface ImportedRule {
  /** a stable, readable name: which object and which entry the rule comes from */
  readonly name: string;
  readonly tool: GitOpsTool;
  /** e.g. `Argo CD Application argocd/api spec.ignoreDifferences[0]` */
  readonly source: string;
  /** policy kind selectors (`apps/Deployment`, `core/Service`, `Deployment`); empty: any kind */
  readonly kinds: readonly string[];
  /** policy paths (dotted form) */
  readonly paths: readonly string[];
  /** field managers whose fields are not reconciled (Argo CD managedFieldsManagers) */
  readonly managers: readonly string[];
  readonly scope: ImportedScope;
}

/** An expression the source tool ignores that driftgate could not turn into a path. */
export interface NotImported {
  readonly source: string;
  readonly expression: string;
  readonly reason: string;
}

export interface ImportResult {
  readonly rules: ImportedRule[];
  readonly notImported: NotImported[];
}

/**
 * Who may write a field a GitOps tool ignores: controllers (every service account, and the
 * controller-manager's own identity), never a person. Argo CD ignoring /spec/replicas means the HPA
 * owns it; a human `kubectl scale` is still a change behind Git's back and needs a grant.
 */
export const IMPORTED_WRITERS = ['system:serviceaccounts', 'system:kube-controller-manager'] as const;

export function emptyResult(): ImportResult {
  return { rules: [], notImported: [] };
}

export function mergeResults(parts: readonly ImportResult[]): ImportResult {
  const out = emptyResult();
  for (const p of parts) {
    out.rules.push(...p.rules);
    out.notImported.push(...p.notImported);
  }
  return out;
}

/** A policy kind selector for an API group and kind as the GitOps tools spell them (`*` = any). */
export function kindSelector(group: string | undefined, kind: string | undefined): string[] {
  if (kind === undefined || kind === '' || kind === '*') return [];
  if (group === '*') return [kind];
  return [`${group === undefined || group === '' ? 'core' : group}/${kind}`];
}

/** A non-empty string field of a GitOps tool's object, or undefined. */
export const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The owner id driftgate gives the objects of a Flux Kustomization or HelmRelease (see ownership). */
export function fluxOwnerId(kind: 'Kustomization' | 'HelmRelease', namespace: string, name: string): string {
  return `flux-${kind.toLowerCase()}/${namespace}/${name}`;
}
