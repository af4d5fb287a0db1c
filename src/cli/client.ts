/**
 * The CLI's connection to a driftgate server. Server, CA and token come from flags, then the
 * environment (DRIFTGATE_SERVER, DRIFTGATE_CA, DRIFTGATE_TOKEN), then a config file
 * (DRIFTGATE_CLI_CONFIG or ~/.config/driftgate/cli.yaml: server, ca, token), then defaults
 * (https://localhost:8443, certs/ca.crt when present).
 */
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { errorMessage } from '../errors.ts';
import { CliExit } from './exit.ts';

export interface ClientOptions {
  readonly server?: string;
  readonly token?: string;
  readonly ca?: string;
}

export interface Connection {
  readonly server: URL;
  readonly token: string | undefined;
  readonly ca: string | undefined;
}

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

export function resolveConnection(o: ClientOptions, env: NodeJS.ProcessEnv = process.env): Connection {
  const file = configFile(env);
  const server = first(o.server, env.DRIFTGATE_SERVER, file.server) ?? 'https://localhost:8443';
  const caPath = first(o.ca, env.DRIFTGATE_CA, file.ca) ?? (existsSync('certs/ca.crt') ? 'certs/ca.crt' : undefined);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new CliExit(2, `driftgate: --server "${server}" is not a URL`);
  }
  let ca: string | undefined;
  if (caPath) {
    try {
      ca = readFileSync(caPath, 'utf8');
    } catch (err) {
      throw new CliExit(2, `driftgate: cannot read CA bundle ${caPath}: ${errorMessage(err)}`);
    }
  }
  return { server: url, token: first(o.token, env.DRIFTGATE_TOKEN, file.token), ca };
}

/**
 * The current kubeconfig context's token, for a server that authenticates with TokenReview.
 * Static tokens and token files only; exec plugins and auth providers are not run.
 */
async function kubeconfigToken(): Promise<string | undefined> {
  try {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromDefault();
    const user = kc.getCurrentUser();
    if (user?.token) return user.token;
    if (user?.authProvider?.config?.['id-token']) return String(user.authProvider.config['id-token']);
  } catch {
    // no usable kubeconfig: fall through to the "no token" message
  }
  return undefined;
}

/** One API call; a non-2xx answer becomes a CliExit(1) with the server's own message. */
export async function call<T>(c: Connection, method: string, path: string, body?: unknown): Promise<T> {
  const token = c.token ?? (await kubeconfigToken());
  if (!token) {
    throw new CliExit(2, 'driftgate: no token: pass --token, set DRIFTGATE_TOKEN, put token: in the CLI config, or use a kubeconfig context with a token (for the local server: driftgate dev token --user NAME --groups oncall)');
  }
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = request(
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
            return reject(new CliExit(1, `driftgate: ${method} ${path}: HTTP ${res.statusCode}, not JSON`));
          }
          if ((res.statusCode ?? 500) >= 400) {
            const e = (json as { error?: { code?: string; message?: string } }).error;
            return reject(new CliExit(1, `driftgate: ${e?.message ?? `HTTP ${res.statusCode}`} (${e?.code ?? res.statusCode})`));
          }
          resolve(json as T);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out after 15 s')));
    req.on('error', (err) => reject(new CliExit(1, `driftgate: cannot reach ${c.server.origin}: ${errorMessage(err)}`)));
    req.end(payload);
  });
}
