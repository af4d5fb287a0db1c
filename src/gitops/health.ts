/**
 * GitOps delivery health: is the controller that owns an object actually reconciling it? Drift
 * signals (and "a revert by self-heal is expected") are only trustworthy while it is. Read from an
 * Argo CD Application's status, or a Flux Kustomization's / HelmRelease's Ready condition.
 */
import type { KubeObject } from '../admission/types.ts';
import { argoOwnerId } from './argocd.ts';
import { fluxOwnerId, nonEmpty } from './imported.ts';

export type OwnerKind = 'Application' | 'Kustomization' | 'HelmRelease';

export interface OwnerHealth {
  /** the owner id driftgate puts in denials and tasks (`argocd/api`, `flux-kustomization/flux-system/apps`) */
  readonly owner: string;
  readonly kind: OwnerKind;
  /** Argo CD: sync status Synced; Flux: Ready=True on the last applied revision */
  readonly synced: boolean | undefined;
  /** Argo CD: health Healthy; Flux: Ready=True */
  readonly healthy: boolean | undefined;
  readonly suspended: boolean;
  /** reconciling: synced, healthy, not suspended, last operation not failed */
  readonly ready: boolean;
  readonly revision: string | undefined;
  /** the last time a sync / reconciliation succeeded (ISO), when the status says */
  readonly lastSyncAt: string | undefined;
  /** a short human reason when not ready */
  readonly reason: string | undefined;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});

export function argoHealth(app: KubeObject): OwnerHealth | undefined {
  const name = nonEmpty(app.metadata?.name);
  if (!name) return undefined;
  const status = obj((app as Obj).status);
  const syncStatus = nonEmpty(obj(status.sync).status);
  const healthStatus = nonEmpty(obj(status.health).status);
  const op = obj(status.operationState);
  const phase = nonEmpty(op.phase);
  const skip = nonEmpty(obj(app.metadata?.annotations)['argocd.argoproj.io/skip-reconcile']) === 'true';
  const synced = syncStatus === undefined ? undefined : syncStatus === 'Synced';
  const healthy = healthStatus === undefined ? undefined : healthStatus === 'Healthy';
  const failed = phase === 'Failed' || phase === 'Error';
  const lastSyncAt = phase === 'Succeeded' ? nonEmpty(op.finishedAt) : lastHistory(status.history);
  const reasons = [
    skip ? 'skip-reconcile is set' : undefined,
    synced === false ? `sync status ${syncStatus}` : synced === undefined ? 'no sync status yet' : undefined,
    healthy === false ? `health ${healthStatus}` : undefined,
    failed ? `last sync ${phase}: ${nonEmpty(op.message) ?? 'no message'}` : undefined,
  ].filter((r): r is string => r !== undefined);
  return {
    owner: argoOwnerId(nonEmpty(app.metadata?.namespace), name),
    kind: 'Application',
    synced,
    healthy,
    suspended: skip,
    ready: reasons.length === 0,
    revision: nonEmpty(obj(status.sync).revision),
    lastSyncAt,
    reason: reasons.length > 0 ? reasons.join('; ') : undefined,
  };
}

function lastHistory(history: unknown): string | undefined {
  if (!Array.isArray(history) || history.length === 0) return undefined;
  return nonEmpty(obj(history[history.length - 1]).deployedAt);
}

export function fluxHealth(o: KubeObject): OwnerHealth | undefined {
  const name = nonEmpty(o.metadata?.name);
  const kind = o.kind === 'Kustomization' || o.kind === 'HelmRelease' ? o.kind : undefined;
  if (!name || !kind) return undefined;
  const ns = nonEmpty(o.metadata?.namespace) ?? 'default';
  const status = obj((o as Obj).status);
  const suspended = obj((o as Obj).spec).suspend === true;
  const conditions = Array.isArray(status.conditions) ? status.conditions.map(obj) : [];
  const ready = conditions.find((c) => c.type === 'Ready');
  const readyTrue = ready === undefined ? undefined : ready.status === 'True';
  const revision = nonEmpty(status.lastAppliedRevision) ?? nonEmpty(status.lastAttemptedRevision);
  const reasons = [
    suspended ? 'suspended' : undefined,
    readyTrue === false ? `Ready=False: ${nonEmpty(ready?.reason) ?? ''} ${nonEmpty(ready?.message) ?? ''}`.trim() : readyTrue === undefined ? 'no Ready condition yet' : undefined,
  ].filter((r): r is string => r !== undefined);
  return {
    owner: fluxOwnerId(kind, ns, name),
    kind,
    synced: readyTrue,
    healthy: readyTrue,
    suspended,
    ready: reasons.length === 0,
    revision,
    lastSyncAt: readyTrue ? nonEmpty(ready?.lastTransitionTime) : undefined,
    reason: reasons.length > 0 ? reasons.join('; ') : undefined,
  };
}

/** Has the owner synced successfully after `since` (a task's recordedAt)? undefined: not known. */
export function syncedSince(h: OwnerHealth | undefined, since: string): boolean | undefined {
  if (!h || h.lastSyncAt === undefined) return undefined;
  return Date.parse(h.lastSyncAt) > Date.parse(since) && h.ready;
}
