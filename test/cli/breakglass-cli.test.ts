import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { request } from 'node:https';
import { startServer, type RunningServer } from '../../src/server.ts';
import { createLogger } from '../../src/log.ts';
import { KeyRing } from '../../src/keys/key-ring.ts';
import { tokenProblem } from '../../src/grants/token.ts';
import { fixtureText } from '../helpers/reviews.ts';
import { tempDir } from '../helpers/tmp.ts';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const POLICY = fileURLToPath(new URL('../../examples/driftgate.yaml', import.meta.url));

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, cwd: tempDir('driftgate-clicwd-') });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function validate(port: number, ca: string, body: string): Promise<{ response: { allowed: boolean; warnings?: string[] } }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, path: '/validate', method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let s = '';
      res.on('data', (d: Buffer) => (s += d.toString()));
      res.on('end', () => resolve(JSON.parse(s)));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('driftgate grant / tasks against a running server', () => {
  let server: RunningServer;
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    dir = tempDir('driftgate-bgcli-');
    server = await startServer({ config: POLICY, port: 0, host: '127.0.0.1', dataDir: join(dir, 'data'), certsDir: join(dir, 'certs'), logger: createLogger('silent'), watch: false });
    const token = (await cli(['dev', 'token', '--user', 'alice', '--groups', 'oncall', '--data-dir', join(dir, 'data')], {})).stdout.trim();
    env = { DRIFTGATE_SERVER: `https://localhost:${server.port}`, DRIFTGATE_CA: join(dir, 'certs', 'ca.crt'), DRIFTGATE_TOKEN: token, DRIFTGATE_CLI_CONFIG: join(dir, 'none.yaml') };
  });
  after(async () => server.close());

  it('takes a responder from a denial to an allowed write and a task, in a few commands', async () => {
    const ca = readFileSync(env.DRIFTGATE_CA!, 'utf8');
    const body = fixtureText('09-alice-set-image-deployment.json');
    assert.equal((await validate(server.port, ca, body)).response.allowed, false);

    const req = await cli(['grant', 'request', '-n', 'prod', 'deploy/api', '--ttl', '30m', '--reason', 'bad image', '--incident', 'INC-3', '-o', 'json'], env);
    assert.equal(req.code, 0, req.stderr);
    const grant = JSON.parse(req.stdout) as { id: string; state: string };
    assert.equal(grant.state, 'active');

    const allowed = await validate(server.port, ca, body);
    assert.equal(allowed.response.allowed, true);
    assert.match(allowed.response.warnings![1]!, /task t-/);

    const list = await cli(['tasks', 'list'], env);
    assert.match(list.stdout, /pending +Deployment\/prod\/api +alice/);
    const id = /^(t-[0-9a-f]+)/m.exec(list.stdout)![1]!;
    const show = await cli(['tasks', 'show', id], env);
    assert.match(show.stdout, /spec\.template\.spec\.containers\[name=api\]\.image/);
    assert.match(show.stdout, /- "registry\.example\.com\/api:1\.2\.0"/);
    assert.match(show.stdout, /\+ "registry\.example\.com\/api:1\.3\.0"/);

    const shown = await cli(['grant', 'show', grant.id], env);
    assert.match(shown.stdout, /incident: +INC-3/);
    const revoked = await cli(['grant', 'revoke', grant.id, '--reason', 'done'], env);
    assert.match(revoked.stdout, /revoked/);
    const twice = await cli(['grant', 'revoke', grant.id], env);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /^driftgate: grant g-[0-9a-f]+ is already revoked \(CONFLICT\)/);
  });

  it('explains a refused request in one line and exits non-zero', async () => {
    const r = await cli(['grant', 'request', '-n', 'prod', 'deployment/api', '--reason', 'x'], env);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /incident reference is required/);
    const bad = await cli(['grant', 'request', '-n', 'prod', 'widget/api', '--reason', 'x'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown resource type "widget"/);
    const noToken = await cli(['grant', 'list'], { ...env, DRIFTGATE_TOKEN: '', KUBECONFIG: join(dir, 'no-kubeconfig') });
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /no token/);
    const down = await cli(['grant', 'list', '--server', 'https://127.0.0.1:1'], env);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach https:\/\/127\.0\.0\.1:1/);
  });

  it('takes the token from the current kubeconfig context when none is given', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://example.invalid"}}]\nusers: [{name: u, user: {token: "${env.DRIFTGATE_TOKEN}"}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`);
    const r = await cli(['grant', 'list', '-o', 'json'], { ...env, DRIFTGATE_TOKEN: '', KUBECONFIG: kubeconfig });
    assert.equal(r.code, 0, r.stderr);
  });

  it('reads server, CA and token from the CLI config file', async () => {
    const file = join(dir, 'cli.yaml');
    writeFileSync(file, `server: ${env.DRIFTGATE_SERVER}\nca: ${env.DRIFTGATE_CA}\ntoken: ${env.DRIFTGATE_TOKEN}\n`);
    const r = await cli(['grant', 'list', '-o', 'json'], { DRIFTGATE_CLI_CONFIG: file, DRIFTGATE_SERVER: '', DRIFTGATE_TOKEN: '', DRIFTGATE_CA: '' });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Array.isArray(JSON.parse(r.stdout)));
  });

  it('keeps signing keys private (0600) and verifies old grants after a key rotation', async () => {
    const keysDir = join(dir, 'data', 'keys');
    for (const f of readdirSync(keysDir)) assert.equal(statSync(join(keysDir, f)).mode & 0o777, 0o600);
    const before = await KeyRing.load(keysDir);
    const rotated = await cli(['keys', 'rotate', '--data-dir', join(dir, 'data')], {});
    assert.match(rotated.stdout, /new signing key/);
    const afterRotation = await KeyRing.load(keysDir);
    assert.notEqual(afterRotation.signing.kid, before.signing.kid);
    assert.equal(afterRotation.jwks().keys.length, 2);
    const old = server.store.listGrants({}, new Date())[0]!;
    assert.equal(await tokenProblem(old, afterRotation), undefined);
  });

  it('journal verify exits 0 on an intact journal and 1 on an edited one', async () => {
    const file = join(dir, 'data', 'journal.jsonl');
    const ok = await cli(['journal', 'verify', file], {});
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /keyed chain intact/);
    const copy = join(dir, 'edited.jsonl');
    writeFileSync(copy, readFileSync(file, 'utf8').replace('"reason":"bad image"', '"reason":"routine"'));
    const bad = await cli(['journal', 'verify', copy, '--keys-dir', join(dir, 'data', 'keys')], {});
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /VERIFICATION FAILED \(0 records trusted\)/);
    const nokey = await cli(['journal', 'verify', copy], {});
    assert.equal(nokey.code, 2);
    assert.match(nokey.stderr, /no journal chain key .*--keys-dir/);
  });
});
