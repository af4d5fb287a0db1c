/**
 * The Kubernetes store (SPEC §7): grants and tasks as BreakGlassGrant and DriftTask objects in
 * driftgate's namespace, so any number of replicas share them through the API server (etcd).
 *
 * Reads come from list+watch caches (client-node ListWatch): a decision never waits on an API round
 * trip. Writes go through the API: grant and task status with optimistic concurrency (the object's
 * resourceVersion; a 409 re-reads and re-decides), tasks created under a name derived from the
 * admission uid, so a request retried against another replica gets 409 AlreadyExists, not a second task.
 * A task write that fails throws: the webhook then denies the bypass (no record, no bypass).
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CustomObjectsApi, ListWatch, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { DriftgateError, errorMessage } from '../errors.ts';
import type { Approval, Grant } from '../grants/grant.ts';
import { GrantIndex } from '../grants/grant-index.ts';
import { stateAt } from '../grants/rules.ts';
import { signGrant, tokenProblem } from '../grants/token.ts';
import type { KeyRing } from '../keys/key-ring.ts';
import { summarize, type Resolution, type Task, type TaskDraft, type TaskState, type TaskSummary, type VerificationRecord } from '../tasks/task.ts';
import type { BreakGlassStore } from './store.ts';

const GROUP = 'driftgate.io';
const VERSION = 'v1alpha1';

type GrantSpec = Omit<Grant, 'id' | 'state' | 'approvals' | 'revokedBy' | 'revokedAt' | 'revokeReason' | 'token'>;
type GrantStatus = { state?: Grant['state']; approvals?: Approval[]; revokedBy?: string; revokedAt?: string; revokeReason?: string; token?: string };
interface GrantObject extends KubernetesObject {
  spec: GrantSpec;
  status?: GrantStatus;
}
type TaskStatus = { state?: TaskState; resolution?: Resolution; verifications?: VerificationRecord[] };
interface TaskObject extends KubernetesObject {
  spec: TaskDraft;
  status?: TaskStatus;
}

/** The task's object name: the same admission uid always names the same task. */
export function taskName(admissionUid: string): string {
  return `t-${createHash('sha256').update(admissionUid).digest('hex').slice(0, 16)}`;
}

function grantOf(o: GrantObject): Grant {
  const s = o.status ?? {};
  return {
    ...o.spec,
    id: o.metadata!.name!,
    state: s.state ?? 'pending-approval',
    approvals: s.approvals ?? [],
    ...(s.revokedBy ? { revokedBy: s.revokedBy } : {}),
    ...(s.revokedAt ? { revokedAt: s.revokedAt } : {}),
    ...(s.revokeReason ? { revokeReason: s.revokeReason } : {}),
    token: s.token ?? '',
  };
}

function taskOf(o: TaskObject): Task {
  const s = o.status ?? {};
  return {
    ...o.spec,
    id: o.metadata!.name!,
    state: s.state ?? 'pending',
    ...(s.resolution ? { resolution: s.resolution } : {}),
    ...(s.verifications ? { verifications: s.verifications } : {}),
  };
}

/**
 * resourceVersions are opaque to clients, but every API server in use hands out etcd revisions
 * (integers); where both are integers, a smaller one is an older version.
 */
function isOlder(rv: string | undefined, than: string): boolean {
  return rv !== undefined && /^\d+$/.test(rv) && /^\d+$/.test(than) && BigInt(rv) < BigInt(than);
}

function statusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  return typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : undefined;
}

export interface KubernetesStoreOptions {
  readonly kubeConfig: KubeConfig;
  /** where grants and tasks live: driftgate's own namespace */
  readonly namespace: string;
  readonly keys: KeyRing;
  readonly logger: Logger;
  /** reconnect backoff (tests shorten it) */
  readonly delay?: (ms: number) => Promise<void>;
}

export class KubernetesStore implements BreakGlassStore {
  readonly tampered: readonly string[] = [];
  readonly #api: CustomObjectsApi;
  readonly #ns: string;
  readonly #keys: KeyRing;
  readonly #logger: Logger;
  readonly #grants: ListWatch<GrantObject>;
  readonly #tasks: ListWatch<TaskObject>;
  readonly #ignored = new Map<string, string>();
  /** grants this replica just wrote, until its watch delivers that version (or a newer one) */
  readonly #recent = new Map<string, { grant: Grant; rv: string }>();
  #index = new GrantIndex();
  #synced = { grants: false, tasks: false };
  #stopped = false;
  readonly #delay: (ms: number) => Promise<void>;

  private constructor(o: KubernetesStoreOptions) {
    this.#api = o.kubeConfig.makeApiClient(CustomObjectsApi);
    this.#ns = o.namespace;
    this.#keys = o.keys;
    this.#logger = o.logger;
    this.#delay = o.delay ?? ((ms) => sleep(ms));
    const watch = new Watch(o.kubeConfig);
    const options = { delayFn: this.#delay };
    const list = (plural: string) => () => this.#api.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.#ns, plural }) as never;
    this.#grants = new ListWatch<GrantObject>(this.#path('breakglassgrants'), watch, list('breakglassgrants'), false, undefined, undefined, options);
    this.#tasks = new ListWatch<TaskObject>(this.#path('drifttasks'), watch, list('drifttasks'), false, undefined, undefined, options);
    const onGrant = (obj: GrantObject) => {
      const mine = this.#recent.get(obj.metadata!.name!);
      if (mine && !isOlder(obj.metadata?.resourceVersion, mine.rv)) this.#recent.delete(obj.metadata!.name!);
      void this.#verify(grantOf(obj)).then(() => this.#reindex());
    };
    this.#grants.on('add', onGrant);
    this.#grants.on('update', onGrant);
    this.#grants.on('delete', () => this.#reindex());
  }

  #path(plural: string): string {
    return `/apis/${GROUP}/${VERSION}/namespaces/${this.#ns}/${plural}`;
  }

  /** Starts both caches; keeps retrying in the background if the API is not reachable yet. */
  static async open(o: KubernetesStoreOptions): Promise<KubernetesStore> {
    const store = new KubernetesStore(o);
    await Promise.all([store.#run('grants', store.#grants), store.#run('tasks', store.#tasks)]);
    return store;
  }

  /** ListWatch stops for good after an error other than 410: restart it, with backoff, until closed. */
  async #run(name: 'grants' | 'tasks', lw: ListWatch<KubernetesObject & { spec: unknown }>): Promise<void> {
    let backoff = 500;
    lw.on('error', (err: unknown) => {
      if (this.#stopped) return;
      this.#logger.warn({ cache: name, err: errorMessage(err) }, 'kubernetes store: watch failed, restarting');
      void this.#delay(backoff).then(() => (this.#stopped ? undefined : this.#start(name, lw)));
      backoff = Math.min(backoff * 2, 30_000);
    });
    lw.on('connect', () => {
      backoff = 500;
    });
    await this.#start(name, lw);
  }

  async #start(name: 'grants' | 'tasks', lw: ListWatch<KubernetesObject & { spec: unknown }>): Promise<void> {
    try {
      await lw.start();
      if (!this.#synced[name]) this.#logger.info({ cache: name }, 'kubernetes store: cache synced');
      this.#synced[name] = true;
      if (name === 'grants') this.#reindex();
    } catch (err) {
      this.#logger.warn({ cache: name, err: errorMessage(err) }, 'kubernetes store: cannot list yet, retrying');
      await this.#delay(1000);
      if (!this.#stopped) void this.#start(name, lw);
    }
  }

  /** Reasons the store is not ready (caches not yet synced). */
  notReady(): string[] {
    return (['grants', 'tasks'] as const).filter((n) => !this.#synced[n]).map((n) => `kubernetes store: ${n} cache not synced`);
  }

  async #verify(g: Grant): Promise<void> {
    const problem = g.token === '' ? 'no token yet' : await tokenProblem(g, this.#keys);
    if (problem) {
      if (g.token !== '') this.#logger.error({ grant: g.id, problem }, 'grant ignored: its token does not prove it (object written or edited by hand?)');
      this.#ignored.set(g.id, problem);
    } else this.#ignored.delete(g.id);
  }

  /** Honours what this replica just wrote at once: the next kubectl retry may land here. */
  async #remember(obj: GrantObject): Promise<Grant> {
    const grant = grantOf(obj);
    this.#recent.set(grant.id, { grant, rv: obj.metadata?.resourceVersion ?? '' });
    await this.#verify(grant);
    this.#reindex();
    return grant;
  }

  #reindex(): void {
    const cached = this.#grants.list(this.#ns).map(grantOf);
    const all = [...cached.filter((g) => !this.#recent.has(g.id)), ...[...this.#recent.values()].map((r) => r.grant)];
    this.#index = new GrantIndex(all.filter((g) => !this.#ignored.has(g.id) && g.token !== '' && !g.revokedAt && g.state === 'active'));
  }

  activeGrants(namespace: string, group: string, kind: string, name: string, now: Date): readonly Grant[] {
    return this.#index.lookup(namespace, group, kind, name, now);
  }

  // ---- grants ----

  async createGrant(unsigned: Omit<Grant, 'token'>): Promise<Grant> {
    const token = await signGrant(unsigned, this.#keys);
    // spec is the request; state, approvals and revocation live in status
    const { id, state, approvals, revokedBy, revokedAt, revokeReason, ...spec } = unsigned;
    const g = { group: GROUP, version: VERSION, namespace: this.#ns, plural: 'breakglassgrants' };
    try {
      const created = (await this.#api.createNamespacedCustomObject({ ...g, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'BreakGlassGrant', metadata: { name: id }, spec } })) as GrantObject;
      created.status = { state, approvals: [...approvals], token };
      return await this.#remember((await this.#api.replaceNamespacedCustomObjectStatus({ ...g, name: id, body: created })) as GrantObject);
    } catch (err) {
      throw new DriftgateError('STORE_UNAVAILABLE', `cannot write grant ${id} to the Kubernetes API: ${errorMessage(err)}`, { cause: err });
    }
  }

  /**
   * Read, decide, write status with the object's resourceVersion; on 409 (someone else wrote first)
   * read again and decide again. One loop for grants and tasks.
   */
  async #updateStatus<O extends KubernetesObject & { status?: object }>(plural: string, what: string, id: string, change: (obj: O) => Promise<O['status']>): Promise<O> {
    const ref = { group: GROUP, version: VERSION, namespace: this.#ns, plural, name: id };
    for (let attempt = 1; ; attempt += 1) {
      let obj: O;
      try {
        obj = (await this.#api.getNamespacedCustomObject(ref)) as O;
      } catch (err) {
        if (statusCode(err) === 404) throw new DriftgateError('NOT_FOUND', `no ${what} ${id}`);
        throw new DriftgateError('STORE_UNAVAILABLE', `cannot read ${what} ${id}: ${errorMessage(err)}`, { cause: err });
      }
      obj.status = { ...obj.status, ...(await change(obj)) };
      try {
        return (await this.#api.replaceNamespacedCustomObjectStatus({ ...ref, body: obj })) as O;
      } catch (err) {
        if (statusCode(err) === 409 && attempt < 5) continue;
        throw new DriftgateError('STORE_UNAVAILABLE', `cannot update ${what} ${id}: ${errorMessage(err)}`, { cause: err });
      }
    }
  }

  async #updateGrant(id: string, change: (g: Grant) => Promise<GrantStatus>): Promise<Grant> {
    return this.#remember(await this.#updateStatus<GrantObject>('breakglassgrants', 'grant', id, (o) => change(grantOf(o))));
  }

  approveGrant(id: string, decide: (g: Grant) => { approval: Approval; state: Grant['state'] }): Promise<Grant> {
    return this.#updateGrant(id, async (grant) => {
      const { approval, state } = decide(grant);
      const next: Omit<Grant, 'token'> = { ...grant, approvals: [...grant.approvals, approval], state };
      return { state, approvals: [...next.approvals], token: await signGrant(next, this.#keys) };
    });
  }

  revokeGrant(id: string, check: (g: Grant) => void, by: string, at: Date, reason?: string): Promise<Grant> {
    return this.#updateGrant(id, async (grant) => {
      check(grant);
      return { state: 'revoked', revokedBy: by, revokedAt: at.toISOString(), ...(reason ? { revokeReason: reason } : {}) };
    });
  }

  getGrant(id: string): { grant: Grant; ignored: string | undefined } | undefined {
    const o = this.#grants.get(id, this.#ns);
    const grant = this.#recent.get(id)?.grant ?? (o ? grantOf(o) : undefined);
    return grant ? { grant, ignored: this.#ignored.get(id) } : undefined;
  }

  listGrants(filter: { state?: string; namespace?: string }, now: Date): Grant[] {
    const cached = this.#grants.list(this.#ns).map(grantOf);
    return [...cached.filter((g) => !this.#recent.has(g.id)), ...[...this.#recent.values()].map((r) => r.grant)]
      .filter((g) => (!filter.namespace || g.namespace === filter.namespace) && (!filter.state || stateAt(g, now) === filter.state))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  // ---- tasks ----

  async recordBypass(draft: TaskDraft): Promise<{ id: string }> {
    const name = taskName(draft.admissionUid);
    try {
      await this.#api.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: this.#ns,
        plural: 'drifttasks',
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'DriftTask', metadata: { name }, spec: draft },
      });
    } catch (err) {
      if (statusCode(err) !== 409) throw new DriftgateError('STORE_UNAVAILABLE', `cannot record the task in the Kubernetes API: ${errorMessage(err)}`, { cause: err });
      // AlreadyExists: this admission (retried, perhaps on another replica) was recorded before.
    }
    return { id: name };
  }

  getTask(id: string): Task | undefined {
    const o = this.#tasks.get(id, this.#ns);
    return o ? taskOf(o) : undefined;
  }

  listTasks(filter: { state?: TaskState; namespace?: string }): TaskSummary[] {
    return this.#tasks
      .list(this.#ns)
      .map((o) => summarize(taskOf(o)))
      .filter((t) => (!filter.namespace || t.namespace === filter.namespace) && (!filter.state || t.state === filter.state))
      .sort((a, b) => a.recordedAt.localeCompare(b.recordedAt));
  }

  async #updateTask(id: string, change: (t: Task) => TaskStatus): Promise<Task> {
    return taskOf(await this.#updateStatus<TaskObject>('drifttasks', 'task', id, async (o) => change(taskOf(o))));
  }

  async resolveTask(id: string, check: (t: TaskSummary) => { state: TaskState; resolution?: Resolution }): Promise<TaskSummary> {
    const t = await this.#updateTask(id, (task) => {
      const { state, resolution } = check(summarize(task));
      return { state, ...(resolution ? { resolution } : {}) };
    });
    return summarize(t);
  }

  async recordVerification(id: string, check: (t: TaskSummary) => VerificationRecord): Promise<void> {
    await this.#updateTask(id, (task) => ({ verifications: [...(task.verifications ?? []), check(summarize(task))] }));
  }

  async close(): Promise<void> {
    this.#stopped = true;
    await Promise.all([this.#grants.stop(), this.#tasks.stop()]);
  }
}
