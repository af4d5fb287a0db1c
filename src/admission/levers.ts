/**
 * Reconcile levers (SPEC §1): writes that switch GitOps off for an object without touching its spec.
 * Always guarded, whatever the ignore, delegation and allowance rules say.
 */
import type { FieldPath } from '../lib/field-path.ts';
import { ownValue } from '../lib/value.ts';

export const LEVER_KEYS: ReadonlySet<string> = new Set([
  'kustomize.toolkit.fluxcd.io/reconcile',
  'kustomize.toolkit.fluxcd.io/ssa',
  'helm.toolkit.fluxcd.io/driftDetection',
  'argocd.argoproj.io/skip-reconcile',
]);

/** Kinds whose spec configures the GitOps reconciler itself. */
const RECONCILER_SPEC: ReadonlyMap<string, readonly string[]> = new Map([
  ['kustomize.toolkit.fluxcd.io/Kustomization', ['spec', 'suspend']],
  ['helm.toolkit.fluxcd.io/HelmRelease', ['spec', 'suspend']],
  // Removing `automated` (even `automated: {}`) turns auto-sync off; any edit below it is a lever too.
  ['argoproj.io/Application', ['spec', 'syncPolicy', 'automated']],
]);

export function isReconcilerKind(group: string, kind: string): boolean {
  return RECONCILER_SPEC.has(`${group}/${kind}`);
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
  const spec = RECONCILER_SPEC.get(`${group}/${kind}`);
  return spec !== undefined && startsWith(path, spec);
}

/**
 * The part of an object where levers live: its lever annotations and labels, and its reconciler spec
 * field. A write to an object nothing marks as GitOps-owned is diffed on this view only, so a large
 * HelmRelease's `spec.values` costs nothing to decide. Keys are own properties only; maps that would be
 * empty are left out, so no `{}` appears on one side that the object does not have.
 */
export function leverView(o: Readonly<Record<string, unknown>> | null | undefined, group: string, kind: string): Record<string, unknown> | undefined {
  if (!o) return undefined;
  const view: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const metadata = ownValue(o, 'metadata');
  const meta: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const where of ['annotations', 'labels'] as const) {
    const m = ownValue(metadata, where);
    const kept: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    let any = false;
    for (const key of LEVER_KEYS) {
      if (typeof m === 'object' && m !== null && Object.hasOwn(m, key)) {
        kept[key] = (m as Record<string, unknown>)[key];
        any = true;
      }
    }
    if (any) meta[where] = kept;
  }
  if (Object.keys(meta).length > 0) view.metadata = meta;
  const spec = RECONCILER_SPEC.get(`${group}/${kind}`);
  if (spec) {
    // copy the path down to the lever field, as far as it exists
    let from: unknown = o;
    let into = view;
    for (let i = 0; i < spec.length; i += 1) {
      const key = spec[i]!;
      if (typeof from !== 'object' || from === null || Array.isArray(from) || !Object.hasOwn(from, key)) break;
      from = (from as Record<string, unknown>)[key];
      if (i === spec.length - 1) into[key] = from;
      else {
        const next: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
        into[key] = next;
        into = next;
      }
    }
  }
  return view;
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
    const b = ownValue(before, where);
    const a = ownValue(after, where);
    for (const key of LEVER_KEYS) if (ownValue(b, key) !== ownValue(a, key)) return true;
  }
  return false;
}
