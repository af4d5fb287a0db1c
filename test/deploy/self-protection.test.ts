/**
 * The gate covers what the policy says it covers (issue 10 item 8), read from the shipped manifests
 * and evaluated with a CEL interpreter: tracked cluster-scoped objects reach driftgate, untracked ones
 * and the GitOps path never do, and driftgate's own configuration and the protected namespaces are
 * guarded in-process by ValidatingAdmissionPolicies. test/deploy/apiserver.test.ts proves the same
 * against a real kube-apiserver.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { run as cel, isCelError, type CelInput } from '@bufbuild/cel';
import { parsePolicy } from '../../src/policy/load.ts';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are read field by field
type Any = any;
const read = (file: string): Any[] => parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8')).map((d) => d.toJS());

const policy = parsePolicy(readFileSync(join(DEPLOY, 'base/driftgate.yaml'), 'utf8'), 'deploy/base/driftgate.yaml');
const vwc = read('base/webhook.yaml')[0];
const namespaced = vwc.webhooks.find((w: Any) => w.name === 'validate.driftgate.io');
const clusterHook = vwc.webhooks.find((w: Any) => w.name === 'cluster.driftgate.io');
const [selfPolicy, selfBinding, nsPolicy, nsBinding] = read('self-protection/self-protection.yaml');
const DRIFTGATE = 'system:serviceaccount:driftgate:driftgate';
const BREAK_GLASS = 'driftgate-break-glass';

interface Req {
  user?: string;
  groups?: string[];
  operation?: string;
  object?: unknown;
  oldObject?: unknown;
  name?: string;
  namespace?: string;
  resource?: string;
}

function env(r: Req): Record<string, CelInput> {
  return {
    request: {
      userInfo: { username: r.user ?? 'admin', ...(r.groups?.length === 0 ? {} : { groups: r.groups ?? ['system:masters', 'system:authenticated'] }) },
      operation: r.operation ?? 'UPDATE',
      name: r.name ?? 'x',
      // the API server leaves empty fields out (CEL then needs has())
      ...(r.namespace ? { namespace: r.namespace } : {}),
      resource: { group: '', version: 'v1', resource: r.resource ?? 'namespaces' },
    },
    object: (r.object ?? null) as CelInput,
    oldObject: (r.oldObject ?? null) as CelInput,
  } as Record<string, CelInput>;
}

function evaluate(expression: string, r: Req): unknown {
  const out = cel(expression, env(r));
  assert.ok(!isCelError(out), `${expression}: ${String(out)}`);
  return out;
}

/** All matchConditions true: the API server sends the request (webhook) or applies the policy (VAP). */
const matches = (conditions: { expression: string }[], r: Req): boolean => conditions.every((c) => evaluate(c.expression, r) === true);
const sentToDriftgate = (r: Req) => matches(clusterHook.matchConditions, r);
const selfProtected = (r: Req) => matches(selfPolicy.spec.matchConditions, r);
/** The namespace policy: matched, and its validation fails → denied. */
const nsDenied = (r: Req) => matches(nsPolicy.spec.matchConditions, r) && nsPolicy.spec.validations.some((v: Any) => evaluate(v.expression, r) !== true);

const meta = (metadata: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', ...metadata } });

describe('cluster-scoped objects reach driftgate (clusterScoped: guard)', () => {
  it('the policy guards tracked cluster-scoped objects', () => {
    assert.equal(policy.clusterScoped, 'guard');
  });

  it('sends Namespaces and the cluster-scoped kinds GitOps commonly owns, in every operation, with no namespaceSelector', () => {
    const rules = clusterHook.rules.flatMap((r: Any) => r.resources.map((res: string) => ({ res, scope: r.scope, ops: r.operations })));
    for (const kind of ['namespaces', 'clusterroles', 'clusterrolebindings', 'customresourcedefinitions', 'storageclasses', 'priorityclasses', 'ingressclasses']) {
      const rule = rules.find((r: Any) => r.res === kind);
      assert.ok(rule, kind);
      assert.equal(rule.scope, 'Cluster', kind);
      assert.deepEqual(rule.ops, ['CREATE', 'UPDATE', 'DELETE'], kind);
    }
    // a namespaceSelector would be matched against a Namespace's own labels: an untracked label would skip it
    assert.equal(clusterHook.namespaceSelector, undefined);
    assert.equal(clusterHook.failurePolicy, 'Fail');
    assert.ok(namespaced.rules.every((r: Any) => r.scope === 'Namespaced'));
  });

  const tracked: [string, Req][] = [
    ['an Argo CD tracking annotation', { object: meta({ annotations: { 'argocd.argoproj.io/tracking-id': 'platform:/Namespace:payments' } }) }],
    ['the Argo CD instance label', { object: meta({ labels: { 'app.kubernetes.io/instance': 'platform' } }) }],
    ['Flux kustomize labels', { object: meta({ labels: { 'kustomize.toolkit.fluxcd.io/name': 'infra', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' } }) }],
    ['Flux helm labels', { object: meta({ labels: { 'helm.toolkit.fluxcd.io/name': 'cm', 'helm.toolkit.fluxcd.io/namespace': 'flux-system' } }) }],
    ['only an argocd-controller managedFields entry', { object: meta({ managedFields: [{ manager: 'kubectl' }, { manager: 'argocd-controller', operation: 'Apply' }] }) }],
    ['a kustomize-controller managedFields entry', { object: meta({ managedFields: [{ manager: 'kustomize-controller' }] }) }],
    ['a delete of a tracked object (object is null)', { operation: 'DELETE', oldObject: meta({ labels: { 'app.kubernetes.io/instance': 'platform' } }) }],
    ['an update that strips the tracking marker', { oldObject: meta({ annotations: { 'argocd.argoproj.io/tracking-id': 't' } }), object: meta({}) }],
    ['an update that empties managedFields', { oldObject: meta({ managedFields: [{ manager: 'helm-controller' }] }), object: meta({ managedFields: [{}] }) }],
  ];
  for (const [name, r] of tracked) {
    it(`sends a write by a person to an object with ${name}`, () => {
      assert.equal(sentToDriftgate(r), true);
    });
  }

  for (const [name, r] of [
    ['an untracked namespace', { object: meta({ labels: { team: 'a' } }) }],
    ['an object with no metadata maps', { object: meta({}) }],
    ['a manager that merely resembles a GitOps one', { object: meta({ managedFields: [{ manager: 'argocd-controller-x' }, { operation: 'Update' }] }) }],
    ['a delete of an untracked object', { operation: 'DELETE', oldObject: meta({}) }],
  ] as [string, Req][]) {
    it(`never sends ${name} (a driftgate outage cannot block it)`, () => {
      assert.equal(sentToDriftgate(r), false);
    });
  }

  it('never sends a tracked object written by the GitOps path, a system writer or driftgate', () => {
    for (const user of [...policy.gitops.controllers, ...policy.systemWriters, DRIFTGATE]) {
      assert.equal(sentToDriftgate({ ...tracked[0]![1], user }), false, user);
    }
  });

  it('lists exactly the policy\'s tracking annotations, tracking labels and GitOps field managers', () => {
    const expr = clusterHook.matchConditions.find((c: Any) => c.name === 'gitops-tracked').expression as string;
    const lists = [...expr.matchAll(/\[('[^\]]*')\]/g)].map((m) => [...m[1]!.matchAll(/'([^']+)'/g)].map((x) => x[1]));
    assert.deepEqual(lists, [[...policy.gitops.trackingAnnotations], [...policy.gitops.trackingLabels], [...policy.gitops.fieldManagers]]);
  });

  it('exempts in both entries exactly the GitOps controllers, the system writers and driftgate', () => {
    const exempt = [...policy.gitops.controllers, ...policy.systemWriters, DRIFTGATE].sort();
    for (const hook of [namespaced, clusterHook]) {
      // identities only: the tracked-object check and the controllers' status-write exemption name no one
      const names = hook.matchConditions.filter((c: Any) => c.name !== 'gitops-tracked' && c.name !== 'not-a-controller-status-write').flatMap((c: Any) => [...(c.expression as string).matchAll(/'([^']+)'/g)].map((x) => x[1]));
      assert.deepEqual([...new Set(names)].sort(), exempt, hook.name);
    }
  });
});

describe('self-protection (ValidatingAdmissionPolicy, works while driftgate is down)', () => {
  it('is bound with Deny', () => {
    for (const [p, b] of [[selfPolicy, selfBinding], [nsPolicy, nsBinding]]) {
      assert.equal(b.spec.policyName, p.metadata.name);
      assert.deepEqual(b.spec.validationActions, ['Deny']);
      assert.equal(p.spec.failurePolicy, 'Fail');
    }
  });

  it('covers the webhook configuration, both CRDs, the namespace and what is in it', () => {
    const rules = selfPolicy.spec.matchConstraints.resourceRules;
    const named = (resource: string) => rules.find((r: Any) => r.resources.includes(resource))?.resourceNames;
    assert.deepEqual(named('validatingwebhookconfigurations'), [vwc.metadata.name]);
    assert.deepEqual(named('customresourcedefinitions'), ['breakglassgrants.driftgate.io', 'drifttasks.driftgate.io']);
    assert.deepEqual(named('namespaces'), ['driftgate']);
    assert.ok(rules.some((r: Any) => r.resources.includes('*/*') && r.scope === 'Namespaced')); // every resource and subresource
    assert.deepEqual(selfPolicy.spec.matchConstraints.namespaceSelector, { matchLabels: { 'kubernetes.io/metadata.name': 'driftgate' } });
    for (const r of rules) assert.deepEqual(r.operations.filter((o: string) => o !== 'CREATE'), ['UPDATE', 'DELETE']);
  });

  for (const [name, r, want] of [
    ['a cluster admin', { user: 'admin' }, true],
    ['a person in system:masters with another name', { user: 'root', groups: ['system:masters'] }, true],
    ['the Argo CD server (UI clicks are people)', { user: 'system:serviceaccount:argocd:argocd-server' }, true],
    ['a service account in driftgate\'s namespace other than driftgate', { user: 'system:serviceaccount:driftgate:other' }, true],
    ['a user named like the break-glass group, with no groups', { user: BREAK_GLASS, groups: [] }, true],
    ['the break-glass group', { user: 'admin', groups: ['system:masters', BREAK_GLASS] }, false],
    ['the Argo CD application controller', { user: 'system:serviceaccount:argocd:argocd-application-controller' }, false],
    ['the Flux kustomize controller', { user: 'system:serviceaccount:flux-system:kustomize-controller' }, false],
    ['driftgate itself (caBundle, grants, tasks, keys)', { user: DRIFTGATE }, false],
    ['a Kubernetes controller in kube-system', { user: 'system:serviceaccount:kube-system:deployment-controller' }, false],
    ['the controller manager', { user: 'system:kube-controller-manager' }, false],
  ] as [string, Req, boolean][]) {
    it(`${want ? 'denies' : 'lets through'} ${name}`, () => {
      assert.equal(selfProtected(r), want);
      const message = cel(selfPolicy.spec.validations[0].messageExpression, env({ ...r, name: 'driftgate', resource: 'validatingwebhookconfigurations' }));
      assert.match(String(message), /driftgate protects its own validatingwebhookconfigurations driftgate: change it through GitOps, or act in the break-glass group driftgate-break-glass/);
    });
  }

  it('lists the same GitOps controllers as the policy', () => {
    const names = selfPolicy.spec.matchConditions.find((c: Any) => c.name === 'not-a-gitops-controller').expression.match(/'([^']+)'/g).map((x: string) => x.slice(1, -1));
    assert.deepEqual(names.sort(), [...policy.gitops.controllers].sort());
  });
});

describe('a protected namespace stays protected', () => {
  const protectedNs = meta({ name: 'prod', labels: { 'driftgate.io/protected': 'true', team: 'pay' } });
  for (const [name, r, want] of [
    ['removing the protected label', { oldObject: protectedNs, object: meta({ name: 'prod', labels: { team: 'pay' } }) }, true],
    ['setting the label to false', { oldObject: protectedNs, object: meta({ name: 'prod', labels: { 'driftgate.io/protected': 'false' } }) }, true],
    ['removing every label', { oldObject: protectedNs, object: meta({ name: 'prod' }) }, true],
    ['deleting the namespace', { operation: 'DELETE', oldObject: protectedNs }, true],
    ['another label change that keeps protection', { oldObject: protectedNs, object: meta({ name: 'prod', labels: { 'driftgate.io/protected': 'true', team: 'ops' } }) }, false],
    ['protecting a namespace', { oldObject: meta({ name: 'dev' }), object: meta({ name: 'dev', labels: { 'driftgate.io/protected': 'true' } }) }, false],
    ['deleting an unprotected namespace', { operation: 'DELETE', oldObject: meta({ name: 'dev', labels: { 'driftgate.io/protected': 'false' } }) }, false],
    ['the break-glass group removing the label', { groups: [BREAK_GLASS], oldObject: protectedNs, object: meta({ name: 'prod' }) }, false],
    ['Argo CD deleting it', { user: 'system:serviceaccount:argocd:argocd-application-controller', operation: 'DELETE', oldObject: protectedNs }, false],
    ['the namespace controller finishing a delete', { user: 'system:serviceaccount:kube-system:namespace-controller', oldObject: protectedNs, object: meta({ name: 'prod' }) }, false],
  ] as [string, Req, boolean][]) {
    it(`${want ? 'denies' : 'allows'} ${name}`, () => {
      assert.equal(nsDenied({ name: 'prod', ...r }), want);
    });
  }
});
