import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { issueDevToken } from '../../src/auth/authenticator.ts';
import { generateCertificates, writeCertificates } from '../../src/tls/certs.ts';
import { freePort } from '../../bench/stats.ts';
import { fixtureJson } from '../helpers/reviews.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeApiServer } from './fake-apiserver.ts';
import { writeKubeconfig } from './kubeconfig.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const POLICY = fileURLToPath(new URL('../../examples/driftgate.yaml', import.meta.url));

type Reply = { status: number; json: { id?: string; response?: { allowed: boolean; auditAnnotations?: Record<string, string> } } };

function call(port: number, agent: Agent, method: string, path: string, body: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, method, path, agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let s = '';
      res.on('data', (d: Buffer) => (s += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: s ? JSON.parse(s) : {} }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('Kubernetes store: a replica killed mid-burst loses no acknowledged task', () => {
  it('keeps in the API every task either replica acknowledged', async () => {
    const api = new FakeApiServer();
    const server = await api.start();
    const dir = tempDir('driftgate-replicas-');
    const kubeconfig = writeKubeconfig(dir, server);
    const certs = join(dir, 'certs');
    const bundle = generateCertificates({ service: 'driftgate', namespace: 'driftgate', days: 1 });
    writeCertificates(certs, bundle);
    const agent = new Agent({ keepAlive: true, ca: bundle.caCert, maxSockets: 16 });
    const procs: ChildProcess[] = [];
    try {
      const ports = [await freePort(), await freePort()];
      for (const [i, port] of ports.entries()) {
        procs.push(
          spawn(process.execPath, [MAIN, 'serve', '--store', 'kubernetes', '--store-namespace', 'driftgate', '--keys-dir', join(dir, 'keys'), '--config', POLICY, '--host', '127.0.0.1', '--port', String(port), '--data-dir', join(dir, `r${i}`), '--certs-dir', certs, '--log-level', 'error'], {
            stdio: 'ignore',
            env: { ...process.env, KUBECONFIG: kubeconfig },
          }),
        );
        // one at a time: the first creates the shared signing key
        for (let t = 0; ; t += 1) {
          if ((await call(port, agent, 'GET', '/readyz', '').catch(() => ({ status: 0 }) as Reply)).status === 200) break;
          if (t > 300) throw new Error(`replica ${i} did not become ready`);
          await sleep(50);
        }
      }
      const token = await issueDevToken(join(dir, 'r0'), 'alice', ['oncall'], 600);
      const grant = await call(ports[0]!, agent, 'POST', '/v1/grants', JSON.stringify({ namespace: 'prod', resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }], reason: 'crash test', incident: 'INC-9' }), { authorization: `Bearer ${token}` });
      assert.equal(grant.status, 201);

      const review = fixtureJson('10-alice-set-resources-deployment.json');
      const acknowledged: string[] = [];
      let killed = false;
      await Promise.all(
        Array.from({ length: 300 }, async (_, i) => {
          await sleep(i % 40);
          const port = ports[i % 2]!;
          const body = JSON.stringify({ ...review, request: { ...review.request, uid: `burst-${i}` } });
          for (let attempt = 0; attempt < 50; attempt += 1) {
            try {
              const r = await call(port, agent, 'POST', '/validate', body);
              const id = r.json.response?.allowed ? r.json.response.auditAnnotations?.task : undefined;
              if (id) acknowledged.push(id);
              else if (port === ports[1]) {
                await sleep(20); // replica B may not have seen the grant yet
                continue;
              }
              if (!killed && acknowledged.length >= 60) {
                killed = true;
                procs[0]!.kill('SIGKILL');
              }
              return;
            } catch {
              return; // in flight on the killed replica
            }
          }
        }),
      );
      assert.ok(killed);
      const lost = acknowledged.filter((id) => api.get('drifttasks', 'driftgate', id) === undefined);
      assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged tasks missing from the API`);
      assert.ok(acknowledged.length > 100, `only ${acknowledged.length} acknowledged`);
    } finally {
      agent.destroy();
      for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
      await api.stop();
    }
  });
});
