/**
 * What the decision needs to know about the cluster, from list+watch caches (never an API round trip
 * per request): the parent object of a `scale` write (a Scale carries no labels, so ownership and
 * delegation come from the Deployment, StatefulSet or ReplicaSet), and namespace labels for
 * selector-based protection. Until a cache has synced, answers are "unknown" and the decision uses the
 * documented fallback.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api, ListWatch, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ScaleParent } from '../admission/decide.ts';
import type { ClusterFacts } from '../admission/review.ts';
import type { KubeObject } from '../admission/types.ts';
import { errorMessage } from '../errors.ts';
import type { LiveChange } from './landing-check.ts';

const PARENTS = ['deployments', 'statefulsets', 'replicasets'] as const;
type Parent = (typeof PARENTS)[number];

export interface ClusterCacheOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  readonly delay?: (ms: number) => Promise<void>;
}

export class ClusterCache implements ClusterFacts {
  readonly #caches = new Map<Parent | 'namespaces', ListWatch<KubernetesObject>>();
  readonly #synced = new Set<string>();
  readonly #logger: Logger;
  readonly #delay: (ms: number) => Promise<void>;
  #stopped = false;

  private constructor(o: ClusterCacheOptions) {
    this.#logger = o.logger;
    this.#delay = o.delay ?? ((ms) => sleep(ms));
    const apps = o.kubeConfig.makeApiClient(AppsV1Api);
    const core = o.kubeConfig.makeApiClient(CoreV1Api);
    const watch = new Watch(o.kubeConfig);
    const options = { delayFn: this.#delay };
    const lists: Record<Parent, () => Promise<never>> = {
      deployments: () => apps.listDeploymentForAllNamespaces() as Promise<never>,
      statefulsets: () => apps.listStatefulSetForAllNamespaces() as Promise<never>,
      replicasets: () => apps.listReplicaSetForAllNamespaces() as Promise<never>,
    };
    for (const p of PARENTS) this.#caches.set(p, new ListWatch(`/apis/apps/v1/${p}`, watch, lists[p], false, undefined, undefined, options));
    this.#caches.set('namespaces', new ListWatch('/api/v1/namespaces', watch, () => core.listNamespace() as Promise<never>, false, undefined, undefined, options));
  }

  static async open(o: ClusterCacheOptions): Promise<ClusterCache> {
    const c = new ClusterCache(o);
    await Promise.all([...c.#caches.entries()].map(([name, lw]) => c.#run(name, lw)));
    return c;
  }

  async #run(name: string, lw: ListWatch<KubernetesObject>): Promise<void> {
    lw.on('error', (err: unknown) => {
      if (this.#stopped) return;
      this.#logger.warn({ cache: name, err: errorMessage(err) }, 'cluster cache: watch failed, restarting');
      void this.#delay(1000).then(() => (this.#stopped ? undefined : this.#start(name, lw)));
    });
    await this.#start(name, lw);
  }

  async #start(name: string, lw: ListWatch<KubernetesObject>): Promise<void> {
    try {
      await lw.start();
      this.#synced.add(name);
    } catch (err) {
      this.#logger.warn({ cache: name, err: errorMessage(err) }, 'cluster cache: cannot list yet, retrying (scale writes use the fallback meanwhile)');
      await this.#delay(1000);
      if (!this.#stopped) void this.#start(name, lw);
    }
  }

  scaleParent(group: string, resource: string, namespace: string, name: string): ScaleParent {
    const p = resource as Parent;
    if (group !== 'apps' || !PARENTS.includes(p) || !this.#synced.has(p)) return { state: 'unknown' };
    const obj = this.#caches.get(p)!.get(name, namespace);
    return obj ? { state: 'found', object: obj as unknown as KubeObject } : { state: 'unknown' };
  }

  /** The live object of a watched kind (apps Deployment/StatefulSet/ReplicaSet); 'unknown' otherwise. */
  liveObject(group: string, kind: string, namespace: string, name: string): KubeObject | undefined | 'unknown' {
    const p = `${kind.toLowerCase()}s` as Parent;
    if (group !== 'apps' || !PARENTS.includes(p) || !this.#synced.has(p)) return 'unknown';
    return this.#caches.get(p)!.get(name, namespace) as unknown as KubeObject | undefined;
  }

  /**
   * Every change the Deployment/StatefulSet/ReplicaSet watches see, and `gap` when a watch may have
   * missed some: it failed, or it lists again (its resourceVersion expired: 410 Gone).
   */
  onChange(listener: (change: LiveChange) => void): void {
    for (const p of PARENTS) {
      const lw = this.#caches.get(p)!;
      for (const type of ['add', 'update', 'delete'] as const) lw.on(type, (object) => listener({ type, object: object as unknown as KubeObject }));
      lw.on('error', () => listener({ type: 'gap' }));
      lw.on('connect', () => (lw.latestResourceVersion() === '' ? listener({ type: 'gap' }) : undefined));
    }
  }

  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined {
    if (!this.#synced.has('namespaces')) return undefined;
    // A namespace the cache has not seen yet (just created) is unknown: the decision fails closed.
    const ns = this.#caches.get('namespaces')!.get(namespace);
    return ns ? (ns.metadata?.labels ?? {}) : undefined;
  }

  notReady(): string[] {
    return [...this.#caches.keys()].filter((n) => !this.#synced.has(n)).map((n) => `cluster cache: ${n} not synced`);
  }

  async close(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#caches.values()].map((lw) => lw.stop()));
  }
}
