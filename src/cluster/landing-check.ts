/**
 * Did the write land? Validating webhooks run in parallel: another one may deny a write driftgate
 * allowed, and then the task records a change that never happened. A bounded time after a bypass the
 * check looks for evidence that the write was persisted, never at the current values: a GitOps
 * controller's self-heal may have put the old values back within seconds, and the write still landed.
 *
 * The evidence, recorded at admission and compared with the live object (watch cache) and its watch:
 * - UPDATE: the resourceVersion the write was admitted against; unchanged means nothing was written
 *   since. For a spec change, the generation the object gets if the write persists (the API server
 *   bumps it before admission); generation only grows, so a live generation below it means the spec
 *   change never persisted. A status, label or scale write bumps no generation: once anything else
 *   wrote the object, it stays pending.
 * - DELETE: the object's uid; still there and not marked for deletion means it was never deleted.
 * - CREATE: the object's uid; a watch that ran without a gap since before the task was recorded and
 *   never saw that uid means it was never created.
 * Only that evidence closes a task as `not-applied`; anything else stays pending for people. A write
 * that landed and was reverted since is noted on the task (a self-heal revert is expected).
 * Kinds driftgate does not watch are left alone.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../admission/types.ts';
import { logTaskEvent } from '../audit/break-glass-log.ts';
import { sameValue, valueAt } from '../drift/verify.ts';
import { errorMessage } from '../errors.ts';
import { groupOf } from '../manifests/read.ts';
import type { BreakGlassStore } from '../store/store.ts';
import type { Task } from '../tasks/task.ts';

/** A change seen by the watch of a watched kind, or `gap`: the watch failed and may have missed events. */
export type LiveChange = { readonly type: 'add' | 'update' | 'delete'; readonly object: KubeObject } | { readonly type: 'gap' };

export interface LiveObjects {
  liveObject(group: string, kind: string, namespace: string, name: string): KubeObject | undefined | 'unknown';
  /** every change the watches see, from now on */
  onChange?(listener: (change: LiveChange) => void): void;
}

export type Landing =
  | { readonly verdict: 'not-applied'; readonly evidence: string }
  | { readonly verdict: 'landed'; readonly evidence: string; readonly revertedSince?: string }
  | { readonly verdict: 'unknown'; readonly evidence: string };

/** Whether the watch saw an object with this uid: unknown when it was not watching without a gap. */
export type SeenByWatch = (uid: string) => boolean | 'unknown';

const NOTE_EVIDENCE = 'landing check (live object and its watch)';
const notApplied = (evidence: string): Landing => ({ verdict: 'not-applied', evidence });
const unknown = (evidence: string): Landing => ({ verdict: 'unknown', evidence });

/** Managers whose managedFields entry is no older than the bypass (to the second): who wrote since. */
function writtenSince(live: KubeObject, recordedAt: string): string[] {
  const since = Math.floor(Date.parse(recordedAt) / 1000) * 1000;
  return (live.metadata?.managedFields ?? [])
    .filter((e) => typeof e.time === 'string' && Date.parse(e.time) >= since)
    .map((e) => `${e.manager ?? '?'} (${e.operation ?? '?'}${e.subresource ? ` ${e.subresource}` : ''} at ${e.time})`);
}

function landedUpdate(task: Task, live: KubeObject, evidence: string): Landing {
  const back = task.changes.length > 0 && task.changes.every((c) => sameValue(valueAt(live, c.path), c.before));
  if (!back) return { verdict: 'landed', evidence };
  const writers = writtenSince(live, task.recordedAt);
  return {
    verdict: 'landed',
    evidence,
    revertedSince: `live holds the old values again: the write was reverted since${writers.length ? ` (written since by ${writers.join(', ')})` : ''}; a self-heal revert by the owner (${task.owner}) is expected`,
  };
}

function landingOfUpdate(task: Task, live: KubeObject): Landing {
  const { resourceVersion: admittedRv, generation: admittedGen } = task.object;
  const rv = live.metadata?.resourceVersion;
  const gen = live.metadata?.generation;
  if (live.metadata?.uid && task.object.uid && live.metadata.uid !== task.object.uid) return unknown('the object was deleted and recreated since');
  if (admittedRv !== undefined && rv === admittedRv) return notApplied(`the object is still at resourceVersion ${rv}, the version the write was admitted against: nothing was written since`);
  if (admittedGen !== undefined && typeof gen === 'number') {
    if (gen < admittedGen) return notApplied(`the object's generation is ${gen}; the write would have made it ${admittedGen} (generation never goes back)`);
    return landedUpdate(task, live, `the object's generation is ${gen}: the write made it ${admittedGen}, so a spec change persisted (this write, or one after it)`);
  }
  if (admittedRv === undefined) return unknown('no resourceVersion was recorded at admission');
  return unknown(`the object changed since (resourceVersion ${admittedRv} → ${rv ?? '?'}), by this write or another one (a status update, say)`);
}

/** What the evidence says about a bypassed write (see the module comment). */
export function landing(task: Task, live: KubeObject | undefined, seen: SeenByWatch = () => 'unknown'): Landing {
  const uid = task.object.uid;
  if (task.operation === 'DELETE') {
    if (!uid) return unknown('no uid was recorded at admission');
    if (!live || live.metadata?.uid !== uid) return { verdict: 'landed', evidence: `the object with uid ${uid} is gone` };
    if (live.metadata?.deletionTimestamp) return { verdict: 'landed', evidence: `the object is marked for deletion since ${live.metadata.deletionTimestamp} (finalizers pending)` };
    return notApplied(`the object with uid ${uid} is still there and was never marked for deletion`);
  }
  if (task.operation === 'CREATE') {
    if (!uid) return unknown('no uid was recorded at admission');
    if (live?.metadata?.uid === uid) return { verdict: 'landed', evidence: `the object exists with uid ${uid}` };
    const saw = seen(uid);
    if (saw === true) return { verdict: 'landed', evidence: `the watch saw the object with uid ${uid} (deleted or replaced since)` };
    if (saw === false) return notApplied(`the watch, running since before the write, never saw an object with uid ${uid}`);
    return unknown('the object is not there and the watch was not running without a gap since the write');
  }
  if (!live) return unknown('the object was deleted since');
  return landingOfUpdate(task, live);
}

export interface LandingCheckOptions {
  readonly store: BreakGlassStore;
  readonly live: LiveObjects;
  readonly logger: Logger;
  readonly now: () => Date;
  /** how long a write gets to reach the live object (the API server's webhook timeout is ≤ 30 s) */
  readonly afterMs?: number;
  /** tasks older than this are not checked any more: people own them */
  readonly windowMs?: number;
}

export class LandingCheck {
  readonly #o: Required<LandingCheckOptions>;
  /** tasks checked already, with when they were recorded (forgotten once out of the window) */
  readonly #checked = new Map<string, number>();
  /** uids the watch saw (created within the window), with when */
  readonly #seen = new Map<string, number>();
  /** the watch has run without a gap since then (undefined: no watch) */
  #watchingSince: number | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: LandingCheckOptions) {
    this.#o = { afterMs: 60_000, windowMs: 15 * 60_000, ...o };
    if (o.live.onChange) {
      this.#watchingSince = o.now().getTime();
      o.live.onChange((c) => this.#observe(c));
    }
  }

  #observe(c: LiveChange): void {
    const now = this.#o.now().getTime();
    if (c.type === 'gap') {
      this.#watchingSince = now;
      return;
    }
    const uid = c.object.metadata?.uid;
    const created = Date.parse(c.object.metadata?.creationTimestamp ?? '');
    // Only objects created within the window can belong to a CREATE the check still looks at.
    if (uid && !(created < now - this.#o.windowMs)) this.#seen.set(uid, now);
  }

  #seenByWatch(recordedAt: string): SeenByWatch {
    const watching = this.#watchingSince !== undefined && this.#watchingSince <= Date.parse(recordedAt);
    return (uid) => (this.#seen.has(uid) ? true : watching ? false : 'unknown');
  }

  start(everyMs = 10_000): void {
    this.#timer = setInterval(() => void this.sweep(), everyMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Checks pending tasks old enough to have landed; returns the ids marked not-applied. */
  async sweep(): Promise<string[]> {
    const now = this.#o.now().getTime();
    for (const [uid, at] of this.#seen) if (at < now - 2 * this.#o.windowMs) this.#seen.delete(uid);
    for (const [id, recorded] of this.#checked) if (recorded < now - this.#o.windowMs) this.#checked.delete(id);
    const marked: string[] = [];
    for (const s of this.#o.store.listTasks({ state: 'pending' })) {
      const age = now - Date.parse(s.recordedAt);
      if (this.#checked.has(s.id) || age < this.#o.afterMs || age > this.#o.windowMs) continue;
      const task = this.#o.store.getTask(s.id);
      if (!task) continue;
      const live = this.#o.live.liveObject(groupOf(task.object.apiVersion), task.object.kind, task.object.namespace, task.object.name);
      if (live === 'unknown') continue; // not a watched kind, or the cache is not synced yet
      this.#checked.set(s.id, Date.parse(s.recordedAt));
      const l = landing(task, live, this.#seenByWatch(task.recordedAt));
      const fields = { event: 'task.landing', task: s.id, grant: task.grantId, landing: l.verdict, evidence: l.evidence };
      if (l.verdict === 'not-applied') {
        if (await this.#close(s.id, l.evidence, new Date(now))) marked.push(s.id);
      } else if (l.verdict === 'landed' && l.revertedSince) {
        await this.#note(task, [`the write landed: ${l.evidence}`, l.revertedSince], new Date(now));
        this.#o.logger.info({ ...fields, reverted: l.revertedSince }, 'break-glass task: the bypass landed and was reverted since; the task stays pending');
      } else {
        this.#o.logger.debug(fields, 'break-glass task: landing checked; the task stays pending');
      }
    }
    return marked;
  }

  async #close(id: string, evidence: string, at: Date): Promise<boolean> {
    try {
      const why = `the write never reached the object: ${evidence} (another admission webhook probably denied it)`;
      const t = await this.#o.store.resolveTask(id, (t) => {
        if (t.state !== 'pending') throw new Error(`already ${t.state}`);
        return { state: 'not-applied', resolution: { by: 'driftgate', at: at.toISOString(), evidence: why } };
      });
      logTaskEvent(this.#o.logger, 'task.resolved', t, 'driftgate', { state: 'not-applied', evidence: why });
      return true;
    } catch (err) {
      this.#o.logger.debug({ task: id, err: errorMessage(err) }, 'landing check: task already closed');
      return false;
    }
  }

  async #note(task: Task, explanation: string[], at: Date): Promise<void> {
    // once per task, though another replica (or this one, before a restart) may have looked too
    if (task.verifications?.some((v) => v.by === 'driftgate' && v.evidence === NOTE_EVIDENCE)) return;
    try {
      await this.#o.store.recordVerification(task.id, () => ({
        at: at.toISOString(),
        by: 'driftgate',
        verdict: 'pending',
        evidence: NOTE_EVIDENCE,
        explanation: [...explanation, 'confirm with driftgate tasks verify --live, or resolve it as reverted'],
      }));
    } catch (err) {
      this.#o.logger.warn({ task: task.id, err: errorMessage(err) }, 'landing check: could not note the revert on the task');
    }
  }
}
