import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type RunningServer } from '../../src/server.ts';
import { createLogger } from '../../src/log.ts';
import { generateCertificates, writeCertificates } from '../../src/tls/certs.ts';
import { EXPECTED } from '../helpers/expected.ts';
import { fixtureJson, fixtureNames, fixtureText } from '../helpers/reviews.ts';

interface Reply {
  status: number;
  body: { response: { uid: string; allowed: boolean; status?: { code: number } } };
  serial: string;
}

function post(port: number, ca: string, body: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: 'localhost', port, path: '/validate?timeout=5s', method: 'POST', ca, agent: false, headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')), serial });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('driftgate serve over real TLS', () => {
  let server: RunningServer;
  let certsDir: string;
  let ca: string;

  before(async () => {
    const dir = tempDir('driftgate-it-');
    certsDir = join(dir, 'certs');
    server = await startServer({ port: 0, host: '127.0.0.1', dataDir: join(dir, 'data'), certsDir, logger: createLogger('silent'), watch: true });
    ca = readFileSync(join(certsDir, 'ca.crt'), 'utf8');
  });
  after(async () => server.close());

  it('generates a development CA and serving certificate on first start', () => {
    assert.match(ca, /BEGIN CERTIFICATE/);
  });

  it('decides every captured review over HTTPS, trusting only the generated CA', async () => {
    for (const name of fixtureNames()) {
      const res = await post(server.port, ca, fixtureText(name));
      assert.equal(res.status, 200, name);
      assert.equal(res.body.response.uid, fixtureJson(name).request.uid, name);
      assert.equal(res.body.response.allowed, EXPECTED[name]!.allowed, name);
    }
    const denied = await post(server.port, ca, fixtureText('09-alice-set-image-deployment.json'));
    assert.equal(denied.body.response.allowed, false);
    assert.equal(denied.body.response.status?.code, 403);
  });

  it('refuses a client that does not trust the CA', async () => {
    const other = generateCertificates({ service: 'x', namespace: 'y', days: 1 }).caCert;
    await assert.rejects(post(server.port, other, '{}'), /self-signed|unable to verify|certificate/);
  });

  it('serves a rotated certificate without a restart', async () => {
    const before = (await post(server.port, ca, fixtureText('13-alice-rollout-restart-deployment.json'))).serial;
    const next = generateCertificates({ service: 'driftgate', namespace: 'driftgate', days: 30 });
    writeCertificates(certsDir, next);
    let serial = before;
    for (let i = 0; i < 50 && serial === before; i += 1) {
      await sleep(100);
      serial = (await post(server.port, next.caCert, fixtureText('13-alice-rollout-restart-deployment.json')).catch(() => ({ serial: before }))).serial;
    }
    assert.notEqual(serial, before);
  });
});
