/**
 * The policy the decision uses in cluster mode: the file's policy plus the delegations imported from
 * the GitOps tools' configuration (watched). Recompiled only when either changes.
 */
import type { Delegation, Policy } from '../policy/policy.ts';
import { parsePathPattern } from '../policy/path-pattern.ts';
import { anyKind, parseKindSelector } from '../policy/kinds.ts';
import { IMPORTED_WRITERS, type ImportedRule } from './imported.ts';

/** An imported rule as a compiled delegation; undefined when a path or kind does not parse. */
export function compileImported(r: ImportedRule): Delegation | undefined {
  try {
    return {
      name: r.name,
      kinds: anyKind(r.kinds.map((k) => parseKindSelector(k))),
      paths: r.paths.map((p) => parsePathPattern(p)),
      managers: new Set(r.managers),
      writers: new Set(IMPORTED_WRITERS),
      kindNames: [...r.kinds],
      scope: {
        owners: [...r.scope.owners],
        names: r.scope.names.length > 0 ? new Set(r.scope.names) : undefined,
        namespaces: r.scope.namespaces.length > 0 ? new Set(r.scope.namespaces) : undefined,
      },
      source: r.source,
    };
  } catch {
    return undefined;
  }
}

export function policyWithImported(base: () => Policy, imported: () => { readonly version: number; readonly delegations: readonly Delegation[] }): () => Policy {
  let last: { base: Policy; version: number; policy: Policy } | undefined;
  return () => {
    const b = base();
    const i = imported();
    if (last && last.base === b && last.version === i.version) return last.policy;
    const policy = i.delegations.length === 0 ? b : Object.freeze({ ...b, delegations: [...b.delegations, ...i.delegations] });
    last = { base: b, version: i.version, policy };
    return policy;
  };
}
