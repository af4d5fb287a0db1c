import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { reviewBody } from '../../src/admission/review.ts';
import { GitOpsWatch } from '../../src/cluster/gitops-watch.ts';
import { policyWithImported } from '../../src/gitops/overlay.ts';
import { createLogger } from '../../src/log.ts';
import { policyFrom, reviewDeps } from '../helpers/deps.ts';
import { deployment, edit, HPA, reviewJson } from '../helpers/reviews.ts';
import { FakeApiServer } from '../k8s/fake-apiserver.ts';
import { kubeConfigFor } from '../k8s/kubeconfig.ts';

const app = (name: string, ignore: unknown[], status: Record<string, unknown> = {}) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Application',
  metadata: { name, namespace: 'argocd' },
  spec: { destination: { namespace: 'prod' }, ignoreDifferences: ignore },
  status,
});

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (cond()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting for ${what}`);
}

// The example policy without its hand-written hpa-replicas delegation: the Argo CD app says it.
const POLICY = policyFrom('protectedNamespaces: [prod]\ndelegations: []\n');

describe('cluster mode: delegations and health follow the GitOps tools', () => {
  let api: FakeApiServer;
  let watch: GitOpsWatch;

  before(async () => {
    api = new FakeApiServer();
    const server = await api.start();
    api.put('applications', app('payments', [{ group: 'apps', kind: 'Deployment', jsonPointers: ['/spec/replicas'] }], {
      sync: { status: 'Synced', revision: 'abc123' },
      health: { status: 'Healthy' },
      operationState: { phase: 'Succeeded', finishedAt: '2026-11-24T11:00:00Z' },
    }));
    api.put('applications', app('web', [], { sync: { status: 'OutOfSync' }, health: { status: 'Healthy' }, operationState: { phase: 'Failed', message: 'one or more objects failed to apply' } }));
    api.put('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'argocd-cm', namespace: 'argocd' }, data: { 'resource.customizations.ignoreDifferences.all': 'jsonPointers:\n- /metadata/labels/cost-center\n' } });
    api.put('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'not-argocd-cm', namespace: 'argocd' }, data: { 'resource.customizations.ignoreDifferences.all': 'jsonPointers:\n- /spec\n' } });
    api.put('kustomizations', { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'apps', namespace: 'flux-system' }, spec: { suspend: true }, status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-11-24T10:00:00Z' }], lastAppliedRevision: 'main@sha1:1' } });
    watch = new GitOpsWatch({ kubeConfig: kubeConfigFor(server), logger: createLogger('silent'), delay: () => sleep(5), retryMs: 20 });
    await watch.start();
  });
  after(async () => {
    await watch.close();
    await api.stop();
  });

  it('imports the Application ignore rule scoped to its objects, and only the real argocd-cm', () => {
    const names = watch.imported().delegations.map((d) => d.name).sort();
    assert.deepEqual(names, ['argocd-cm-all', 'argocd-payments-ignore-0']);
  });

  it('lets the HPA scale a Deployment whose Argo CD app ignores /spec/replicas, and denies a human', async () => {
    const deps = reviewDeps({ policy: () => POLICY });
    const policy = policyWithImported(() => POLICY, watch.imported);
    const old = deployment();
    const scaled = edit(old, (o) => (o.spec.replicas = 7));
    const body = (user: string, groups: string[]) => JSON.stringify(reviewJson({ oldObject: old, object: scaled, user, groups }));
    const hpa = await reviewBody(body(HPA, ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated']), { ...deps, policy });
    assert.equal(hpa.review.response.allowed, true, hpa.review.response.status?.message);
    const human = await reviewBody(body('alice', ['oncall', 'system:authenticated']), { ...deps, policy });
    assert.equal(human.review.response.allowed, false);
    assert.match(human.review.response.status?.message ?? '', /spec\.replicas: 3 → 7 .*\[Argo CD Application argocd\/payments spec\.ignoreDifferences\[0\] ignores it: only system:serviceaccounts, system:kube-controller-manager may change it without a grant\]/);
  });

  it('does not extend one application\'s ignore rule to another application\'s objects', async () => {
    const deps = reviewDeps({ policy: () => POLICY });
    const policy = policyWithImported(() => POLICY, watch.imported);
    const old = deployment({ annotations: { 'argocd.argoproj.io/tracking-id': 'web:apps/Deployment:prod/api' } });
    const scaled = edit(old, (o) => (o.spec.replicas = 7));
    const r = await reviewBody(JSON.stringify(reviewJson({ oldObject: old, object: scaled, user: HPA, groups: ['system:serviceaccounts'] })), { ...deps, policy });
    assert.equal(r.review.response.allowed, false);
  });

  it('follows an ignore rule removed from the Application', async () => {
    const before = watch.imported().version;
    api.put('applications', app('payments', []));
    await until(() => watch.imported().version !== before && !watch.imported().delegations.some((d) => d.name === 'argocd-payments-ignore-0'), 'the rule to go');
  });

  it('reports each owner\'s delivery health', () => {
    const byOwner = new Map(watch.health().map((h) => [h.owner, h]));
    const web = byOwner.get('argocd/web');
    assert.equal(web?.ready, false);
    assert.match(web?.reason ?? '', /OutOfSync.*Failed: one or more objects failed/);
    const apps = byOwner.get('flux-kustomization/flux-system/apps');
    assert.equal(apps?.suspended, true);
    assert.equal(apps?.ready, false);
    assert.equal(apps?.revision, 'main@sha1:1');
  });
});

describe('cluster mode with no GitOps objects', () => {
  it('starts, imports nothing and reports no owners', async () => {
    const api = new FakeApiServer();
    const server = await api.start();
    const watch = new GitOpsWatch({ kubeConfig: kubeConfigFor(server), logger: createLogger('silent'), delay: () => sleep(5), retryMs: 20 });
    await watch.start();
    assert.deepEqual(watch.imported().delegations, []);
    assert.deepEqual(watch.health(), []);
    await watch.close();
    await api.stop();
  });
});
