import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { createLogger } from '../../src/log.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { ATTACKS, bigManagedFields } from '../helpers/attacks.ts';
import { tempDir } from '../helpers/tmp.ts';

interface Reply {
  status: number;
  body: { response: { uid: string; allowed: boolean; warnings?: string[]; status?: { code: number; message: string } } };
}

function post(port: number, ca: string, body: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: 'localhost', port, path: '/validate?timeout=5s', method: 'POST', ca, agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the gate against hostile reviews over real TLS (issue 10 items 1-6, 10)', () => {
  let server: RunningServer;
  let ca: string;
  let dir: string;

  before(async () => {
    dir = tempDir('driftgate-attacks-');
    const certsDir = join(dir, 'certs');
    server = await startServer({ port: 0, host: '127.0.0.1', dataDir: join(dir, 'data'), certsDir, logger: createLogger('silent') });
    ca = readFileSync(join(certsDir, 'ca.crt'), 'utf8');
  });
  after(async () => server.close());

  for (const [cls, cases] of Object.entries(ATTACKS)) {
    it(`decides every ${cls} case as the unit table does`, async () => {
      for (const c of cases.filter((x) => !x.policy)) {
        const res = await post(server.port, ca, c.body);
        assert.equal(res.status, 200, c.name);
        assert.equal(res.body.response.uid, 'uid-test', c.name);
        assert.equal(res.body.response.allowed, c.want !== 'denied', `${c.name}: ${res.body.response.status?.message ?? ''}`);
        if (c.want === 'denied') assert.equal(res.body.response.status?.code, 403, c.name);
        if (c.guarded) assert.ok(res.body.response.status?.message.includes(c.guarded), `${c.name}: ${res.body.response.status?.message}`);
        if (c.want === 'warned') assert.ok((res.body.response.warnings ?? []).length > 0, c.name);
      }
    });
  }

  it('answers a CREATE and a DELETE with 4,000 env vars in the GitOps entry', async () => {
    const created = await post(server.port, ca, bigManagedFields(4000, 'CREATE'));
    assert.equal(created.body.response.allowed, false);
    // denied once certain (no grant): five listed, the other 8,000 fields never read
    assert.match(created.body.response.status!.message, /More than 5 guarded change\(s\)/);
    assert.match(created.body.response.status!.message, /…and more \(not all read/);
    const deleted = await post(server.port, ca, bigManagedFields(4000, 'DELETE'));
    assert.equal(deleted.body.response.allowed, false);
    assert.match(deleted.body.response.status!.message, /deleting Deployment prod\/api is denied/);
  });

  it('shows Secret values only as a hash keyed by the installation key it keeps with the signing keys', async () => {
    const key = readFileSync(join(dir, 'data', 'keys', 'secret-hash.key'), 'utf8');
    assert.ok(Buffer.from(key, 'base64').length >= 32);
    const res = await post(server.port, ca, ATTACKS['prototype-named keys (item 4)']![0]!.body);
    assert.match(res.body.response.status!.message, /<secret hmac-sha256:[0-9a-f]{16}>/);
    assert.doesNotMatch(res.body.response.status!.message, /ZXZpbA==|czNjcmV0/);
  });
});
