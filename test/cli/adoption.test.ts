/**
 * What a responder meets first: the kubectl plugin on the PATH, credentials from a kubeconfig exec
 * plugin, usage errors with one exit code, and connection errors that say what to do next.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer } from '../../src/server.ts';
import { createLogger } from '../../src/log.ts';
import { generateCertificates, writeCertificates } from '../../src/tls/certs.ts';
import { listenUrl } from '../../src/http/listen.ts';
import { tempDir } from '../helpers/tmp.ts';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src', 'main.ts');
const POLICY = join(ROOT, 'examples', 'driftgate.yaml');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** This test's Node (the project's Node 24) first on the PATH, as a responder's current Node would be. */
const NODE_DIR = dirname(process.execPath);

type Result = { code: number; stdout: string; stderr: string };

async function exec(file: string, args: string[], env: Record<string, string>, cwd = tempDir('driftgate-adopt-cwd-')): Promise<Result> {
  try {
    const r = await execFileAsync(file, args, { env: { ...process.env, ...env }, cwd });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const cli = (args: string[], env: Record<string, string>) => exec(process.execPath, [MAIN, ...args], env);

/** A node version on the PATH older than the launcher's minimum (the machine's /usr/bin/node, here). */
async function oldNode(): Promise<string | undefined> {
  for (const node of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(node)) continue;
    const v = (await execFileAsync(node, ['-p', 'process.versions.node'])).stdout.trim();
    const [major, minor] = v.split('.').map(Number) as [number, number];
    if (major < 22 || (major === 22 && minor < 19)) return node;
  }
  return undefined;
}

describe('the executables in bin/', { concurrency: true }, () => {
  it('run as a kubectl plugin from any directory: `kubectl breakglass` is `driftgate grant`', { skip: !existsSync('/usr/bin/kubectl') && 'no kubectl' }, async () => {
    const r = await exec('/usr/bin/kubectl', ['breakglass', '--help'], { PATH: `${join(ROOT, 'bin')}:${NODE_DIR}:/usr/bin:/bin` });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Usage: kubectl breakglass \[options\] \[command\]\n\nrequest, approve, revoke and inspect break-glass grants/);
    assert.match(r.stdout, /request \[options\] <resources\.\.\.>/);
    const list = await exec('/usr/bin/kubectl', ['plugin', 'list'], { PATH: `${join(ROOT, 'bin')}:/usr/bin:/bin` });
    assert.match(list.stdout, /bin\/kubectl-breakglass$/m);
  });

  it('print the package version', async () => {
    const r = await exec(join(ROOT, 'bin', 'driftgate'), ['--version'], { PATH: `${NODE_DIR}:/usr/bin:/bin` });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), VERSION);
  });

  it('in a checkout, run on the project\'s own Node when the machine\'s is too old', async (t) => {
    const node = await oldNode();
    if (!node) return t.skip('no Node older than 22.19 on this machine');
    if (!existsSync(join(ROOT, 'node_modules', 'node', 'bin', 'node'))) return t.skip('no node devDependency');
    const r = await exec(node, [join(ROOT, 'bin', 'driftgate'), '--version'], {});
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), VERSION);
  });

  it('elsewhere, refuse an old Node with what to install, exit 2', async (t) => {
    const node = await oldNode();
    if (!node) return t.skip('no Node older than 22.19 on this machine');
    const copy = tempDir('driftgate-adopt-bin-');
    cpSync(join(ROOT, 'bin'), join(copy, 'bin'), { recursive: true });
    const r = await exec(node, [join(copy, 'bin', 'kubectl-breakglass'), 'list'], {});
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^kubectl-breakglass: needs Node\.js 22\.19 or newer, but `node` on the PATH is v\d+/);
    assert.match(r.stderr, /Install a current Node\.js LTS/);
  });
});

describe('usage errors', { concurrency: true }, () => {
  const cases: { name: string; args: string[]; message: RegExp }[] = [
    { name: 'names an unknown option even when a required one is missing', args: ['grant', 'request', '-n', 'prod', 'deploy/api', '--reasn', 'x'], message: /unknown option '--reasn'\n\(Did you mean --reason\?\)/ },
    { name: 'names a missing required option', args: ['tasks', 'resolve', 't-1', '--evidence', 'x'], message: /required option '--as <state>' not specified/ },
    { name: 'names an unknown option of an offline command', args: ['review', '--bogus', 'x.json'], message: /unknown option '--bogus'/ },
    { name: 'names an unknown command', args: ['grnat', 'list'], message: /unknown command 'grnat'/ },
    { name: 'says a server without a scheme needs one', args: ['grant', 'list', '--server', 'localhost:8443', '--token', 'x'], message: /--server "localhost:8443" is not a URL; it needs the scheme: use https:\/\/localhost:8443/ },
  ];
  for (const c of cases) {
    it(`${c.name}, exit 2`, async () => {
      const r = await cli(c.args, { DRIFTGATE_CLI_CONFIG: '/nonexistent' });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, c.message);
    });
  }

  it('marks required options in --help', async () => {
    const r = await cli(['grant', 'request', '--help'], {});
    assert.match(r.stdout, /--reason <text> +why the change cannot wait for Git \(required\)/);
    assert.match(r.stdout, /-n, --namespace <ns> +namespace \(required\)/);
    assert.doesNotMatch(r.stdout, /--incident <id>.*\(required\)$/m);
  });
});

describe('the grant and task commands against a server', () => {
  let server: RunningServer;
  let dir: string;
  let env: Record<string, string>;
  let token: string;

  before(async () => {
    dir = tempDir('driftgate-adopt-');
    server = await startServer({ config: POLICY, port: 0, host: '127.0.0.1', dataDir: join(dir, 'data'), certsDir: join(dir, 'certs'), logger: createLogger('silent'), watch: false });
    token = (await cli(['dev', 'token', '--user', 'alice', '--groups', 'oncall', '--data-dir', join(dir, 'data')], {})).stdout.trim();
    env = { DRIFTGATE_SERVER: `https://localhost:${server.port}`, DRIFTGATE_CA: join(dir, 'certs', 'ca.crt'), DRIFTGATE_TOKEN: '', DRIFTGATE_CLI_CONFIG: join(dir, 'none.yaml'), KUBECONFIG: join(dir, 'none') };
  });
  after(async () => server.close());

  /** A kubeconfig whose context `cloud` gets its token from an exec plugin, as EKS, GKE, AKS and kubelogin do. */
  function execKubeconfig(): string {
    const plugin = join(dir, 'credential-plugin');
    const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token } });
    writeFileSync(plugin, `#!/bin/sh\ncat <<'EOF'\n${credential}\nEOF\n`);
    chmodSync(plugin, 0o755);
    const file = join(dir, 'exec-kubeconfig');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://example.invalid"}}]',
        'users:',
        `  - {name: sso, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: ${plugin}, interactiveMode: Never}}}`,
        '  - {name: stale, user: {token: stale-token}}',
        'contexts: [{name: cloud, context: {cluster: c, user: sso}}, {name: old, context: {cluster: c, user: stale}}]',
        'current-context: old',
        '',
      ].join('\n'),
    );
    return file;
  }

  it('takes the token from a kubeconfig exec plugin, with --kubeconfig and --context', async () => {
    const r = await cli(['grant', 'list', '-o', 'json', '--kubeconfig', execKubeconfig(), '--context', 'cloud'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
  });

  it('names a context the kubeconfig does not have', async () => {
    const r = await cli(['grant', 'list', '--kubeconfig', execKubeconfig(), '--context', 'prod'], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--context "prod" is not in the kubeconfig \(contexts: cloud, old\)/);
  });

  it('says how to get a new token when the server does not accept it', async () => {
    const r = await cli(['grant', 'list', '--kubeconfig', execKubeconfig()], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\(UNAUTHENTICATED\); get a new token and run the command again: for the local server `export DRIFTGATE_TOKEN=\$\(driftgate dev token/);
  });

  it('prints column headers on grant list and tasks list', async () => {
    const requested = await cli(['grant', 'request', '-n', 'prod', 'deployment/api', '--reason', 'r', '--incident', 'INC-9'], { ...env, DRIFTGATE_TOKEN: token });
    assert.equal(requested.code, 0, requested.stderr);
    const grants = (await cli(['grant', 'list'], { ...env, DRIFTGATE_TOKEN: token })).stdout.split('\n');
    assert.match(grants[0]!, /^ID +STATE +NAMESPACE +RESOURCES +REQUESTER +INCIDENT +EXPIRES$/);
    assert.match(grants[1]!, /^g-[0-9a-f]+ +active +prod +deployment\/api +alice +INC-9 +\d{4}-/);
    assert.equal(grants[0]!.indexOf('STATE'), grants[1]!.indexOf('active'));
    const tasks = await cli(['tasks', 'list'], { ...env, DRIFTGATE_TOKEN: token });
    assert.equal(tasks.stdout.trim(), 'no tasks');
  });

  it('says to pass --ca when the server\'s certificate is signed by another CA', async () => {
    const other = join(dir, 'other-ca');
    writeCertificates(other, generateCertificates({ service: 'x', namespace: 'y', days: 30 }));
    const r = await cli(['grant', 'list'], { ...env, DRIFTGATE_TOKEN: token, DRIFTGATE_CA: join(other, 'ca.crt') });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /presents a certificate not signed by a CA this command trusts \(.*other-ca\/ca\.crt; .*\): pass the CA that signed it with --ca FILE/);
    assert.doesNotMatch(r.stderr, /use-system-ca/);
  });

  it('asks whether driftgate is running when nothing listens', async () => {
    const r = await cli(['grant', 'list', '--server', 'https://127.0.0.1:1'], { ...env, DRIFTGATE_TOKEN: token });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\): is driftgate running there\? Point the CLI at it with --server URL/);
  });
});

describe('serve: the address', () => {
  it('names --port when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const dir = tempDir('driftgate-adopt-busy-');
    try {
      await assert.rejects(
        startServer({ config: POLICY, port, host: '127.0.0.1', dataDir: join(dir, 'data'), certsDir: join(dir, 'certs'), logger: createLogger('silent'), watch: false }),
        new RegExp(`^DriftgateError: 127\\.0\\.0\\.1 port ${port} is already in use \\(another driftgate\\?\\): stop that process or choose another port with --port$`),
      );
    } finally {
      blocker.close();
    }
  });

  const urls: { host: string | undefined; address: string; family: string; url: string }[] = [
    { host: 'localhost', address: '127.0.0.1', family: 'IPv4', url: 'https://localhost:8443/validate' },
    { host: '127.0.0.1', address: '127.0.0.1', family: 'IPv4', url: 'https://127.0.0.1:8443/validate' },
    { host: '::1', address: '::1', family: 'IPv6', url: 'https://[::1]:8443/validate' },
    { host: '0.0.0.0', address: '0.0.0.0', family: 'IPv4', url: 'https://0.0.0.0:8443/validate (all interfaces)' },
    { host: undefined, address: '::', family: 'IPv6', url: 'https://[::]:8443/validate (all interfaces)' },
  ];
  for (const u of urls) {
    it(`logs ${u.url} for --host ${u.host ?? '(none)'}`, () => {
      assert.equal(listenUrl(u.host, { address: u.address, family: u.family, port: 8443 }, '/validate'), u.url);
    });
  }
});
