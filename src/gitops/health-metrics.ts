/** Prometheus gauges for GitOps delivery health (computed from the watch when scraped). */
import { Gauge, type Registry } from 'prom-client';
import type { OwnerHealth } from './health.ts';

export function registerGitOpsMetrics(registry: Registry, health: () => readonly OwnerHealth[], now: () => Date): void {
  const registers = [registry];
  const ready = new Gauge({
    name: 'driftgate_gitops_owner_ready',
    help: '1 while the GitOps owner (Argo CD Application, Flux Kustomization/HelmRelease) is synced, healthy and not suspended; 0: drift signals for its objects are stale',
    labelNames: ['owner', 'kind'],
    registers,
    collect() {
      ready.reset();
      for (const h of health()) ready.set({ owner: h.owner, kind: h.kind }, h.ready ? 1 : 0);
    },
  });
  const since = new Gauge({
    name: 'driftgate_gitops_owner_seconds_since_sync',
    help: 'Seconds since the GitOps owner last synced or reconciled successfully (absent when its status does not say)',
    labelNames: ['owner', 'kind'],
    registers,
    collect() {
      since.reset();
      const t = now().getTime();
      for (const h of health()) if (h.lastSyncAt) since.set({ owner: h.owner, kind: h.kind }, Math.max(0, (t - Date.parse(h.lastSyncAt)) / 1000));
    },
  });
  new Gauge({
    name: 'driftgate_gitops_owners_out_of_sync',
    help: 'GitOps owners whose last sync status is not Synced / Ready',
    registers,
    collect() {
      this.set(health().filter((h) => h.synced === false).length);
    },
  });
  new Gauge({
    name: 'driftgate_gitops_owners_suspended',
    help: 'GitOps owners with reconciliation suspended (Flux spec.suspend, Argo CD skip-reconcile)',
    registers,
    collect() {
      this.set(health().filter((h) => h.suspended).length);
    },
  });
}
