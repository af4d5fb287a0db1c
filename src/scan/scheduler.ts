/**
 * The server's own scan (cluster mode): on a schedule, the same scan `driftgate scan --record` runs,
 * over the live cluster with the server's identity, recording each unrecorded drift as a detected
 * task in the server's store and publishing what it found as `driftgate_drift_objects`. Scans never
 * overlap; a failed scan is logged and retried at the next tick. A collection the server may not list
 * (RBAC trimmed on purpose) is skipped with a warning.
 *
 * Between scans, the cluster cache's watches (Deployments, StatefulSets) feed changed objects in:
 * they are analysed in batches a little later (`batchMs`), so the task a break-glass bypass recorded
 * has reached the store's cache before its write is judged.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isProtected } from '../admission/decide.ts';
import type { KubeObject } from '../admission/types.ts';
import type { LiveChange } from '../cluster/landing-check.ts';
import { errorMessage } from '../errors.ts';
import type { Policy } from '../policy/policy.ts';
import type { BreakGlassStore } from '../store/store.ts';
import { DEFAULT_CONTROLLER_MANAGERS, DEFAULT_KINDS, type ScanKind } from './kinds.ts';
import { livePages, protectedNamespaces } from './live-source.ts';
import { runScan } from './run.ts';
import { isDrift, type ScanResult } from './types.ts';

/** Objects with drift, by namespace and category: what the gauge shows after each scan. */
export interface DriftCount {
  readonly namespace: string;
  readonly category: 'guarded' | 'unrecorded' | 'recorded' | 'orphan' | 'missing';
  readonly objects: number;
}

export function driftCounts(r: ScanResult): DriftCount[] {
  const counts = new Map<string, number>();
  for (const ns of r.summary.namespaces) for (const c of ['unrecorded', 'recorded', 'orphan'] as const) counts.set(`${ns}\u0000${c}`, 0);
  for (const o of r.objects) {
    const cats = new Set<DriftCount['category']>();
    for (const f of o.findings.filter(isDrift)) {
      cats.add(f.category as DriftCount['category']);
      if (f.recorded === true) cats.add('recorded');
      if (f.recorded === false) cats.add('unrecorded');
    }
    for (const c of cats) counts.set(`${o.object.namespace}\u0000${c}`, (counts.get(`${o.object.namespace}\u0000${c}`) ?? 0) + 1);
  }
  return [...counts].map(([k, objects]) => {
    const [namespace, category] = k.split('\u0000') as [string, DriftCount['category']];
    return { namespace, category, objects };
  });
}

export interface DriftScannerOptions {
  readonly kubeConfig: KubeConfig;
  readonly policy: () => Policy;
  readonly store: BreakGlassStore;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly intervalMs: number;
  readonly secretHashKey?: Uint8Array;
  readonly kinds?: readonly ScanKind[];
  readonly pageSize?: number;
  /** after each scan (metrics) */
  readonly onResult?: (counts: readonly DriftCount[], result: ScanResult) => void;
  /** how long watched changes wait before they are analysed (default 30 s) */
  readonly batchMs?: number;
}

/** What the scanner needs of the cluster cache to follow changes between scans. */
export interface WatchedObjects {
  onChange(listener: (change: LiveChange) => void): void;
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
}

/** Kinds whose watched changes are analysed (the cache also watches ReplicaSets: controller products). */
const FOLLOWED = new Set(['Deployment', 'StatefulSet']);
/** Changes held between batches at most; past that the next scheduled scan covers them. */
const MAX_PENDING = 5_000;

export class DriftScanner {
  readonly #o: DriftScannerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<ScanResult | undefined> | undefined;
  readonly #pending = new Map<string, KubeObject>();
  #batch: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(o: DriftScannerOptions) {
    this.#o = o;
  }

  /** First scan after `firstAfterMs` (let the caches and the store sync), then every interval. */
  start(firstAfterMs = 30_000): void {
    const tick = () => {
      void this.scan();
      this.#timer = setTimeout(tick, this.#o.intervalMs);
      this.#timer.unref();
    };
    this.#timer = setTimeout(tick, firstAfterMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#batch);
  }

  /** Analyses objects the watches see change, between scheduled scans. */
  follow(live: WatchedObjects): void {
    live.onChange((c) => {
      if (this.#stopped || c.type === 'gap' || c.type === 'delete' || !FOLLOWED.has(c.object.kind ?? '')) return;
      const md = c.object.metadata;
      const ns = md?.namespace;
      if (!ns || !md?.name) return;
      const policy = this.#o.policy();
      const labels = live.namespaceLabels(ns);
      // Selector protection needs the namespace's labels: unknown ones wait for the scheduled scan.
      if (!policy.protectedNamespaces.names.has(ns) && (!labels || !isProtected(ns, policy, labels))) return;
      if (this.#pending.size >= MAX_PENDING) return;
      this.#pending.set(`${ns}/${c.object.kind}/${md.name}`, c.object);
      this.#batch ??= setTimeout(() => void this.flush(), this.#o.batchMs ?? 30_000);
      this.#batch.unref();
    });
  }

  /** Analyses (and records) the changed objects collected since the last batch. */
  async flush(): Promise<ScanResult | undefined> {
    this.#batch = undefined;
    const items = [...this.#pending.values()];
    this.#pending.clear();
    if (items.length === 0) return undefined;
    try {
      const result = await runScan({
        pages: [{ items }],
        source: 'cluster (watched changes)',
        policy: this.#o.policy(),
        controllerManagers: new Set(DEFAULT_CONTROLLER_MANAGERS),
        tasks: this.#o.store,
        record: this.#o.store,
        namespaces: new Set(items.map((o) => o.metadata!.namespace!)),
        now: this.#o.now(),
        ...(this.#o.secretHashKey ? { secretHashKey: this.#o.secretHashKey } : {}),
      });
      if (result.summary.findings.unrecorded > 0) {
        this.#o.logger.warn({ objects: items.length, unrecorded: result.summary.findings.unrecorded, tasks: result.recordedTasks?.length ?? 0 }, 'drift: a watched change got past the gate; recorded as detected tasks');
      }
      return result;
    } catch (err) {
      this.#o.logger.warn({ err: errorMessage(err) }, 'drift check of watched changes failed; the next scheduled scan covers them');
      return undefined;
    }
  }

  /** One scan (joins the one running, if any); undefined when it failed. */
  scan(): Promise<ScanResult | undefined> {
    this.#running ??= this.#scan().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #scan(): Promise<ScanResult | undefined> {
    const { kubeConfig: kc, logger } = this.#o;
    const policy = this.#o.policy();
    const pageSize = this.#o.pageSize ?? 500;
    const started = Date.now();
    try {
      const { scan } = await protectedNamespaces(kc, policy, undefined, pageSize);
      const skip = (message: string) => logger.warn({ problem: message }, 'drift scan: collection skipped');
      const result = await runScan({
        pages: livePages(kc, this.#o.kinds ?? DEFAULT_KINDS, scan, pageSize, skip),
        source: 'cluster (scheduled scan)',
        policy,
        controllerManagers: new Set(DEFAULT_CONTROLLER_MANAGERS),
        tasks: this.#o.store,
        record: this.#o.store,
        namespaces: new Set(scan),
        now: this.#o.now(),
        ...(this.#o.secretHashKey ? { secretHashKey: this.#o.secretHashKey } : {}),
      });
      const counts = driftCounts(result);
      this.#o.onResult?.(counts, result);
      const f = result.summary.findings;
      const fields = { objects: result.summary.objectsScanned, namespaces: scan.length, unrecorded: f.unrecorded, recorded: f.recorded, orphans: result.summary.objects.orphan, tasks: result.recordedTasks?.length ?? 0, ms: Date.now() - started };
      if (f.unrecorded > 0) logger.warn(fields, 'drift scan: unrecorded drift found and recorded as detected tasks');
      else logger.info(fields, 'drift scan done');
      return result;
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'drift scan failed; retrying at the next interval');
      return undefined;
    }
  }
}
