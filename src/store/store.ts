/** What the API and the webhook need from a break-glass store (embedded journal, or Kubernetes later). */
import type { Approval, Grant, GrantSource } from '../grants/grant.ts';
import type { Resolution, Task, TaskRecorder, TaskState, TaskSummary, VerificationRecord } from '../tasks/task.ts';

export interface BreakGlassStore extends GrantSource, TaskRecorder {
  readonly tampered: readonly string[];
  /**
   * Signs and keeps a new grant. `check` runs first, under the store's grant-creation lock (its own
   * writes serialized), so a limit it checks against `openGrants` cannot be raced past by this store.
   */
  createGrant(unsigned: Omit<Grant, 'token'>, check?: () => void): Promise<Grant>;
  /** The grants `requester` asked for that are open (pending approval or active) at `now`: breakGlass.maxOpenGrantsPerRequester. */
  openGrants(requester: string, now: Date): Grant[];
  approveGrant(id: string, decide: (g: Grant) => { approval: Approval; state: Grant['state'] }): Promise<Grant>;
  revokeGrant(id: string, check: (g: Grant) => void, by: string, at: Date, reason?: string): Promise<Grant>;
  getGrant(id: string): { grant: Grant; ignored: string | undefined } | undefined;
  listGrants(filter: { state?: string; namespace?: string }, now: Date): Grant[];
  getTask(id: string): Task | undefined;
  /** oldest first; `recordedSince` (epoch ms): only tasks recorded at or after it */
  listTasks(filter: { state?: TaskState; namespace?: string; recordedSince?: number }): TaskSummary[];
  /**
   * Pending tasks as (grant, recordedAt ms), without building summaries (metrics, the notification
   * sweep); `summary` builds one task's when a caller needs it. Absent: use listTasks.
   */
  forEachPendingTask?(visit: (grantId: string, recordedAtMs: number, summary: () => TaskSummary) => void): void;
  resolveTask(id: string, check: (t: TaskSummary) => { state: TaskState; resolution?: Resolution }): Promise<TaskSummary>;
  recordVerification(id: string, check: (t: TaskSummary) => VerificationRecord): Promise<void>;
  close(): Promise<void>;
}
