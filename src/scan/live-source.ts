/**
 * Reading a live cluster with the caller's kubeconfig (@kubernetes/client-node): every scanned
 * collection in every protected namespace, listed in pages (`limit` + `continue`) and handed on page
 * by page, so memory holds one page, never the cluster. Objects are read as the API server's JSON
 * (client-node's typed models would turn timestamps into Dates and rename fields).
 */
import type { IncomingMessage, RequestOptions } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { isProtected } from '../admission/decide.ts';
import type { KubeObject } from '../admission/types.ts';
import { DriftgateError, errorMessage } from '../errors.ts';
import type { Policy } from '../policy/policy.ts';
import { collectionPath, type ScanKind } from './kinds.ts';
import { http, https } from '../util/builtin.ts';

export interface Page {
  readonly items: readonly KubeObject[];
  /** e.g. `deployments in prod` */
  readonly collection: string;
  /** `group/Kind` of the items */
  readonly kind: string;
}

interface ListBody {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly continue?: string };
  readonly items?: readonly KubeObject[];
}

class ApiError extends Error {
  readonly status: number;
  readonly body: ListBody & { message?: string };
  constructor(status: number, body: ListBody & { message?: string }) {
    super(body.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** One GET of JSON through the kubeconfig's credentials and TLS settings. */
export async function getJson(kc: KubeConfig, path: string): Promise<ListBody> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new DriftgateError('INPUT_INVALID', 'the kubeconfig has no current cluster: set a context (kubectl config use-context) or pass --kubeconfig');
  const url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  const opts: RequestOptions & { rejectUnauthorized?: boolean } = { method: 'GET', headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts as never);
  const send = url.protocol === 'http:' ? http.request : https.request;
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = send(url, opts, resolve);
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error('no answer within 60 s')));
    req.end();
  }).catch((err: unknown) => {
    throw new DriftgateError('INPUT_INVALID', `cannot reach the API server ${url.origin}: ${errorMessage(err)}`);
  });
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  let body: ListBody & { message?: string };
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ListBody;
  } catch {
    body = { message: `HTTP ${res.statusCode}: not JSON` };
  }
  if ((res.statusCode ?? 500) >= 300) throw new ApiError(res.statusCode ?? 500, body);
  return body;
}

function listFailure(what: string, err: unknown): DriftgateError {
  if (err instanceof DriftgateError) return err;
  const status = err instanceof ApiError ? err.status : undefined;
  const hint =
    status === 401 ? 'the kubeconfig credentials were refused: log in again'
    : status === 403 ? 'the scanning identity needs "list" on it (kubectl auth can-i list …)'
    : 'retry, or scan a dump: kubectl get -o json --show-managed-fields > dump.json';
  return new DriftgateError('INPUT_INVALID', `cannot list ${what}: ${errorMessage(err)}: ${hint}`);
}

/**
 * Every page of one collection. A continue token that expired (410) is followed by the token the API
 * server offers in its answer, as kubectl does: the rest of the list is then read at a newer version.
 */
export async function* listPages(kc: KubeConfig, kind: ScanKind, namespace: string | undefined, pageSize: number, onForbidden?: (message: string) => void): AsyncGenerator<Page> {
  const what = `${kind.plural}${namespace === undefined ? '' : ` in ${namespace}`}`;
  let token: string | undefined;
  do {
    const q = new URLSearchParams({ limit: String(pageSize), ...(token ? { continue: token } : {}) });
    let body: ListBody;
    try {
      body = await getJson(kc, `${collectionPath(kind, namespace)}?${q}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && token === undefined) return; // the kind is not served here
      if (err instanceof ApiError && err.status === 403 && onForbidden) return onForbidden(listFailure(what, err).message);
      if (err instanceof ApiError && err.status === 410 && err.body.metadata?.continue) {
        token = err.body.metadata.continue;
        continue;
      }
      throw listFailure(what, err);
    }
    // Items of a list carry no apiVersion and kind of their own: the list names them.
    const apiVersion = body.apiVersion ?? (kind.group ? `${kind.group}/${kind.version}` : kind.version);
    const itemKind = body.kind?.replace(/List$/, '') ?? '';
    const items = (body.items ?? []).map((o) => ({ ...o, apiVersion: o.apiVersion ?? apiVersion, kind: o.kind ?? itemKind }));
    yield { items, collection: what, kind: `${kind.group}/${itemKind}` };
    token = body.metadata?.continue || undefined;
  } while (token);
}

/** The namespaces to scan: the policy's names, plus those its selector matches; `only` narrows them. */
export async function protectedNamespaces(kc: KubeConfig, policy: Policy, only: readonly string[] | undefined, pageSize: number): Promise<{ scan: string[]; skipped: string[] }> {
  const found = new Set(policy.protectedNamespaces.names);
  if (policy.protectedNamespaces.matchLabels) {
    for await (const page of listPages(kc, { group: '', version: 'v1', plural: 'namespaces' }, undefined, pageSize)) {
      for (const ns of page.items) {
        const name = ns.metadata?.name;
        if (name && isProtected(name, policy, ns.metadata?.labels ?? {})) found.add(name);
      }
    }
  }
  if (!only || only.length === 0) return { scan: [...found].sort(), skipped: [] };
  return { scan: only.filter((n) => found.has(n)), skipped: only.filter((n) => !found.has(n)) };
}

/**
 * Every page of every scanned kind in every namespace, one page in memory at a time. With
 * `onForbidden`, a collection the identity may not list is skipped (and reported) instead of failing.
 */
export async function* livePages(kc: KubeConfig, kinds: readonly ScanKind[], namespaces: readonly string[], pageSize = 500, onForbidden?: (message: string) => void): AsyncGenerator<Page> {
  for (const ns of namespaces) for (const k of kinds) yield* listPages(kc, k, ns, pageSize, onForbidden);
}
