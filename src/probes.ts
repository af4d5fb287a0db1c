/**
 * GET /healthz and GET /readyz on node:http alone. The kubelet calls them every few seconds; answered
 * without express, the serving process loads express (with the break-glass API and the console) only
 * when one of those is first used (docs/benchmarks.md: serving-process memory). The answers are the
 * ones express gave: status, JSON body, content type and length; HEAD gets the headers alone. Paths
 * match as express's default routing matches them (any case, one optional trailing slash, any query).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Readiness {
  /** reasons the server is not ready; empty when ready */
  notReady(): string[];
}

function probeOf(url: string): 'healthz' | 'readyz' | undefined {
  const query = url.indexOf('?');
  let path = (query < 0 ? url : url.slice(0, query)).toLowerCase();
  if (path.endsWith('/')) path = path.slice(0, -1);
  return path === '/healthz' ? 'healthz' : path === '/readyz' ? 'readyz' : undefined;
}

/** Answers a liveness or readiness probe and returns true; returns false for every other request. */
export function answerProbe(req: IncomingMessage, res: ServerResponse, readiness: Readiness): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const probe = probeOf(req.url ?? '');
  if (!probe) return false;
  const reasons = probe === 'readyz' ? readiness.notReady() : [];
  const answer = probe === 'healthz' ? { status: 'ok' } : reasons.length === 0 ? { status: 'ready' } : { status: 'not ready', reasons };
  const body = JSON.stringify(answer);
  res.writeHead(reasons.length === 0 ? 200 : 503, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
