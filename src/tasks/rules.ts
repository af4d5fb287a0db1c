/**
 * Closing tasks (SPEC §5), as pure functions: who may resolve, when a task is overdue, and the
 * report auditors read.
 */
import { DriftgateError } from '../errors.ts';
import { isAnyApprover, isIn, type Identity } from '../grants/rules.ts';
import type { Policy } from '../policy/policy.ts';
import type { Resolution, TaskState, TaskSummary } from './task.ts';
import { compareText } from '../util/compare.ts';

export type ResolvedState = 'reverted' | 'backported' | 'accepted';
export const RESOLVED_STATES: readonly ResolvedState[] = ['reverted', 'backported', 'accepted'];

/** Auditors, the writer who made the change, and approvers may verify and close a task. */
export function checkTaskActor(t: TaskSummary, who: Identity, policy: Policy, action: string): void {
  if (who.username !== t.writer && !isIn(policy.auditors, who) && !isAnyApprover(who, policy)) {
    throw new DriftgateError('FORBIDDEN', `${who.username} may not ${action} task ${t.id} (auditors, approvers and the writer, ${t.writer}, may)`);
  }
}

export function checkResolve(t: TaskSummary, who: Identity, policy: Policy, as: ResolvedState, evidence: string, now: Date): Resolution {
  if (t.state !== 'pending') throw new DriftgateError('CONFLICT', `task ${t.id} is already ${t.state}`);
  if (!RESOLVED_STATES.includes(as)) throw new DriftgateError('INVALID_REQUEST', `resolve as one of ${RESOLVED_STATES.join(', ')}`);
  if (evidence.trim() === '') throw new DriftgateError('INVALID_REQUEST', 'evidence is required: a commit, a PR URL, or why the exception is accepted');
  checkTaskActor(t, who, policy, 'resolve');
  return { by: who.username, at: now.toISOString(), evidence: evidence.trim() };
}

/** A pending task is overdue once its grant expired more than `backportDeadline` ago. */
export function isOverdue(t: TaskSummary, grantExpiresAt: string | undefined, policy: Policy, now: Date): boolean {
  if (t.state !== 'pending') return false;
  return pastDeadline(grantExpiresAt, Date.parse(t.recordedAt), policy, now);
}

/** A pending task is overdue once its grant's expiry (else its recording) plus the backport deadline has passed. */
export function pastDeadline(grantExpiresAt: string | undefined, recordedAtMs: number, policy: Policy, now: Date): boolean {
  return now.getTime() > backportDeadline(grantExpiresAt, recordedAtMs, policy);
}

/** When a task's backport is due (epoch ms): its grant's expiry, else its recording, plus the deadline. */
export function backportDeadline(grantExpiresAt: string | undefined, recordedAtMs: number, policy: Policy): number {
  return (grantExpiresAt ? Date.parse(grantExpiresAt) : recordedAtMs) + policy.breakGlass.backportDeadlineMs;
}

export type TaskView = TaskSummary & { readonly overdue: boolean };

type Counts = { pending: number; overdue: number; resolved: number };

export interface Report {
  readonly generatedAt: string;
  readonly since: string;
  readonly totals: Counts & { readonly byState: Record<TaskState, number> };
  readonly byNamespace: Record<string, Counts>;
  readonly byOwner: Record<string, Counts>;
  readonly byWriter: Record<string, Counts>;
  readonly byIncident: Record<string, Counts>;
  /** every pending task, oldest first, overdue ones flagged */
  readonly pending: readonly TaskView[];
  /** tasks resolved since `since`, most recent first */
  readonly resolved: readonly TaskView[];
}

export function buildReport(tasks: readonly TaskView[], since: Date, now: Date): Report {
  const byState: Record<TaskState, number> = { pending: 0, reverted: 0, backported: 0, accepted: 0, 'not-applied': 0 };
  const groups = { byNamespace: {}, byOwner: {}, byWriter: {}, byIncident: {} } as Record<'byNamespace' | 'byOwner' | 'byWriter' | 'byIncident', Record<string, Counts>>;
  const totals: Counts = { pending: 0, overdue: 0, resolved: 0 };
  const resolved: TaskView[] = [];
  const pending: TaskView[] = [];
  for (const t of tasks) {
    byState[t.state] += 1;
    const recent = t.resolution !== undefined && Date.parse(t.resolution.at) >= since.getTime();
    if (t.state !== 'pending' && !recent) continue;
    const add = (c: Counts) => {
      if (t.state === 'pending') c.pending += 1;
      if (t.overdue) c.overdue += 1;
      if (recent) c.resolved += 1;
    };
    add(totals);
    for (const [key, value] of [
      ['byNamespace', t.namespace],
      ['byOwner', t.owner],
      ['byWriter', t.writer],
      ['byIncident', t.incident ?? '(none)'],
    ] as const) {
      add((groups[key][value] ??= { pending: 0, overdue: 0, resolved: 0 }));
    }
    if (t.state === 'pending') pending.push(t);
    else resolved.push(t);
  }
  pending.sort((a, b) => compareText(a.recordedAt, b.recordedAt));
  resolved.sort((a, b) => compareText(b.resolution!.at, a.resolution!.at));
  return { generatedAt: now.toISOString(), since: since.toISOString(), totals: { ...totals, byState }, ...groups, pending, resolved };
}
