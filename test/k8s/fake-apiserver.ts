/**
 * A Kubernetes API server for tests, faithful to the REST and watch protocol that driftgate (through
 * @kubernetes/client-node) relies on. Production code never knows it exists: it only sees a URL.
 *
 * - Collections and objects at the real paths (`/apis/<group>/<version>[/namespaces/<ns>]/<plural>[/<name>[/status]]`).
 * - One resourceVersion counter across all objects, as etcd's revision; `metadata.uid`,
 *   `creationTimestamp` and `generation` set by the server (generation grows only when something
 *   other than metadata and status changes).
 * - create → 201 (409 AlreadyExists), get → 404 NotFound, update (PUT) → 409 Conflict on a stale
 *   resourceVersion, `/status` updates only status, delete → 200.
 * - list → `{kind: <Kind>List, metadata: {resourceVersion, continue?}}`, paged by `limit` + `continue`; `?watch=true&resourceVersion=N` streams
 *   newline-delimited `{type, object}` events after N, with BOOKMARK events when
 *   `allowWatchBookmarks=true`, and a 410 Gone ERROR event when N was compacted away.
 * - Discovery: `GET /apis/<group>/<version>` lists the resources served there.
 * - Test hooks: dropWatches() (connections cut, as a load balancer does), compact(), unavailable.
 * - POST /apis/authentication.k8s.io/v1/tokenreviews answers from a token table.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Obj = { apiVersion?: string; kind?: string; metadata: { name?: string; generateName?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown }; status?: unknown; [k: string]: unknown };

interface Kind {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
}

interface Event {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly key: string;
  readonly plural: string;
  readonly namespace: string;
  readonly object: Obj;
}

const KINDS: Kind[] = [
  { group: 'driftgate.io', version: 'v1alpha1', plural: 'breakglassgrants', kind: 'BreakGlassGrant' },
  { group: 'driftgate.io', version: 'v1alpha1', plural: 'drifttasks', kind: 'DriftTask' },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment' },
  { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet' },
  { group: 'apps', version: 'v1', plural: 'replicasets', kind: 'ReplicaSet' },
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace' },
  { group: 'admissionregistration.k8s.io', version: 'v1', plural: 'validatingwebhookconfigurations', kind: 'ValidatingWebhookConfiguration' },
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' },
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' },
  { group: '', version: 'v1', plural: 'services', kind: 'Service' },
  { group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet' },
  { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications', kind: 'Application' },
  { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', plural: 'kustomizations', kind: 'Kustomization' },
  { group: 'helm.toolkit.fluxcd.io', version: 'v2', plural: 'helmreleases', kind: 'HelmRelease' },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease' },
];

const clone = <T>(v: T): T => structuredClone(v);
const CLUSTER_SCOPED = new Set(['Namespace', 'ValidatingWebhookConfiguration']);

/** `GET /apis/<group>/<version>` (or `/api/v1`): the resources served there, as clients discover kinds. */
function discovery(group: string, version: string) {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: KINDS.filter((k) => k.group === group && k.version === version).map((k) => ({
      name: k.plural,
      singularName: k.kind.toLowerCase(),
      namespaced: !CLUSTER_SCOPED.has(k.kind),
      kind: k.kind,
      verbs: ['create', 'delete', 'get', 'list', 'update', 'watch'],
    })),
  };
}
/** What bumps `generation`: everything but metadata and status (as for Deployments and CRDs with a status subresource). */
const specOf = ({ metadata: _m, status: _s, ...rest }: Obj): string => JSON.stringify(rest);

export class FakeApiServer {
  readonly #server: Server;
  readonly #objects = new Map<string, Obj>(); // plural/namespace/name
  #events: Event[] = [];
  #rv = 100;
  #compactedBefore = 0;
  readonly #watches = new Set<{ res: ServerResponse; plural: string; namespace: string | undefined; bookmarks: boolean }>();
  /** every API call answers 503 while true */
  unavailable = false;
  /** bearer token → user, for TokenReview */
  readonly tokens = new Map<string, { username: string; groups: string[] }>();
  /** requests seen, for assertions: "METHOD path" */
  readonly requests: string[] = [];
  #bookmarkTimer: NodeJS.Timeout;

  constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#bookmarkTimer = setInterval(() => this.#bookmark(), 200);
    this.#bookmarkTimer.unref();
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    clearInterval(this.#bookmarkTimer);
    this.dropWatches();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Cuts every open watch, as an API server restart or a load balancer timeout does. */
  dropWatches(): void {
    for (const w of this.#watches) w.res.destroy();
    this.#watches.clear();
  }

  /** Forgets event history: a watch from an older resourceVersion gets 410 Gone and must relist. */
  compact(): void {
    this.#compactedBefore = this.#rv + 1;
    this.#events = [];
  }

  /** Direct access for test setup and assertions. */
  put(plural: string, obj: Obj): Obj {
    return this.#write(plural, obj.metadata.namespace ?? '', obj, 'create');
  }

  get(plural: string, namespace: string, name: string): Obj | undefined {
    const o = this.#objects.get(`${plural}/${namespace}/${name}`);
    return o ? clone(o) : undefined;
  }

  // ---- protocol ----

  #status(res: ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  }

  #json(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}`);
    if (this.unavailable) return this.#status(res, 503, 'ServiceUnavailable', 'the API server is unavailable');
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      try {
        this.#route(req.method ?? 'GET', url, body, res);
      } catch (err) {
        this.#status(res, 400, 'BadRequest', (err as Error).message);
      }
    });
  }

  #route(method: string, url: URL, body: string, res: ServerResponse): void {
    if (url.pathname === '/apis/authentication.k8s.io/v1/tokenreviews' && method === 'POST') {
      const review = JSON.parse(body) as { spec?: { token?: string } };
      const user = this.tokens.get(review.spec?.token ?? '');
      return this.#json(res, 201, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: review.spec,
        status: user ? { authenticated: true, user } : { authenticated: false, error: 'token not recognised' },
      });
    }
    // /apis/<group>/<version>/... or /api/v1/...
    const parts = url.pathname.split('/').filter(Boolean);
    let rest: string[];
    let group = '';
    let version: string;
    if (parts[0] === 'api') {
      version = parts[1] ?? '';
      rest = parts.slice(2);
    } else if (parts[0] === 'apis') {
      group = parts[1] ?? '';
      version = parts[2] ?? '';
      rest = parts.slice(3);
    } else return this.#status(res, 404, 'NotFound', `no route ${url.pathname}`);
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    if (rest.length === 0 && method === 'GET') return this.#json(res, 200, discovery(group, version));
    const kind = KINDS.find((k) => k.group === group && k.version === version && k.plural === rest[0]);
    if (!kind) return this.#status(res, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    const [, name, sub] = rest;
    const key = (ns: string, n: string) => `${kind.plural}/${ns}/${n}`;

    if (!name) {
      if (method === 'GET') {
        if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') return this.#watch(kind, namespace, url, res);
        const prefix = `${kind.plural}/${namespace === undefined ? '' : `${namespace}/`}`;
        // Paging as the API server does it: `limit` items after the `continue` token, and a token while more remain.
        const limit = Number(url.searchParams.get('limit') ?? '0');
        const after = url.searchParams.get('continue') ? Buffer.from(url.searchParams.get('continue')!, 'base64url').toString('utf8') : '';
        const keys = [...this.#objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
        const page = limit > 0 ? keys.slice(0, limit) : keys;
        const more = page.length < keys.length ? { continue: Buffer.from(page[page.length - 1]!).toString('base64url') } : {};
        const items = page.map((k) => clone(this.#objects.get(k)!));
        return this.#json(res, 200, { apiVersion: group ? `${group}/${version}` : version, kind: `${kind.kind}List`, metadata: { resourceVersion: String(this.#rv), ...more }, items });
      }
      if (method === 'POST') {
        if (namespace === undefined) return this.#status(res, 405, 'MethodNotAllowed', 'create needs a namespace');
        const obj = JSON.parse(body) as Obj;
        obj.metadata ??= {};
        if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${randomUUID().slice(0, 5)}`;
        if (!obj.metadata.name) return this.#status(res, 422, 'Invalid', 'metadata.name: Required value');
        if (this.#objects.has(key(namespace, obj.metadata.name))) {
          return this.#status(res, 409, 'AlreadyExists', `${kind.plural}.${kind.group} "${obj.metadata.name}" already exists`);
        }
        // With a status subresource, the API server ignores status on create (as for driftgate's CRDs).
        if (kind.group === 'driftgate.io') delete obj.status;
        return this.#json(res, 201, this.#write(kind.plural, namespace, obj, 'create'));
      }
      return this.#status(res, 405, 'MethodNotAllowed', `${method} not allowed on a collection`);
    }

    const ns = namespace ?? '';
    const current = this.#objects.get(key(ns, name));
    if (method === 'GET') return current ? this.#json(res, 200, clone(current)) : this.#status(res, 404, 'NotFound', `${kind.plural}.${kind.group} "${name}" not found`);
    if (!current) return this.#status(res, 404, 'NotFound', `${kind.plural}.${kind.group} "${name}" not found`);
    if (method === 'PUT') {
      const obj = JSON.parse(body) as Obj;
      const rv = obj.metadata?.resourceVersion;
      if (rv !== undefined && rv !== current.metadata.resourceVersion) {
        return this.#status(res, 409, 'Conflict', `Operation cannot be fulfilled on ${kind.plural}.${kind.group} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      }
      const next: Obj = sub === 'status' ? { ...clone(current), status: obj.status } : { ...obj, status: current.status, metadata: { ...current.metadata, ...obj.metadata } };
      return this.#json(res, 200, this.#write(kind.plural, ns, next, 'update'));
    }
    if (method === 'DELETE') {
      this.#objects.delete(key(ns, name));
      this.#emit('DELETED', kind.plural, ns, key(ns, name), { ...current, metadata: { ...current.metadata, resourceVersion: String(++this.#rv) } });
      return this.#json(res, 200, current);
    }
    return this.#status(res, 405, 'MethodNotAllowed', `${method} not supported here`);
  }

  #write(plural: string, namespace: string, obj: Obj, how: 'create' | 'update'): Obj {
    const k = `${plural}/${namespace}/${obj.metadata.name}`;
    const prev = this.#objects.get(k);
    const stored: Obj = clone(obj);
    this.#rv += 1;
    stored.metadata = {
      ...stored.metadata,
      namespace: namespace || undefined,
      uid: prev?.metadata.uid ?? randomUUID(),
      creationTimestamp: prev?.metadata.creationTimestamp ?? new Date().toISOString(),
      generation: ((prev?.metadata.generation as number | undefined) ?? 0) + (!prev || specOf(prev) !== specOf(stored) ? 1 : 0),
      resourceVersion: String(this.#rv),
    };
    this.#objects.set(k, stored);
    this.#emit(how === 'create' && !prev ? 'ADDED' : 'MODIFIED', plural, namespace, k, stored);
    return clone(stored);
  }

  #emit(type: Event['type'], plural: string, namespace: string, key: string, object: Obj): void {
    const e: Event = { rv: this.#rv, type, key, plural, namespace, object: clone(object) };
    this.#events.push(e);
    for (const w of this.#watches) {
      if (w.plural === plural && (w.namespace === undefined || w.namespace === namespace)) w.res.write(`${JSON.stringify({ type, object: e.object })}\n`);
    }
  }

  #watch(kind: Kind, namespace: string | undefined, url: URL, res: ServerResponse): void {
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders(); // a real API server answers the watch at once, before any event
    if (from > 0 && from < this.#compactedBefore) {
      // As the real API server: 200, then one ERROR event carrying a 410 Status, then the stream ends.
      res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `too old resource version: ${from} (${this.#compactedBefore})`, reason: 'Expired', code: 410 } })}\n`);
      return;
    }
    for (const e of this.#events) {
      if (e.rv > from && e.plural === kind.plural && (namespace === undefined || e.namespace === namespace)) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
    }
    const w = { res, plural: kind.plural, namespace, bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true' };
    this.#watches.add(w);
    res.on('close', () => this.#watches.delete(w));
  }

  #bookmark(): void {
    for (const w of this.#watches) {
      const kind = KINDS.find((k) => k.plural === w.plural)!;
      if (w.bookmarks) {
        w.res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { apiVersion: kind.group ? `${kind.group}/${kind.version}` : kind.version, kind: kind.kind, metadata: { resourceVersion: String(this.#rv) } } })}\n`);
      }
    }
  }
}
