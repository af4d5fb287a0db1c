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
  if (g.revokedAt) lines.push(`  revoked:    by ${g.revokedBy ?? '?'} at ${g.revokedAt}${g.revokeReason ? `: ${g.revokeReason}` : ''}`);
  if (g.honoured === false) lines.push(`  NOT HONOURED: ${g.ignoredBecause ?? 'unknown reason'}`);
  return lines.join('\n');
}

/** Columns as kubectl prints them: a header row, each column as wide as its widest cell, 3 spaces apart. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('   ');
  return [headers, ...rows].map(line).join('\n');
}

export function grantTable(grants: readonly GrantView[]): string {
  return table(
    ['ID', 'STATE', 'NAMESPACE', 'RESOURCES', 'REQUESTER', 'INCIDENT', 'EXPIRES'],
    grants.map((g) => [g.id, g.state, g.namespace, g.resources.map(formatResourceRef).join(','), g.requester, g.incident ?? '-', g.expiresAt]),
  );
}

/** A detected task's evidence: the managedFields entry that wrote the fields (no grant, no identity). */
function detectedBy(t: Task): string {
  const w = t.detectedWrite;
  const by = w ? `field manager ${w.manager} (${w.operation}${w.subresource ? ` /${w.subresource}` : ''})${w.time ? ` at ${w.time}` : ''}` : 'an unknown writer';
  return `drift found by driftgate scan, written by ${by}; no grant`;
}

export function renderTask(t: Task): string {
  const lines = [
    `task ${t.id}  ${t.state}  (recorded ${t.recordedAt})`,
    `  object:    ${t.object.apiVersion} ${t.object.kind} ${t.object.namespace}/${t.object.name}${t.object.uid ? ` (uid ${t.object.uid})` : ''}`,
    `  operation: ${t.operation}   admission uid ${t.admissionUid}`,
    `  writer:    ${t.writer.username} (groups: ${t.writer.groups.join(', ') || 'none'})`,
    `  owner:     ${t.owner}`,
    t.grantId || t.source !== 'detected' ? `  grant:     ${t.grantId}${t.incident ? `   incident ${t.incident}` : ''}` : `  detected:  ${detectedBy(t)}`,
    `  changes (${t.changes.length}): revert them, or put them into Git`,
  ];
  for (const c of t.changes) {
    const note = c.declaredInGit === true ? '  [declared in Git]' : c.declaredInGit === false ? '  [not declared in Git]' : '';
    // A scan sees only the value a write left; what it replaced is not known unless Git said (--desired).
    const before = t.source === 'detected' && !Object.hasOwn(c, 'before') ? '(not known: found after the write)' : showValue(c.before, 200);
    lines.push(`    ${c.path}${note}`, `      - ${before}`, `      + ${showValue(c.after, 200)}`);
  }
  for (const v of t.verifications ?? []) {
    lines.push(`  verified:  ${v.at} by ${v.by} against ${v.evidence}: ${v.verdict}`, ...v.explanation.map((l) => `    ${l}`));
  }
  if (t.resolution) lines.push(`  resolved:  ${t.state} by ${t.resolution.by} at ${t.resolution.at}: ${t.resolution.evidence}`);
  return lines.join('\n');
}

export function taskTable(tasks: readonly TaskSummary[]): string {
  return table(
    ['ID', 'STATE', 'OBJECT', 'WRITER', 'GRANT', 'RECORDED'],
    tasks.map((t) => [t.id, t.state, `${t.kind}/${t.namespace}/${t.name}`, t.writer, t.grantId || (t.source === 'detected' ? '(detected)' : ''), t.recordedAt]),
  );
}
