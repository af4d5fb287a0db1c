/**
 * Flux's own "do not correct this" configuration, as driftgate delegations: a HelmRelease's
 * `spec.driftDetection.ignore[]` (JSON pointer `paths` and an optional `target`), scoped to the
 * release's objects.
 */
import type { KubeObject } from '../admission/types.ts';
import { emptyResult, fluxOwnerId, kindSelector, nonEmpty, type ImportResult } from './imported.ts';
import { pointerToPath } from './paths.ts';

interface Target {
  readonly group?: unknown;
  readonly kind?: unknown;
  readonly name?: unknown;
  readonly namespace?: unknown;
  readonly labelSelector?: unknown;
  readonly annotationSelector?: unknown;
}


export function fromHelmRelease(hr: KubeObject): ImportResult {
  const out = emptyResult();
  const name = nonEmpty(hr.metadata?.name);
  const ns = nonEmpty(hr.metadata?.namespace) ?? 'default';
  if (!name) return out;
  const spec = (hr as { spec?: { driftDetection?: { ignore?: unknown } } }).spec;
  const rules = Array.isArray(spec?.driftDetection?.ignore) ? (spec.driftDetection.ignore as unknown[]) : [];
  const owner = fluxOwnerId('HelmRelease', ns, name);
  rules.forEach((raw, i) => {
    if (typeof raw !== 'object' || raw === null) return;
    const source = `Flux HelmRelease ${ns}/${name} spec.driftDetection.ignore[${i}]`;
    const r = raw as { paths?: unknown; target?: Target };
    const t = r.target ?? {};
    if (nonEmpty(t.labelSelector) || nonEmpty(t.annotationSelector)) {
      out.notImported.push({
        source,
        expression: `target ${nonEmpty(t.labelSelector) ? `labelSelector "${String(t.labelSelector)}"` : `annotationSelector "${String(t.annotationSelector)}"`}`,
        reason: 'selector targets are not imported (driftgate would have to widen the rule to every object of the release); name the objects with target.kind/name instead',
      });
      return;
    }
    const paths: string[] = [];
    for (const p of Array.isArray(r.paths) ? r.paths : []) {
      if (typeof p !== 'string') continue;
      const res = pointerToPath(p);
      if ('path' in res) paths.push(res.path);
      else out.notImported.push({ source, expression: p, reason: res.error });
    }
    if (paths.length === 0) return;
    const objName = nonEmpty(t.name);
    const objNs = nonEmpty(t.namespace);
    // kustomize-style targets are regular expressions; only plain names are imported exactly
    const regex = [objName, objNs].find((v) => v !== undefined && /[\\^$.*+?()[\]{}|]/.test(v));
    if (regex !== undefined) {
      out.notImported.push({ source, expression: `target "${regex}"`, reason: 'a regular-expression target is not imported; name the object exactly' });
      return;
    }
    out.rules.push({
      name: `flux-${ns}-${name}-ignore-${i}`.toLowerCase(),
      tool: 'Flux',
      source,
      kinds: kindSelector(nonEmpty(t.group) ?? (nonEmpty(t.kind) ? '*' : undefined), nonEmpty(t.kind)),
      paths,
      managers: [],
      scope: { owners: [owner], names: objName ? [objName] : [], namespaces: objNs ? [objNs] : [] },
    });
  });
  return out;
}
