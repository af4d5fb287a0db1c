/**
 * The CLI's connection to a driftgate server. Server, CA and token come from flags, then the
 * environment (DRIFTGATE_SERVER, DRIFTGATE_CA, DRIFTGATE_TOKEN), then a config file
 * (DRIFTGATE_CLI_CONFIG or ~/.config/driftgate/cli.yaml: server, ca, token), then defaults:
 * https://localhost:8443; certs/ca.crt in the current directory or in the checkout the command runs
 * from, else the system's CAs; with no token, the credentials of the kubeconfig context, obtained as
 * kubectl does (static tokens, token files, exec plugins, auth providers; --kubeconfig, --context).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { errorMessage } from '../errors.ts';
import { CliExit } from './exit.ts';
import { https } from '../util/builtin.ts';

export interface ClientOptions {
  readonly server?: string;
  readonly token?: string;
  readonly ca?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
}

export interface Connection {
  readonly server: URL;
  readonly token: string | undefined;
  readonly ca: string | undefined;
  /** where the CA came from, for messages: a file, or the system's CAs */
  readonly caFrom: string;
  /** where to take credentials from when no token is given */
  readonly kube: { readonly kubeconfig?: string; readonly context?: string };
}

/** The certs/ directory `npm start` writes in the checkout this CLI runs from (absent when installed). */
const CHECKOUT_CA = fileURLToPath(new URL('../../certs/ca.crt', import.meta.url));

function configFile(env: NodeJS.ProcessEnv): Partial<Record<'server' | 'token' | 'ca', string>> {
  const file = env.DRIFTGATE_CLI_CONFIG || join(homedir(), '.config', 'driftgate', 'cli.yaml');
  if (!existsSync(file)) return {};
  try {
    const v: unknown = parseYaml(readFileSync(file, 'utf8'));
    return typeof v === 'object' && v !== null ? (v as Record<string, string>) : {};
  } catch (err) {
    throw new CliExit(2, `driftgate: cannot read CLI config ${file}: ${errorMessage(err)}`);
  }
}

/** The first value that is set; an empty string (e.g. `DRIFTGATE_SERVER=`) counts as unset. */
function first(...values: (string | undefined)[]): string | undefined {
  return values.find((v) => v !== undefined && v !== '');
}

/** `https://host:port` as a URL; anything else (`localhost:8443`, `host`) is a usage error saying so. */
export function serverUrl(server: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(server);
  } catch {
    url = undefined;
  }
  if (url?.protocol === 'https:' || url?.protocol === 'http:') return url;
  const guess = /^[\w.-]+(:\d+)?$/.test(server) ? `: use https://${server}` : ', e.g. https://driftgate.example.com:8443';
  throw new CliExit(2, `driftgate: --server "${server}" is not a URL; it needs the scheme${guess}`);
}

export function resolveConnection(o: ClientOptions, env: NodeJS.ProcessEnv = process.env): Connection {
  const file = configFile(env);
  const server = serverUrl(first(o.server, env.DRIFTGATE_SERVER, file.server) ?? 'https://localhost:8443');
  const caPath = first(o.ca, env.DRIFTGATE_CA, file.ca) ?? ['certs/ca.crt', CHECKOUT_CA].find((f) => existsSync(f));
  let ca: string | undefined;
  if (caPath) {
    try {
      ca = readFileSync(caPath, 'utf8');
    } catch (err) {
      throw new CliExit(2, `driftgate: cannot read CA bundle ${caPath}: ${errorMessage(err)} (--ca, DRIFTGATE_CA)`);
    }
  }
  return {
    server,
    token: first(o.token, env.DRIFTGATE_TOKEN, file.token),
    ca,
    caFrom: caPath ?? "the system's CAs",
    kube: { ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}), ...(o.context ? { context: o.context } : {}) },
  };
}

const NO_TOKEN =
  'driftgate: no token: pass --token, set DRIFTGATE_TOKEN, put token: in the CLI config, or use a kubeconfig context with credentials (--kubeconfig, --context); for the local server: driftgate dev token --user NAME --groups oncall';

/**
 * The bearer token of the kubeconfig context, obtained the way kubectl does it (client-node runs exec
 * plugins such as aws, gke-gcloud-auth-plugin, kubelogin, and refreshes auth-provider tokens). Only
 * the Authorization header is kept: the cluster's CA and client certificate are for the Kubernetes
 * API, not for driftgate.
 */
async function kubeconfigToken(kube: Connection['kube'], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const kc = await loadKubeConfig(kube, env);
  if (!kc) return undefined;
  const opts: RequestOptions = { headers: {} };
  try {
    await kc.applyToHTTPSOptions(opts);
  } catch (err) {
    throw new CliExit(1, `driftgate: the kubeconfig context "${kc.getCurrentContext()}" could not produce credentials: ${errorMessage(err)} (log in again with your cluster's tool, e.g. the exec plugin named in the kubeconfig)`);
  }
  const headers = opts.headers as Record<string, string | undefined>;
  const m = /^Bearer\s+(\S+)$/i.exec(headers.Authorization ?? headers.authorization ?? '');
  return m?.[1];
}

/** The kubeconfig (--kubeconfig, $KUBECONFIG, ~/.kube/config) at --context; undefined when there is none. */
export async function loadKubeConfig(kube: Connection['kube'], env: NodeJS.ProcessEnv = process.env): Promise<KubeConfig | undefined> {
  const file = kube.kubeconfig ?? (env.KUBECONFIG || join(homedir(), '.kube', 'config'));
  // No kubeconfig at all is undefined, not an error (and spares loading the Kubernetes client).
  if (!kube.kubeconfig && !file.split(':').some((f) => f && existsSync(f))) return undefined;
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    if (kube.kubeconfig) kc.loadFromFile(kube.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new CliExit(2, `driftgate: cannot read kubeconfig ${file}: ${errorMessage(err)}`);
  }
  if (kube.context) {
    if (!kc.getContextObject(kube.context)) {
      throw new CliExit(2, `driftgate: --context "${kube.context}" is not in the kubeconfig (contexts: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    }
    kc.setCurrentContext(kube.context);
  }
  return kc;
}

const TLS_TRUST = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_SIGNATURE_FAILURE']);
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET']);

/** A transport failure as one line that says what to do next. */
export function connectionProblem(c: Pick<Connection, 'server' | 'caFrom'>, err: unknown): string {
  const code = (err as { code?: string }).code ?? '';
  const at = c.server.origin;
  if (TLS_TRUST.has(code)) {
    return `driftgate: ${at} presents a certificate not signed by a CA this command trusts (${c.caFrom}; ${code}): pass the CA that signed it with --ca FILE or DRIFTGATE_CA (the local server's is certs/ca.crt where it runs; in a cluster, the webhook's caBundle)`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `driftgate: ${at}: the server's certificate is not issued for "${c.server.hostname}": use a name it lists in --server (driftgate certs show prints them)`;
  }
  if (code === 'CERT_HAS_EXPIRED') return `driftgate: ${at}: the server's certificate has expired: renew it (driftgate certs init, or --certs-mode self-managed)`;
  if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER') return `driftgate: ${at} does not speak TLS: is --server the driftgate HTTPS port (default 8443)?`;
  if (UNREACHABLE.has(code) || /timed out/.test(errorMessage(err))) {
    return `driftgate: cannot reach ${at} (${code || errorMessage(err)}): is driftgate running there? Point the CLI at it with --server URL or DRIFTGATE_SERVER`;
  }
  return `driftgate: cannot reach ${at}: ${errorMessage(err)}`;
}

const UNAUTHENTICATED_HINT =
  'get a new token and run the command again: for the local server `export DRIFTGATE_TOKEN=$(driftgate dev token --user NAME --groups oncall)`; with OIDC, your identity provider\'s login; with kubeconfig credentials, log in again with your cluster\'s tool (e.g. kubelogin, aws sso login, gcloud auth login, az login)';

/** One API call; a non-2xx answer becomes a CliExit(1) with the server's own message. */
export async function call<T>(c: Connection, method: string, path: string, body?: unknown, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const token = c.token ?? (await kubeconfigToken(c.kube, env));
  if (!token) throw new CliExit(2, NO_TOKEN);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = https.request(
      new URL(path, c.server),
      {
        method,
        ...(c.ca ? { ca: c.ca } : {}),
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : {};
          } catch {
            return reject(new CliExit(1, `driftgate: ${method} ${path}: HTTP ${res.statusCode}, not JSON: is ${c.server.origin} a driftgate server?`));
          }
          if ((res.statusCode ?? 500) >= 400) {
            const e = (json as { error?: { code?: string; message?: string } }).error;
            const hint = res.statusCode === 401 ? `; ${UNAUTHENTICATED_HINT}` : '';
            return reject(new CliExit(1, `driftgate: ${e?.message ?? `HTTP ${res.statusCode}`} (${e?.code ?? res.statusCode})${hint}`));
          }
          resolve(json as T);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out after 15 s')));
    req.on('error', (err) => reject(new CliExit(1, connectionProblem(c, err))));
    req.end(payload);
  });
}
