/**
 * `driftgate policy check`: where driftgate's ownership map and the GitOps tools' disagree.
 * - driftgate guards a field the GitOps tool ignores (an ignore rule it could not import): whoever
 *   writes that field (a controller, a person) is denied by driftgate while Git does not own it;
 * - driftgate delegates a field (HPA replicas) that the GitOps tool still reconciles: Argo CD self-heal
 *   or Flux drift correction reverts the delegate's writes, and the two fight.
 */
import { ownerInScope, type Policy } from '../policy/policy.ts';
import { matchesPath, parsePathPattern, type PathPattern } from '../policy/path-pattern.ts';
import { parseKindSelector } from '../policy/kinds.ts';
import type { ImportResult, ImportedRule } from './imported.ts';

export interface Conflict {
  readonly kind: 'guarded-but-ignored' | 'delegated-but-reconciled';
  readonly message: string;
}

/** A GitOps application driftgate was shown (Argo CD Application, Flux HelmRelease). */
export interface KnownOwner {
  readonly id: string;
  readonly tool: 'Argo CD' | 'Flux';
  readonly source: string;
}

type Path = Parameters<typeof matchesPath>[1];

/** The one field a pattern names, when it names exactly one (no globs, no wildcards). */
function concrete(p: PathPattern): Path | undefined {
  const out: Path[number][] = [];
  for (const s of p.segments) {
    if (s.k === 'key' && !s.glob) out.push({ k: 'key', key: s.key });
    else if (s.k === 'item') out.push({ k: 'item', keys: { ...s.keys } });
    else return undefined;
  }
  return out;
}

function ruleCovers(rule: ImportedRule, kinds: readonly string[], path: PathPattern | undefined, manager: string | undefined): boolean {
  if (rule.kinds.length > 0 && kinds.length > 0) {
    const kindOk = kinds.some((k) => {
      const slash = k.lastIndexOf('/');
      const kind = slash < 0 ? k : k.slice(slash + 1);
      const group = slash < 0 ? '' : k.slice(0, slash);
      return rule.kinds.some((rk) => parseKindSelector(rk)(group === 'core' ? '' : group, kind));
    });
    if (!kindOk) return false;
  }
  if (manager !== undefined) return rule.managers.includes(manager);
  const field = path ? concrete(path) : undefined;
  if (!field) return false;
  return rule.paths.some((rp) => matchesPath(parsePathPattern(rp), field));
}

export function findConflicts(policy: Policy, imported: ImportResult, owners: readonly KnownOwner[]): Conflict[] {
  const out: Conflict[] = [];
  for (const n of imported.notImported) {
    out.push({
      kind: 'guarded-but-ignored',
      message: `${n.source} ignores ${JSON.stringify(n.expression)}, which driftgate could not import (${n.reason}): driftgate still guards that field, so its writers are denied while Git does not own it`,
    });
  }
  for (const d of policy.delegations) {
    if (d.source !== undefined) continue; // imported from a GitOps tool already
    const wants = [
      ...d.paths.map((p) => ({ what: p.source, path: p as PathPattern | undefined, manager: undefined as string | undefined })),
      ...[...d.managers].map((m) => ({ what: `fields of manager "${m}"`, path: undefined, manager: m })),
    ];
    for (const o of owners) {
      const rules = imported.rules.filter((r) => ownerInScope(r.scope.owners, o.id));
      for (const w of wants) {
        if (rules.some((r) => ruleCovers(r, d.kindNames, w.path, w.manager))) continue;
        const fix =
          o.tool === 'Argo CD'
            ? w.manager !== undefined
              ? `managedFieldsManagers: [${w.manager}]`
              : 'a spec.ignoreDifferences entry for it'
            : 'a spec.driftDetection.ignore entry for it';
        out.push({
          kind: 'delegated-but-reconciled',
          message: `driftgate delegates ${w.what}${d.kindNames.length > 0 ? ` of ${d.kindNames.join(', ')}` : ''} (delegation "${d.name}"), but ${o.source} does not ignore it: ${o.tool} will revert the delegate's writes (add ${fix})`,
        });
      }
    }
  }
  return out;
}
