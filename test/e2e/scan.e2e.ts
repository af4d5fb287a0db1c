/**
 * End to end against a real kube-apiserver: drift made with kubectl while driftgate's webhook is not
 * registered (the outage, the upgrade with failurePolicy Ignore, the namespace protected later) is
 * found by `driftgate scan` — exactly that drift, attributed to the kubectl commands that made it —
 * and recorded once as DriftTasks, with driftgate's own ServiceAccount and shipped RBAC.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Cluster, missingPrerequisite, ROOT, who } from './harness/cluster.ts';
import { SECRET_VALUE, seed } from './harness/fixtures.ts';
import { applyOverlay } from './harness/install.ts';
import { tempDir } from '../helpers/tmp.ts';
import type { ScanResult } from '../../src/scan/types.ts';

const skip = missingPrerequisite() ?? false;
const NEW_PASSWORD = `${SECRET_VALUE}-rotated-by-hand`;

describe('driftgate scan behind a real kube-apiserver: the drift that got past the gate', { skip }, () => {
  let cluster: Cluster;
  let kubeconfig: string;
  const work = skip ? '' : tempDir('driftgate-e2e-scan-');

  before(async () => {
    cluster = await Cluster.start();
    seed(cluster);
    applyOverlay(cluster);
    // The gate is down: no webhook configuration, so the API server admits every write unseen.
    // (driftgate's self-protection admits this only from its break-glass group)
    cluster.ok(['delete', 'validatingwebhookconfiguration', 'driftgate', '--ignore-not-found'], { as: [...who.admin, '--as=admin', '--as-group=system:masters', '--as-group=driftgate-break-glass'] });
    kubeconfig = cluster.serviceAccountKubeconfig('driftgate', 'driftgate', join(work, 'driftgate.kubeconfig'));
  });
  after(() => cluster?.stop());

  const scan = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(ROOT, 'src/main.ts'), 'scan', '--config', join(ROOT, 'deploy/base/driftgate.yaml'), '-o', 'json', '-q', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, KUBECONFIG: kubeconfig, DRIFTGATE_CONFIG: '' },
    });
    return { status: r.status, stderr: r.stderr, stdout: r.stdout, result: r.stdout ? (JSON.parse(r.stdout) as ScanResult) : undefined };
  };
  const findings = (r: ScanResult) =>
    r.objects.flatMap((o) => o.findings.filter((f) => f.category === 'guarded' || f.category === 'orphan').map((f) => `${o.object.kind}/${o.object.name} ${f.path} by ${f.writer?.manager ?? '?'}${f.writer?.subresource ? `/${f.writer.subresource}` : ''}`)).sort();
  const tasks = () => cluster.json<{ items: { spec: { source?: string; grantId: string; writer: { username: string }; changes: unknown[] } }[] }>(['-n', 'driftgate', 'get', 'drifttasks']).items;

  it('finds nothing while only Argo CD and Flux have written', () => {
    const r = scan('--store', 'kubernetes');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.result!.summary.objectsScanned >= 4);
  });

  it('finds exactly the kubectl writes made while the webhook was unregistered, and records each once', () => {
    const alice = (args: string[]) => cluster.ok(['-n', 'prod', ...args], { as: who.alice });
    alice(['scale', 'deployment/api', '--replicas=5']);
    alice(['set', 'image', 'deployment/api', 'api=registry.example.com/api:1.3.0']);
    alice(['label', 'deployment/api', 'tier=backend']);
    alice(['patch', 'configmap', 'settings', '-p', '{"data":{"color":"red"}}']);
    alice(['patch', 'secret', 'db', '-p', JSON.stringify({ stringData: { password: NEW_PASSWORD } })]);
    alice(['create', 'configmap', 'handmade', '--from-literal=owner=alice']);
    cluster.ok(['-n', 'dev', 'create', 'configmap', 'elsewhere', '--from-literal=a=b'], { as: who.alice }); // not protected

    const first = scan('--store', 'kubernetes', '--record');
    assert.equal(first.status, 1, first.stderr);
    assert.deepEqual(findings(first.result!), [
      'ConfigMap/handmade (object) by kubectl-create',
      'ConfigMap/settings data.color by kubectl-patch',
      'Deployment/api metadata.labels.tier by kubectl-label',
      'Deployment/api spec.replicas by kubectl/scale',
      'Deployment/api spec.template.spec.containers[name=api].image by kubectl-set',
      'Secret/db data.password by kubectl-patch',
    ]);
    assert.equal(first.result!.summary.findings.unrecorded, 6);
    for (const text of [first.stdout, JSON.stringify(tasks())]) {
      assert.ok(!text.includes(NEW_PASSWORD) && !text.includes(Buffer.from(NEW_PASSWORD).toString('base64')), 'a Secret value was shown');
    }
    const recorded = tasks();
    assert.equal(recorded.length, 6); // kubectl scale, set, label on the Deployment; the ConfigMap patch; the Secret patch; the hand-made ConfigMap
    assert.ok(recorded.every((t) => t.spec.source === 'detected' && t.spec.grantId === '' && t.spec.writer.username.startsWith('field-manager:')));

    const second = scan('--store', 'kubernetes', '--record');
    assert.equal(second.status, 1, 'recorded drift is still drift until reverted or backported');
    assert.deepEqual([second.result!.summary.findings.unrecorded, second.result!.summary.findings.recorded], [0, 6]);
    assert.equal(tasks().length, 6, 'no task twice');
  });

  it('says what was reverted: Argo CD re-applying Git leaves only the rest', () => {
    // Flux applies with force: it takes its fields back from whoever wrote them since
    cluster.ok(['apply', '--server-side', '--field-manager=kustomize-controller', '--force-conflicts', '-f', '-'], {
      as: who.kustomizeController,
      input: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: prod\n  labels: {kustomize.toolkit.fluxcd.io/name: apps, kustomize.toolkit.fluxcd.io/namespace: flux-system}\ndata: {color: blue}\n`,
    });
    const r = scan('--store', 'kubernetes');
    assert.ok(!findings(r.result!).some((f) => f.startsWith('ConfigMap/settings')), 'the sync took the field back');
    assert.equal(findings(r.result!).length, 5);
  });
});
