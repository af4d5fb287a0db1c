import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requireObjects, valueAt, verifyTasks } from '../../src/drift/verify.ts';
import { readManifests } from '../../src/manifests/read.ts';
import type { Task } from '../../src/tasks/task.ts';
import { fileTree } from '../helpers/tmp.ts';

const deployment = (image: string, memory: string, replicas = 3) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: prod}
spec:
  replicas: ${replicas}
  template:
    spec:
      containers:
        - name: api
          image: ${image}
          ports: [{containerPort: 8080}]
          resources: {limits: {memory: ${memory}}}
`;

function task(id: string, over: Partial<Task> = {}): Task {
  return {
    id,
    grantId: 'g-1',
    writer: { username: 'alice', groups: [] },
    operation: 'UPDATE',
    object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'prod', name: 'api' },
    owner: 'argocd/payments',
    changes: [
      { path: 'spec.template.spec.containers[name=api].image', before: 'api:1.2.0', after: 'api:1.3.0' },
      { path: 'spec.template.spec.containers[name=api].resources.limits.memory', before: '512Mi', after: '2Gi' },
    ],
    admissionUid: `uid-${id}`,
    recordedAt: '2026-11-24T12:00:00Z',
    state: 'pending',
    ...over,
  };
}

const tree = (files: Record<string, string>): string => fileTree(files, 'driftgate-verify-');

const CM = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: prod}\ndata: {LOG_LEVEL: info}\n';

describe('tasks verify against Git', () => {
  const cases: [string, Record<string, string>, Task, 'backported' | 'reverted' | 'pending', RegExp][] = [
    ['backported: Git now has every bypass value', { 'apps/api.yaml': deployment('api:1.3.0', '2Gi') }, task('t1'), 'backported', /Git has the bypass value/],
    ['pending, not reverted, when Git kept every old value but live was not checked', { 'apps/api.yaml': deployment('api:1.2.0', '512Mi') }, task('t2'), 'pending', /live was not checked: a revert needs live evidence/],
    ['pending when only part is in Git', { 'apps/api.yaml': deployment('api:1.3.0', '512Mi') }, task('t3'), 'pending', /partly done/],
    ['pending when Git has neither value', { 'apps/api.yaml': deployment('api:2.0.0', '1Gi') }, task('t4'), 'pending', /Git has neither/],
    ['pending when the object is missing from Git', { 'apps/other.yaml': CM }, task('t5'), 'pending', /not in the desired manifests/],
    ['finds objects in multi-document files, any layout', { 'all.yaml': `${CM}---\n${deployment('api:1.3.0', '2Gi')}` }, task('t6'), 'backported', /bypass value/],
    [
      'finds objects inside List kinds (JSON)',
      { 'list.json': JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'prod' }, spec: { template: { spec: { containers: [{ name: 'api', image: 'api:1.3.0', resources: { limits: { memory: '2Gi' } } }] } } } }] }) },
      task('t7'),
      'backported',
      /bypass value/,
    ],
    ['matches rendered manifests that omit the namespace', { 'api.yaml': deployment('api:1.3.0', '2Gi').replace(', namespace: prod', '') }, task('t8'), 'backported', /bypass value/],
    ['backports a DELETE once the object left Git', { 'cm.yaml': CM }, task('t9', { operation: 'DELETE', changes: [] }), 'backported', /no longer in Git/],
    ['keeps a DELETE pending when the desired manifests hold nothing of its namespace', { 'cm.yaml': CM.replace('namespace: prod', 'namespace: other') }, task('t11', { operation: 'DELETE', changes: [] }), 'pending', /hold nothing in namespace prod/],
    ['keeps a DELETE pending while Git still declares the object', { 'api.yaml': deployment('api:1.2.0', '512Mi') }, task('t10', { operation: 'DELETE', changes: [] }), 'pending', /still in Git/],
  ];
  for (const [name, files, t, want, explanation] of cases) {
    it(name, () => {
      const [r] = verifyTasks([t], { desired: readManifests(tree(files)) });
      assert.equal(r!.verdict, want, r!.explanation.join('\n'));
      assert.match(r!.explanation.join('\n'), explanation);
    });
  }

  it('confirms a revert against live objects when given, and keeps it pending while live still differs', () => {
    const desired = readManifests(tree({ 'api.yaml': deployment('api:1.2.0', '512Mi') }));
    const liveSame = readManifests(tree({ 'live.yaml': deployment('api:1.2.0', '512Mi') }));
    const liveDrifted = readManifests(tree({ 'live.yaml': deployment('api:1.3.0', '2Gi') }));
    assert.equal(verifyTasks([task('a')], { desired, live: liveSame })[0]!.verdict, 'reverted');
    const r = verifyTasks([task('b')], { desired, live: liveDrifted })[0]!;
    assert.equal(r.verdict, 'pending');
    assert.match(r.explanation.join('\n'), /live still differs from Git/);
  });

  for (const [name, files] of [
    ['an empty file (a failed kustomize build piped to a file)', { 'desired.yaml': '' }],
    ['a file of comments and empty documents', { 'desired.yaml': '# rendered\n---\n---\n' }],
    ['a directory without manifests', { 'README.md': '# not a manifest' }],
  ] as const) {
    it(`refuses ${name} as the desired manifests, never reporting every task "not in Git"`, () => {
      const desired = readManifests(tree(files));
      assert.throws(() => verifyTasks([task('x', { operation: 'DELETE', changes: [] })], { desired }), { code: 'INPUT_INVALID', message: /--desired: no Kubernetes objects .*render them again/ });
    });
  }

  it('refuses unparsable YAML as the desired manifests', () => {
    assert.throws(() => readManifests(tree({ 'desired.yaml': 'kind: [Deployment\n' })), { code: 'INPUT_INVALID', message: /invalid YAML/ });
    assert.throws(() => readManifests(tree({ 'desired.yaml': 'Error: accumulating resources: not found\n' })), { code: 'INPUT_INVALID', message: /invalid YAML/ });
    assert.throws(() => readManifests(tree({ 'desired.yaml': 'kustomize failed\n' })), { code: 'INPUT_INVALID', message: /expected Kubernetes objects, found string/ });
  });

  it('refuses an empty live dump, but takes objects the cluster does not have as absent live', () => {
    assert.throws(() => requireObjects([], 'live', 'live.yaml'), { code: 'INPUT_INVALID', message: /--live live\.yaml: no Kubernetes objects/ });
    const desired = readManifests(tree({ 'cm.yaml': CM }));
    const handMade = task('x', { operation: 'CREATE', object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'prod', name: 'scratch' } });
    const [r] = verifyTasks([handMade], { desired, live: [] });
    assert.equal(r!.verdict, 'reverted', r!.explanation.join('\n'));
    assert.match(r!.explanation.join('\n'), /neither in Git nor live: the hand-made object was removed/);
  });

  it('reads values by merge-key paths, with the API default protocol', () => {
    const obj = { spec: { ports: [{ port: 80, name: 'http' }], containers: [{ name: 'a', image: 'x' }] } };
    assert.equal(valueAt(obj, 'spec.containers[name=a].image'), 'x');
    assert.equal(valueAt(obj, 'spec.ports[port=80,protocol=TCP].name'), 'http');
    assert.equal(valueAt(obj, 'spec.containers[name=b].image'), undefined);
  });
});
