/** A bypass task (SPEC §5): the record of one admitted bypass, pending until reverted or backported. */
import type { Operation } from '../lib/operation.ts';

export type TaskState = 'pending' | 'reverted' | 'backported' | 'accepted' | 'not-applied';

export interface TaskChange {
  readonly path: string;
  readonly before?: unknown;
  readonly after?: unknown;
  /** Git declares the field (a GitOps field manager owned it); false: not declared; absent: unknown */
  readonly declaredInGit?: boolean;
}

export interface TaskDraft {
  readonly grantId: string;
  readonly incident?: string;
  readonly writer: { readonly username: string; readonly groups: readonly string[] };
  readonly operation: Operation;
  readonly object: {
    readonly apiVersion: string;
    readonly kind: string;
    readonly namespace: string;
    readonly name: string;
    readonly uid?: string;
    /** UPDATE, DELETE: the stored version the write was admitted against (evidence for the landing check) */
    readonly resourceVersion?: string;
    /** UPDATE: the generation the object has once the write is persisted (the API server sets it before admission) */
    readonly generation?: number;
  };
  readonly owner: string;
  readonly changes: readonly TaskChange[];
  readonly admissionUid: string;
  readonly recordedAt: string;
  /** absent: an admitted bypass; `detected`: drift `driftgate scan` found (no grant, `admissionUid` derived from the change) */
  readonly source?: TaskSource;
  /** detected drift: the managedFields entry that last wrote the fields (client-chosen: evidence, not identity) */
  readonly detectedWrite?: { readonly manager: string; readonly operation: string; readonly time?: string; readonly subresource?: string };
}

export type TaskSource = 'admission' | 'detected';

export interface Resolution {
  readonly by: string;
  readonly at: string;
  readonly evidence: string;
}

/** One `tasks verify` check of a task against Git, kept as history. */
export interface VerificationRecord {
  readonly at: string;
  readonly by: string;
  readonly verdict: 'backported' | 'reverted' | 'pending';
  readonly evidence: string;
  readonly explanation: readonly string[];
}

export interface Task extends TaskDraft {
  readonly id: string;
  readonly state: TaskState;
  readonly resolution?: Resolution;
  readonly verifications?: readonly VerificationRecord[];
}

/** What lists and reports need of a task, kept in memory; the full record is read on demand. */
export interface TaskSummary {
  readonly id: string;
  readonly state: TaskState;
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
  readonly writer: string;
  readonly grantId: string;
  readonly incident?: string;
  readonly owner: string;
  readonly recordedAt: string;
  readonly admissionUid: string;
  readonly resolution?: Resolution;
  readonly source?: TaskSource;
}

export function summarize(t: Task): TaskSummary {
  return {
    id: t.id,
    state: t.state,
    namespace: t.object.namespace,
    kind: t.object.kind,
    name: t.object.name,
    writer: t.writer.username,
    grantId: t.grantId,
    ...(t.incident ? { incident: t.incident } : {}),
    owner: t.owner,
    recordedAt: t.recordedAt,
    admissionUid: t.admissionUid,
    ...(t.resolution ? { resolution: t.resolution } : {}),
    ...(t.source ? { source: t.source } : {}),
  };
}

/**
 * Durable task recording. `recordBypass` resolves only once the record is durable; a retried
 * admission (same admissionUid) resolves to the task recorded the first time, never a second one.
 */
export interface TaskRecorder {
  /** `record`: where the embedded journal put it (`<seq>:<MAC prefix>`), an anchor for the audit log */
  recordBypass(draft: TaskDraft): Promise<{ readonly id: string; readonly record?: string }>;
}
