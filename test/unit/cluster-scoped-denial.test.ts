import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reviewBody } from '../../src/admission/review.ts';
import { reviewDeps } from '../helpers/deps.ts';
import { reviewJson } from '../helpers/reviews.ts';

const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'payments', uid: 'u-ns', annotations: { 'argocd.argoproj.io/tracking-id': 'platform:/Namespace:/payments' }, labels: { team: 'payments' } } };
const clusterRole = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'viewer', uid: 'u-cr', labels: { 'app.kubernetes.io/instance': 'platform' } }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] };

describe('denials of tracked cluster-scoped objects', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['deleting a tracked Namespace', reviewJson({ operation: 'DELETE', oldObject: namespace, namespace: '', kind: { group: '', version: 'v1', kind: 'Namespace' }, resource: { group: '', version: 'v1', resource: 'namespaces' } })],
    ['widening a tracked ClusterRole', reviewJson({ operation: 'UPDATE', oldObject: clusterRole, object: { ...clusterRole, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] }, namespace: '', kind: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole' }, resource: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles' } })],
  ];
  for (const [name, review] of cases) {
    it(`denies ${name} and says grants cover namespaced objects only, suggesting no grant command that cannot work`, async () => {
      const r = await reviewBody(JSON.stringify(review), reviewDeps());
      const message = r.review.response.status?.message ?? '';
      assert.equal(r.review.response.allowed, false);
      assert.match(message, /Break-glass grants cover namespaced objects only/);
      assert.doesNotMatch(message, /driftgate grant request/);
    });
  }
});
