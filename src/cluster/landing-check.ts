/**
 * Did the write land? Validating webhooks run in parallel: another one may deny a write driftgate
 * allowed, and then the task records a change that never happened. A bounded time after a bypass,
 * the live object (from the watch cache) tells: if it still holds every `before` value (or a deleted
 * object is still there, or a created one never appeared), the task is closed as `not-applied`.
 * Anything else stays pending for people to close. Kinds driftgate does not watch are left alone.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../admission/types.ts';
import { sameValue, valueAt } from '../drift/verify.ts';
import { errorMessage } from '../errors.ts';
import { groupOf } from '../manifests/read.ts';
import type { BreakGlassStore } from '../store/store.ts';
import type { Task } from '../tasks/task.ts';

export interface LiveObjects {
  liveObject(group: string, kind: string, namespace: string, name: string): KubeObject | undefined | 'unknown';
}

/** 'not-applied' when live shows the write never happened; 'landed' or 'unknown' otherwise. */
export function landing(task: Task, live: KubeObject | undefined): 'landed' | 'not-applied' | 'unknown' {
  if (task.operation === 'DELETE') {
    return live && (!task.object.uid || live.metadata?.uid === task.object.uid) ? 'not-applied' : 'landed';
  }
  if (task.operation === 'CREATE') return live ? 'landed' : 'not-applied';
  if (!live) return 'unknown'; // deleted since: someone else's story
  const untouched = task.changes.every((c) => sameValue(valueAt(live, c.path), c.before));
  const applied = task.changes.every((c) => sameValue(valueAt(live, c.path), c.after));
  return applied ? 'landed' : untouched ? 'not-applied' : 'unknown';
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
  readonly #checked = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(o: LandingCheckOptions) {
    this.#o = { afterMs: 60_000, windowMs: 15 * 60_000, ...o };
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
    const marked: string[] = [];
    for (const s of this.#o.store.listTasks({ state: 'pending' })) {
      const age = now - Date.parse(s.recordedAt);
      if (this.#checked.has(s.id) || age < this.#o.afterMs || age > this.#o.windowMs) continue;
      const task = this.#o.store.getTask(s.id);
      if (!task) continue;
      const live = this.#o.live.liveObject(groupOf(task.object.apiVersion), task.object.kind, task.object.namespace, task.object.name);
      if (live === 'unknown') continue; // not a watched kind, or the cache is not synced yet
      this.#checked.add(s.id);
      if (landing(task, live) !== 'not-applied') continue;
      try {
        await this.#o.store.resolveTask(s.id, (t) => {
          if (t.state !== 'pending') throw new Error(`already ${t.state}`);
          return {
            state: 'not-applied',
            resolution: {
              by: 'driftgate',
              at: new Date(now).toISOString(),
              evidence: `the write never reached the live object within ${Math.round(this.#o.afterMs / 1000)} s (another admission webhook probably denied it)`,
            },
          };
        });
        marked.push(s.id);
        this.#o.logger.info({ task: s.id }, 'task not-applied: the bypassed write never landed');
      } catch (err) {
        this.#o.logger.debug({ task: s.id, err: errorMessage(err) }, 'landing check: task already closed');
      }
    }
    return marked;
  }
}
