import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { issueDevToken } from '../../src/auth/authenticator.ts';
import { readJournal } from '../../src/store/journal.ts';
import { loadChainKey } from '../../src/keys/journal-key.ts';
import { generateCertificates, writeCertificates } from '../../src/tls/certs.ts';
import { freePort } from '../../bench/stats.ts';
import { fixtureJson } from '../helpers/reviews.ts';
import { tempDir } from '../helpers/tmp.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const POLICY = fileURLToPath(new URL('../../examples/driftgate.yaml', import.meta.url));

interface Reply {
  status: number;
  json: { response?: { allowed: boolean; auditAnnotations?: Record<string, string> } };
}

function call(port: number, agent: Agent, method: string, path: string, body: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, method, path, agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('no acknowledged task is lost on kill -9', () => {
  it('keeps every task the webhook acknowledged before the process was killed mid-burst', async () => {
    const dir = tempDir('driftgate-crash-');
    const certs = join(dir, 'certs');
    const bundle = generateCertificates({ service: 'driftgate', namespace: 'driftgate', days: 1 });
    writeCertificates(certs, bundle);
    const port = await freePort();
    const proc = spawn(process.execPath, [MAIN, 'serve', '--config', POLICY, '--host', '127.0.0.1', '--port', String(port), '--data-dir', join(dir, 'data'), '--certs-dir', certs, '--log-level', 'error'], { stdio: 'ignore' });
    const agent = new Agent({ keepAlive: true, ca: bundle.caCert, maxSockets: 16 });
    try {
      for (let i = 0; ; i += 1) {
        const up = await call(port, agent, 'GET', '/healthz', '').then((r) => r.status === 200, () => false);
        if (up) break;
        if (i > 200) throw new Error('server did not start');
        await sleep(50);
      }
      const token = await issueDevToken(join(dir, 'data'), 'alice', ['oncall'], 3600);
      const grant = await call(port, agent, 'POST', '/v1/grants', JSON.stringify({ namespace: 'prod', resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }], reason: 'crash test', incident: 'INC-9' }), { authorization: `Bearer ${token}` });
      assert.equal(grant.status, 201);

      const review = fixtureJson('10-alice-set-resources-deployment.json');
      const acknowledged: string[] = [];
      let killed = false;
      const burst = Array.from({ length: 400 }, async (_, i) => {
        await sleep(i % 50); // spread the burst a little
        const body = JSON.stringify({ ...review, request: { ...review.request, uid: `crash-${i}` } });
        try {
          const r = await call(port, agent, 'POST', '/validate', body);
          const task = r.json.response?.allowed ? r.json.response.auditAnnotations?.task : undefined;
          if (task) acknowledged.push(task);
          if (!killed && acknowledged.length >= 80) {
            killed = true;
            proc.kill('SIGKILL');
          }
        } catch {
          // requests in flight when the process died
        }
      });
      await Promise.all(burst);
      assert.ok(killed, 'the server was killed mid-burst');
      assert.ok(acknowledged.length >= 80);

      const reading = readJournal(readFileSync(join(dir, 'data', 'journal.jsonl'), 'utf8'), loadChainKey(join(dir, 'data', 'keys'), false));
      assert.deepEqual(reading.problems, []);
      const recorded = new Set(reading.entries.filter((e) => e.type === 'task.recorded').map((e) => (e.data as { task: { id: string } }).task.id));
      const lost = acknowledged.filter((id) => !recorded.has(id));
      assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged tasks missing`);
    } finally {
      agent.destroy();
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  });
});
