/** Readable text for grants and tasks (the CLI's default output; -o json prints the API's JSON). */
import { showValue } from '../admission/redact.ts';
import type { Grant } from '../grants/grant.ts';
import type { Task, TaskSummary } from '../tasks/task.ts';
import { formatDuration } from '../util/duration.ts';
import { formatResourceRef } from './resource-ref.ts';

type GrantView = Grant & { honoured?: boolean; ignoredBecause?: string };

export function renderGrant(g: GrantView, now = new Date()): string {
  const left = Date.parse(g.expiresAt) - now.getTime();
  const expiry =
    g.state === 'active' || g.state === 'pending-approval'
      ? `expires ${g.expiresAt}, ${formatDuration(left)} left`
      : g.state === 'revoked'
        ? `revoked at ${g.revokedAt ?? '?'}`
        : `expired ${g.expiresAt}`;
  const lines = [
    `grant ${g.id}  ${g.state}  (${expiry})`,
    `  requester:  ${g.requester}`,
    `  subjects:   ${[...g.subjects.users.map((u) => `user ${u}`), ...g.subjects.groups.map((x) => `group ${x}`)].join(', ')}`,
    `  scope:      -n ${g.namespace} ${g.resources.map(formatResourceRef).join(' ')}`,
    `  paths:      ${g.paths?.join(', ') ?? 'all'}`,
    `  operations: ${g.operations.join(', ')}`,
    `  reason:     ${g.reason}`,
    `  incident:   ${g.incident ?? '(none)'}`,
    `  approvals:  ${g.approvals.length === 0 ? 'none' : g.approvals.map((a) => `${a.by} at ${a.at}`).join(', ')}`,
  ];
  if (g.revokedAt) lines.push(`  revoked:    by ${g.revokedBy ?? '?'} at ${g.revokedAt}`);
  if (g.honoured === false) lines.push(`  NOT HONOURED: ${g.ignoredBecause ?? 'unknown reason'}`);
  return lines.join('\n');
}

export function grantLine(g: GrantView): string {
  return [g.id.padEnd(14), g.state.padEnd(17), g.namespace.padEnd(12), g.resources.map(formatResourceRef).join(',').padEnd(28), g.requester.padEnd(12), g.incident ?? '-', ` ${g.expiresAt}`].join(' ');
}

export function renderTask(t: Task): string {
  const lines = [
    `task ${t.id}  ${t.state}  (recorded ${t.recordedAt})`,
    `  object:    ${t.object.apiVersion} ${t.object.kind} ${t.object.namespace}/${t.object.name}${t.object.uid ? ` (uid ${t.object.uid})` : ''}`,
    `  operation: ${t.operation}   admission uid ${t.admissionUid}`,
    `  writer:    ${t.writer.username} (groups: ${t.writer.groups.join(', ') || 'none'})`,
    `  owner:     ${t.owner}`,
    `  grant:     ${t.grantId}${t.incident ? `   incident ${t.incident}` : ''}`,
    `  changes (${t.changes.length}): revert them, or put them into Git`,
  ];
  for (const c of t.changes) {
    const note = c.declaredInGit === true ? '  [declared in Git]' : c.declaredInGit === false ? '  [not declared in Git]' : '';
    lines.push(`    ${c.path}${note}`, `      - ${showValue(c.before, 200)}`, `      + ${showValue(c.after, 200)}`);
  }
  for (const v of t.verifications ?? []) {
    lines.push(`  verified:  ${v.at} by ${v.by} against ${v.evidence}: ${v.verdict}`, ...v.explanation.map((l) => `    ${l}`));
  }
  if (t.resolution) lines.push(`  resolved:  ${t.state} by ${t.resolution.by} at ${t.resolution.at}: ${t.resolution.evidence}`);
  return lines.join('\n');
}

export function taskLine(t: TaskSummary): string {
  return [t.id.padEnd(14), t.state.padEnd(12), `${t.kind}/${t.namespace}/${t.name}`.padEnd(32), t.writer.padEnd(12), t.grantId.padEnd(14), t.recordedAt].join(' ');
}
