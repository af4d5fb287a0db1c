/**
 * Into the revert-or-backport loop: each unrecorded drift becomes a task with `source: detected`, the
 * managedFields entry as the writer evidence, and no grant. One task per object and write (the fields
 * one managedFields entry wrote); its `admissionUid` is derived from the object's uid, the paths and a
 * hash of each value, so a second scan (or a second replica) records the same drift under the same
 * id, which both stores treat as "already recorded". A hand-made object becomes a CREATE task.
 */
import { createHash } from 'node:crypto';
import type { TaskChange, TaskDraft } from '../tasks/task.ts';
import type { Finding, ObjectReport, WriteEvidence } from './types.ts';

export interface TaskSink {
  recordBypass(draft: TaskDraft): Promise<{ readonly id: string }>;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** The writer a detected task names: the field manager, marked so it never reads as a user. */
export const detectedWriter = (w: WriteEvidence | undefined): string => `field-manager:${w?.manager ?? 'unknown'}`;

function writeKey(w: WriteEvidence | undefined): string {
  return w ? [w.manager, w.operation, w.time ?? '', w.subresource ?? ''].join('\u0000') : '';
}

/**
 * A Secret value is only ever seen as its keyed hash, which is stable only under the installation's
 * key; it is identified by the write that set it instead (manager, operation, time).
 */
function valueId(after: unknown, writer: WriteEvidence | undefined): string {
  return typeof after === 'string' && after.startsWith('<secret ') ? `write ${writeKey(writer)}` : sha(JSON.stringify(after ?? null));
}

/** Deterministic: the same object and the same changed values always give the same id. */
export function detectedUid(report: ObjectReport, changes: readonly TaskChange[], writer?: WriteEvidence): string {
  const o = report.object;
  const lines = changes.map((c) => `${c.path}\t${valueId(c.after, writer)}`).sort();
  return `detected-${sha([o.uid ?? `${o.apiVersion}/${o.kind}/${o.namespace}/${o.name}`, ...lines].join('\n')).slice(0, 32)}`;
}

/** The task drafts for a report's unrecorded drift (none when everything is recorded). */
export function detectedDrafts(report: ObjectReport, now: Date): TaskDraft[] {
  const byWrite = new Map<string, Finding[]>();
  for (const f of report.findings) {
    if (f.recorded !== false) continue;
    const k = f.category === 'orphan' ? 'orphan' : writeKey(f.writer);
    byWrite.set(k, [...(byWrite.get(k) ?? []), f]);
  }
  const drafts: TaskDraft[] = [];
  for (const [key, findings] of byWrite) {
    const orphan = key === 'orphan';
    const writer = findings[0]!.writer;
    const changes: TaskChange[] = orphan
      ? []
      : findings.map((f) => ({
          path: f.path,
          ...(f.git !== undefined ? { before: f.git } : {}),
          ...(f.live !== undefined ? { after: f.live } : {}),
          ...(f.declaredInGit !== undefined ? { declaredInGit: f.declaredInGit } : {}),
        }));
    drafts.push({
      grantId: '',
      writer: { username: detectedWriter(writer), groups: [] },
      operation: orphan ? 'CREATE' : 'UPDATE',
      object: { ...report.object },
      owner: report.ownerId ?? 'none',
      changes,
      admissionUid: orphan ? detectedUid(report, [{ path: '(object)' }]) : detectedUid(report, changes, writer),
      recordedAt: now.toISOString(),
      source: 'detected',
      ...(writer ? { detectedWrite: { ...writer } } : {}),
    });
  }
  return drafts;
}

/** Records every draft; returns the task ids (a draft recorded before resolves to the same task). */
export async function recordDrafts(sink: TaskSink, drafts: readonly TaskDraft[]): Promise<string[]> {
  const ids: string[] = [];
  for (const d of drafts) ids.push((await sink.recordBypass(d)).id);
  return ids;
}
