/**
 * The break-glass trail in the server log: one structured pino line per event an auditor looks for
 * first (grant requested, approved, denied, revoked, expired; task recorded, resolved, verified), each
 * with who, what, why, the incident and the grant and task ids, and `audit: "break-glass"` to filter
 * on. Values never appear: a task's changes are named by path, a grant without its token.
 */
import type { Logger } from 'pino';
import type { Grant } from '../grants/grant.ts';
import type { TaskDraft, TaskSummary } from '../tasks/task.ts';

export type BreakGlassEvent =
  | 'grant.requested'
  | 'grant.approved'
  | 'grant.denied'
  | 'grant.revoked'
  | 'grant.expired'
  | 'task.recorded'
  | 'task.resolved'
  | 'task.verified';

export interface EventLine {
  /** the person (or `driftgate`) who acted */
  readonly who: string;
  /** what the event is about, in words: the grant's scope, or the task's object and changed paths */
  readonly what: string;
  /** the actor's reason: the grant's reason, an approval note, a revoke reason, a resolution's evidence */
  readonly why?: string | undefined;
  readonly incident?: string | undefined;
  readonly grant?: string | undefined;
  readonly task?: string | undefined;
  readonly [more: string]: unknown;
}

/** Logs one break-glass event (no logger: nothing). */
export function logBreakGlass(logger: Logger | undefined, event: BreakGlassEvent, line: EventLine): void {
  if (!logger) return;
  const fields: Record<string, unknown> = { audit: 'break-glass', event };
  for (const [k, v] of Object.entries(line)) if (v !== undefined) fields[k] = v;
  logger.info(fields, `break-glass ${event.replace('.', ' ')}`);
}

/** `prod: apps/Deployment/api, ConfigMap/settings (UPDATE; paths spec.replicas)` */
export function grantScope(g: Grant): string {
  const resources = g.resources.map((r) => `${r.group ? `${r.group}/` : ''}${r.kind}/${r.name}`).join(', ');
  return `${g.namespace}: ${resources} (${g.operations.join(', ')}${g.paths ? `; paths ${g.paths.join(', ')}` : ''})`;
}

export function logGrantEvent(logger: Logger | undefined, event: Extract<BreakGlassEvent, `grant.${string}`>, g: Grant, who: string, reason?: string): void {
  logBreakGlass(logger, event, {
    who,
    what: grantScope(g),
    why: event === 'grant.requested' ? g.reason : reason,
    incident: g.incident,
    grant: g.id,
    requester: g.requester,
    ...(event === 'grant.requested' || event === 'grant.approved' ? { state: g.state, expiresAt: g.expiresAt } : {}),
  });
}

/** The bypass as the webhook recorded it: writer, object, changed paths (never values). */
export function logTaskRecorded(logger: Logger | undefined, draft: TaskDraft, taskId: string, grantReason?: string): void {
  const o = draft.object;
  logBreakGlass(logger, 'task.recorded', {
    who: draft.writer.username,
    what: `${draft.operation} ${o.kind} ${o.namespace}/${o.name}`,
    why: grantReason,
    incident: draft.incident,
    grant: draft.grantId,
    task: taskId,
    paths: draft.changes.map((c) => c.path),
    owner: draft.owner,
    admissionUid: draft.admissionUid,
  });
}

export function logTaskEvent(logger: Logger | undefined, event: 'task.resolved' | 'task.verified', t: TaskSummary, who: string, outcome: { readonly state: string; readonly evidence: string }): void {
  logBreakGlass(logger, event, {
    who,
    what: `${t.kind} ${t.namespace}/${t.name}`,
    why: outcome.evidence,
    incident: t.incident,
    grant: t.grantId,
    task: t.id,
    [event === 'task.resolved' ? 'state' : 'verdict']: outcome.state,
  });
}
