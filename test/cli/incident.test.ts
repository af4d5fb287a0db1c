import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer } from '../../src/server.ts';
import { createLogger } from '../../src/log.ts';
import { runCli as cli } from '../helpers/cli.ts';
import { fixtureText, reviewJson } from '../helpers/reviews.ts';
import { tempDir } from '../helpers/tmp.ts';

const POLICY = fileURLToPath(new URL('../../examples/driftgate.yaml', import.meta.url));

function https(port: number, ca: string, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, path, method, ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const configMap = (level: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings', namespace: 'prod', annotations: { 'argocd.argoproj.io/tracking-id': 'payments:/ConfigMap:prod/settings' } },
  data: { LOG_LEVEL: level },
});

describe('a scripted incident, start to finish', () => {
  let server: RunningServer;
  let dir: string;
  let env: Record<string, string>;
  let ca: string;

  before(async () => {
    dir = tempDir('driftgate-incident-');
    server = await startServer({ config: POLICY, port: 0, host: '127.0.0.1', dataDir: join(dir, 'data'), certsDir: join(dir, 'certs'), logger: createLogger('silent'), watch: false });
    ca = readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');
    const token = (await cli(['dev', 'token', '--user', 'alice', '--groups', 'oncall', '--data-dir', join(dir, 'data')], {})).stdout.trim();
    env = { DRIFTGATE_SERVER: `https://localhost:${server.port}`, DRIFTGATE_CA: join(dir, 'certs', 'ca.crt'), DRIFTGATE_TOKEN: token, DRIFTGATE_CLI_CONFIG: join(dir, 'none.yaml') };
  });
  after(async () => server.close());

  it('deny → grant → two bypasses → Git updated for one, left for the other → verify closes both → nothing pending', async () => {
    const setImage = fixtureText('09-alice-set-image-deployment.json');
    const cmEdit = JSON.stringify(reviewJson({ uid: 'uid-cm', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' }, oldObject: configMap('info'), object: configMap('debug') }));

    // 1. denied
    assert.match((await https(server.port, ca, 'POST', '/validate', setImage)).text, /"allowed":false/);
    // 2. break the glass for both objects
    const g = await cli(['grant', 'request', '-n', 'prod', 'deployment/api', 'configmap/settings', '--reason', 'bad release', '--incident', 'INC-5'], env);
    assert.equal(g.code, 0, g.stderr);
    // 3. two bypasses
    assert.match((await https(server.port, ca, 'POST', '/validate', setImage)).text, /"allowed":true/);
    assert.match((await https(server.port, ca, 'POST', '/validate', cmEdit)).text, /"allowed":true/);
    const pending = JSON.parse((await cli(['tasks', 'list', '--state', 'pending', '-o', 'json'], env)).stdout) as { id: string; kind: string }[];
    assert.equal(pending.length, 2);

    // 4. after the incident: the image fix went into Git, the log level was left as Git has it
    const git = join(dir, 'git');
    mkdirSync(git);
    const live = JSON.parse(setImage).request.object;
    writeFileSync(join(git, 'api.json'), JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'prod' }, spec: live.spec }));
    writeFileSync(join(git, 'settings.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: prod}\ndata: {LOG_LEVEL: info}\n');

    // Git alone proves a backport, never a revert: live may still have the bypass
    const gitOnly = await cli(['tasks', 'verify', '--desired', git, '--dry-run'], env);
    assert.equal(gitOnly.code, 0, gitOnly.stderr);
    assert.match(gitOnly.stdout, /would be backported/);
    assert.match(gitOnly.stdout, /still pending\n.*\n +Git kept the old values, but live was not checked: a revert needs live evidence \(--live/);
    assert.doesNotMatch(gitOnly.stdout, /reverted/);

    const liveDir = join(dir, 'live');
    mkdirSync(liveDir);
    writeFileSync(join(liveDir, 'api.json'), JSON.stringify(live));
    writeFileSync(join(liveDir, 'settings.json'), JSON.stringify(configMap('info'))); // Argo CD synced it back
    const dry = await cli(['tasks', 'verify', '--desired', git, '--live', liveDir, '--dry-run'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would be backported/);
    assert.match(dry.stdout, /would be reverted/);
    assert.match(dry.stdout, /2 pending task\(s\) checked, 0 resolved \(dry run\)/);

    const verified = await cli(['tasks', 'verify', '--desired', git, '--live', liveDir, '--commit', 'abc1234', '-o', 'json'], env);
    assert.equal(verified.code, 0, verified.stderr);
    const out = JSON.parse(verified.stdout) as { results: { taskId: string; verdict: string }[]; resolved: string[] };
    assert.equal(out.resolved.length, 2);
    const byKind = Object.fromEntries(pending.map((t) => [t.kind, out.results.find((r) => r.taskId === t.id)!.verdict]));
    assert.deepEqual(byKind, { Deployment: 'backported', ConfigMap: 'reverted' });

    const show = await cli(['tasks', 'show', pending.find((t) => t.kind === 'Deployment')!.id], env);
    assert.match(show.stdout, /resolved: +backported by alice at .*: verified against commit abc1234/);
    assert.match(show.stdout, /verified: +\S+ by alice against commit abc1234: backported/);
    assert.match(show.stdout, /spec\.template\.spec\.containers\[name=api\]\.image: Git has the bypass value/);

    // 5. the report shows nothing pending, two resolved
    const report = JSON.parse((await cli(['tasks', 'report', '-o', 'json'], env)).stdout) as { totals: { pending: number; resolved: number }; byIncident: Record<string, { resolved: number }> };
    assert.equal(report.totals.pending, 0);
    assert.equal(report.totals.resolved, 2);
    assert.equal(report.byIncident['INC-5']!.resolved, 2);
    const md = await cli(['tasks', 'report', '-o', 'markdown'], env);
    assert.match(md.stdout, /^# driftgate task report/);
    assert.match(md.stdout, /\| INC-5 \| 0 \| 0 \| 2 \|/);

    // 6. resolving twice is a conflict
    const again = await cli(['tasks', 'resolve', pending[0]!.id, '--as', 'accepted', '--evidence', 'x'], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already (backported|reverted) \(CONFLICT\)/);

    // 7. /metrics tells the story
    const metrics = (await https(server.port, ca, 'GET', '/metrics')).text;
    assert.match(metrics, /driftgate_admission_requests_total\{operation="UPDATE",decision="denied"\} 1/);
    assert.match(metrics, /driftgate_admission_requests_total\{operation="UPDATE",decision="bypassed"\} 2/);
    assert.match(metrics, /driftgate_bypasses_total\{namespace="prod",with_incident="true"\} 2/);
    assert.match(metrics, /driftgate_grants_active 1/);
    assert.match(metrics, /driftgate_tasks_pending 0/);
    assert.match(metrics, /driftgate_tasks_overdue 0/);
    assert.match(metrics, /driftgate_store_errors_total 0/);
    assert.match(metrics, /driftgate_admission_duration_seconds_bucket\{le="0.005"\} \d+/);
    assert.match(metrics, /process_resident_memory_bytes \d+/);
  });
});
