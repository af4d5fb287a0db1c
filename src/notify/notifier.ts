/**
 * Notifications (issue 16): facts go into the durable outbox; a delivery loop sends them to the sinks
 * configured in the policy, retrying with exponential backoff until a dead letter after
 * `notifications.maxAttempts`. Nothing here is on the admission path: the webhook only hands a
 * recorded task to `recorder()`, which returns at once and enqueues in the background.
 *
 * Facts come from three places: grant transitions (the service's hook: requested, approved, denied,
 * revoked), a periodic sweep of the store (expired grants, first use of a grant, overdue tasks: facts
 * that happen with nobody calling), and the drift scan (`driftFound`). The sweep makes the derived
 * facts crash-safe: whatever a crash lost is found again and, by its key, recorded once.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { errorMessage } from '../errors.ts';
import { stateAt } from '../grants/rules.ts';
import type { NotificationSettings, Policy } from '../policy/policy.ts';
import type { GrantEventHook } from '../service/break-glass.ts';
import type { BreakGlassStore } from '../store/store.ts';
import { backportDeadline } from '../tasks/rules.ts';
import { summarize, type TaskDraft, type TaskRecorder, type TaskSummary } from '../tasks/task.ts';
import { driftFound, grantEvent, grantExpired, grantFirstUsed, taskOverdue, type DriftFinding, type Notification } from './events.ts';
import { Outbox, type Delivery } from './outbox.ts';
import { deliver, sinkProblem, type DeliveryResult } from './sinks.ts';

/**
 * Whose turn it is to sweep, when several replicas could: the earliest time whose facts this replica
 * reports, or undefined while another replica sweeps (see src/cluster/leader-lease.ts). First uses are
 * then left to the replica that recorded the bypass (every replica's recorder sends them): a sweep on
 * another replica would send each one twice.
 */
export type SweepTurn = () => Date | undefined;

export interface NotifierDeps {
  readonly dataDir: string;
  readonly policy: () => Policy;
  readonly store: BreakGlassStore;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** where driftgate_notifications_* are registered (the server's registry) */
  readonly registry?: Registry;
}

/** How long before the next attempt after `attempts` failed ones: doubling from initialBackoff, capped. */
export function backoffMs(attempts: number, n: NotificationSettings): number {
  return Math.min(n.maxBackoffMs, n.initialBackoffMs * 2 ** Math.min(attempts - 1, 30));
}

const MAX_IN_FLIGHT = 8;

export class Notifier {
  readonly #deps: NotifierDeps;
  readonly #outbox: Outbox;
  readonly #now: () => Date;
  readonly #inFlight = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #results: Counter<'sink' | 'result'> | undefined;

  private constructor(deps: NotifierDeps, outbox: Outbox) {
    this.#deps = deps;
    this.#outbox = outbox;
    this.#now = deps.now ?? (() => new Date());
    if (deps.registry) {
      const registers = [deps.registry];
      this.#results = new Counter({
        name: 'driftgate_notifications_total',
        help: 'Notification delivery attempts, by sink and result (delivered, failed: retried later, dead: gave up)',
        labelNames: ['sink', 'result'],
        registers,
      });
      new Gauge({
        name: 'driftgate_notifications_dead_letters',
        help: 'Notifications that ran out of attempts (listed at /ui/notifications, where they can be retried)',
        registers,
        collect() {
          this.set(outbox.deadLetters().length);
        },
      });
      new Gauge({
        name: 'driftgate_notifications_pending',
        help: 'Notifications waiting for delivery or a retry',
        registers,
        collect() {
          this.set(outbox.pending().length);
        },
      });
    }
  }

  static async open(deps: NotifierDeps): Promise<Notifier> {
    const outbox = await Outbox.open(deps.dataDir, deps.now ?? (() => new Date()));
    if (outbox.replay.tornTail) deps.logger.warn({ file: 'outbox.jsonl' }, 'notification outbox: incomplete last line (crash during a write) cut off');
    if (outbox.replay.unreadable > 0) deps.logger.error({ lines: outbox.replay.unreadable }, 'notification outbox: unreadable lines skipped');
    for (const sink of deps.policy().notifications.sinks) {
      const problem = sinkProblem(sink);
      if (problem) deps.logger.error({ sink: sink.name }, `notifications: ${problem}; deliveries to it will fail until it is fixed`);
    }
    return new Notifier(deps, outbox);
  }

  /**
   * Starts the delivery loop and (unless told not to) the sweep. `sweep` may be a SweepTurn: the sweep
   * then runs only while it names a time, and reports only facts from that time on.
   */
  start(opts: { sweep?: boolean | SweepTurn } = {}): void {
    this.#pump();
    if (opts.sweep === false) return;
    const shared = typeof opts.sweep === 'function';
    const turn: SweepTurn = typeof opts.sweep === 'function' ? opts.sweep : () => new Date(0);
    const tick = () => {
      const from = turn();
      void (from ? this.sweep(from, { firstUses: !shared }) : Promise.resolve()).finally(() => {
        if (!this.#closed) this.#sweepTimer = setTimeout(tick, this.#deps.policy().notifications.sweepIntervalMs).unref();
      });
    };
    tick();
  }

  // ---- facts in ----

  /** Records a fact (durably) for every sink that wants its type; never throws. */
  async emit(n: Notification): Promise<void> {
    if (this.#closed || this.#outbox.has(n.key)) return;
    const sinks = this.#deps.policy().notifications.sinks.filter((s) => s.events.has(n.type)).map((s) => s.name);
    try {
      if (await this.#outbox.enqueue(n, sinks)) this.#pump();
    } catch (err) {
      this.#deps.logger.error({ event: n.key, err: errorMessage(err) }, 'notification could not be recorded in the outbox');
    }
  }

  /** The service's hook for grant transitions. */
  readonly onGrantEvent: GrantEventHook = (type, grant, actor, reason) => this.emit(grantEvent(type, grant, actor, this.#now(), this.#deps.policy(), reason));

  /** For the drift scan: unrecorded drift found on one object. */
  driftFound(f: DriftFinding): Promise<void> {
    return this.emit(driftFound(f, this.#now()));
  }

  /**
   * Wraps the webhook's task recorder: once a bypass is durably recorded, a grant's first use is
   * enqueued in the background. The admission answer never waits for the outbox.
   */
  recorder(inner: TaskRecorder): TaskRecorder {
    return {
      recordBypass: async (draft: TaskDraft) => {
        const recorded = await inner.recordBypass(draft);
        if (!this.#outbox.has(`grant.first-used:${draft.grantId}`)) {
          setImmediate(() => {
            const g = this.#deps.store.getGrant(draft.grantId)?.grant;
            if (g) void this.emit(grantFirstUsed(g, summarize({ ...draft, id: recorded.id, state: 'pending' })));
          });
        }
        return recorded;
      },
    };
  }

  /**
   * Finds facts nobody reported: expired grants, first uses (unless `firstUses: false`), overdue tasks;
   * those since the outbox exists, and since `from` when given.
   */
  async sweep(from?: Date, o: { firstUses?: boolean } = {}): Promise<void> {
    const { store, policy } = this.#deps;
    const now = this.#now();
    const since = Math.max(this.#outbox.createdAt.getTime(), from?.getTime() ?? 0);
    const facts: Notification[] = [];
    for (const g of store.listGrants({}, now)) {
      if (stateAt(g, now) === 'expired' && Date.parse(g.expiresAt) >= since && !this.#outbox.has(`grant.expired:${g.id}`)) facts.push(grantExpired(g));
    }
    const p = policy();
    // First uses: only tasks recorded since the outbox exists (earlier ones were never its to report).
    for (const t of o.firstUses === false ? [] : store.listTasks({ recordedSince: since })) {
      const grant = store.getGrant(t.grantId)?.grant;
      if (grant && !this.#outbox.has(`grant.first-used:${grant.id}`)) {
        facts.push(grantFirstUsed(grant, t)); // listTasks is oldest first: the first task of the grant
      }
    }
    // Overdue: pending tasks, visited without a summary each (100,000 at once were ~30 MiB every sweep);
    // a summary is built only for a task a fact is sent for.
    const overdue = (grantId: string, recordedAtMs: number, summary: () => TaskSummary): void => {
      const overdueAt = backportDeadline(store.getGrant(grantId)?.grant.expiresAt, recordedAtMs, p);
      if (now.getTime() <= overdueAt || overdueAt < since) return;
      const t = summary();
      if (!this.#outbox.has(`task.overdue:${t.id}`)) facts.push(taskOverdue(t, new Date(overdueAt)));
    };
    if (store.forEachPendingTask) store.forEachPendingTask(overdue);
    else for (const t of store.listTasks({ state: 'pending' })) overdue(t.grantId, Date.parse(t.recordedAt), () => t);
    for (const f of facts) await this.emit(f);
  }

  // ---- delivery ----

  #pump(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = this.#now().getTime();
    let next = Infinity;
    for (const d of this.#outbox.pending()) {
      const id = `${d.event.key}\u0000${d.sink}`;
      if (this.#inFlight.has(id)) continue;
      if (d.nextAt > now) {
        next = Math.min(next, d.nextAt);
        break; // pending() is ordered by nextAt
      }
      if (this.#inFlight.size >= MAX_IN_FLIGHT) break;
      const run = this.#attempt(d).finally(() => {
        this.#inFlight.delete(id);
        this.#pump();
      });
      this.#inFlight.set(id, run);
    }
    if (next !== Infinity && this.#inFlight.size < MAX_IN_FLIGHT) {
      // at most an hour ahead: a timer past 2^31 ms would fire at once, and clocks move
      this.#timer = setTimeout(() => this.#pump(), Math.min(Math.max(0, next - now), 3_600_000)).unref();
    }
  }

  async #attempt(d: Delivery): Promise<void> {
    const settings = this.#deps.policy().notifications;
    const sink = settings.sinks.find((s) => s.name === d.sink);
    const attempt = d.attempts + 1;
    const result: DeliveryResult = sink ? await deliver(sink, d.event, this.#now(), attempt) : { ok: false, error: `sink ${d.sink} is no longer configured` };
    const dead = !result.ok && (attempt >= settings.maxAttempts || !sink);
    const outcome = result.ok
      ? { ok: true, status: result.status }
      : { ok: false, ...(result.status ? { status: result.status } : {}), error: result.error, ...(dead ? { dead: true } : { nextAt: this.#now().getTime() + backoffMs(attempt, settings) }) };
    try {
      await this.#outbox.record(d, outcome);
    } catch (err) {
      this.#deps.logger.error({ event: d.event.key, sink: d.sink, err: errorMessage(err) }, 'notification outbox: attempt not recorded (it may be repeated)');
      return;
    }
    const label = result.ok ? 'delivered' : dead ? 'dead' : 'failed';
    this.#results?.inc({ sink: d.sink, result: label });
    const log = { event: d.event.key, type: d.event.type, sink: d.sink, attempt, ...(result.ok ? {} : { error: result.error }) };
    if (result.ok) this.#deps.logger.debug(log, 'notification delivered');
    else if (dead) this.#deps.logger.error(log, 'notification is a dead letter: no more attempts (retry it from /ui/notifications)');
    else this.#deps.logger.warn(log, 'notification delivery failed; will retry');
  }

  // ---- the console's view ----

  status(): { pending: readonly Delivery[]; dead: readonly Delivery[] } {
    return { pending: this.#outbox.pending(), dead: this.#outbox.deadLetters() };
  }

  async retry(key: string, sink: string, by: string): Promise<boolean> {
    const ok = await this.#outbox.retry(key, sink, by);
    if (ok) this.#pump();
    return ok;
  }

  /** Stops the loops, waits for deliveries in flight to be recorded, closes the outbox. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#sweepTimer);
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight.values());
    await this.#outbox.close();
  }
}
