/**
 * The user-visible cost of the webhook: the same PATCH kubectl sends (`kubectl rollout restart`: a
 * strategic merge patch of the restartedAt annotation) timed through the real API server, with the
 * webhook registered and without it. Reported, never asserted (SPEC §9: no timed assertions).
 */
import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from './cluster.ts';

export interface Sample {
  readonly ms: number;
  readonly status: number;
  /** the API server's Warning header: present when driftgate answered with a warning */
  readonly warning: string | undefined;
}

export interface Summary {
  readonly n: number;
  readonly medianMs: number;
  readonly p99Ms: number;
}

export function summarize(samples: readonly Sample[]): Summary {
  const sorted = samples.map((s) => s.ms).sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { n: sorted.length, medianMs: round(at(0.5)), p99Ms: round(at(0.99)) };
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** `n` sequential PATCHes of Deployment NS/NAME as `user`, over one kept-alive connection (like a kubectl run's). */
export async function timePatches(cluster: Cluster, user: string, ns: string, name: string, n: number): Promise<Sample[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(join(cluster.dir, 'pki', 'ca.crt')) });
  const token = cluster.token(user);
  const samples: Sample[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const body = JSON.stringify({ spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() + i } } } } });
      const start = process.hrtime.bigint();
      const res = await new Promise<{ status: number; warning: string | undefined }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: cluster.port,
            method: 'PATCH',
            path: `/apis/apps/v1/namespaces/${ns}/deployments/${name}?fieldManager=kubectl-rollout`,
            agent,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/strategic-merge-patch+json', accept: 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (r) => {
            r.resume();
            r.on('end', () => resolve({ status: r.statusCode ?? 0, warning: r.headers.warning }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      samples.push({ ms: Number(process.hrtime.bigint() - start) / 1e6, ...res });
    }
  } finally {
    agent.destroy();
  }
  return samples;
}
