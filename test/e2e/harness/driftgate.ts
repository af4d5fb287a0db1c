/**
 * driftgate as a user runs it: `node src/main.ts serve …` (the project's Node), its CLI, and the
 * webhook registered from deploy/ with only clientConfig changed (URL + caBundle instead of the Service).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments, stringify } from 'yaml';
import { onExit, ROOT, who, type Cluster, type Result } from './cluster.ts';

const MAIN = join(ROOT, 'src', 'main.ts');

/** How kubectl prints a denial by driftgate's namespaced webhook. */
export const DENIED = /admission webhook "validate\.driftgate\.io" denied the request: driftgate: /;

export interface DriftgateOptions {
  readonly port: number;
  readonly dataDir: string;
  readonly certsDir: string;
  readonly config: string;
  /** extra `serve` flags */
  readonly args?: readonly string[];
  /** the kubeconfig driftgate uses (admin's, or one holding a service-account token) */
  readonly kubeconfig: string;
}

/** One driftgate process; its output is kept for assertions (and printed when it fails to start). */
export class Driftgate {
  readonly o: DriftgateOptions;
  #child: ChildProcess | undefined;
  #log = '';

  constructor(o: DriftgateOptions) {
    this.o = o;
    onExit(() => this.#child?.kill('SIGKILL'));
  }

  get url(): string {
    return `https://127.0.0.1:${this.o.port}`;
  }

  get ca(): string {
    return join(this.o.certsDir, 'ca.crt');
  }

  /** Everything the process printed (stdout and stderr), across restarts. */
  get log(): string {
    return this.#log;
  }

  async start(): Promise<void> {
    const args = ['serve', `--config=${this.o.config}`, `--port=${this.o.port}`, '--host=127.0.0.1', `--data-dir=${this.o.dataDir}`, `--certs-dir=${this.o.certsDir}`, ...(this.o.args ?? [])];
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, KUBECONFIG: this.o.kubeconfig, DRIFTGATE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    child.stdout!.on('data', (d: Buffer) => (this.#log += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (this.#log += d.toString('utf8')));
    for (let i = 0; i < 300; i++) {
      if (child.exitCode !== null) throw new Error(`driftgate exited with ${child.exitCode}:\n${this.#log}`);
      if ((await this.get('/readyz').catch(() => undefined))?.status === 200) return;
      await sleep(100);
    }
    throw new Error(`driftgate did not become ready in 30 s:\n${this.#log}`);
  }

  /** SIGTERM, then SIGKILL after 5 s. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  /** kill -9: the outage case. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  get(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.url), { ca: readFileSync(this.ca), timeout: 2_000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }

  /** The CLI's `-o json` output of a command that must succeed. */
  static json<T>(r: Result): T {
    if (r.status !== 0) throw new Error(`driftgate exited with ${r.status}: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as T;
  }

  /** The driftgate CLI against this server (`driftgate grant …`, `driftgate tasks …`). */
  cli(args: readonly string[], env: Readonly<Record<string, string>> = {}): Result {
    const r = spawnSync(process.execPath, [MAIN, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, DRIFTGATE_SERVER: this.url, DRIFTGATE_CA: this.ca, DRIFTGATE_CLI_CONFIG: '/nonexistent', ...env },
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }
}

/** The manifests of an overlay, as kubectl kustomize renders them. */
export function render(overlay: string): Record<string, unknown>[] {
  const r = spawnSync('kubectl', ['kustomize', join(ROOT, 'deploy', 'overlays', overlay)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${overlay}: ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, unknown>);
}

type Webhook = { name: string; clientConfig: Record<string, unknown> };
type WebhookConfiguration = { kind: string; metadata: { name: string }; webhooks: Webhook[] };

/** The shipped ValidatingWebhookConfiguration, with clientConfig → URL + caBundle and nothing else changed. */
export function webhookConfiguration(url: string, caFile: string): string {
  const config = render('ha').find((o) => o.kind === 'ValidatingWebhookConfiguration') as WebhookConfiguration | undefined;
  if (!config) throw new Error('deploy/overlays/ha renders no ValidatingWebhookConfiguration');
  const caBundle = readFileSync(caFile).toString('base64');
  for (const w of config.webhooks) w.clientConfig = { url: `${url}/validate`, caBundle };
  return stringify(config);
}

/**
 * Registers the webhook and waits until the API server calls it: a probe write that driftgate denies
 * (`probe` returns true once the write is refused by the webhook).
 */
export async function registerWebhook(cluster: Cluster, dg: Driftgate, probe: () => boolean): Promise<void> {
  cluster.apply(webhookConfiguration(dg.url, dg.ca), { as: who.breakGlassAdmin });
  await until(probe, 'the API server did not start calling the webhook within 20 s');
}

/** Polls `done` (every 100 ms, up to 20 s: the API server picks up configuration asynchronously). */
export async function until(done: () => boolean, failure: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (done()) return;
    await sleep(100);
  }
  throw new Error(failure);
}

/** Deletes the webhook configuration and waits until the API server stops calling it. */
export async function unregisterWebhook(cluster: Cluster, gone: () => boolean): Promise<void> {
  cluster.ok(['delete', 'validatingwebhookconfiguration', 'driftgate'], { as: who.breakGlassAdmin });
  await until(gone, 'the API server kept calling the webhook 20 s after its configuration was deleted');
}

/** E2E_LOGS=DIR keeps driftgate's and the API server's logs (and the audit log) for a look after the run. */
export function keepLogs(cluster: Cluster | undefined, dg: Driftgate | undefined, name = 'e2e'): void {
  const dir = process.env.E2E_LOGS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  if (dg) writeFileSync(join(dir, `${name}-driftgate.log`), dg.log);
  for (const f of ['apiserver.log', 'audit.log', 'etcd.log']) {
    const from = cluster ? join(cluster.dir, 'run', f) : '';
    if (from && existsSync(from)) copyFileSync(from, join(dir, `${name}-${f}`));
  }
}
