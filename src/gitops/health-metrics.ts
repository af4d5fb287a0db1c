/** Prometheus gauges for GitOps delivery health (computed from the watch when scraped). */
import { Gauge, type Registry } from 'prom-client';
import type { OwnerHealth } from './health.ts';

export function registerGitOpsMetrics(registry: Registry, health: () => readonly OwnerHealth[], now: () => Date): void {
  const registers = [registry];
  /** one series per owner, recomputed from the watch at each scrape; undefined: no series for that owner */
  const perOwner = (name: string, help: string, value: (h: OwnerHealth, nowMs: number) => number | undefined): void => {
    const gauge: Gauge<'owner' | 'kind'> = new Gauge({
      name,
      help,
      labelNames: ['owner', 'kind'],
      registers,
      collect() {
        gauge.reset();
        const t = now().getTime();
        for (const h of health()) {
          const v = value(h, t);
          if (v !== undefined) gauge.set({ owner: h.owner, kind: h.kind }, v);
        }
      },
    });
  };
  perOwner(
    'driftgate_gitops_owner_ready',
    '1 while the GitOps owner (Argo CD Application, Flux Kustomization/HelmRelease) is synced, healthy and not suspended; 0: drift signals for its objects are stale',
    (h) => (h.ready ? 1 : 0),
  );
  perOwner(
    'driftgate_gitops_owner_seconds_since_sync',
    'Seconds since the GitOps owner last synced or reconciled successfully (absent when its status does not say)',
    (h, t) => (h.lastSyncAt ? Math.max(0, (t - Date.parse(h.lastSyncAt)) / 1000) : undefined),
  );
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
