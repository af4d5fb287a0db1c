/**
 * Ownership (SPEC §1): is the stored object owned by GitOps, and by which application?
 * Evidence, in order: tracking annotations, tracking labels, then a GitOps field manager in
 * managedFields (which proves ownership of fields, but names no application).
 */
import type { Policy } from '../policy/policy.ts';
import { ownValue } from '../lib/value.ts';
import type { KubeObject } from './types.ts';

export interface Owner {
  /** e.g. `Argo CD application "payments"`, `Flux Kustomization flux-system/apps` */
  readonly display: string;
  /** machine-readable id for tasks and reports: `argocd/payments`, `flux-kustomization/flux-system/apps` */
  readonly id: string;
  /** what proved ownership */
  readonly via: string;
}

const ARGO_TRACKING = 'argocd.argoproj.io/tracking-id';
const ARGO_INSTANCE = 'app.kubernetes.io/instance';
const FLUX_KS = 'kustomize.toolkit.fluxcd.io';
const FLUX_HR = 'helm.toolkit.fluxcd.io';

function argoApp(app: string, via: string): Owner {
  // Apps in any namespace are tracked as `<namespace>_<app>`.
  const [ns, name] = app.includes('_') ? app.split('_', 2) : [undefined, app];
  const shown = ns ? `${ns}/${name}` : app;
  return { display: `Argo CD application "${shown}" (${via})`, id: `argocd/${shown}`, via };
}

function fromAnnotation(key: string, value: string): Owner {
  if (key === ARGO_TRACKING) {
    // `<app>:<group>/<kind>:<namespace>/<name>`
    const app = value.split(':', 1)[0] ?? value;
    return argoApp(app, `annotation ${key}`);
  }
  return { display: `GitOps (annotation ${key}=${value})`, id: `${key}/${value}`, via: `annotation ${key}` };
}

function fromLabels(key: string, labels: Readonly<Record<string, string>>): Owner {
  const value = ownString(labels, key) ?? '';
  for (const [prefix, kind] of [
    [FLUX_KS, 'Kustomization'],
    [FLUX_HR, 'HelmRelease'],
  ] as const) {
    if (key === `${prefix}/name`) {
      const ns = ownString(labels, `${prefix}/namespace`);
      const name = ns ? `${ns}/${value}` : value;
      return { display: `Flux ${kind} ${name} (label ${key})`, id: `flux-${kind.toLowerCase()}/${name}`, via: `label ${key}` };
    }
  }
  if (key === ARGO_INSTANCE) return argoApp(value, `label ${key}`);
  return { display: `GitOps (label ${key}=${value})`, id: `${key}/${value}`, via: `label ${key}` };
}

/** The GitOps owner of a stored object, or undefined when nothing marks it as GitOps-owned. */
export function ownerOf(obj: KubeObject | null, policy: Policy): Owner | undefined {
  const md = obj?.metadata;
  if (!md || typeof md !== 'object') return undefined;
  const annotations = isStringMap(md.annotations) ? md.annotations : {};
  const labels = isStringMap(md.labels) ? md.labels : {};
  for (const key of policy.gitops.trackingAnnotations) {
    const v = ownString(annotations, key);
    if (v) return fromAnnotation(key, v);
  }
  for (const key of policy.gitops.trackingLabels) {
    if (ownString(labels, key)) return fromLabels(key, labels);
  }
  if (Array.isArray(md.managedFields)) {
    for (const e of md.managedFields) {
      if (typeof e?.manager === 'string' && policy.gitops.fieldManagers.has(e.manager)) {
        return {
          display: `GitOps field manager "${e.manager}" (in managedFields; no tracking marker names the application)`,
          id: `manager/${e.manager}`,
          via: `managedFields manager ${e.manager}`,
        };
      }
    }
  }
  return undefined;
}

function ownString(m: unknown, key: string): string | undefined {
  const v = ownValue(m, key);
  return typeof v === 'string' ? v : undefined;
}

export function isStringMap(v: unknown): v is Readonly<Record<string, string>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const TRACKING_KEYS = new WeakMap<Policy, TrackingKeys>();

type TrackingKeys = { annotations: ReadonlySet<string>; labels: ReadonlySet<string> };

/** Tracking-marker keys as field paths' last segment, split by where they live (once per policy). */
export function trackingKeys(policy: Policy): TrackingKeys {
  let keys = TRACKING_KEYS.get(policy);
  if (!keys) TRACKING_KEYS.set(policy, (keys = computeTrackingKeys(policy)));
  return keys;
}

function computeTrackingKeys(policy: Policy): TrackingKeys {
  const labels = new Set(policy.gitops.trackingLabels);
  // Flux tracks with a name+namespace pair; removing either detaches the object.
  for (const l of policy.gitops.trackingLabels) {
    if (l === `${FLUX_KS}/name`) labels.add(`${FLUX_KS}/namespace`);
    if (l === `${FLUX_HR}/name`) labels.add(`${FLUX_HR}/namespace`);
  }
  return { annotations: new Set(policy.gitops.trackingAnnotations), labels };
}

/** The controller an object belongs to when that controller is an operator (a custom resource). */
export interface OperatorOwner {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
}

/** Built-in API groups: the core group, the unqualified ones (apps, batch, …) and *.k8s.io. */
function isBuiltinGroup(group: string): boolean {
  return group === '' || !group.includes('.') || group.endsWith('.k8s.io');
}

/**
 * An object an operator makes and keeps: its stored state has a controller ownerReference to a custom
 * resource, and no GitOps field manager wrote any of it (operators often copy the parent's tracking
 * labels onto their children). The parent is what Git owns and driftgate guards; the operator
 * reconciles the child. Read from the stored object only: a client-supplied ownerReference (a CREATE)
 * is no evidence, and adding one to a GitOps-owned object is itself a guarded change.
 */
export function operatorOf(stored: KubeObject | null, policy: Policy): OperatorOwner | undefined {
  const md = stored?.metadata;
  const refs = md?.ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  const ref = refs.find((r) => r?.controller === true) as { apiVersion?: unknown; kind?: unknown; name?: unknown } | undefined;
  if (!ref || typeof ref.apiVersion !== 'string' || typeof ref.kind !== 'string' || typeof ref.name !== 'string') return undefined;
  const slash = ref.apiVersion.indexOf('/');
  if (slash < 0 || isBuiltinGroup(ref.apiVersion.slice(0, slash))) return undefined;
  if (Array.isArray(md?.managedFields) && md.managedFields.some((e) => typeof e?.manager === 'string' && policy.gitops.fieldManagers.has(e.manager))) return undefined;
  return { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name };
}
