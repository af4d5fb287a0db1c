/**
 * The Kubernetes store (SPEC §7): grants and tasks as BreakGlassGrant and DriftTask objects in
 * driftgate's namespace, so any number of replicas share them through the API server (etcd).
 *
 * Reads come from list+watch caches (client-node ListWatch): a decision never waits on an API round
 * trip. Writes go through the API: grant and task status with optimistic concurrency (the object's
 * resourceVersion; a 409 re-reads and re-decides), tasks created under a name derived from the
 * admission uid, so a request retried against another replica gets 409 AlreadyExists, not a second task.
 * A task write that fails throws: the webhook then denies the bypass (no record, no bypass).
 *
 * Tampering (docs/storage.md): a grant's token signs its state and approvals and is bound to the
 * object's uid; a revocation is a signed JWS written into status and then as an annotation on the
 * object itself (`update breakglassgrants`, which only driftgate holds). A grant with any
 * revocation — annotation, status, or one this replica has seen — is never honoured again, whatever
 * status says later; a status that drops a revocation is reported. Tasks carry a signature over
 * their spec (annotation) and over their status; a task deleted, or whose spec or status does not
 * match its signature, is reported in `tampered` and the log.
 */
import { createHash } from 'node:crypto';
import { SignJWT, compactVerify, decodeProtectedHeader } from 'jose';
import { setTimeout as sleep } from 'node:timers/promises';
import { CustomObjectsApi, ListWatch, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { DriftgateError, errorMessage } from '../errors.ts';
import type { Approval, Grant } from '../grants/grant.ts';
import { GrantIndex } from '../grants/grant-index.ts';
import { stateAt } from '../grants/rules.ts';
import { isOpen } from '../grants/open-grant-limit.ts';
import { checkRevocation, signGrant, signRevocation, tokenProblem } from '../grants/token.ts';
import { SIGNING_ALG, type KeyRing } from '../keys/key-ring.ts';
import { summarize, type Resolution, type Task, type TaskDraft, type TaskState, type TaskSummary, type VerificationRecord } from '../tasks/task.ts';
import type { BreakGlassStore } from './store.ts';
import { statusCode } from '../util/kube-status.ts';

const GROUP = 'driftgate.io';
const VERSION = 'v1alpha1';

type GrantSpec = Omit<Grant, 'id' | 'state' | 'approvals' | 'revokedBy' | 'revokedAt' | 'revokeReason' | 'token'>;
/** `revocation`: driftgate's signed revocation, also kept in the REVOCATION annotation */
type GrantStatus = { state?: Grant['state']; approvals?: Approval[]; revokedBy?: string; revokedAt?: string; revokeReason?: string; token?: string; revocation?: string };
interface GrantObject extends KubernetesObject {
  spec: GrantSpec;
  status?: GrantStatus;
}
/** `signature`: driftgate's JWS over the rest of the status (every status write re-signs it) */
type TaskStatus = { state?: TaskState; resolution?: Resolution; verifications?: VerificationRecord[]; signature?: string };
interface TaskObject extends KubernetesObject {
  spec: TaskDraft;
  status?: TaskStatus;
}

/** A signed revocation of the grant, on the object itself: status rights alone cannot remove it. */
export const REVOCATION_ANNOTATION = 'driftgate.io/revocation';
/** driftgate's signature over a task's spec (sha256 of its canonical JSON, bound to the task's name). */
export const TASK_SIGNATURE_ANNOTATION = 'driftgate.io/signature';
const TASK_SIGNATURE_TYPE = 'driftgate-task+jwt';

/** JSON with object keys sorted at every level: the API server does not keep key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

const digest = (what: string, name: string, v: unknown) => createHash('sha256').update(`${what}\n${name}\n`).update(canonicalJson(v)).digest('base64url');

async function signTaskPart(keys: KeyRing, what: 'spec' | 'status', name: string, v: unknown): Promise<string> {
  const { kid, key } = keys.signing;
  return new SignJWT({ jti: name, part: what, sha256: digest(what, name, v) }).setProtectedHeader({ alg: SIGNING_ALG, kid, typ: TASK_SIGNATURE_TYPE }).sign(key);
}

/** undefined when `jws` is driftgate's signature over this part of this task; otherwise why not. */
async function taskPartProblem(keys: KeyRing, what: 'spec' | 'status', name: string, v: unknown, jws: string | undefined): Promise<string | undefined> {
  if (!jws) return `${what} is not signed`;
  try {
    const key = keys.verificationKey(decodeProtectedHeader(jws).kid);
    if (!key) return `${what} signed with an unknown key`;
    const { payload, protectedHeader } = await compactVerify(jws, key, { algorithms: [SIGNING_ALG] });
    const p = JSON.parse(new TextDecoder().decode(payload)) as { jti?: string; part?: string; sha256?: string };
    if (protectedHeader.typ !== TASK_SIGNATURE_TYPE || p.jti !== name || p.part !== what) return `${what} signature belongs to another object`;
    return p.sha256 === digest(what, name, v) ? undefined : `${what} does not match its signature (edited)`;
  } catch (err) {
    return `${what} signature invalid: ${errorMessage(err)}`;
  }
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
  readonly #api: CustomObjectsApi;
  readonly #ns: string;
  readonly #keys: KeyRing;
  readonly #logger: Logger;
  readonly #grants: ListWatch<GrantObject>;
  readonly #tasks: ListWatch<TaskObject>;
  readonly #ignored = new Map<string, string>();
  /** grants with any revocation seen by this replica: never honoured again (monotonic) */
  readonly #revoked = new Set<string>();
  /** tampering detected (grant status rolled back, task edited or deleted), by object */
  readonly #tampered = new Map<string, string>();
  /** grants this replica just wrote, until its watch delivers that version (or a newer one) */
  readonly #recent = new Map<string, { grant: Grant; rv: string; obj: GrantObject }>();
  /**
   * Versions of each grant whose token and binding verified (uid + canonical grant): the index takes
   * a grant only in a version listed here, so an edited version is never honoured, not even in the
   * moment between its watch event and the end of its (asynchronous) signature check.
   */
  readonly #genuine = new Map<string, Set<string>>();
  readonly #fingerprints = new WeakMap<GrantObject, string>();
  #index = new GrantIndex();
  /** grant creations of this replica, one at a time (createGrant) */
  #creating: Promise<unknown> = Promise.resolve();
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
      this.#noteRevocation(obj);
      const id = obj.metadata!.name!;
      const revocation = obj.metadata?.annotations?.[REVOCATION_ANNOTATION] ?? obj.status?.revocation;
      if (!revocation && this.#genuine.get(id)?.has(this.#fingerprint(obj))) this.#reindex(); // a version already checked
      else void this.#verify(obj).then(() => this.#reindex());
    };
    this.#grants.on('add', onGrant);
    this.#grants.on('update', onGrant);
    this.#grants.on('delete', (obj: GrantObject) => {
      this.#genuine.delete(obj.metadata!.name!);
      this.#reindex();
    });
    const onTask = (obj: TaskObject) => void this.#checkTask(obj);
    this.#tasks.on('add', onTask);
    this.#tasks.on('update', onTask);
    this.#tasks.on('delete', (obj: TaskObject) => {
      const why = `task ${obj.metadata?.name} (${obj.status?.state ?? 'pending'}) was deleted: driftgate never deletes tasks`;
      this.#tampered.set(`task/${obj.metadata?.name}`, why);
      this.#logger.error({ task: obj.metadata?.name, grant: obj.spec?.grantId }, `TASK TAMPERED: ${why}`);
    });
  }

  /** Tampering detected since start: grant status rolled back, tasks edited or deleted. */
  get tampered(): readonly string[] {
    return [...this.#tampered.values()];
  }

  /**
   * Any revocation evidence marks the grant revoked for good, at once (before signatures are
   * checked: a revocation only takes power away). A status that no longer says revoked is reported.
   */
  #noteRevocation(obj: GrantObject): void {
    const id = obj.metadata!.name!;
    const annotated = obj.metadata?.annotations?.[REVOCATION_ANNOTATION];
    const inStatus = Boolean(obj.status?.revokedAt || obj.status?.revocation);
    if (!annotated && !inStatus && !this.#revoked.has(id)) return;
    if (!inStatus) {
      const why = `grant ${id}: status says ${obj.status?.state ?? 'nothing'} but the grant was revoked (${annotated ? 'signed revocation on the object' : 'seen revoked by this replica'}): status rolled back or edited`;
      if (this.#tampered.get(`grant/${id}`) !== why) this.#logger.error({ grant: id }, `GRANT TAMPERED: ${why}; not honoured`);
      this.#tampered.set(`grant/${id}`, why);
    }
    this.#revoked.add(id);
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

  async #verify(obj: GrantObject): Promise<void> {
    const g = grantOf(obj);
    const bind = { uid: obj.metadata?.uid ?? '' };
    for (const jws of [obj.metadata?.annotations?.[REVOCATION_ANNOTATION], obj.status?.revocation]) {
      if (!jws) continue;
      const checked = await checkRevocation(jws, g.id, this.#keys, bind);
      if ('problem' in checked) this.#logger.error({ grant: g.id, problem: checked.problem }, 'grant revocation without a genuine signature (written by hand?); the grant stays revoked');
    }
    const problem = g.token === '' ? 'no token yet' : await tokenProblem(g, this.#keys, bind);
    if (problem) {
      if (g.token !== '') this.#logger.error({ grant: g.id, problem }, 'grant ignored: its token does not prove it (object written or edited by hand?)');
      this.#ignored.set(g.id, problem);
      return;
    }
    this.#ignored.delete(g.id);
    const known = this.#genuine.get(g.id) ?? new Set<string>();
    known.add(this.#fingerprint(obj));
    this.#genuine.set(g.id, known);
  }

  /** The version of a grant object that a signature check vouches for: its uid and canonical grant. */
  #fingerprint(obj: GrantObject): string {
    let fp = this.#fingerprints.get(obj);
    if (fp === undefined) {
      fp = `${obj.metadata?.uid ?? ''}|${canonicalJson(grantOf(obj))}`;
      this.#fingerprints.set(obj, fp);
    }
    return fp;
  }

  /** Honours what this replica just wrote at once: the next kubectl retry may land here. */
  async #remember(obj: GrantObject): Promise<Grant> {
    const grant = grantOf(obj);
    this.#recent.set(grant.id, { grant, rv: obj.metadata?.resourceVersion ?? '', obj });
    this.#noteRevocation(obj);
    await this.#verify(obj);
    this.#reindex();
    return grant;
  }

  #reindex(): void {
    const objects = [...this.#grants.list(this.#ns).filter((o) => !this.#recent.has(o.metadata!.name!)), ...[...this.#recent.values()].map((r) => r.obj)];
    const honoured: Grant[] = [];
    for (const o of objects) {
      const g = grantOf(o);
      if (g.state !== 'active' || g.revokedAt || g.token === '' || this.#revoked.has(g.id)) continue;
      if (this.#genuine.get(g.id)?.has(this.#fingerprint(o))) honoured.push(g);
    }
    this.#index = new GrantIndex(honoured);
  }

  activeGrants(namespace: string, group: string, kind: string, name: string, now: Date): readonly Grant[] {
    return this.#index.lookup(namespace, group, kind, name, now);
  }

  // ---- grants ----

  /**
   * `check` runs under this replica's creation lock, which is held until the new grant is in `#recent`:
   * one replica never lets two requests past a limit together. Replicas do not share the lock; another
   * replica's grant counts once its watch event arrives (docs/policy.md#open-grants-per-requester).
   */
  createGrant(unsigned: Omit<Grant, 'token'>, check?: () => void): Promise<Grant> {
    const run = this.#creating.then(async () => {
      check?.();
      return this.#create(unsigned);
    });
    this.#creating = run.catch(() => undefined);
    return run;
  }

  async #create(unsigned: Omit<Grant, 'token'>): Promise<Grant> {
    // spec is the request; state, approvals and revocation live in status
    const { id, state, approvals, revokedBy, revokedAt, revokeReason, ...spec } = unsigned;
    const g = { group: GROUP, version: VERSION, namespace: this.#ns, plural: 'breakglassgrants' };
    try {
      const created = (await this.#api.createNamespacedCustomObject({ ...g, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'BreakGlassGrant', metadata: { name: id }, spec } })) as GrantObject;
      // The token is bound to this object's uid: a copy recreated under the same name is another object.
      const token = await signGrant(unsigned, this.#keys, { uid: created.metadata?.uid ?? '' });
      created.status = { state, approvals: [...approvals], token };
      return await this.#remember((await this.#api.replaceNamespacedCustomObjectStatus({ ...g, name: id, body: created })) as GrantObject);
    } catch (err) {
      throw new DriftgateError('STORE_UNAVAILABLE', `cannot write grant ${id} to the Kubernetes API: ${errorMessage(err)}`, { cause: err });
    }
  }

  /**
   * Read, decide, write (status, or the object itself) with the object's resourceVersion; on 409
   * (someone else wrote first) read again and decide again. One loop for grants and tasks.
   */
  async #update<O extends KubernetesObject & { status?: object }>(plural: string, what: string, id: string, change: (obj: O) => Promise<O>, part: 'status' | 'object' = 'status'): Promise<O> {
    const ref = { group: GROUP, version: VERSION, namespace: this.#ns, plural, name: id };
    for (let attempt = 1; ; attempt += 1) {
      let obj: O;
      try {
        obj = (await this.#api.getNamespacedCustomObject(ref)) as O;
      } catch (err) {
        if (statusCode(err) === 404) throw new DriftgateError('NOT_FOUND', `no ${what} ${id}`);
        throw new DriftgateError('STORE_UNAVAILABLE', `cannot read ${what} ${id}: ${errorMessage(err)}`, { cause: err });
      }
      const body = await change(obj);
      try {
        return (await (part === 'status' ? this.#api.replaceNamespacedCustomObjectStatus({ ...ref, body }) : this.#api.replaceNamespacedCustomObject({ ...ref, body }))) as O;
      } catch (err) {
        if (statusCode(err) === 409 && attempt < 5) continue;
        throw new DriftgateError('STORE_UNAVAILABLE', `cannot update ${what} ${id}: ${errorMessage(err)}`, { cause: err });
      }
    }
  }

  async #updateGrant(id: string, change: (g: Grant, uid: string, o: GrantObject) => Promise<GrantStatus>): Promise<Grant> {
    const updated = await this.#update<GrantObject>('breakglassgrants', 'grant', id, async (o) => ({ ...o, status: { ...o.status, ...(await change(grantOf(o), o.metadata?.uid ?? '', o)) } }));
    return this.#remember(updated);
  }

  approveGrant(id: string, decide: (g: Grant) => { approval: Approval; state: Grant['state'] }): Promise<Grant> {
    return this.#updateGrant(id, async (grant, uid) => {
      if (this.#revoked.has(id)) throw new DriftgateError('CONFLICT', `grant ${id} was revoked: nothing to approve`);
      // status (approvals, state) is writable by whoever may update breakglassgrants/status: an approval
      // builds only on what the token signs, or a forged approval in status would count towards `required`.
      // (Only a pending grant can be approved: its approvals must be the ones its token signs, whatever status says of its state.)
      const problem = grant.token === '' ? 'it has no token' : await tokenProblem({ ...grant, state: 'pending-approval' }, this.#keys, { uid });
      if (problem) {
        this.#logger.error({ grant: id, problem }, 'GRANT TAMPERED: approval refused, the grant does not match its signature');
        throw new DriftgateError('CONFLICT', `grant ${id} does not match its signature (${problem}): its status was edited outside driftgate, so it cannot be approved; request a new grant (docs/storage.md)`);
      }
      const { approval, state } = decide(grant);
      const next: Omit<Grant, 'token'> = { ...grant, approvals: [...grant.approvals, approval], state };
      return { state, approvals: [...next.approvals], token: await signGrant(next, this.#keys, { uid }) };
    });
  }

  /**
   * A signed revocation, in status and then as an annotation on the object itself (undoing it then
   * needs `update` on breakglassgrants, not only on their status). Status first, so that no replica
   * ever sees an annotation whose status does not say revoked yet (that is what a rollback looks
   * like). A revocation whose annotation could not be written is finished by revoking again.
   */
  async revokeGrant(id: string, check: (g: Grant) => void, by: string, at: Date, reason?: string): Promise<Grant> {
    let proof = '';
    const revocation = { grantId: id, by, at: at.toISOString(), ...(reason ? { reason } : {}) };
    const revoked = await this.#updateGrant(id, async (grant, uid, o) => {
      if (grant.revokedAt && o.status?.revocation && !o.metadata?.annotations?.[REVOCATION_ANNOTATION]) {
        proof = o.status.revocation; // the annotation write of an earlier revocation failed: finish it
        return {};
      }
      // Status is not driftgate's word: a `revoked` state or a revokedAt written there by hand must not
      // answer "already revoked" and leave no signed revocation (the status could be put back later).
      // (This replica may count the grant revoked on a forged revokedAt alone: that is no signed revocation.)
      const signed = Boolean(o.metadata?.annotations?.[REVOCATION_ANNOTATION]);
      check(signed ? grant : await this.#asSigned(grant, uid));
      proof = await signRevocation(revocation, this.#keys, { uid });
      return { state: 'revoked', revokedBy: by, revokedAt: revocation.at, ...(reason ? { revokeReason: reason } : {}), revocation: proof };
    });
    this.#revoked.add(id);
    this.#reindex();
    await this.#update<GrantObject>('breakglassgrants', 'grant', id, async (o) => ({ ...o, metadata: { ...o.metadata, annotations: { ...o.metadata?.annotations, [REVOCATION_ANNOTATION]: proof } } }), 'object');
    return revoked;
  }

  /** The grant in the state its token signs (status may say otherwise); unverifiable: active, so a revocation proceeds. */
  async #asSigned(g: Grant, uid: string): Promise<Grant> {
    const { revokedAt: _at, revokedBy: _by, revokeReason: _why, ...rest } = g;
    for (const state of ['active', 'pending-approval'] as const) {
      if (g.token !== '' && !(await tokenProblem({ ...rest, state }, this.#keys, { uid }))) return { ...rest, state };
    }
    return { ...rest, state: 'active' };
  }

  getGrant(id: string): { grant: Grant; ignored: string | undefined } | undefined {
    const o = this.#grants.get(id, this.#ns);
    const grant = this.#recent.get(id)?.grant ?? (o ? grantOf(o) : undefined);
    return grant ? { grant, ignored: this.#ignored.get(id) ?? this.#tampered.get(`grant/${id}`) } : undefined;
  }

  /** Every grant this replica knows (of one requester, when given): the cache, with what it just wrote in place of the cached version. */
  #known(requester?: string): Grant[] {
    const mine = (r: string | undefined) => requester === undefined || r === requester;
    const cached = this.#grants.list(this.#ns).filter((o) => mine(o.spec?.requester) && !this.#recent.has(o.metadata!.name!));
    return [...cached.map(grantOf), ...[...this.#recent.values()].map((r) => r.grant).filter((g) => mine(g.requester))];
  }

  /** A grant any revocation marks (even one whose status was rolled back) is not open. */
  openGrants(requester: string, now: Date): Grant[] {
    return this.#known(requester).filter((g) => !this.#revoked.has(g.id) && isOpen(g, now));
  }

  listGrants(filter: { state?: string; namespace?: string }, now: Date): Grant[] {
    return this.#known()
      .filter((g) => (!filter.namespace || g.namespace === filter.namespace) && (!filter.state || stateAt(g, now) === filter.state))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  // ---- tasks ----

  async recordBypass(draft: TaskDraft): Promise<{ id: string }> {
    const name = taskName(draft.admissionUid);
    const signature = await signTaskPart(this.#keys, 'spec', name, draft);
    try {
      await this.#api.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: this.#ns,
        plural: 'drifttasks',
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'DriftTask', metadata: { name, annotations: { [TASK_SIGNATURE_ANNOTATION]: signature } }, spec: draft },
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

  listTasks(filter: { state?: TaskState; namespace?: string; recordedSince?: number }): TaskSummary[] {
    return this.#tasks
      .list(this.#ns)
      .map((o) => summarize(taskOf(o)))
      .filter(
        (t) =>
          (!filter.namespace || t.namespace === filter.namespace) &&
          (!filter.state || t.state === filter.state) &&
          (filter.recordedSince === undefined || Date.parse(t.recordedAt) >= filter.recordedSince),
      )
      .sort((a, b) => a.recordedAt.localeCompare(b.recordedAt));
  }

  /**
   * Every status write re-signs the status, so it builds only on a task that matches its signatures:
   * re-signing a forged status (a resolution written by hand) would make the forgery genuine.
   */
  async #updateTask(id: string, change: (t: Task) => TaskStatus): Promise<Task> {
    const updated = await this.#update<TaskObject>('drifttasks', 'task', id, async (o) => {
      const problems = await this.#taskProblems(o);
      // A task an older driftgate recorded has no signatures at all: it can still be closed, and its
      // unsigned spec keeps it reported whatever status driftgate signs for it.
      if (problems.length > 0 && !problems.includes('spec is not signed')) {
        this.#logger.error({ task: id, problems }, 'TASK TAMPERED: not updated, the task does not match its signature');
        throw new DriftgateError('CONFLICT', `task ${id} does not match its signature (${problems.join('; ')}): it was edited outside driftgate and is not updated; check it against the API server audit log (docs/storage.md)`);
      }
      const { signature: _old, ...status } = { ...o.status, ...change(taskOf(o)) };
      return { ...o, status: { ...status, signature: await signTaskPart(this.#keys, 'status', id, status) } };
    });
    return taskOf(updated);
  }

  /** Why a task's spec or status does not match driftgate's signatures (empty: both match). */
  async #taskProblems(obj: TaskObject): Promise<string[]> {
    const name = obj.metadata?.name ?? '';
    const problems: string[] = [];
    const spec = await taskPartProblem(this.#keys, 'spec', name, obj.spec, obj.metadata?.annotations?.[TASK_SIGNATURE_ANNOTATION]);
    if (spec) problems.push(spec);
    // A new task's status is the CRD default ({state: pending}) until driftgate writes a signed one.
    const status = obj.status ?? {};
    const isDefault = Object.keys(status).every((k) => k === 'state') && (status.state ?? 'pending') === 'pending';
    if (!isDefault) {
      const { signature, ...rest } = status;
      const st = await taskPartProblem(this.#keys, 'status', name, rest, signature);
      if (st) problems.push(st);
    }
    return problems;
  }

  /** Checks a task's spec and status signatures as the cache delivers it; reports a mismatch once. */
  async #checkTask(obj: TaskObject): Promise<void> {
    const name = obj.metadata?.name ?? '';
    const problems = await this.#taskProblems(obj);
    const key = `task/${name}`;
    if (problems.length === 0) {
      if (this.#tampered.delete(key)) this.#logger.warn({ task: name }, 'task matches its signatures again');
      return;
    }
    const why = `task ${name}: ${problems.join('; ')}`;
    if (this.#tampered.get(key) !== why) this.#logger.error({ task: name, grant: obj.spec?.grantId, problems }, `TASK TAMPERED: ${why}`);
    this.#tampered.set(key, why);
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
