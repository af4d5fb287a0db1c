/**
 * What `driftgate scan` reports. One vocabulary with `driftgate diff`: a finding's category is one of
 * diff's classes (guarded, runtime, delegated, ignored, allowance) or says the whole object is drift
 * (orphan: live, not in Git and not GitOps-owned; missing: in Git, not live).
 */
import type { ChangeClass } from '../admission/classify.ts';

export type ScanCategory = ChangeClass | 'orphan' | 'missing';

/** The managedFields entry that last wrote a field: evidence of which client wrote it, not who. */
export interface WriteEvidence {
  readonly manager: string;
  /** Update or Apply */
  readonly operation: string;
  /** absent in some real entries (kubectl scale writes none) */
  readonly time?: string;
  readonly subresource?: string;
}

export interface Finding {
  readonly category: ScanCategory;
  /** printed field path, or `(object)` for orphans and missing objects */
  readonly path: string;
  /** the ignore / delegation / allowance rule, or why a change is always guarded */
  readonly rule?: string;
  /** Git's value (with --desired) */
  readonly git?: unknown;
  /** the live value (Secret values hashed) */
  readonly live?: unknown;
  /** who last wrote it, from managedFields */
  readonly writer?: WriteEvidence;
  /** guarded drift only: a task records it (a bypass under a grant, or drift recorded before) */
  readonly recorded?: boolean;
  readonly taskId?: string;
  readonly declaredInGit?: boolean;
  readonly note?: string;
}

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
}

export interface ObjectReport {
  readonly object: ObjectRef;
  /** the GitOps owner (display form) */
  readonly owner?: string;
  /** machine-readable owner id, as tasks carry it */
  readonly ownerId?: string;
  readonly findings: readonly Finding[];
}

export type SummaryKey = ScanCategory | 'unrecorded' | 'recorded';

export interface ScanSummary {
  readonly objectsScanned: number;
  readonly namespaces: readonly string[];
  /** objects with at least one finding of the category, by category */
  readonly objects: Readonly<Record<SummaryKey, number>>;
  /** findings by category */
  readonly findings: Readonly<Record<SummaryKey, number>>;
  /** objects whose dump carries no managedFields: their writers cannot be told */
  readonly withoutManagedFields: number;
}

export interface ScanResult {
  readonly scannedAt: string;
  readonly source: string;
  /** objects with findings other than runtime/ignored/delegated/allowance noise come first */
  readonly objects: readonly ObjectReport[];
  readonly summary: ScanSummary;
  /** task ids recorded by --record (new or already there) */
  readonly recordedTasks?: readonly string[];
}

/** A finding that needs someone: guarded drift, an orphan, or an object Git has and the cluster lacks. */
export function isDrift(f: Finding): boolean {
  return f.category === 'guarded' || f.category === 'orphan' || f.category === 'missing';
}

/** Drift no task records: the scan's exit code and the alert are about these. */
export function isUnrecorded(f: Finding): boolean {
  return isDrift(f) && f.recorded !== true;
}
