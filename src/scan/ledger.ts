/**
 * Is this drift recorded? A task records a field when it is about the same object (namespace, kind,
 * name), names the same path, and its `after` equals the live value (Secret values compared as their
 * hashes, as tasks hold them). Bypass tasks (a write under a grant) and drift recorded by an earlier
 * scan count alike; a task closed as not-applied recorded a write that never landed, so it does not.
 * Tasks are read per object on first need, so a scan of a clean cluster reads none.
 */
import { sameValue } from '../drift/verify.ts';
import type { Task, TaskState, TaskSummary } from '../tasks/task.ts';
import type { ObjectRef } from './types.ts';

/** A store (in process), or driftgate's API (over HTTPS): either may answer later. */
export interface TaskReader {
  listTasks(filter: { state?: TaskState; namespace?: string }): TaskSummary[] | Promise<TaskSummary[]>;
  getTask(id: string): Task | undefined | Promise<Task | undefined>;
}

const objectId = (namespace: string, kind: string, name: string) => `${namespace}\u0000${kind}\u0000${name}`;

export class TaskLedger {
  readonly #store: TaskReader | undefined;
  readonly #byObject = new Map<string, TaskSummary[]>();
  readonly #indexed = new Set<string>();
  readonly #full = new Map<string, Task>();

  constructor(store: TaskReader | undefined) {
    this.#store = store;
  }

  async #tasksFor(ref: ObjectRef): Promise<Task[]> {
    if (!this.#store) return [];
    if (!this.#indexed.has(ref.namespace)) {
      this.#indexed.add(ref.namespace);
      for (const t of await this.#store.listTasks({ namespace: ref.namespace })) {
        if (t.state === 'not-applied') continue;
        const id = objectId(t.namespace, t.kind, t.name);
        this.#byObject.set(id, [...(this.#byObject.get(id) ?? []), t]);
      }
    }
    const out: Task[] = [];
    for (const s of this.#byObject.get(objectId(ref.namespace, ref.kind, ref.name)) ?? []) {
      let t = this.#full.get(s.id);
      if (!t) {
        t = await this.#store.getTask(s.id);
        if (t) this.#full.set(s.id, t);
      }
      if (t) out.push(t);
    }
    return out;
  }

  /** The id of a task that records `value` at `path` on the object, or undefined. */
  async fieldTask(ref: ObjectRef, path: string, value: unknown): Promise<string | undefined> {
    return (await this.#tasksFor(ref)).find((t) => t.operation !== 'DELETE' && t.changes.some((c) => c.path === path && sameValue(c.after, value)))?.id;
  }

  /** The id of a task that records the object's creation (a hand-made object), or undefined. */
  async creationTask(ref: ObjectRef): Promise<string | undefined> {
    return (await this.#tasksFor(ref)).find((t) => t.operation === 'CREATE' && (!t.object.uid || !ref.uid || t.object.uid === ref.uid))?.id;
  }

}
