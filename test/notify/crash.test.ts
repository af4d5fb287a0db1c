/**
 * `driftgate serve` as its own process, killed with SIGKILL while the receiver is down: every grant
 * request it acknowledged is delivered after the restart, and delivered once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../bench/stats.ts';
import { issueDevToken } from '../../src/auth/authenticator.ts';
import { generateCertificates, writeCertificates } from '../../src/tls/certs.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Receiver, until } from './receiver.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

function call(port: number, agent: Agent, method: string, path: string, body = '', headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, method, path, agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('notifications across kill -9', () => {
  it('delivers every acknowledged event once after the server is killed while the receiver is down', async () => {
    const dir = tempDir('driftgate-notify-crash-');
    const receiver = await Receiver.start();
    receiver.status = 503;
    const certs = join(dir, 'certs');
    const bundle = generateCertificates({ service: 'driftgate', namespace: 'driftgate', days: 1 });
    writeCertificates(certs, bundle);
    writeFileSync(join(dir, 'secret'), 'crash-test-secret');
    writeFileSync(
      join(dir, 'driftgate.yaml'),
      `protectedNamespaces: [prod]
breakGlass: {maxOpenGrantsPerRequester: 12}
notifications:
  initialBackoff: 20ms
  maxBackoff: 100ms
  sinks: [{name: hooks, type: webhook, url: "${receiver.url()}", secretFile: "${join(dir, 'secret')}", events: [grant.requested]}]
`,
    );
    const agent = new Agent({ keepAlive: false, ca: bundle.caCert });
    const serve = async (): Promise<{ proc: ChildProcess; port: number }> => {
      const port = await freePort();
      const proc = spawn(process.execPath, [MAIN, 'serve', '--config', join(dir, 'driftgate.yaml'), '--host', '127.0.0.1', '--port', String(port), '--data-dir', join(dir, 'data'), '--certs-dir', certs, '--log-level', 'error'], { stdio: 'ignore' });
      for (let i = 0; ; i += 1) {
        if (await call(port, agent, 'GET', '/healthz').then((r) => r.status === 200, () => false)) return { proc, port };
        if (i > 400) throw new Error('server did not start');
        await sleep(50);
      }
    };
    try {
      const first = await serve();
      const token = await issueDevToken(join(dir, 'data'), 'alice', ['oncall'], 3600);
      const acknowledged: string[] = [];
      for (let i = 0; i < 12; i += 1) {
        const body = JSON.stringify({ namespace: 'prod', resources: [{ group: 'apps', kind: 'Deployment', name: `api-${i}` }], reason: `crash ${i}`, incident: 'INC-9' });
        const r = await call(first.port, agent, 'POST', '/v1/grants', body, { authorization: `Bearer ${token}` });
        assert.equal(r.status, 201);
        acknowledged.push(`grant.requested:${r.json.id as string}:alice`);
      }
      await until(() => receiver.deliveries.length >= 12, 'attempts against the down receiver');
      first.proc.kill('SIGKILL');
      await once(first.proc, 'exit');

      receiver.status = 200;
      const second = await serve();
      await until(() => receiver.accepted().size === 12, 'every acknowledged request delivered after the restart');
      second.proc.kill('SIGTERM'); // graceful: deliveries in flight are recorded before exit
      await once(second.proc, 'exit');
      const third = await serve(); // nothing left to send: the outbox knows every delivery finished
      const metrics = await new Promise<string>((resolve, reject) => {
        request({ host: '127.0.0.1', servername: 'localhost', port: third.port, path: '/metrics', agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        })
          .on('error', reject)
          .end();
      });
      assert.match(metrics, /driftgate_notifications_pending 0/);
      assert.match(metrics, /driftgate_notifications_dead_letters 0/);
      third.proc.kill('SIGTERM');
      await once(third.proc, 'exit');

      const accepted = receiver.accepted();
      assert.deepEqual([...accepted.keys()].sort(), [...acknowledged].sort());
      for (const [key, count] of accepted) assert.equal(count, 1, `${key} delivered ${count} times`);
    } finally {
      await receiver.close();
    }
  });
});
