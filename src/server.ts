/**
 * The composition root for `driftgate serve`: loads the policy and certificates, wires the real
 * dependencies into the app, binds the TLS port, and keeps policy and certificates current.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:https';
import type { Server as PlainServer } from 'node:http';
import type { Logger } from 'pino';
import { buildApp } from './app.ts';
import { systemClock, type Clock } from './admission/review.ts';
import { devAuthenticator, oidcAuthenticator } from './auth/authenticator.ts';
import type { KubeConfig } from '@kubernetes/client-node';
import { KeyRing } from './keys/key-ring.ts';
import { loadSecretHashKey, loadSecretHashKeyFromSecret } from './keys/secret-hash-key.ts';
import { EmbeddedStore } from './store/embedded-store.ts';
import type { BreakGlassStore } from './store/store.ts';
import type { ClusterCache } from './cluster/cluster-cache.ts';
import type { DriftScanner } from './scan/scheduler.ts';
import type { GitOpsWatch } from './cluster/gitops-watch.ts';
import { registerGitOpsMetrics } from './gitops/health-metrics.ts';
import { policyWithImported } from './gitops/overlay.ts';
import { BreakGlassService } from './service/break-glass.ts';
import type { Identity } from './grants/rules.ts';
import { LandingCheck } from './cluster/landing-check.ts';
import { GrantExpiryLog } from './audit/grant-expiry.ts';
import { Metrics } from './metrics.ts';
import { openPeopleLoop } from './console/people-loop.ts';
import { unrecordedDrift } from './notify/drift.ts';
import { loadFromSource, PolicyHolder, resolvePolicySource } from './policy/source.ts';
import { ensureServingCertificate, watchServingCertificate } from './tls/serving.ts';
import { listen, listenUrl } from './http/listen.ts';
import { checkedMaxConnections, closeSilentConnections, limitConnections, METRICS_MAX_CONNECTIONS, type ConnectionLimit } from './http/connection-limit.ts';
import { compactHeap } from './util/compact-heap.ts';
import { http, https } from './util/builtin.ts';
import { framingErrorHandler, HTTP_DEADLINE, REQUEST_DEADLINE, REQUEST_TIMEOUT_MS } from './http/validate-handler.ts';
import type { SelfManagedCerts } from './tls/self-managed.ts';
import type { LeaderLease } from './cluster/leader-lease.ts';

export interface ServeOptions {
  readonly config?: string;
  readonly port: number;
  readonly host?: string;
  readonly dataDir: string;
  readonly certsDir: string;
  /** also serve /metrics over plain HTTP on this port (Prometheus without TLS setup) */
  readonly metricsPort?: number;
  /** connections the TLS port holds at once (default DEFAULT_MAX_CONNECTIONS; at least MIN_MAX_CONNECTIONS) */
  readonly maxConnections?: number;
  /** embedded (journal in dataDir, one replica) or kubernetes (CRs in storeNamespace, any number) */
  readonly store?: 'embedded' | 'kubernetes';
  readonly storeNamespace?: string;
  /** grant-signing keys (default: <dataDir>/keys); with the Kubernetes store, a Secret every replica mounts */
  readonly keysDir?: string;
  /** watch Deployments/StatefulSets/ReplicaSets and Namespaces (default: with the Kubernetes store) */
  readonly clusterCache?: boolean;
  /** with the cluster cache: scan for drift that got past the gate every this many ms and record it (0: off; default 10 min) */
  readonly scanInterval?: number;
  /** files: certificates from certsDir (dev certificates when absent); self-managed: see SelfManagedCerts */
  readonly certsMode?: 'files' | 'self-managed';
  readonly certsSecret?: string;
  readonly webhookConfiguration?: string;
  readonly serviceName?: string;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** watch the policy file and certificates (off in tests that do not need it) */
  readonly watch?: boolean;
  /** one memory-reducing GC once start-up is done (`driftgate serve` sets it; tests need not wait for it) */
  readonly compactHeap?: boolean;
}

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  /** the plain-HTTP /metrics listener of --metrics-port, when there is one */
  readonly metricsServer: PlainServer | undefined;
  readonly policy: PolicyHolder;
  readonly store: BreakGlassStore;
  close(): Promise<void>;
}

/**
 * In a pod: the service account; elsewhere: $KUBECONFIG or ~/.kube/config. The Kubernetes client and
 * everything built on it are loaded only when the configuration needs them (embedded mode never does:
 * ~30 MiB less RSS, faster start).
 */
async function kubeConfig(): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const { logger } = opts;
  const maxConnections = checkedMaxConnections(opts.maxConnections); // a bad value: throws, nothing starts
  const source = resolvePolicySource(opts.config);
  const policy = new PolicyHolder(source, loadFromSource(source)); // invalid: throws, nothing starts
  logger.info({ source: source.description }, 'policy loaded');
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  let selfManaged: SelfManagedCerts | undefined;
  if (opts.certsMode === 'self-managed') {
    const { SelfManagedCerts } = await import('./tls/self-managed.ts');
    selfManaged = new SelfManagedCerts({
      kubeConfig: await kubeConfig(),
      namespace: opts.storeNamespace ?? 'driftgate',
      service: opts.serviceName ?? 'driftgate',
      secretName: opts.certsSecret ?? 'driftgate-tls',
      webhookConfiguration: opts.webhookConfiguration ?? 'driftgate',
      certsDir: opts.certsDir,
      logger,
    });
    await selfManaged.ensure(); // the Secret, the files in certsDir, the caBundle
    selfManaged.start();
  }
  const tls = ensureServingCertificate(opts.certsDir, logger);
  const clock = opts.clock ?? systemClock;
  const now = () => clock.now();
  // With the Kubernetes store the replicas share one key Secret unless a directory is given.
  const keys =
    opts.store === 'kubernetes' && !opts.keysDir
      ? await (await import('./keys/secret-keys.ts')).loadKeyRingFromSecret(await kubeConfig(), opts.storeNamespace ?? 'driftgate', 'driftgate-signing-keys', clock.now())
      : await KeyRing.load(opts.keysDir ?? join(opts.dataDir, 'keys'), clock.now());
  logger.info({ kid: keys.signing.kid }, 'grant-signing key loaded');
  // Kept with the signing keys: Secret values in denials and tasks are hashed with it (HMAC-SHA256).
  const secretHashKey =
    opts.store === 'kubernetes' && !opts.keysDir
      ? await loadSecretHashKeyFromSecret(await kubeConfig(), opts.storeNamespace ?? 'driftgate')
      : loadSecretHashKey(opts.keysDir ?? join(opts.dataDir, 'keys'));
  let store: BreakGlassStore;
  let storeNotReady: () => string[] = () => [];
  let journalHead: (() => { count: number; head: string }) | undefined;
  if (opts.store === 'kubernetes') {
    const { KubernetesStore } = await import('./store/kubernetes-store.ts');
    const k8s = await KubernetesStore.open({ kubeConfig: await kubeConfig(), namespace: opts.storeNamespace ?? 'driftgate', keys, logger });
    store = k8s;
    storeNotReady = () => k8s.notReady();
    logger.info({ namespace: opts.storeNamespace ?? 'driftgate' }, 'store: BreakGlassGrant and DriftTask objects in the Kubernetes API');
  } else {
    // compacted after the replay too: its garbage would otherwise add to the start-up peak (VmHWM)
    const embedded = await EmbeddedStore.open(opts.dataDir, keys, logger, () => clock.now(), { keysDir: opts.keysDir ?? join(opts.dataDir, 'keys'), ...(opts.compactHeap ? { afterReplay: compactHeap } : {}) });
    store = embedded;
    storeNotReady = () => embedded.notReady();
    journalHead = () => embedded.anchor;
  }
  let cluster: ClusterCache | undefined;
  let landingCheck: LandingCheck | undefined;
  let gitops: GitOpsWatch | undefined;
  if (opts.clusterCache ?? opts.store === 'kubernetes') {
    const { ClusterCache } = await import('./cluster/cluster-cache.ts');
    cluster = await ClusterCache.open({ kubeConfig: await kubeConfig(), logger });
    landingCheck = new LandingCheck({ store, live: cluster, logger, now });
    landingCheck.start();
    logger.info('cluster cache: scale writes are decided from their parent objects; bypasses that never land are marked not-applied');
    const { GitOpsWatch } = await import('./cluster/gitops-watch.ts');
    gitops = new GitOpsWatch({ kubeConfig: await kubeConfig(), logger });
    await gitops.start();
    logger.info('gitops watch: delegations follow Argo CD ignoreDifferences / argocd-cm and Flux driftDetection.ignore; owner health on /metrics and GET /v1/owners');
  } else {
    logger.info('no cluster cache: every scale write in a protected namespace counts as a change to a GitOps-owned spec.replicas');
  }
  const { oidc, tokenReview } = policy.current();
  const authenticator = oidc
    ? oidcAuthenticator(oidc, now)
    : tokenReview
      ? (await import('./auth/token-review.ts')).tokenReviewAuthenticator(await kubeConfig(), tokenReview.audiences)
      : await devAuthenticator(opts.dataDir, now);
  if (authenticator.dev) logger.warn(`GRANT API USES A ${authenticator.description}`);
  else logger.info({ auth: authenticator.description }, 'grant API authentication');

  const metrics = new Metrics({ store, policy: policy.current, now, ...(journalHead ? { journal: journalHead } : {}) });
  if (gitops) {
    const g = gitops;
    registerGitOpsMetrics(metrics.registry, () => g.health(), now);
  }
  // notifications (outbox in dataDir) and the console under /ui/
  // With the Kubernetes store the replicas take turns at the notification sweep through a Lease.
  let leader: LeaderLease | undefined;
  if (opts.store === 'kubernetes') {
    const { LeaderLease } = await import('./cluster/leader-lease.ts');
    leader = new LeaderLease({ kubeConfig: await kubeConfig(), namespace: opts.storeNamespace ?? 'driftgate', logger, now });
  }
  const people = await openPeopleLoop({ dataDir: opts.dataDir, store, policy: policy.current, clock, logger, registry: metrics.registry, authenticator, keys, sweep: leader ?? true });
  // Drift that got past the gate (cluster mode): scanned on a schedule, recorded as detected tasks.
  let scanner: DriftScanner | undefined;
  if (cluster && (opts.scanInterval ?? 600_000) > 0) {
    const { DriftScanner } = await import('./scan/scheduler.ts');
    scanner = new DriftScanner({ kubeConfig: await kubeConfig(), policy: policy.current, store, logger, now, intervalMs: opts.scanInterval ?? 600_000, secretHashKey, onResult: (counts, result) => {
      metrics.driftObjects(counts);
      for (const found of unrecordedDrift(result)) void people.notifier.driftFound(found); // drift.found (once per object and paths)
    } });
    scanner.start();
    scanner.follow(cluster);
  }
  const decisionPolicy = gitops ? policyWithImported(policy.current, gitops.imported) : policy.current;
  const exposition = async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() });
  const expiryLog = new GrantExpiryLog({ store, logger, now }); // grants expire by the clock: log each once
  expiryLog.start();
  const app = buildApp({
    review: { policy: decisionPolicy, clock, grants: store, tasks: people.recorder(store), cluster, logger, secretHashKey },
    readiness: { notReady: () => [...storeNotReady(), ...(cluster?.notReady() ?? [])] },
    validate: { onResult: (r) => metrics.observe(r) },
    api: { store, policy: policy.current, clock, authenticator, onStoreError: () => metrics.storeError(), onGrantEvent: people.onGrantEvent, logger },
    console: people.console,
    jwks: () => keys.jwks(),
    metrics: exposition,
    owners: {
      authenticator,
      pendingTasks: (() => {
        const service = new BreakGlassService({ store, policy: policy.current, clock });
        return (who: Identity) => service.listTasks(who, { state: 'pending' });
      })(),
      health: gitops ? () => gitops!.health() : undefined,
    },
  });

  // A request must arrive whole within REQUEST_TIMEOUT_MS (checked every second): one deadline for
  // slow headers and for a body shorter than its Content-Length, answered by framingErrorHandler.
  const server = https.createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', ...REQUEST_DEADLINE }, app);
  // The API server times out at timeoutSeconds (≤ 30 s); keep its connections alive well past that.
  server.keepAliveTimeout = 65_000;
  server.on('clientError', framingErrorHandler((r) => metrics.observe(r)));
  // An idle connection costs ~60 KiB: past maxConnections open, new ones are closed unanswered.
  const limits: ConnectionLimit[] = [limitConnections(server, { max: maxConnections, name: 'webhook', flag: '--max-connections', logger, onDrop: () => metrics.connectionDropped('webhook') })];
  // ... and one that sends no request would keep its place forever: closed after twice the request deadline
  closeSilentConnections(server, 'secureConnection', 2 * REQUEST_TIMEOUT_MS);
  const bound = await listen(server, opts.port, opts.host, '--port');
  const port = bound.port;
  leader?.start();
  people.start();
  // start-up garbage (replay, token checks, the first notification sweep), before any webhook traffic:
  // the API server calls only once /readyz answers
  if (opts.compactHeap) compactHeap();
  let metricsServer: PlainServer | undefined;
  if (opts.metricsPort !== undefined) {
    // the webhook port's deadline too: a request that trickles in is answered or dropped within 10 s,
    // so 32 slow clients cannot keep Prometheus out for Node's default 5 minutes
    metricsServer = http.createServer(HTTP_DEADLINE, (req, res) => {
      if (req.method === 'GET' && req.url === '/metrics') {
        void exposition().then((m) => res.writeHead(200, { 'content-type': m.contentType }).end(m.body));
      } else res.writeHead(404).end();
    });
    closeSilentConnections(metricsServer, 'connection', 2 * REQUEST_TIMEOUT_MS);
    limits.push(limitConnections(metricsServer, { max: METRICS_MAX_CONNECTIONS, name: 'metrics', flag: 'fixed for --metrics-port', logger, onDrop: () => metrics.connectionDropped('metrics') }));
    await listen(metricsServer, opts.metricsPort, opts.host, '--metrics-port');
  }
  const stops: (() => void)[] = [];
  if (opts.watch !== false) {
    stops.push(policy.watch(logger));
    const w = watchServingCertificate(opts.certsDir, server, logger);
    stops.push(() => w.close());
  }
  // the Node flags say whether this process runs with the image's (docs/install.md): `node … dist/main.js serve` by hand may not
  logger.info({ address: bound.address, port, certsDir: opts.certsDir, nodeFlags: process.execArgv }, `driftgate listening on ${listenUrl(opts.host, bound, '/validate')}`);
  return {
    server,
    port,
    metricsServer,
    policy,
    store,
    close: async () => {
      for (const stop of stops) stop();
      for (const limit of limits) limit.stop();
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (metricsServer) await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      landingCheck?.stop();
      scanner?.stop();
      expiryLog.stop();
      selfManaged?.stop();
      await cluster?.close();
      await gitops?.close();
      await leader?.stop();
      await people.close();
      await store.close();
    },
  };
}
