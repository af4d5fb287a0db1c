import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import { loadKeyRingFromSecret } from '../../src/keys/secret-keys.ts';
import { TASK_SIGNATURE_ANNOTATION } from '../../src/store/kubernetes-store.ts';
import { DEFAULT_CONTROLLER_MANAGERS, DEFAULT_KINDS } from '../../src/scan/kinds.ts';
import { livePages, protectedNamespaces } from '../../src/scan/live-source.ts';
import { runScan } from '../../src/scan/run.ts';
import { examplePolicy, NOW, policyFrom } from '../helpers/deps.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeApiServer } from '../k8s/fake-apiserver.ts';
import { kubeConfigFor, writeKubeconfig } from '../k8s/kubeconfig.ts';
import { argoDeploymentEditedByHand, argoSecretEditedByHand, handMadeConfigMap, list, rootCaConfigMap, SECRET_BASE64, SECRET_PLAIN } from './objects.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/** The CLI in its own process (async: the API double answers from this one). */
function cli(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, DRIFTGATE_CONFIG: '', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const FILLER = 230; // ConfigMaps Argo CD owns and nobody touched: pages of noise around the drift

describe('scan of a live cluster (the API double), paged', () => {
  let api: FakeApiServer;
  let server: string;
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    api = new FakeApiServer();
    server = await api.start();
    dir = tempDir();
    env = { KUBECONFIG: writeKubeconfig(dir, server) };
    api.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod', labels: { 'driftgate.io/protected': 'true' } } });
    api.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dev' } });
    api.put('deployments', argoDeploymentEditedByHand() as never);
    api.put('secrets', argoSecretEditedByHand() as never);
    api.put('configmaps', handMadeConfigMap() as never);
    api.put('configmaps', rootCaConfigMap() as never);
    api.put('configmaps', { ...handMadeConfigMap(), metadata: { ...handMadeConfigMap().metadata, namespace: 'dev' } } as never);
    for (let i = 0; i < FILLER; i += 1) {
      api.put('configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `cfg-${i}`, namespace: 'prod', annotations: { 'argocd.argoproj.io/tracking-id': `payments:/ConfigMap:prod/cfg-${i}` }, managedFields: [{ manager: 'argocd-controller', operation: 'Apply', fieldsV1: { 'f:data': { 'f:k': {} }, 'f:metadata': { 'f:annotations': { 'f:argocd.argoproj.io/tracking-id': {} } } } }] },
        data: { k: String(i) },
      });
    }
  });
  after(() => api.stop());

  it('lists every scanned collection in pages and finds exactly the drift', async () => {
    const kc = kubeConfigFor(server);
    const before = api.requests.length;
    const r = await runScan({ pages: livePages(kc, DEFAULT_KINDS, ['prod'], 50), source: 'cluster', policy: examplePolicy(), controllerManagers: new Set(DEFAULT_CONTROLLER_MANAGERS), namespaces: new Set(['prod']), now: NOW });
    const lists = api.requests.slice(before).filter((q) => q.startsWith('GET /api/v1/namespaces/prod/configmaps'));
    assert.equal(lists.length, Math.ceil((FILLER + 2) / 50), 'one request per page of 50');
    assert.equal(r.summary.objectsScanned, FILLER + 4);
    assert.deepEqual(r.objects.map((o) => `${o.object.kind}/${o.object.name}`).sort(), ['ConfigMap/api-config', 'Deployment/api', 'Secret/db']);
    assert.equal(r.summary.findings.unrecorded, 12); // 10 on the Deployment, the Secret's password, the orphan
    assert.equal(r.objects.find((o) => o.object.kind === 'Deployment')!.object.apiVersion, 'apps/v1');
  });

  it('finds the protected namespaces by the policy\'s selector', async () => {
    const policy = policyFrom('protectedNamespaces: {selector: {matchLabels: {driftgate.io/protected: "true"}}}');
    assert.deepEqual(await protectedNamespaces(kubeConfigFor(server), policy, undefined, 1), { scan: ['prod'], skipped: [] });
    assert.deepEqual(await protectedNamespaces(kubeConfigFor(server), policy, ['prod', 'dev'], 1), { scan: ['prod'], skipped: ['dev'] });
  });

  it('driftgate scan: exit 1 on drift, progress on stderr, the report on stdout', async () => {
    const r = await cli(['scan', '--page-size', '100', '-o', 'json'], env);
    assert.equal(r.status, 1, r.stderr);
    const out = JSON.parse(r.stdout) as { summary: { findings: { unrecorded: number } } };
    assert.equal(out.summary.findings.unrecorded, 12);
    assert.ok(!r.stdout.includes(SECRET_PLAIN) && !r.stdout.includes(SECRET_BASE64));
  });

  it('driftgate scan --record --store kubernetes: DriftTasks once per object and change, across runs', async () => {
    const args = ['scan', '--store', 'kubernetes', '--record', '-o', 'json', '-q'];
    const first = await cli(args, env);
    assert.equal(first.status, 1, first.stderr);
    const ids = (JSON.parse(first.stdout) as { recordedTasks: string[] }).recordedTasks;
    assert.equal(ids.length, 8); // 6 writes on the Deployment, 1 on the Secret, the orphan
    const stored = async () => ((await (await fetch(`${server}/apis/driftgate.io/v1alpha1/namespaces/driftgate/drifttasks`)).json()) as { items: unknown[] }).items.length;
    assert.equal(await stored(), 8);
    const task = api.get('drifttasks', 'driftgate', ids[0]!) as { spec: { source: string; grantId: string }; metadata: { annotations?: Record<string, string> } } | undefined;
    assert.deepEqual([task?.spec.source, task?.spec.grantId], ['detected', '']);
    // signed with driftgate's own key (the Secret the replicas share), so the server does not call it tampered
    const keys = await loadKeyRingFromSecret(kubeConfigFor(server), 'driftgate', 'driftgate-signing-keys');
    const jws = task!.metadata.annotations![TASK_SIGNATURE_ANNOTATION]!;
    assert.equal(decodeProtectedHeader(jws).kid, keys.signing.kid);
    await compactVerify(jws, await importJWK(keys.jwks().keys.find((k) => k.kid === keys.signing.kid)!, 'EdDSA'));

    const second = await cli(args, env);
    const again = JSON.parse(second.stdout) as { recordedTasks: string[]; summary: { findings: { unrecorded: number; recorded: number } } };
    assert.deepEqual(again.recordedTasks, []);
    assert.deepEqual([again.summary.findings.unrecorded, again.summary.findings.recorded], [0, 12]);
    assert.equal(await stored(), 8, 'no second task');
    assert.equal(second.status, 1, 'recorded drift is still drift until reverted or backported');
  });

  it('exit 0 when the scanned namespace is clean, 2 on bad input', async () => {
    writeFileSync(join(dir, 'clean.json'), JSON.stringify(list(rootCaConfigMap())));
    assert.equal((await cli(['scan', join(dir, 'clean.json')], env)).status, 0);
    const bad: [string[], RegExp][] = [
      [['scan', join(dir, 'nope.json')], /cannot read/],
      [['scan', '--kind', 'deployments'], /--kind "deployments"/],
      [['scan', '--record'], /--record writes DriftTask objects/],
    ];
    for (const [args, message] of bad) {
      const r = await cli(args, env);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});
