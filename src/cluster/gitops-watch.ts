/**
 * Cluster mode: watches the GitOps tools' own objects — Argo CD Applications and the argocd-cm
 * ConfigMap, Flux Kustomizations and HelmReleases — and keeps two things current from them:
 * - the delegations their ignore rules imply (merged into the policy the decision uses);
 * - each owner's delivery health (synced, healthy, suspended, last successful sync).
 * A tool that is not installed (its CRD is absent: 404) is looked for again every minute.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi, ListWatch, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeObject } from '../admission/types.ts';
import { errorMessage } from '../errors.ts';
import { fromApplication, fromArgoCdConfigMap, ARGO_CONTROL_NAMESPACE } from '../gitops/argocd.ts';
import { fromHelmRelease } from '../gitops/flux.ts';
import { argoHealth, fluxHealth, type OwnerHealth } from '../gitops/health.ts';
import { emptyResult, mergeResults, type ImportResult, type NotImported } from '../gitops/imported.ts';
import { compileImported } from '../gitops/overlay.ts';
import type { Delegation } from '../policy/policy.ts';

interface Source {
  readonly name: string;
  readonly path: string;
  readonly list: () => Promise<never>;
  readonly fieldSelector?: string;
  readonly rules?: (o: KubeObject) => ImportResult;
  readonly health?: (o: KubeObject) => OwnerHealth | undefined;
}

interface Built {
  readonly version: number;
  readonly delegations: Delegation[];
  readonly notImported: NotImported[];
  readonly health: Map<string, OwnerHealth>;
}

export interface GitOpsWatchOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  /** where argocd-cm lives (default argocd) */
  readonly argoNamespace?: string;
  readonly delay?: (ms: number) => Promise<void>;
  readonly retryMs?: number;
}

export class GitOpsWatch {
  readonly #caches = new Map<string, ListWatch<KubernetesObject>>();
  readonly #sources: Source[];
  readonly #logger: Logger;
  readonly #delay: (ms: number) => Promise<void>;
  readonly #retryMs: number;
  readonly #absent = new Set<string>();
  #stopped = false;
  #version = 0;
  #built: Built | undefined;

  constructor(o: GitOpsWatchOptions) {
    this.#logger = o.logger;
    this.#delay = o.delay ?? ((ms) => sleep(ms));
    this.#retryMs = o.retryMs ?? 60_000;
    const custom = o.kubeConfig.makeApiClient(CustomObjectsApi);
    const core = o.kubeConfig.makeApiClient(CoreV1Api);
    const argoNs = o.argoNamespace ?? ARGO_CONTROL_NAMESPACE;
    const cr = (group: string, version: string, plural: string) => () =>
      custom.listClusterCustomObject({ group, version, plural }) as Promise<never>;
    this.#sources = [
      { name: 'argocd applications', path: '/apis/argoproj.io/v1alpha1/applications', list: cr('argoproj.io', 'v1alpha1', 'applications'), rules: fromApplication, health: argoHealth },
      {
        name: 'argocd-cm',
        path: `/api/v1/namespaces/${argoNs}/configmaps`,
        fieldSelector: 'metadata.name=argocd-cm',
        list: () => core.listNamespacedConfigMap({ namespace: argoNs, fieldSelector: 'metadata.name=argocd-cm' }) as Promise<never>,
        // the field selector narrows the watch to argocd-cm; checked again here all the same
        rules: (o) => (o.metadata?.name === 'argocd-cm' ? fromArgoCdConfigMap(o) : emptyResult()),
      },
      { name: 'flux kustomizations', path: '/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations', list: cr('kustomize.toolkit.fluxcd.io', 'v1', 'kustomizations'), health: fluxHealth },
      { name: 'flux helmreleases', path: '/apis/helm.toolkit.fluxcd.io/v2/helmreleases', list: cr('helm.toolkit.fluxcd.io', 'v2', 'helmreleases'), rules: fromHelmRelease, health: fluxHealth },
    ];
    const watch = new Watch(o.kubeConfig);
    for (const s of this.#sources) {
      const lw = new ListWatch(s.path, watch, s.list, false, undefined, s.fieldSelector, { delayFn: this.#delay });
      for (const ev of ['add', 'update', 'delete'] as const) lw.on(ev, () => (this.#version += 1));
      this.#caches.set(s.name, lw);
    }
  }

  /** Starts every watch; resolves once each has listed or been found absent (never rejects). */
  async start(): Promise<void> {
    await Promise.all(this.#sources.map((s) => this.#run(s)));
  }

  async #run(s: Source): Promise<void> {
    const lw = this.#caches.get(s.name)!;
    lw.on('error', (err: unknown) => {
      if (this.#stopped) return;
      this.#logger.warn({ watch: s.name, err: errorMessage(err) }, 'gitops watch failed, restarting');
      void this.#delay(1000).then(() => (this.#stopped ? undefined : this.#start(s, lw)));
    });
    await this.#start(s, lw);
  }

  async #start(s: Source, lw: ListWatch<KubernetesObject>): Promise<void> {
    try {
      await lw.start();
      if (this.#absent.delete(s.name)) this.#logger.info({ watch: s.name }, 'gitops watch: found, watching');
      this.#version += 1;
    } catch (err) {
      const notFound = /404|not found/i.test(errorMessage(err));
      if (notFound && !this.#absent.has(s.name)) {
        this.#absent.add(s.name);
        this.#logger.info({ watch: s.name }, 'gitops watch: not installed in this cluster; looking again every minute');
      } else if (!notFound) {
        this.#logger.warn({ watch: s.name, err: errorMessage(err) }, 'gitops watch: cannot list yet, retrying');
      }
      if (this.#stopped) return;
      void this.#delay(notFound ? this.#retryMs : 1000).then(() => (this.#stopped ? undefined : this.#start(s, lw)));
    }
  }

  #build(): Built {
    if (this.#built && this.#built.version === this.#version) return this.#built;
    const version = this.#version;
    const parts: ImportResult[] = [];
    const health = new Map<string, OwnerHealth>();
    for (const s of this.#sources) {
      for (const o of this.#caches.get(s.name)!.list() as unknown as KubeObject[]) {
        if (s.rules) parts.push(s.rules(o));
        const h = s.health?.(o);
        if (h) health.set(h.owner, h);
      }
    }
    const merged = mergeResults(parts);
    const delegations = merged.rules.map(compileImported).filter((d): d is Delegation => d !== undefined);
    this.#built = { version, delegations, notImported: merged.notImported, health };
    return this.#built;
  }

  /** The delegations implied by the GitOps tools' ignore rules, with a version that changes with them. */
  imported = (): { version: number; delegations: readonly Delegation[] } => {
    const b = this.#build();
    return { version: b.version, delegations: b.delegations };
  };

  notImported(): readonly NotImported[] {
    return this.#build().notImported;
  }

  health(): readonly OwnerHealth[] {
    return [...this.#build().health.values()].sort((a, b) => a.owner.localeCompare(b.owner));
  }

  ownerHealth(owner: string): OwnerHealth | undefined {
    return this.#build().health.get(owner);
  }

  async close(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#caches.values()].map((lw) => lw.stop()));
  }
}
