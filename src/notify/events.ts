/**
 * What a notification says. Every event has an idempotency `key` that names the fact it reports
 * (`grant.approved:g-1:bob`): enqueueing a fact twice records it once, and receivers see the key in
 * the `X-Driftgate-Delivery` header to drop a redelivery after a crash.
 */
import { createHash } from 'node:crypto';
import type { Grant } from '../grants/grant.ts';
import type { NotificationEvent, Policy } from '../policy/policy.ts';
import { approvalRule } from '../grants/rules.ts';
import type { TaskSummary } from '../tasks/task.ts';

export type EventType = NotificationEvent;

export interface Notification {
  readonly key: string;
  readonly type: EventType;
  /** when the fact happened */
  readonly at: string;
  /** one line a person reads (Slack text, email subject) */
  readonly summary: string;
  readonly data: Readonly<Record<string, unknown>>;
}

function scopeOf(g: Grant): string {
  return g.resources.map((r) => `${r.group ? `${r.group}/` : ''}${r.kind}/${r.name}`).join(', ');
}

function grantData(g: Grant): Record<string, unknown> {
  return {
    grant: g.id,
    requester: g.requester,
    namespace: g.namespace,
    resources: g.resources,
    ...(g.paths ? { paths: g.paths } : {}),
    reason: g.reason,
    ...(g.incident ? { incident: g.incident } : {}),
    expiresAt: g.expiresAt,
  };
}

const VERB: Record<'grant.requested' | 'grant.approved' | 'grant.denied' | 'grant.revoked', string> = {
  'grant.requested': 'requested',
  'grant.approved': 'approved',
  'grant.denied': 'denied',
  'grant.revoked': 'revoked',
};

/** A grant transition made by a person (request, approval, denial, revocation). */
export function grantEvent(type: keyof typeof VERB, g: Grant, actor: string, at: Date, policy: Policy, reason?: string): Notification {
  const approvers = approvalRule(policy, g.namespace).approvers;
  const who = [...approvers.users, ...[...approvers.groups].map((x) => `group ${x}`)].join(', ');
  const waiting = type === 'grant.requested' && g.state === 'pending-approval';
  return {
    key: `${type}:${g.id}:${actor}`,
    type,
    at: at.toISOString(),
    summary:
      `Break-glass grant ${g.id} ${VERB[type]} by ${actor}: ${g.namespace} ${scopeOf(g)}` +
      (g.incident ? ` (incident ${g.incident})` : '') +
      (waiting ? ` — waiting for approval${who ? ` by ${who}` : ''}` : ''),
    data: {
      ...grantData(g),
      actor,
      state: g.state,
      ...(reason ? { actorReason: reason } : {}),
      // grant.requested goes to the approvers: who they are, so a router can page them
      ...(type === 'grant.requested' ? { approvers: { users: [...approvers.users], groups: [...approvers.groups] }, approvalsRequired: approvalRule(policy, g.namespace).required } : {}),
    },
  };
}

export function grantExpired(g: Grant): Notification {
  return {
    key: `grant.expired:${g.id}`,
    type: 'grant.expired',
    at: g.expiresAt,
    summary: `Break-glass grant ${g.id} expired: ${g.namespace} ${scopeOf(g)}`,
    data: grantData(g),
  };
}

export function grantFirstUsed(g: Grant, t: TaskSummary): Notification {
  return {
    key: `grant.first-used:${g.id}`,
    type: 'grant.first-used',
    at: t.recordedAt,
    summary: `Break-glass grant ${g.id} used for the first time by ${t.writer}: ${t.kind} ${t.namespace}/${t.name} (task ${t.id})`,
    data: { ...grantData(g), task: t.id, writer: t.writer, object: { kind: t.kind, namespace: t.namespace, name: t.name } },
  };
}

export function taskOverdue(t: TaskSummary, overdueSince: Date): Notification {
  return {
    key: `task.overdue:${t.id}`,
    type: 'task.overdue',
    at: overdueSince.toISOString(),
    summary: `Task ${t.id} is overdue: revert or backport the change to ${t.kind} ${t.namespace}/${t.name} (owner ${t.owner}, writer ${t.writer})`,
    data: { task: t.id, grant: t.grantId, ...(t.incident ? { incident: t.incident } : {}), namespace: t.namespace, kind: t.kind, name: t.name, owner: t.owner, writer: t.writer, recordedAt: t.recordedAt },
  };
}

/** A difference between Git and the live cluster that no task records (found by a scan). */
export interface DriftFinding {
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
  readonly owner?: string;
  /** the changed field paths (values are not sent: they may be secret) */
  readonly paths: readonly string[];
  /** who last wrote the fields, when known (managedFields) */
  readonly writers?: readonly string[];
}

export function driftFound(f: DriftFinding, at: Date): Notification {
  // The same drift found by every scan is one fact; a new path set is a new fact.
  const digest = createHash('sha256').update(JSON.stringify([f.namespace, f.kind, f.name, [...f.paths].sort()])).digest('hex').slice(0, 16);
  return {
    key: `drift.found:${f.namespace}/${f.kind}/${f.name}:${digest}`,
    type: 'drift.found',
    at: at.toISOString(),
    summary: `Unrecorded drift on ${f.kind} ${f.namespace}/${f.name}${f.owner ? ` (owner ${f.owner})` : ''}: ${f.paths.slice(0, 5).join(', ')}${f.paths.length > 5 ? ` and ${f.paths.length - 5} more` : ''}`,
    data: { ...f, paths: [...f.paths] },
  };
}
