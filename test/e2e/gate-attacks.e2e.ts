/**
 * The two-write and client-supplied-evidence attacks of issue 10 (items 1, 3, 4, 10) against a real
 * kube-apiserver: the managedFields the API server itself computes after `managedFields: [{}]` or an
 * SSA takeover, a hand-written controller ownerReference, a `__proto__` Secret key, a numeric
 * restartedAt on a custom resource.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, missingPrerequisite, who } from './harness/cluster.ts';
import { DENIED, keepLogs, type Driftgate } from './harness/driftgate.ts';
import { seed } from './harness/fixtures.ts';
import { embeddedGate } from './harness/install.ts';
import { tempDir } from '../helpers/tmp.ts';

const skip = missingPrerequisite() ?? false;

/** A ConfigMap Argo CD owns only through its field manager (server-side apply, no tracking marker). */
const managedOnly = (name: string, value = 'info') => `
apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: prod}
data: {LOG_LEVEL: ${value}}
`;

describe('two-write detaching and client-supplied evidence, behind a real kube-apiserver', { skip }, () => {
  let cluster: Cluster;
  let dg: Driftgate;
  const work = skip ? '' : tempDir('driftgate-e2e-attacks-');

  before(async () => {
    cluster = await Cluster.start();
    seed(cluster);
    dg = await embeddedGate(cluster, work);
    for (const name of ['cfg-reset', 'cfg-takeover', 'cfg-ok']) cluster.apply(managedOnly(name), { as: who.argocd, serverSide: 'argocd-controller' });
  });

  after(async () => {
    await dg?.stop();
    cluster?.stop();
    keepLogs(cluster, dg);
  });

  const managers = (name: string) =>
    cluster.json<{ metadata: { managedFields?: { manager: string }[] } }>(['-n', 'prod', 'get', 'configmap', name, '--show-managed-fields']).metadata.managedFields?.map((e) => e.manager) ?? [];

  it('denies write 1 of two: emptying managedFields (managedFields: [{}]) of an object Argo CD owns only through them', () => {
    const r = cluster.kubectl(['-n', 'prod', 'patch', 'configmap', 'cfg-reset', '--type=json', '-p', '[{"op":"replace","path":"/metadata/managedFields","value":[{}]}]'], { as: who.alice });
    assert.match(r.stderr, DENIED);
    assert.match(r.stderr, /metadata\.managedFields\[manager=argocd-controller\]/);
    assert.ok(managers('cfg-reset').includes('argocd-controller'));
    const second = cluster.kubectl(['-n', 'prod', 'patch', 'configmap', 'cfg-reset', '--type=merge', '-p', '{"data":{"LOG_LEVEL":"debug"}}'], { as: who.alice });
    assert.match(second.stderr, DENIED);
  });

  it('denies dropping the argocd-controller entry by applying as that manager once another manager co-owns the values', () => {
    // Same values: the API server makes the fields co-owned, argocd-controller keeps them (allowed).
    const share = cluster.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=alice-tool', '-f', '-'], { as: who.alice, input: managedOnly('cfg-takeover') });
    assert.equal(share.status, 0, share.stderr);
    assert.ok(managers('cfg-takeover').includes('argocd-controller'));
    // Applying as argocd-controller with no fields releases them all: values unchanged, entry gone.
    const bare = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg-takeover, namespace: prod}\n';
    const r = cluster.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=argocd-controller', '-f', '-'], { as: who.alice, input: bare });
    assert.match(r.stderr, DENIED);
    assert.match(r.stderr, /metadata\.managedFields\[manager=argocd-controller\].*GitOps field ownership removed/);
    assert.ok(managers('cfg-takeover').includes('argocd-controller'));
  });

  it('lets Argo CD itself apply again (its own managedFields may change)', () => {
    cluster.apply(managedOnly('cfg-ok', 'warn'), { as: who.argocd, serverSide: 'argocd-controller' });
  });

  it('denies a hand-made ConfigMap that names a controller owner (ownerReferences are client-supplied)', () => {
    const cm = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: fake-child
  namespace: prod
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-123, uid: 0b4f1ac2-1f7e-4d0e-9a55-2a9d7d4f0001, controller: true}]
data: {a: b}
`;
    const r = cluster.kubectl(['create', '-f', '-'], { as: who.alice, input: cm });
    assert.match(r.stderr, DENIED);
    assert.match(r.stderr, /unmanagedCreates: deny/);
  });

  it('denies adding the data key __proto__ to the GitOps-owned Secret, showing only a keyed hash', () => {
    const r = cluster.kubectl(['-n', 'prod', 'patch', 'secret', 'db', '--type=merge', '-p', '{"data":{"__proto__":"ZXZpbA=="}}'], { as: who.alice });
    assert.match(r.stderr, DENIED);
    assert.match(r.stderr, /data\.__proto__: \(absent\) → "<secret hmac-sha256:[0-9a-f]{16}>"/);
    assert.doesNotMatch(r.stderr, /ZXZpbA==/);
  });
});
