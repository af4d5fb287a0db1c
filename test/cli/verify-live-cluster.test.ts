/**
 * `tasks verify --live-from-cluster`: the live evidence a revert needs, read from the cluster with the
 * kubeconfig context (here the API test double) instead of a kubectl dump.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer } from '../../src/server.ts';
import { createLogger } from '../../src/log.ts';
import { runCli as cli } from '../helpers/cli.ts';
import { fixtureText } from '../helpers/reviews.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeApiServer } from '../k8s/fake-apiserver.ts';
import { writeKubeconfig } from '../k8s/kubeconfig.ts';

const POLICY = fileURLToPath(new URL('../../examples/driftgate.yaml', import.meta.url));

function validate(port: number, ca: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, path: '/validate', method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body);
  });
}

type Spec = Record<string, unknown>;

describe('driftgate tasks verify --live-from-cluster', () => {
  let server: RunningServer;
  let api: FakeApiServer;
  let dir: string;
  let env: Record<string, string>;
  let kubeconfig: string;
  let git: string;
  const review = JSON.parse(fixtureText('09-alice-set-image-deployment.json')) as { request: { oldObject: { spec: Spec }; object: { spec: Spec } } };
  const deployment = (spec: Spec) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'prod' }, spec });

  before(async () => {
    dir = tempDir('driftgate-verify-live-');
    api = new FakeApiServer();
    kubeconfig = writeKubeconfig(dir, await api.start());
    server = await startServer({ config: POLICY, port: 0, host: '127.0.0.1', dataDir: join(dir, 'data'), certsDir: join(dir, 'certs'), logger: createLogger('silent'), watch: false });
    const token = (await cli(['dev', 'token', '--user', 'alice', '--groups', 'oncall', '--data-dir', join(dir, 'data')], {})).stdout.trim();
    env = { DRIFTGATE_SERVER: `https://localhost:${server.port}`, DRIFTGATE_CA: join(dir, 'certs', 'ca.crt'), DRIFTGATE_TOKEN: token, DRIFTGATE_CLI_CONFIG: join(dir, 'none.yaml') };
    assert.equal((await cli(['grant', 'request', '-n', 'prod', 'deployment/api', '--reason', 'bad release', '--incident', 'INC-9'], env)).code, 0);
    assert.match(await validate(server.port, readFileSync(env.DRIFTGATE_CA!, 'utf8'), fixtureText('09-alice-set-image-deployment.json')), /"allowed":true/);
    git = join(dir, 'git');
    mkdirSync(git);
    writeFileSync(join(git, 'api.json'), JSON.stringify(deployment(review.request.oldObject.spec))); // Git kept the old image
  });
  after(async () => {
    await server.close();
    await api.stop();
  });

  it('keeps the task pending while the cluster still runs the bypass', async () => {
    api.put('deployments', deployment(review.request.object.spec));
    const r = await cli(['tasks', 'verify', '--desired', git, '--live-from-cluster', '--kubeconfig', kubeconfig, '--dry-run'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /still pending[\s\S]*live still differs from Git/);
  });

  it('closes it as reverted once the cluster runs what Git says', async () => {
    api.put('deployments', deployment(review.request.oldObject.spec)); // Argo CD synced it back
    const r = await cli(['tasks', 'verify', '--desired', git, '--live-from-cluster', '--kubeconfig', kubeconfig, '-o', 'json'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { results: { verdict: string; explanation: string[] }[]; resolved: string[] };
    assert.equal(out.resolved.length, 1);
    assert.equal(out.results[0]!.verdict, 'reverted');
    assert.match(out.results[0]!.explanation.join('\n'), /live equals Git again/);
  });

  it('refuses --live together with --live-from-cluster, and a kubeconfig it cannot read', async () => {
    const both = await cli(['tasks', 'verify', '--desired', git, '--live', git, '--live-from-cluster'], env);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /option '--live-from-cluster' cannot be used with option '--live <path>'/);
    const missing = await cli(['tasks', 'verify', '--desired', git, '--live-from-cluster', '--kubeconfig', join(dir, 'nope')], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read kubeconfig .*nope/);
  });

  it('stops (exit 2, nothing closed) when the cluster cannot be read', async () => {
    const other = await cli(['grant', 'request', '-n', 'prod', 'deployment/api', '--reason', 'again', '--incident', 'INC-10'], env);
    assert.equal(other.code, 0, other.stderr);
    const again = JSON.parse(fixtureText('09-alice-set-image-deployment.json')) as { request: { uid: string } };
    again.request.uid = 'second-bypass';
    assert.match(await validate(server.port, readFileSync(env.DRIFTGATE_CA!, 'utf8'), JSON.stringify(again)), /"allowed":true/);
    api.unavailable = true;
    try {
      const r = await cli(['tasks', 'verify', '--desired', git, '--live-from-cluster', '--kubeconfig', kubeconfig], env);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /cannot read Deployment prod\/api from the cluster \(context test\): .*or pass --live with kubectl get -o yaml output/);
      assert.equal(r.stdout, '');
    } finally {
      api.unavailable = false;
    }
  });
});
