import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatResourceRef, parseResourceRef } from '../../src/cli/resource-ref.ts';

describe('resource references for grants', () => {
  const cases: Array<[string, { group: string; kind: string; name: string }]> = [
    ['deployment/api', { group: 'apps', kind: 'Deployment', name: 'api' }],
    ['deploy/api-*', { group: 'apps', kind: 'Deployment', name: 'api-*' }],
    ['cm/settings', { group: '', kind: 'ConfigMap', name: 'settings' }],
    ['role/deployer', { group: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' }],
    ['rolebindings/deployer', { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding', name: 'deployer' }],
    // the form driftgate's denial suggests for a RoleBinding: the kind keeps its capitals
    ['rolebinding.rbac.authorization.k8s.io/deployer', { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding', name: 'deployer' }],
    ['kustomization.kustomize.toolkit.fluxcd.io/apps', { group: 'kustomize.toolkit.fluxcd.io', kind: 'Kustomization', name: 'apps' }],
  ];
  for (const [ref, want] of cases) {
    it(`reads ${ref}`, () => assert.deepEqual(parseResourceRef(ref), want));
  }

  it('writes a Role and a RoleBinding back in a form it reads again', () => {
    for (const kind of ['Role', 'RoleBinding']) {
      const r = { group: 'rbac.authorization.k8s.io', kind, name: 'x' };
      assert.deepEqual(parseResourceRef(formatResourceRef(r)), r);
    }
  });

  it('refuses a reference without a kind or a name, saying what to write', () => {
    for (const ref of ['api', '/api', 'deployment/']) assert.throws(() => parseResourceRef(ref), /write kind\/name/);
    assert.throws(() => parseResourceRef('widget/x'), /unknown resource type "widget"/);
  });
});
