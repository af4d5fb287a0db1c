/**
 * A real, throwaway control plane for the end-to-end suite: etcd + kube-apiserver started by
 * ../shared/kube/start-cluster.sh (or KUBE_APISERVER / KUBE_CLUSTER_SCRIPTS), driven with kubectl.
 *
 * Without the binaries the suite skips with one line; with CI=true a missing binary is a failure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../../helpers/tmp.ts';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Where start-cluster.sh lives: KUBE_CLUSTER_SCRIPTS, else ../shared/kube beside the clone. */
const SCRIPTS = process.env.KUBE_CLUSTER_SCRIPTS ?? join(ROOT, '..', 'shared', 'kube');

function onPath(bin: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * The reason the suite cannot run here, or undefined when it can. CI=true turns a reason into a
 * thrown error: in CI a missing binary must fail, never skip.
 */
export function missingPrerequisite(): string | undefined {
  const apiserver = process.env.KUBE_APISERVER ?? join(SCRIPTS, 'bin', 'kube-apiserver');
  const reason = !existsSync(join(SCRIPTS, 'start-cluster.sh'))
    ? `no start-cluster.sh in ${SCRIPTS} (set KUBE_CLUSTER_SCRIPTS)`
    : !existsSync(apiserver)
      ? `no kube-apiserver at ${apiserver} (set KUBE_APISERVER)`
      : !(process.env.ETCD ?? onPath('etcd'))
        ? 'no etcd on PATH (Debian: apt-get install -y etcd-server)'
        : !onPath('kubectl')
          ? 'no kubectl on PATH'
          : undefined;
  if (reason && process.env.CI === 'true') throw new Error(`e2e: ${reason}; CI=true requires a real API server`);
  return reason;
}

/** Runs `stop` when this test process ends, also on Ctrl-C or SIGTERM (nothing is left running). */
export function onExit(stop: () => void): void {
  process.once('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stop();
      process.exit(130);
    });
  }
}

/** A free TCP port on loopback (and, when `span` > 1, the ports after it too), in 20000–60000. */
export async function freePort(span = 1): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    let ok = true;
    for (let i = 0; i < span && ok; i++) ok = await free(port + i);
    if (ok) return port;
  }
}

export interface Result {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KubectlOptions {
  readonly as?: readonly string[];
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** Who runs a kubectl command: a kubeconfig context, or admin impersonating a service account. */
export const who = {
  admin: ['--context', 'admin'],
  /** an administrator acting deliberately in the break-glass group, as deploy/self-protection requires for driftgate's own objects */
  breakGlassAdmin: ['--context', 'admin', '--as=admin', '--as-group=system:masters', '--as-group=driftgate-break-glass'],
  alice: ['--context', 'alice'],
  bob: ['--context', 'bob'],
  argocd: serviceAccount('argocd', 'argocd-application-controller'),
  argocdServer: serviceAccount('argocd', 'argocd-server'),
  kustomizeController: serviceAccount('flux-system', 'kustomize-controller'),
  helmController: serviceAccount('flux-system', 'helm-controller'),
  hpa: serviceAccount('kube-system', 'horizontal-pod-autoscaler'),
} as const;

function serviceAccount(ns: string, name: string): string[] {
  return ['--context', 'admin', `--as=system:serviceaccount:${ns}:${name}`, '--as-group=system:serviceaccounts', `--as-group=system:serviceaccounts:${ns}`];
}

export class Cluster {
  readonly dir: string;
  readonly kubeconfig: string;
  readonly port: number;
  #stopped = false;

  private constructor(dir: string, kubeconfig: string, port: number) {
    this.dir = dir;
    this.kubeconfig = kubeconfig;
    this.port = port;
  }

  static async start(): Promise<Cluster> {
    const dir = tempDir('driftgate-e2e-');
    const apiPort = await freePort();
    const etcdPort = await freePort(2);
    const r = spawnSync('bash', [join(SCRIPTS, 'start-cluster.sh'), dir, String(apiPort), String(etcdPort)], { encoding: 'utf8', timeout: 120_000 });
    const cluster = new Cluster(dir, r.stdout.trim(), apiPort);
    onExit(() => cluster.stop());
    if (r.status !== 0) {
      cluster.stop();
      throw new Error(`start-cluster.sh failed: ${r.stderr.trim()}`);
    }
    return cluster;
  }

  /** Runs kubectl; never throws (the caller asserts on status and output). */
  kubectl(args: readonly string[], o: KubectlOptions = {}): Result {
    const r = spawnSync('kubectl', [...(o.as ?? who.admin), ...args], {
      encoding: 'utf8',
      input: o.input,
      timeout: 60_000,
      env: { ...process.env, KUBECONFIG: this.kubeconfig, ...o.env },
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** kubectl that must succeed: returns stdout. */
  ok(args: readonly string[], o: KubectlOptions = {}): string {
    const r = this.kubectl(args, o);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  json<T = Record<string, unknown>>(args: readonly string[], o: KubectlOptions = {}): T {
    return JSON.parse(this.ok([...args, '-o', 'json'], o)) as T;
  }

  apply(manifest: string, o: KubectlOptions & { serverSide?: string } = {}): string {
    const ss = o.serverSide ? ['--server-side', `--field-manager=${o.serverSide}`] : [];
    return this.ok(['apply', ...ss, '-f', '-'], { ...o, input: manifest });
  }

  /** The static token of a user in the cluster's token file. */
  token(user: string): string {
    const line = readFileSync(join(this.dir, 'pki', 'tokens.csv'), 'utf8')
      .split('\n')
      .find((l) => l.split(',')[1] === user);
    if (!line) throw new Error(`no token for ${user}`);
    return line.split(',')[0]!;
  }

  /**
   * A kubeconfig that authenticates as a service account, with a token from `kubectl create token`
   * (how a pod's projected token works): the process runs with exactly the RBAC that account has.
   */
  serviceAccountKubeconfig(namespace: string, name: string, file: string): string {
    const token = this.ok(['-n', namespace, 'create', 'token', name, '--duration=2h']).trim();
    const admin = readFileSync(this.kubeconfig, 'utf8');
    const cluster = /^clusters:\n(?:[ -].*\n)+/m.exec(admin)![0];
    writeFileSync(
      file,
      `apiVersion: v1\nkind: Config\n${cluster}users:\n- name: sa\n  user:\n    token: ${token}\ncontexts:\n- name: sa\n  context:\n    cluster: test\n    user: sa\ncurrent-context: sa\n`,
      { mode: 0o600 },
    );
    return file;
  }

  /** The API server's audit events (JSON lines). */
  auditEvents(): AuditEvent[] {
    const file = join(this.dir, 'run', 'audit.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as AuditEvent);
  }

  apiserverLog(): string {
    return readFileSync(join(this.dir, 'run', 'apiserver.log'), 'utf8');
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    spawnSync('bash', [join(SCRIPTS, 'stop-cluster.sh'), this.dir], { timeout: 30_000 });
  }
}

export interface AuditEvent {
  auditID: string;
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number };
  annotations?: Record<string, string>;
}
