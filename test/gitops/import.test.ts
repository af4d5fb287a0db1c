import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { jqToPath, pointerToPath } from '../../src/gitops/paths.ts';
import { importFiles } from '../../src/gitops/import-files.ts';
import { renderImportYaml } from '../../src/gitops/render.ts';
import { findConflicts } from '../../src/gitops/conflicts.ts';
import { parsePolicy } from '../../src/policy/load.ts';
import { delegationInScope } from '../../src/policy/policy.ts';

const fixture = (f: string) => fileURLToPath(new URL(`../fixtures/gitops/${f}`, import.meta.url));

describe('GitOps field expressions → driftgate paths', () => {
  const table: [string, string | RegExp][] = [
    ['.spec.replicas', 'spec.replicas'],
    ['.metadata.annotations["a.example.com/b"]', 'metadata.annotations[a.example.com/b]'],
    ['.spec.template.spec.containers[] | select(.name == "istio-proxy") | .image', 'spec.template.spec.containers[name=istio-proxy].image'],
    ['.spec.template.spec.containers[].image', 'spec.template.spec.containers[*].image'],
    ['.webhooks[]?.clientConfig.caBundle', 'webhooks[*].clientConfig.caBundle'],
    ['.a | .b', 'a.b'],
    ['.spec.x | length', /only fixed paths/],
    ['del(.spec)', /only fixed paths/],
    ['.', /whole object/],
    ['.a..b', /only fixed paths/],
    ['.metadata.annotations["x*"]', /wildcard/],
    ['.metadata.labels["a=b"]', /cannot name/],
    ['x'.repeat(2000), /longer than/],
  ];
  for (const [expr, want] of table) {
    it(`reads the jq expression ${JSON.stringify(expr.slice(0, 60))}`, () => {
      const r = jqToPath(expr);
      if (typeof want === 'string') assert.deepEqual(r, { path: want });
      else assert.match('error' in r ? r.error : `path ${r.path}`, want);
    });
  }
  const pointers: [string, string | RegExp][] = [
    ['/spec/replicas', 'spec.replicas'],
    ['/metadata/annotations/prometheus.io~1scrape', 'metadata.annotations[prometheus.io/scrape]'],
    ['/data/a~0b', 'data[a~b]'],
    ['/spec/template/spec/containers/0/image', /list index "0".*merge key/],
    ['/spec/items/-', /list index "-"/],
    ['spec/replicas', /starts with/],
  ];
  for (const [ptr, want] of pointers) {
    it(`reads the JSON pointer ${ptr}`, () => {
      const r = pointerToPath(ptr);
      if (typeof want === 'string') assert.deepEqual(r, { path: want });
      else assert.match('error' in r ? r.error : `path ${r.path}`, want);
    });
  }
  it('parses a hostile jq expression in linear time without throwing', () => {
    for (const e of ['['.repeat(1000), '"'.repeat(1000), `.${'a.'.repeat(500)}`, `.a${' | .b'.repeat(150)}`]) {
      assert.doesNotThrow(() => jqToPath(e));
    }
  });
});

describe('policy import from Argo CD and Flux configuration', () => {
  const r = importFiles([fixture('argocd-applications.yaml'), fixture('argocd-cm.yaml'), fixture('flux-helmreleases.yaml')]);
  const byName = new Map(r.rules.map((x) => [x.name, x]));

  it('scopes an Application ignoreDifferences entry to the application and the named object', () => {
    assert.deepEqual(byName.get('argocd-api-ignore-0')?.scope, { owners: ['argocd/api'], names: [], namespaces: [] });
    assert.deepEqual(byName.get('argocd-api-ignore-0')?.paths, ['spec.replicas']);
    assert.deepEqual(byName.get('argocd-api-ignore-1')?.scope.names, ['api']);
    assert.deepEqual(byName.get('argocd-api-ignore-1')?.paths, ['spec.template.spec.containers[name=istio-proxy].image']);
  });
  it('names apps in other namespaces as Argo CD tracks them (<namespace>_<app> → argocd/<namespace>/<app>)', () => {
    assert.deepEqual(byName.get('argocd-team-a-web-ignore-0')?.scope.owners, ['argocd/team-a/web']);
    assert.deepEqual(byName.get('argocd-team-a-web-ignore-0')?.managers, ['vpa-updater']);
  });
  it('applies argocd-cm customizations to every Argo CD-owned object, by group_kind, .all and the older block', () => {
    assert.deepEqual(byName.get('argocd-cm-apps-deployment')?.kinds, ['apps/Deployment']);
    assert.deepEqual(byName.get('argocd-cm-all')?.kinds, []);
    assert.deepEqual(byName.get('argocd-cm-all')?.scope.owners, ['argocd/*', 'manager/argocd-controller']);
    assert.deepEqual(byName.get('argocd-cm-autoscaling-horizontalpodautoscaler')?.paths, ['spec.metrics']);
    assert.deepEqual(byName.get('argocd-cm-admissionregistration.k8s.io-mutatingwebhookconfiguration')?.paths, ['webhooks[*].clientConfig.caBundle']);
  });
  it('scopes a Flux HelmRelease ignore rule to the release, with a kind-only target matching any group', () => {
    const f = byName.get('flux-apps-podinfo-ignore-0');
    assert.deepEqual(f?.kinds, ['Deployment']);
    assert.deepEqual(f?.scope.owners, ['flux-helmrelease/apps/podinfo']);
  });
  it('reports what it cannot import, with the reason, instead of widening a rule', () => {
    const reasons = r.notImported.map((n) => `${n.source} ${n.expression} ${n.reason}`);
    assert.ok(reasons.some((x) => /containers\/0\/env.*list index/.test(x)));
    assert.ok(reasons.some((x) => /\| length.*only fixed paths/.test(x)));
    assert.ok(reasons.some((x) => /labelSelector.*not imported/.test(x)));
    assert.ok(reasons.some((x) => /podinfo spec.driftDetection.ignore\[2\].*list index/.test(x)));
  });
  it('prints delegations that the policy file accepts as they are', () => {
    const doc = parse(renderImportYaml(r)) as { delegations: unknown[] };
    const policy = parsePolicy(JSON.stringify({ delegations: doc.delegations }), 'imported');
    assert.equal(policy.delegations.length, r.rules.length);
    assert.ok(policy.delegations.every((d) => d.scope !== undefined && d.source !== undefined));
  });
  it('lists the applications it read, with or without ignore rules', () => {
    assert.deepEqual(r.owners.map((o) => o.id).sort(), ['argocd/api', 'argocd/team-a/web', 'argocd/worker', 'flux-helmrelease/apps/podinfo', 'flux-helmrelease/apps/redis']);
  });
});

describe('scoped delegations', () => {
  const d = { scope: { owners: ['argocd/api', 'flux-helmrelease/*'], names: new Set(['api']), namespaces: undefined } };
  const table: [string, Parameters<typeof delegationInScope>[1], boolean][] = [
    ['applies to the named object of the application', { name: 'api', namespace: 'prod', owner: 'argocd/api' }, true],
    ['applies under an owner prefix', { name: 'api', namespace: 'prod', owner: 'flux-helmrelease/apps/podinfo' }, true],
    ['does not apply to another application', { name: 'api', namespace: 'prod', owner: 'argocd/api2' }, false],
    ['does not apply to another object of the application', { name: 'web', namespace: 'prod', owner: 'argocd/api' }, false],
    ['does not apply to an object no GitOps tool owns', { name: 'api', namespace: 'prod', owner: undefined }, false],
    ['does not apply when the caller cannot say which object it is', undefined, false],
  ];
  for (const [name, target, want] of table) it(name, () => assert.equal(delegationInScope(d, target), want));
  it('an unscoped delegation applies everywhere', () => assert.equal(delegationInScope({ scope: undefined }, undefined), true));
});

describe('policy check against the GitOps tools', () => {
  const r = importFiles([fixture('argocd-applications.yaml'), fixture('flux-helmreleases.yaml')]);
  const policy = parsePolicy(
    `delegations:\n  - name: hpa-replicas\n    kinds: [apps/Deployment]\n    paths: [/spec/replicas]\n    writers: [system:serviceaccount:kube-system:horizontal-pod-autoscaler]\n`,
    'test',
  );
  const conflicts = findConflicts(policy, r, r.owners);
  it('reports an application that reconciles a field driftgate delegates', () => {
    const worker = conflicts.filter((c) => c.kind === 'delegated-but-reconciled' && c.message.includes('argocd/worker'));
    assert.equal(worker.length, 1);
    assert.match(worker[0]!.message, /\/spec\/replicas of apps\/Deployment .*hpa-replicas.*will revert/);
  });
  it('does not report an application that ignores the delegated field', () => {
    assert.ok(!conflicts.some((c) => c.kind === 'delegated-but-reconciled' && /Application argocd\/api /.test(c.message)));
    assert.ok(!conflicts.some((c) => c.kind === 'delegated-but-reconciled' && /HelmRelease apps\/podinfo/.test(c.message)));
  });
  it('reports ignore rules driftgate could not import as fields it still guards', () => {
    assert.ok(conflicts.some((c) => c.kind === 'guarded-but-ignored' && /containers\/0\/env/.test(c.message)));
  });
});
