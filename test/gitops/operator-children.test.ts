import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reviewBody } from '../../src/admission/review.ts';
import { reviewDeps } from '../helpers/deps.ts';
import { deployment, edit, reviewJson, type RequestSpec } from '../helpers/reviews.ts';

const OPERATOR = 'system:serviceaccount:redis-operator:redis-operator';
const crRef = { apiVersion: 'databases.example.com/v1', kind: 'RedisCluster', name: 'cache', uid: 'uid-cr', controller: true, blockOwnerDeletion: true };

/** A StatefulSet-like child an operator made: it copied the parent's Argo CD instance label. */
function child(o: { managers?: string[]; ref?: Record<string, unknown> } = {}) {
  const d = deployment({ labels: { 'app.kubernetes.io/instance': 'cache' }, managed: false });
  return edit(d, (x) => {
    delete x.metadata.annotations['argocd.argoproj.io/tracking-id'];
    x.metadata.ownerReferences = [o.ref ?? crRef];
    x.metadata.managedFields = (o.managers ?? ['redis-operator']).map((manager) => ({ manager, operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }));
  });
}

async function decide(spec: RequestSpec) {
  const r = await reviewBody(JSON.stringify(reviewJson(spec)), reviewDeps());
  return r.review.response;
}

describe("an operator's children: the GitOps-owned parent is guarded, not them", () => {
  it("allows the operator's update of a child that carries the parent's copied tracking label", async () => {
    const old = child();
    const res = await decide({ oldObject: old, object: edit(old, (x) => (x.spec.replicas = 6)), user: OPERATOR, groups: ['system:serviceaccounts'] });
    assert.equal(res.allowed, true);
  });

  it('allows a person\'s edit of a child, warning that the operator owns it and the parent is in Git', async () => {
    const old = child();
    const res = await decide({ oldObject: old, object: edit(old, (x) => (x.spec.template.spec.containers[0].image = 'evil:1')) });
    assert.equal(res.allowed, true);
    assert.match(res.warnings?.join('\n') ?? '', /managed by the operator of RedisCluster cache \(databases\.example\.com\/v1.*change the RedisCluster in Git/);
  });

  const stillGuarded: [string, () => RequestSpec][] = [
    ['denies the edit when a GitOps field manager wrote the child (Argo CD applied it itself)', () => {
      const old = child({ managers: ['redis-operator', 'argocd-controller'] });
      return { oldObject: old, object: edit(old, (x) => (x.spec.replicas = 9)) };
    }],
    ['denies a child whose controller is a built-in kind (a ReplicaSet of a Deployment is no operator child)', () => {
      const old = child({ ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api', uid: 'u', controller: true } });
      return { oldObject: old, object: edit(old, (x) => (x.spec.replicas = 9)) };
    }],
    ['denies a non-controller ownerReference to a custom resource', () => {
      const old = child({ ref: { ...crRef, controller: false } });
      return { oldObject: old, object: edit(old, (x) => (x.spec.replicas = 9)) };
    }],
    ['denies adding a controller ownerReference to a GitOps-owned object (the first of two writes)', () => {
      const old = deployment();
      return { oldObject: old, object: edit(old, (x) => (x.metadata.ownerReferences = [crRef])) };
    }],
    ['denies a CREATE by a person with a hand-written controller ownerReference to a custom resource', () => ({ operation: 'CREATE', object: child({ managers: [] }) })],
    ['denies a CREATE by a person of a tracked object with a hand-written ownerReference', () => ({ operation: 'CREATE', object: edit(deployment(), (x) => (x.metadata.ownerReferences = [crRef])) })],
  ];
  for (const [name, spec] of stillGuarded) {
    it(name, async () => {
      const res = await decide(spec());
      assert.equal(res.allowed, false, res.warnings?.join('\n'));
    });
  }
});

describe('scan: an operator\'s child is reported as the operator\'s, not as drift', () => {
  it('says who manages it and reports no unrecorded drift for the operator\'s own fields', async () => {
    const { runScan } = await import('../../src/scan/run.ts');
    const { DEFAULT_CONTROLLER_MANAGERS } = await import('../../src/scan/kinds.ts');
    const { examplePolicy, NOW } = await import('../helpers/deps.ts');
    const r = await runScan({ pages: [{ items: [child()] }], source: 'test', policy: examplePolicy(), controllerManagers: new Set(DEFAULT_CONTROLLER_MANAGERS), now: NOW });
    const fs = r.objects.flatMap((o) => o.findings);
    assert.deepEqual(fs.map((f) => [f.category, f.path, f.rule]), [['delegated', '(object)', 'operator-owned']]);
    assert.match(fs[0]!.note ?? '', /operator of RedisCluster cache/);
    assert.equal(r.summary.objects.guarded, 0);
    assert.equal(r.summary.findings.delegated, 1);
    const { renderScan } = await import('../../src/scan/render.ts');
    assert.match(renderScan(r, 'text', true), /operator of RedisCluster cache/);
  });
});
