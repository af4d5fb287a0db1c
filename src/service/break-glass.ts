/**
 * The break-glass operations behind both the JSON API and the console: authorization (the rules in
 * grants/rules.ts and tasks/rules.ts), the store call, and the notification for each grant
 * transition. HTTP stays in the callers; the rules stay in one place.
 */
import type { Logger } from 'pino';
import type { Clock } from '../admission/review.ts';
import { logGrantEvent, logTaskEvent } from '../audit/break-glass-log.ts';
import { DriftgateError } from '../errors.ts';
import type { Grant } from '../grants/grant.ts';
import { checkOpenGrants } from '../grants/open-grant-limit.ts';
import { approve, checkDeny, checkReader, checkRevoke, newGrant, stateAt, type GrantRequest, type Identity } from '../grants/rules.ts';
import type { Policy } from '../policy/policy.ts';
import { newId } from '../store/embedded-store.ts';
import type { BreakGlassStore } from '../store/store.ts';
import { buildReport, checkResolve, checkTaskActor, isOverdue, type Report, type ResolvedState, type TaskView } from '../tasks/rules.ts';
import { summarize, type Task, type TaskState, type TaskSummary, type VerificationRecord } from '../tasks/task.ts';

export type GrantEventType = 'grant.requested' | 'grant.approved' | 'grant.denied' | 'grant.revoked';

/** Told after a grant transition is durable; must not throw (the transition already happened). */
export type GrantEventHook = (type: GrantEventType, grant: Grant, actor: string, reason?: string) => Promise<void>;

export interface ServiceDeps {
  readonly store: BreakGlassStore;
  readonly policy: () => Policy;
  readonly clock: Clock;
  readonly onGrantEvent?: GrantEventHook;
  /** the break-glass trail: one line per grant transition, resolution and verification (absent: none) */
  readonly logger?: Logger;
}

/** A grant as callers show it: its state now, and whether the webhook honours it. */
export type GrantView = Grant & { readonly honoured: boolean; readonly ignoredBecause?: string };

export function grantView(g: Grant, now: Date, ignored?: string): GrantView {
  return { ...g, state: stateAt(g, now), ...(ignored ? { honoured: false, ignoredBecause: ignored } : { honoured: true }) };
}

export interface TaskQuery {
  readonly state?: TaskState;
  readonly namespace?: string;
  readonly overdue?: boolean;
}

export class BreakGlassService {
  readonly #deps: ServiceDeps;

  constructor(deps: ServiceDeps) {
    this.#deps = deps;
  }

  get #policy(): Policy {
    return this.#deps.policy();
  }

  #now(): Date {
    return this.#deps.clock.now();
  }

  async #told(type: GrantEventType, g: Grant, who: Identity, reason?: string): Promise<GrantView> {
    logGrantEvent(this.#deps.logger, type, g, who.username, reason);
    await this.#deps.onGrantEvent?.(type, g, who.username, reason);
    return grantView(g, this.#now());
  }

  // ---- grants ----

  /** Checked against the policy, then (under the store's lock) against the requester's open grants. */
  async requestGrant(who: Identity, req: GrantRequest): Promise<GrantView> {
    const now = this.#now();
    const policy = this.#policy;
    const { store } = this.#deps;
    const grant = await store.createGrant(newGrant(req, who, policy, now, newId('g')), () => checkOpenGrants(who, policy, store.openGrants(who.username, now)));
    return this.#told('grant.requested', grant, who);
  }

  listGrants(who: Identity, filter: { state?: string; namespace?: string } = {}): GrantView[] {
    checkReader(who, this.#policy);
    const now = this.#now();
    return this.#deps.store.listGrants(filter, now).map((g) => grantView(g, now, this.#deps.store.getGrant(g.id)?.ignored));
  }

  getGrant(who: Identity, id: string): GrantView {
    checkReader(who, this.#policy);
    const found = this.#deps.store.getGrant(id);
    if (!found) throw new DriftgateError('NOT_FOUND', `no grant ${id}`);
    return grantView(found.grant, this.#now(), found.ignored);
  }

  async approveGrant(who: Identity, id: string, reason?: string): Promise<GrantView> {
    const now = this.#now();
    const g = await this.#deps.store.approveGrant(id, (grant) => approve(grant, who, this.#policy, now, reason));
    return this.#told('grant.approved', g, who, reason);
  }

  /** An approver turns a pending request down: the revoke transition, told as `grant.denied`. */
  async denyGrant(who: Identity, id: string, reason?: string): Promise<GrantView> {
    const now = this.#now();
    const g = await this.#deps.store.revokeGrant(id, (grant) => checkDeny(grant, who, this.#policy, now), who.username, now, reason ? `denied: ${reason}` : 'denied');
    return this.#told('grant.denied', g, who, reason);
  }

  async revokeGrant(who: Identity, id: string, reason?: string): Promise<GrantView> {
    const now = this.#now();
    const g = await this.#deps.store.revokeGrant(id, (grant) => checkRevoke(grant, who, this.#policy, now), who.username, now, reason);
    return this.#told('grant.revoked', g, who, reason);
  }

  // ---- tasks ----

  taskView(t: TaskSummary, now = this.#now()): TaskView {
    return { ...t, overdue: isOverdue(t, this.#deps.store.getGrant(t.grantId)?.grant.expiresAt, this.#policy, now) };
  }

  listTasks(who: Identity, q: TaskQuery = {}): TaskView[] {
    checkReader(who, this.#policy);
    const now = this.#now();
    return this.#deps.store
      .listTasks({ ...(q.state ? { state: q.state } : {}), ...(q.namespace ? { namespace: q.namespace } : {}) })
      .map((t) => this.taskView(t, now))
      .filter((t) => q.overdue === undefined || t.overdue === q.overdue);
  }

  getTask(who: Identity, id: string): Task & { readonly overdue: boolean } {
    checkReader(who, this.#policy);
    const task = this.#deps.store.getTask(id);
    if (!task) throw new DriftgateError('NOT_FOUND', `no task ${id}`);
    return { ...task, overdue: this.taskView(summarize(task)).overdue };
  }

  async resolveTask(who: Identity, id: string, as: ResolvedState, evidence: string): Promise<TaskView> {
    const now = this.#now();
    const t = await this.#deps.store.resolveTask(id, (task) => ({ state: as, resolution: checkResolve(task, who, this.#policy, as, evidence, now) }));
    logTaskEvent(this.#deps.logger, 'task.resolved', t, who.username, { state: as, evidence });
    return this.taskView(t, now);
  }

  async recordVerification(who: Identity, id: string, v: Pick<VerificationRecord, 'verdict' | 'evidence' | 'explanation'>): Promise<void> {
    const now = this.#now();
    let task: TaskSummary | undefined;
    await this.#deps.store.recordVerification(id, (t) => {
      checkTaskActor(t, who, this.#policy, 'verify');
      task = t;
      return { at: now.toISOString(), by: who.username, verdict: v.verdict, evidence: v.evidence, explanation: v.explanation };
    });
    if (task) logTaskEvent(this.#deps.logger, 'task.verified', task, who.username, { state: v.verdict, evidence: v.evidence });
  }

  report(who: Identity, since: Date): Report {
    checkReader(who, this.#policy);
    const now = this.#now();
    return buildReport(this.#deps.store.listTasks({}).map((t) => this.taskView(t, now)), since, now);
  }
}
