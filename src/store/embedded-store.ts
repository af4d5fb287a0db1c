/**
 * The embedded store: the journal plus in-memory indexes, so a decision never reads the file.
 * Grants are honoured only when their token (which signs the state and approvals) verifies and
 * matches the record, and never when the journal fails verification (keyed chain, anchor): then the
 * store is read-only and not ready. Revocations carry a signed proof. Every admitted bypass is a
 * durable task before the webhook answers. Threat model: docs/storage.md.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DriftgateError } from '../errors.ts';
import type { Grant, GrantSource } from '../grants/grant.ts';
import { GrantIndex } from '../grants/grant-index.ts';
import { stateAt } from '../grants/rules.ts';
import { isOpen } from '../grants/open-grant-limit.ts';
import { checkRevocation, signGrant, signRevocation, tokenProblem } from '../grants/token.ts';
import { loadChainKey } from '../keys/journal-key.ts';
import type { KeyRing } from '../keys/key-ring.ts';
import type { Approval } from '../grants/grant.ts';
import { summarize, type Resolution, type Task, type TaskDraft, type TaskRecorder, type TaskState, type TaskSummary, type VerificationRecord } from '../tasks/task.ts';
import { formatAnchor, Journal, readRecordAt, type Anchor, type JournalEntry, type OpenAppend } from './journal.ts';
import { GrantTokens, type RecordAt } from './grant-tokens.ts';
import { TaskTable, type TaskFilter } from './task-table.ts';
import { compareText } from '../util/compare.ts';

export const JOURNAL_FILE = 'journal.jsonl';
/** the journal's anchor (record count and last MAC), kept with the keys, outside the data directory */
export const ANCHOR_FILE = 'journal.anchor';

type GrantRecord = { grant: Grant };
type ApprovalRecord = { id: string; approval: Approval; state: Grant['state']; token: string };
/** `proof`: driftgate's signed revocation (typ driftgate-revocation+jwt) */
type RevokeRecord = { id: string; by: string; at: string; reason?: string; proof: string };
type TaskRecord = { task: Task };
type ResolveRecord = { id: string; state: TaskState; resolution?: Resolution };
type VerifyRecord = { id: string; verification: VerificationRecord };

export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export interface GrantFilter {
  readonly state?: string;
  readonly namespace?: string;
}

export type { TaskFilter } from './task-table.ts';

export interface EmbeddedStoreOptions {
  /** where the chain key and the anchor live (default: <dataDir>/keys, with the signing keys) */
  readonly keysDir?: string;
  /** file operations (tests inject failures) */
  readonly openFile?: OpenAppend;
  /** called once the journal is read, before the grant tokens are checked (serve compacts the heap there) */
  readonly afterReplay?: () => void;
}

export class EmbeddedStore implements GrantSource, TaskRecorder {
  #journal!: Journal;
  readonly #keys: KeyRing;
  readonly #logger: Logger;
  /** every grant recorded, honoured or not (tokens stay in the journal: #tokens) */
  readonly #grants = new Map<string, Grant>();
  readonly #tokens = new GrantTokens((at) => this.#readAt(at));
  /** why a grant is not honoured (bad token, edited record) */
  readonly #ignored = new Map<string, string>();
  #index = new GrantIndex();
  /** task summaries as a compact table plus where each record sits in the journal (bodies stay on disk) */
  readonly #tasks = new TaskTable();
  /** verification history by task (rare, small: kept in memory) */
  readonly #verifications = new Map<string, VerificationRecord[]>();
  #readFd: number | undefined;
  readonly #inflight = new Map<string, Promise<{ id: string; record?: string }>>();
  #mutations: Promise<unknown> = Promise.resolve();
  #tampered: readonly string[] = [];
  /** signed revocation proofs read at replay, checked once the journal is read */
  readonly #proofs: RevokeRecord[] = [];

  private constructor(keys: KeyRing, logger: Logger) {
    this.#keys = keys;
    this.#logger = logger;
  }

  /** why the journal failed verification (chain, anchor); when any, no grant is honoured and no record is written */
  get tampered(): readonly string[] {
    return this.#tampered;
  }

  static async open(dataDir: string, keys: KeyRing, logger: Logger, now: () => Date = () => new Date(), o: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
    const store = new EmbeddedStore(keys, logger);
    const keysDir = o.keysDir ?? join(dataDir, 'keys');
    // Records are applied as the file streams past: a large journal is never held in memory.
    const { journal, reading } = await Journal.open(join(dataDir, JOURNAL_FILE), {
      key: loadChainKey(keysDir, true),
      anchorFile: join(keysDir, ANCHOR_FILE),
      now,
      ...(o.openFile ? { openFile: o.openFile } : {}),
      onEntry: (e, offset, length) => store.#apply(e, offset, length),
    });
    store.#journal = journal;
    store.#tampered = reading.problems;
    if (reading.tornTail) logger.warn({ file: journal.file }, 'journal: incomplete last line (crash during a write) cut off');
    if (reading.problems.length > 0) {
      logger.error(
        { file: journal.file, problems: reading.problems },
        'JOURNAL TAMPERED: the journal fails verification; no grant is honoured and no record is written until it is resolved (driftgate journal verify; docs/runbook.md)',
      );
    }
    o.afterReplay?.();
    for (const g of store.#grants.values()) await store.#verify(g);
    for (const r of store.#proofs) await store.#checkProof(r);
    store.#proofs.length = 0;
    store.#reindex();
    logger.info({ grants: store.#grants.size, tasks: store.#tasks.size, records: reading.count, head: formatAnchor(journal.anchor) }, 'journal replayed');
    return store;
  }

  /** The journal's durable head (record count, last MAC): metrics and audit annotations carry it. */
  get anchor(): Anchor {
    return this.#journal.anchor;
  }

  /** Reasons the store cannot record now (failed verification, a write that failed). */
  notReady(): string[] {
    const why = this.#journal.unavailable();
    return why ? [why] : [];
  }

  async #checkProof(r: RevokeRecord): Promise<void> {
    const checked = r.proof ? await checkRevocation(r.proof, r.id, this.#keys) : { problem: 'no signed proof' };
    // A revocation only ever takes power away: it applies either way, a bad proof is reported.
    if ('problem' in checked) this.#logger.error({ grant: r.id, problem: checked.problem }, 'journal: revocation record without a genuine signature (written by hand?)');
  }

  #apply(e: JournalEntry, offset: number, length: number): void {
    switch (e.type) {
      case 'grant.requested': {
        const { grant } = e.data as GrantRecord;
        this.#tokens.at(grant.id, { offset, length });
        this.#grants.set(grant.id, this.#tokens.keep(grant));
        break;
      }
      case 'grant.approved': {
        const r = e.data as ApprovalRecord;
        const g = this.#grants.get(r.id);
        if (g) {
          this.#tokens.at(r.id, { offset, length });
          this.#grants.set(r.id, this.#tokens.keep({ ...GrantTokens.fields(g), approvals: [...g.approvals, r.approval], state: r.state }));
        }
        break;
      }
      case 'grant.revoked': {
        const r = e.data as RevokeRecord;
        const g = this.#grants.get(r.id);
        if (g) this.#grants.set(r.id, this.#tokens.keep({ ...GrantTokens.fields(g), revokedBy: r.by, revokedAt: r.at, ...(r.reason ? { revokeReason: r.reason } : {}), state: 'revoked' }));
        this.#proofs.push(r);
        break;
      }
      case 'task.recorded': {
        const { task } = e.data as TaskRecord;
        this.#tasks.put(summarize(task), { offset, length });
        break;
      }
      case 'task.resolved': {
        const r = e.data as ResolveRecord;
        this.#setTaskState(r);
        break;
      }
      case 'task.verified': {
        const r = e.data as VerifyRecord;
        this.#verifications.set(r.id, [...(this.#verifications.get(r.id) ?? []), r.verification]);
        break;
      }
      default:
        this.#logger.warn({ seq: e.seq, type: e.type }, 'journal: unknown record type skipped');
    }
  }

  async #verify(g: Grant): Promise<void> {
    const problem = await tokenProblem(g, this.#keys);
    if (problem) {
      this.#ignored.set(g.id, problem);
      this.#logger.error({ grant: g.id, problem }, 'grant ignored: its token does not prove it (record written or edited by hand?)');
    } else {
      this.#ignored.delete(g.id);
    }
  }

  #reindex(): void {
    this.#index = new GrantIndex([...this.#grants.values()].filter((g) => !this.#ignored.has(g.id) && !g.revokedAt && g.state === 'active'));
  }

  /** Serializes grant mutations so that check-then-append never races with itself. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#mutations.then(fn, fn);
    this.#mutations = run.catch(() => undefined);
    return run;
  }

  // ---- GrantSource (the decision's view: synchronous, in memory) ----

  activeGrants(namespace: string, group: string, kind: string, name: string, now: Date): readonly Grant[] {
    if (this.tampered.length > 0) return [];
    return this.#index.lookup(namespace, group, kind, name, now);
  }

  // ---- grants ----

  /** `check` runs inside the lock, before the grant is signed (every grant mutation is serialized). */
  createGrant(unsigned: Omit<Grant, 'token'>, check?: () => void): Promise<Grant> {
    return this.#exclusive(async () => {
      check?.();
      const grant: Grant = { ...unsigned, token: await signGrant(unsigned, this.#keys) };
      this.#tokens.at(grant.id, await this.#journal.append('grant.requested', { grant }));
      this.#grants.set(grant.id, this.#tokens.keep(grant));
      await this.#verify(grant);
      this.#reindex();
      return grant;
    });
  }

  /** `decide` runs inside the lock with the current grant and returns the approval to record. */
  approveGrant(id: string, decide: (g: Grant) => { approval: Approval; state: Grant['state'] }): Promise<Grant> {
    return this.#exclusive(async () => {
      const g = this.#mustGet(id);
      // An approval builds only on the approvals the token signs (a record rewritten with a stolen chain
      // key could otherwise add approvals that one real approval would then sign).
      const problem = await tokenProblem({ ...g, state: 'pending-approval' }, this.#keys);
      if (problem) {
        this.#logger.error({ grant: id, problem }, 'GRANT TAMPERED: approval refused, the grant does not match its signature');
        throw new DriftgateError('CONFLICT', `grant ${id} does not match its signature (${problem}): its record was edited outside driftgate, so it cannot be approved; request a new grant (docs/storage.md)`);
      }
      const { approval, state } = decide(g);
      const next: Omit<Grant, 'token'> = { ...GrantTokens.fields(g), approvals: [...g.approvals, approval], state };
      const token = await signGrant(next, this.#keys);
      this.#tokens.at(id, await this.#journal.append('grant.approved', { id, approval, state, token } satisfies ApprovalRecord));
      const updated: Grant = { ...next, token };
      this.#grants.set(id, this.#tokens.keep(updated));
      await this.#verify(updated);
      this.#reindex();
      return updated;
    });
  }

  revokeGrant(id: string, check: (g: Grant) => void, by: string, at: Date, reason?: string): Promise<Grant> {
    return this.#exclusive(async () => {
      const g = this.#mustGet(id);
      check(g);
      const revocation = { grantId: id, by, at: at.toISOString(), ...(reason ? { reason } : {}) };
      const rec: RevokeRecord = { id, by, at: revocation.at, ...(reason ? { reason } : {}), proof: await signRevocation(revocation, this.#keys) };
      await this.#journal.append('grant.revoked', rec);
      const updated = this.#tokens.keep({ ...GrantTokens.fields(g), revokedBy: by, revokedAt: rec.at, ...(reason ? { revokeReason: reason } : {}), state: 'revoked' });
      this.#grants.set(id, updated);
      this.#reindex();
      return updated;
    });
  }

  #mustGet(id: string): Grant {
    const g = this.#grants.get(id);
    if (!g) throw new DriftgateError('NOT_FOUND', `no grant ${id}`);
    return g;
  }

  getGrant(id: string): { grant: Grant; ignored: string | undefined } | undefined {
    const grant = this.#grants.get(id);
    return grant ? { grant, ignored: this.#ignored.get(id) ?? (this.tampered.length > 0 ? 'journal tampered' : undefined) } : undefined;
  }

  /** One pass over the grants in memory (grant requests are rare; the webhook never calls this). */
  openGrants(requester: string, now: Date): Grant[] {
    const out: Grant[] = [];
    for (const g of this.#grants.values()) if (g.requester === requester && isOpen(g, now)) out.push(g);
    return out;
  }

  listGrants(filter: GrantFilter, now: Date): Grant[] {
    return [...this.#grants.values()]
      .filter((g) => (!filter.namespace || g.namespace === filter.namespace) && (!filter.state || stateAt(g, now) === filter.state))
      .sort((a, b) => compareText(b.createdAt, a.createdAt));
  }

  // ---- tasks ----

  /** `record`: `<seq>:<mac prefix>` of the task's journal record, an anchor for the audit log. */
  recordBypass(draft: TaskDraft): Promise<{ id: string; record?: string }> {
    const known = this.#tasks.idByAdmission(draft.admissionUid);
    if (known) return Promise.resolve({ id: known });
    const pending = this.#inflight.get(draft.admissionUid);
    if (pending) return pending;
    const task: Task = { ...draft, id: newId('t'), state: 'pending' };
    const p = this.#journal.append('task.recorded', { task } satisfies TaskRecord).then(
      (rec) => {
        this.#tasks.put(summarize(task), rec);
        this.#inflight.delete(draft.admissionUid);
        return { id: task.id, record: formatAnchor({ count: rec.seq, head: rec.mac }) };
      },
      (err: unknown) => {
        this.#inflight.delete(draft.admissionUid);
        throw err;
      },
    );
    this.#inflight.set(draft.admissionUid, p);
    return p;
  }

  #setTaskState(r: ResolveRecord): void {
    const row = this.#tasks.row(r.id);
    if (row >= 0) this.#tasks.setState(row, r.state, r.resolution);
  }

  /** Closes a task with a journal record (tasks are never edited); `check` runs inside the lock. */
  resolveTask(id: string, check: (t: TaskSummary) => { state: TaskState; resolution?: Resolution }): Promise<TaskSummary> {
    return this.#exclusive(async () => {
      const row = this.#mustGetTask(id);
      const { state, resolution } = check(this.#tasks.summary(row));
      const rec: ResolveRecord = { id, state, ...(resolution ? { resolution } : {}) };
      await this.#journal.append('task.resolved', rec);
      this.#setTaskState(rec);
      return this.#tasks.summary(row);
    });
  }

  /** Adds a verification to a task's history (a journal record); `check` runs inside the lock. */
  recordVerification(id: string, check: (t: TaskSummary) => VerificationRecord): Promise<void> {
    return this.#exclusive(async () => {
      const verification = check(this.#tasks.summary(this.#mustGetTask(id)));
      await this.#journal.append('task.verified', { id, verification } satisfies VerifyRecord);
      this.#verifications.set(id, [...(this.#verifications.get(id) ?? []), verification]);
    });
  }

  /** a record read back from the journal (task bodies, grant tokens) */
  #readAt(at: RecordAt): JournalEntry {
    this.#readFd ??= openSync(this.#journal.file, 'r');
    return readRecordAt(this.#readFd, at.offset, at.length);
  }

  #mustGetTask(id: string): number {
    const row = this.#tasks.row(id);
    if (row < 0) throw new DriftgateError('NOT_FOUND', `no task ${id}`);
    return row;
  }

  /** The full task, read back from the journal (bodies are not kept in memory). */
  getTask(id: string): Task | undefined {
    const row = this.#tasks.row(id);
    if (row < 0) return undefined;
    const { task } = this.#readAt(this.#tasks.location(row)).data as TaskRecord;
    const verifications = this.#verifications.get(id);
    const resolution = this.#tasks.resolution(row);
    return {
      ...task,
      state: this.#tasks.state(row),
      ...(resolution ? { resolution } : {}),
      ...(verifications ? { verifications } : {}),
    };
  }

  listTasks(filter: TaskFilter): TaskSummary[] {
    return this.#tasks.list(filter);
  }

  /** Visits the pending tasks (grant, recordedAt in ms) without materializing their summaries. */
  forEachPendingTask(visit: (grantId: string, recordedAtMs: number, summary: () => TaskSummary) => void): void {
    this.#tasks.forEachPending(visit);
  }

  get counts(): { grants: number; tasks: number } {
    return { grants: this.#grants.size, tasks: this.#tasks.size };
  }

  async close(): Promise<void> {
    if (this.#readFd !== undefined) closeSync(this.#readFd);
    this.#readFd = undefined;
    await this.#journal.close();
  }
}
