import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { issueDevToken } from '../../src/auth/authenticator.ts';
import { createLogger } from '../../src/log.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { generateCertificates, writeCertificates } from '../../src/tls/certs.ts';
import { fixtureText } from '../helpers/reviews.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeApiServer } from './fake-apiserver.ts';
import { writeKubeconfig } from './kubeconfig.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers read field by field in assertions
type Json = Record<string, any>;

const POLICY = fileURLToPath(new URL('../../examples/driftgate.yaml', import.meta.url));

function call(port: number, ca: string, method: string, path: string, body?: string, token?: string): Promise<{ status: number; json: Json }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, path, method, ca, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } }, (res) => {
      let s = '';
      res.on('data', (d: Buffer) => (s += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: s ? JSON.parse(s) : {} }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('two driftgate replicas on one Kubernetes API', () => {
  let api: FakeApiServer;
  let a: RunningServer;
  let b: RunningServer;
  let ca: string;
  let dir: string;

  before(async () => {
    api = new FakeApiServer();
    const server = await api.start();
    dir = tempDir('driftgate-ha-');
    const kubeconfig = writeKubeconfig(dir, server);
    process.env.KUBECONFIG = kubeconfig;
    const certs = join(dir, 'certs');
    writeCertificates(certs, generateCertificates({ service: 'driftgate', namespace: 'driftgate', days: 1 }));
    ca = readFileSync(join(certs, 'ca.crt'), 'utf8');
    // Both replicas take the signing keys from the Secret driftgate-signing-keys (created by the first).
    const replica = (name: string) =>
      startServer({ config: POLICY, port: 0, host: '127.0.0.1', dataDir: join(dir, name), certsDir: certs, logger: createLogger('silent'), watch: false, store: 'kubernetes', storeNamespace: 'driftgate' });
    a = await replica('a');
    b = await replica('b');
  });
  after(async () => {
    await Promise.all([a.close(), b.close()]);
    await api.stop();
    delete process.env.KUBECONFIG;
  });

  it('are ready once their caches synced', async () => {
    assert.equal((await call(a.port, ca, 'GET', '/readyz')).status, 200);
    assert.equal((await call(b.port, ca, 'GET', '/readyz')).status, 200);
  });

  it('honour on replica B a grant requested through replica A, and both see the task', async () => {
    const token = await issueDevToken(join(dir, 'a'), 'alice', ['oncall'], 600);
    const body = fixtureText('09-alice-set-image-deployment.json');
    assert.equal((await call(b.port, ca, 'POST', '/validate', body)).json.response.allowed, false);
    const grant = await call(a.port, ca, 'POST', '/v1/grants', JSON.stringify({ namespace: 'prod', resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }], reason: 'ha', incident: 'INC-8' }), token);
    assert.equal(grant.status, 201);
    let allowed: Json = {};
    for (let i = 0; i < 100 && !allowed.allowed; i += 1) {
      allowed = (await call(b.port, ca, 'POST', '/validate', body)).json.response;
      if (!allowed.allowed) await sleep(20);
    }
    assert.equal(allowed.allowed, true);
    const taskId = allowed.auditAnnotations.task;
    const tokenB = await issueDevToken(join(dir, 'b'), 'alice', ['oncall'], 600);
    for (const [port, t] of [[a.port, token], [b.port, tokenB]] as const) {
      let task = await call(port, ca, 'GET', `/v1/tasks/${taskId}`, undefined, t);
      for (let i = 0; i < 100 && task.status !== 200; i += 1) {
        await sleep(20);
        task = await call(port, ca, 'GET', `/v1/tasks/${taskId}`, undefined, t);
      }
      assert.equal(task.json.grantId, grant.json.id);
    }
    // a retry of the same admission on the other replica is the same task
    assert.equal((await call(a.port, ca, 'POST', '/validate', body)).json.response.auditAnnotations.task, taskId);
  });
});
