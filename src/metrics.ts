/**
 * Prometheus metrics (SPEC §6: the names are a contract). One registry per server, so tests are
 * isolated. Counters move with each answer; gauges are computed from the store when scraped.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ReviewResult } from './admission/review.ts';
import type { Policy } from './policy/policy.ts';
import type { BreakGlassStore } from './store/store.ts';
import { isOverdue, pastDeadline } from './tasks/rules.ts';

export interface MetricSources {
  readonly store: BreakGlassStore | undefined;
  readonly policy: () => Policy;
  readonly now: () => Date;
  /** the embedded journal's durable head (record count, last MAC); absent with the Kubernetes store */
  readonly journal?: () => { readonly count: number; readonly head: string };
}

export class Metrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'operation' | 'decision'>;
  readonly #duration: Histogram;
  readonly #storeErrors: Counter;
  readonly #bypasses: Counter<'namespace' | 'with_incident'>;
  readonly #drift: Gauge<'namespace' | 'category'>;
  readonly #connectionsDropped: Counter<'server'>;

  constructor(sources: MetricSources, processMetrics = true) {
    const registers = [this.registry];
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
    this.#requests = new Counter({
      name: 'driftgate_admission_requests_total',
      help: 'AdmissionReview requests answered, by operation and decision (allowed, warned, bypassed, denied, errored)',
      labelNames: ['operation', 'decision'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'driftgate_admission_duration_seconds',
      help: 'Time to decide one AdmissionReview, from body read to answer',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#storeErrors = new Counter({ name: 'driftgate_store_errors_total', help: 'Writes to the grant and task store that failed', registers });
    this.#bypasses = new Counter({
      name: 'driftgate_bypasses_total',
      help: 'Writes admitted under a break-glass grant, by namespace and whether the grant names an incident',
      labelNames: ['namespace', 'with_incident'],
      registers,
    });
    this.#drift = new Gauge({
      name: 'driftgate_drift_objects',
      help: 'Objects with drift the last scheduled scan found, by namespace and category (unrecorded: no task recorded it before that scan, which then recorded it; recorded; orphan)',
      labelNames: ['namespace', 'category'],
      registers,
    });
    this.#connectionsDropped = new Counter({
      name: 'driftgate_connections_dropped_total',
      help: 'New connections closed unanswered because the server already held its maximum (--max-connections), by server (webhook, metrics)',
      labelNames: ['server'],
      registers,
    });
    new Gauge({
      name: 'driftgate_policy_require_incident',
      help: '1 when the policy requires an incident on every grant',
      registers,
      collect() {
        this.set(sources.policy().breakGlass.requireIncident ? 1 : 0);
      },
    });
    new Gauge({
      name: 'driftgate_grants_active',
      help: 'Break-glass grants active now',
      registers,
      collect() {
        this.set(sources.store ? sources.store.listGrants({ state: 'active' }, sources.now()).length : 0);
      },
    });
    new Gauge({
      name: 'driftgate_store_tampered',
      help: 'Findings of stored state driftgate did not write (embedded: the journal failed verification; Kubernetes: grant status rolled back, tasks edited or deleted)',
      registers,
      collect() {
        this.set(sources.store ? sources.store.tampered.length : 0);
      },
    });
    const journal = sources.journal;
    if (journal) {
      new Gauge({ name: 'driftgate_journal_records', help: 'Records in the embedded journal (acknowledged, durable); it never goes down', registers, collect() { this.set(journal().count); } });
      // The head's first 48 bits as a number (exact in a float64; no label churn): an outside record
      // of the head. `printf '%d:%012x' <records> <head>` is the form journal verify --expect-head takes.
      new Gauge({ name: 'driftgate_journal_head', help: 'The first 48 bits of the embedded journal head MAC, as an integer', registers, collect() { this.set(Number.parseInt(journal().head.slice(0, 12), 16)); } });
    }
    // Pending and overdue are counted in one pass over the task summaries per scrape.
    let cached: { at: number; pending: number; overdue: number } | undefined;
    const taskCounts = () => {
      const now = sources.now();
      if (cached && cached.at === now.getTime()) return cached;
      let pending = 0;
      let overdue = 0;
      const store = sources.store;
      if (store) {
        const policy = sources.policy();
        if (store.forEachPendingTask) {
          // the embedded store's compact table: no summary is materialized per scrape
          store.forEachPendingTask((grantId, recordedAtMs) => {
            pending += 1;
            if (pastDeadline(store.getGrant(grantId)?.grant.expiresAt, recordedAtMs, policy, now)) overdue += 1;
          });
        } else {
          for (const t of store.listTasks({ state: 'pending' })) {
            pending += 1;
            if (isOverdue(t, store.getGrant(t.grantId)?.grant.expiresAt, policy, now)) overdue += 1;
          }
        }
      }
      cached = { at: now.getTime(), pending, overdue };
      return cached;
    };
    new Gauge({ name: 'driftgate_tasks_pending', help: 'Bypass tasks not yet reverted, backported or accepted', registers, collect() { this.set(taskCounts().pending); } });
    new Gauge({ name: 'driftgate_tasks_overdue', help: 'Pending tasks past their grant expiry plus breakGlass.backportDeadline', registers, collect() { this.set(taskCounts().overdue); } });
  }

  /** One answered admission request. */
  observe(r: ReviewResult): void {
    this.#requests.inc({ operation: r.operation, decision: r.outcome });
    this.#duration.observe(r.seconds);
    if (r.taskId && r.verdict?.grant) {
      this.#bypasses.inc({ namespace: r.verdict.target.namespace, with_incident: r.verdict.grant.incident ? 'true' : 'false' });
    }
    if (r.storeFailed) this.#storeErrors.inc();
  }

  storeError(): void {
    this.#storeErrors.inc();
  }

  /** One connection closed unanswered at the connection limit. */
  connectionDropped(server: 'webhook' | 'metrics'): void {
    this.#connectionsDropped.inc({ server });
  }

  /** The last drift scan's counts replace the previous ones (a namespace no longer scanned disappears). */
  driftObjects(counts: readonly { namespace: string; category: string; objects: number }[]): void {
    this.#drift.reset();
    for (const c of counts) this.#drift.set({ namespace: c.namespace, category: c.category }, c.objects);
  }
}
