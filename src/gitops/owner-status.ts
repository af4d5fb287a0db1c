/**
 * Per GitOps owner: is its controller reconciling (health from the watch), and what is still open
 * against it (pending tasks, of which detected drift). One row per owner that has either.
 */
import type { OwnerHealth } from './health.ts';

export interface OwnerStatus {
  readonly owner: string;
  readonly kind: string | undefined;
  readonly synced: boolean | undefined;
  readonly healthy: boolean | undefined;
  readonly suspended: boolean | undefined;
  readonly ready: boolean | undefined;
  readonly revision: string | undefined;
  readonly lastSyncAt: string | undefined;
  readonly reason: string | undefined;
  readonly pendingTasks: number;
  /** pending tasks recorded by drift detection (no grant): drift that got past the gate */
  readonly unrecordedDrift: number;
}

export interface TaskLike {
  readonly owner: string;
  readonly source?: string;
  readonly grantId?: string;
}

export function ownerStatuses(health: readonly OwnerHealth[], pending: readonly TaskLike[]): OwnerStatus[] {
  const rows = new Map<string, { h: OwnerHealth | undefined; pending: number; detected: number }>();
  for (const h of health) rows.set(h.owner, { h, pending: 0, detected: 0 });
  for (const t of pending) {
    const row = rows.get(t.owner) ?? { h: undefined, pending: 0, detected: 0 };
    row.pending += 1;
    if (t.source === 'detected') row.detected += 1;
    rows.set(t.owner, row);
  }
  return [...rows.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([owner, { h, pending: p, detected }]) => ({
      owner,
      kind: h?.kind,
      synced: h?.synced,
      healthy: h?.healthy,
      suspended: h?.suspended,
      ready: h?.ready,
      revision: h?.revision,
      lastSyncAt: h?.lastSyncAt,
      reason: h?.reason,
      pendingTasks: p,
      unrecordedDrift: detected,
    }));
}

const yn = (v: boolean | undefined): string => (v === undefined ? '?' : v ? 'yes' : 'no');

export function renderOwnerStatuses(rows: readonly OwnerStatus[], watching: boolean): string {
  if (rows.length === 0) return watching ? 'no GitOps owners seen and no pending tasks' : 'no pending tasks (GitOps health is watched in cluster mode only)';
  const header = ['OWNER', 'KIND', 'SYNCED', 'HEALTHY', 'SUSPENDED', 'LAST SYNC', 'PENDING', 'DETECTED', 'NOTE'];
  const lines = rows.map((r) => [r.owner, r.kind ?? '-', yn(r.synced), yn(r.healthy), yn(r.suspended), r.lastSyncAt ?? '-', String(r.pendingTasks), String(r.unrecordedDrift), r.ready === false ? `not reconciling: ${r.reason ?? ''}` : r.kind === undefined ? 'health unknown (not watched)' : '']);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines].map((l) => l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}
