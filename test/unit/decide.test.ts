import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type DecisionInput, type Outcome, type Rule } from '../../src/admission/decide.ts';
import type { Grant } from '../../src/grants/grant.ts';
import { examplePolicy, grant, NOW, policyFrom } from '../helpers/deps.ts';
import { ARGO_CONTROLLER, ARGO_SERVER, deployment, edit, HPA, request, type RequestSpec } from '../helpers/reviews.ts';

const base = deployment();

interface Case {
  name: string;
  spec: RequestSpec;
  policy?: string;
  grants?: Grant[];
  want: Outcome;
  rule?: Rule;
  guarded?: string[];
  check?: (v: ReturnType<typeof decide>) => void;
}

const scaleReview = (user: string): RequestSpec => ({
  subResource: 'scale',
  kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
  user,
  groups: user === HPA ? ['system:serviceaccounts'] : undefined,
  oldObject: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'api', namespace: 'prod' }, spec: { replicas: 3 } },
  object: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'api', namespace: 'prod' }, spec: { replicas: 5 } },
});

const configMap = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'prod', ...extra },
  data: { LOG_LEVEL: 'info' },
});
const cmKind = { kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' } };

const cases: Case[] = [
  {
    name: 'denies a memory-limit edit by a human',
    spec: { oldObject: base, object: deployment({ memory: '2Gi' }) },
    want: 'denied',
    rule: 'guarded-change',
    guarded: ['spec.template.spec.containers[name=api].resources.limits.memory'],
    check: (v) => {
      assert.match(v.message!, /"512Mi" → "2Gi" \(declared in Git\)/);
      assert.match(v.message!, /Argo CD application "payments"/);
      assert.match(v.message!, /driftgate grant request -n prod deployment\/api/);
    },
  },
  {
    name: 'denies kubectl set image by a human',
    spec: { oldObject: base, object: deployment({ image: 'registry.example.com/api:1.3.0' }) },
    want: 'denied',
    guarded: ['spec.template.spec.containers[name=api].image'],
  },
  {
    name: 'allows an Argo CD sync (the GitOps controller identity)',
    spec: { oldObject: base, object: deployment({ image: 'registry.example.com/api:1.3.0' }), user: ARGO_CONTROLLER },
    want: 'allowed',
    rule: 'gitops-controller',
  },
  {
    name: 'treats argocd-server (a UI click) like any other writer',
    spec: { oldObject: base, object: deployment({ replicas: 9 }), user: ARGO_SERVER, groups: ['system:serviceaccounts'] },
    want: 'denied',
    guarded: ['spec.replicas'],
  },
  {
    name: 'does not exempt system:masters',
    spec: { oldObject: base, object: deployment({ replicas: 9 }), user: 'admin', groups: ['system:masters'] },
    want: 'denied',
  },
  {
    name: 'allows a system writer (garbage collector)',
    spec: { operation: 'DELETE', oldObject: base, user: 'system:serviceaccount:kube-system:generic-garbage-collector' },
    want: 'allowed',
    rule: 'system-writer',
  },
  {
    name: 'ignores a spoofed GitOps field manager: identity decides',
    spec: { oldObject: base, object: edit(deployment({ replicas: 7 }), (o) => o.metadata.managedFields.push({ manager: 'argocd-controller', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:replicas': {} } } })) },
    want: 'denied',
  },
  {
    name: 'allows an HPA replica change by the HPA service account',
    spec: { oldObject: base, object: deployment({ replicas: 6 }), user: HPA, groups: ['system:serviceaccounts'] },
    want: 'allowed',
    rule: 'no-guarded-change',
  },
  {
    name: 'allows an HPA scale-subresource write (delegated spec.replicas)',
    spec: scaleReview(HPA),
    want: 'allowed',
    rule: 'no-guarded-change',
  },
  {
    name: 'denies kubectl scale by a human (fallback: no parent cache)',
    spec: scaleReview('alice'),
    want: 'denied',
    guarded: ['spec.replicas'],
    check: (v) => assert.match(v.message!, /3 → 5/),
  },
  {
    name: 'ignores a platform webhook\'s injected annotation',
    spec: { oldObject: base, object: deployment({ annotations: { 'platform.example.com/injected-sidecar': 'v2' } }) },
    want: 'allowed',
    rule: 'no-guarded-change',
  },
  {
    name: 'allows a rollout restart with a warning (allowance)',
    spec: { oldObject: base, object: edit(base, (o) => (o.spec.template.metadata.annotations = { 'kubectl.kubernetes.io/restartedAt': '2026-11-24T12:00:00Z' })) },
    want: 'warned',
    rule: 'allowance',
    check: (v) => {
      assert.deepEqual(v.allowancesUsed, ['rollout-restart']);
      assert.match(v.warnings[0]!, /allowance "rollout-restart" used on Deployment prod\/api by alice/);
    },
  },
  {
    name: 'denies a rollout restart that also changes the image',
    spec: {
      oldObject: base,
      object: edit(deployment({ image: 'x:2' }), (o) => (o.spec.template.metadata.annotations = { 'kubectl.kubernetes.io/restartedAt': 'now' })),
    },
    want: 'denied',
    guarded: ['spec.template.spec.containers[name=api].image'],
  },
  {
    name: 'allows a status-only update',
    spec: { subResource: 'status', oldObject: base, object: edit(base, (o) => (o.status = { replicas: 5, readyReplicas: 5 })) },
    want: 'allowed',
    rule: 'no-guarded-change',
  },
  {
    name: 'allows metadata the API server owns to change (resourceVersion, managedFields, generation)',
    spec: {
      oldObject: base,
      object: edit(base, (o) => {
        Object.assign(o.metadata, { resourceVersion: '101', generation: 4 });
        o.metadata.managedFields[0].time = '2026-11-24T12:00:00Z';
      }),
    },
    want: 'allowed',
  },
  {
    name: 'denies a hand-made object in a protected namespace',
    spec: { operation: 'CREATE', object: configMap('hand-made'), ...cmKind },
    want: 'denied',
    rule: 'unmanaged-create',
    check: (v) => assert.match(v.message!, /--operation CREATE/),
  },
  {
    name: 'allows a hand-made object with a warning under unmanagedCreates: audit',
    policy: 'protectedNamespaces: [prod]\nunmanagedCreates: audit',
    spec: { operation: 'CREATE', object: configMap('hand-made'), ...cmKind },
    want: 'warned',
    rule: 'unmanaged-create',
  },
  {
    name: 'allows a hand-made object under unmanagedCreates: allow',
    policy: 'protectedNamespaces: [prod]\nunmanagedCreates: allow',
    spec: { operation: 'CREATE', object: configMap('hand-made'), ...cmKind },
    want: 'allowed',
  },
  {
    name: 'denies a hand-made object that carries a controller ownerReference (client-supplied, no evidence)',
    spec: { operation: 'CREATE', object: configMap('rs-x', { ownerReferences: [{ kind: 'ReplicaSet', name: 'x', controller: true }] }), ...cmKind },
    want: 'denied',
    rule: 'unmanaged-create',
  },
  {
    name: 'denies a human creating a tracked object',
    spec: { operation: 'CREATE', object: base },
    want: 'denied',
    rule: 'guarded-change',
  },
  {
    name: 'denies deleting a tracked object',
    spec: { operation: 'DELETE', oldObject: base },
    want: 'denied',
    check: (v) => assert.match(v.message!, /deleting Deployment prod\/api is denied/),
  },
  {
    name: 'allows deleting an object Git does not own',
    spec: { operation: 'DELETE', oldObject: configMap('scratch'), ...cmKind },
    want: 'allowed',
    rule: 'not-gitops-owned',
  },
  {
    name: 'allows writes outside protected namespaces',
    spec: { oldObject: edit(base, (o) => (o.metadata.namespace = 'dev')), object: edit(deployment({ replicas: 9 }), (o) => (o.metadata.namespace = 'dev')), namespace: 'dev' },
    want: 'allowed',
    rule: 'namespace-unprotected',
  },
  {
    name: 'always allows CONNECT',
    spec: { operation: 'CONNECT', object: null, oldObject: null },
    want: 'allowed',
    rule: 'connect',
  },
  {
    name: 'guards removal of the Argo CD tracking annotation (detaching is drift)',
    policy: 'protectedNamespaces: [prod]\nignore: [{paths: ["metadata.annotations"]}]',
    spec: { oldObject: base, object: edit(base, (o) => delete o.metadata.annotations['argocd.argoproj.io/tracking-id']) },
    want: 'denied',
    check: (v) => assert.equal(v.guarded[0]!.rule, 'tracking-marker'),
  },
  {
    name: 'guards a Flux reconcile lever even when annotations are ignored',
    policy: 'protectedNamespaces: [prod]\nignore: [{paths: ["metadata.annotations"]}]',
    spec: { oldObject: base, object: deployment({ annotations: { 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' } }) },
    want: 'denied',
    check: (v) => assert.equal(v.guarded[0]!.rule, 'reconcile-lever'),
  },
  {
    name: 'guards suspending a Flux Kustomization that nothing else marks as owned',
    spec: {
      kind: { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', kind: 'Kustomization' },
      resource: { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', resource: 'kustomizations' },
      oldObject: { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'apps', namespace: 'prod' }, spec: { path: './apps', interval: '5m' } },
      object: { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'apps', namespace: 'prod' }, spec: { path: './apps', interval: '5m', suspend: true } },
    },
    want: 'denied',
    guarded: ['spec.suspend'],
  },
  ...(['Kustomization', 'HelmRelease', 'Application'] as const).map((kind) => {
    const group = kind === 'Application' ? 'argoproj.io' : kind === 'Kustomization' ? 'kustomize.toolkit.fluxcd.io' : 'helm.toolkit.fluxcd.io';
    return {
      name: `denies deleting ${kind === 'Application' ? 'an' : 'a'} ${kind} nothing marks as owned (its controller stops reconciling, or prunes, everything it applied)`,
      spec: {
        operation: 'DELETE' as const,
        kind: { group, version: 'v1', kind },
        resource: { group, version: 'v1', resource: `${kind.toLowerCase()}s` },
        oldObject: { apiVersion: `${group}/v1`, kind, metadata: { name: 'apps', namespace: 'prod' }, spec: { interval: '5m' } },
        object: null,
      },
      want: 'denied' as const,
      rule: 'guarded-change' as const,
    };
  }),
  {
    name: 'allows other edits of an untracked Flux Kustomization',
    spec: {
      kind: { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', kind: 'Kustomization' },
      resource: { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', resource: 'kustomizations' },
      oldObject: { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'apps', namespace: 'prod' }, spec: { interval: '5m' } },
      object: { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'apps', namespace: 'prod' }, spec: { interval: '1m' } },
    },
    want: 'allowed',
    rule: 'not-gitops-owned',
  },
  {
    name: 'guards turning off Argo CD self-heal',
    spec: {
      kind: { group: 'argoproj.io', version: 'v1alpha1', kind: 'Application' },
      resource: { group: 'argoproj.io', version: 'v1alpha1', resource: 'applications' },
      oldObject: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'payments', namespace: 'prod' }, spec: { syncPolicy: { automated: { selfHeal: true } } } },
      object: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'payments', namespace: 'prod' }, spec: { syncPolicy: { automated: { selfHeal: false } } } },
    },
    want: 'denied',
    guarded: ['spec.syncPolicy.automated.selfHeal'],
  },
  {
    name: 'delegates fields by field manager (VPA owns the resources it sets)',
    policy: 'protectedNamespaces: [prod]\ndelegations: [{name: vpa, managers: [vpa-updater]}]',
    spec: {
      oldObject: edit(base, (o) => o.metadata.managedFields.push({ manager: 'vpa-updater', operation: 'Update', fieldsV1: { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"api"}': { 'f:resources': { 'f:limits': { 'f:memory': {} } } } } } } } } })),
      object: deployment({ memory: '1Gi' }),
    },
    want: 'allowed',
  },
  {
    name: 'denies a delegated path to a writer the delegation does not name',
    policy: 'protectedNamespaces: [prod]\ndelegations: [{name: hpa, paths: [/spec/replicas], writers: [someone-else]}]',
    spec: { oldObject: base, object: deployment({ replicas: 6 }) },
    want: 'denied',
  },
  {
    name: 'lets anyone write a delegated path when the delegation names no writers',
    policy: 'protectedNamespaces: [prod]\ndelegations: [{name: replicas, kinds: [apps/Deployment], paths: [spec.replicas]}]',
    spec: { oldObject: base, object: deployment({ replicas: 6 }) },
    want: 'allowed',
  },
  {
    name: 'turns a deny into allow + warning in audit mode',
    policy: 'protectedNamespaces: [prod]\nmode: audit',
    spec: { oldObject: base, object: deployment({ memory: '2Gi' }) },
    want: 'warned',
    rule: 'guarded-change',
    check: (v) => {
      assert.equal(v.audited, true);
      assert.match(v.warnings[0]!, /would deny in enforce mode/);
    },
  },
  {
    name: 'applies a per-namespace audit mode',
    policy: 'protectedNamespaces: [prod]\nnamespaces: {prod: {mode: audit}}',
    spec: { oldObject: base, object: deployment({ memory: '2Gi' }) },
    want: 'warned',
  },
  {
    name: 'gives a dry run the same decision',
    spec: { oldObject: base, object: deployment({ memory: '2Gi' }), dryRun: true },
    want: 'denied',
  },
  {
    name: 'allows a change covered by an active grant',
    spec: { oldObject: base, object: deployment({ memory: '2Gi' }) },
    grants: [grant()],
    want: 'bypassed',
    rule: 'grant',
  },
  {
    name: 'denies a change only partly covered by a grant\'s paths',
    spec: { oldObject: base, object: deployment({ memory: '2Gi', image: 'x:2' }) },
    grants: [grant({ paths: ['spec.template.spec.containers[name=api].resources'] })],
    want: 'denied',
  },
  {
    name: 'denies a DELETE under a grant that does not name DELETE',
    spec: { operation: 'DELETE', oldObject: base },
    grants: [grant()],
    want: 'denied',
  },
  {
    name: 'allows a change covered by a grant to one of the writer\'s groups',
    spec: { oldObject: base, object: deployment({ memory: '2Gi' }) },
    grants: [grant({ subjects: { users: [], groups: ['oncall'] } })],
    want: 'bypassed',
  },
  {
    name: 'denies a writer the grant does not name',
    spec: { oldObject: base, object: deployment({ memory: '2Gi' }), user: 'carol', groups: ['dev'] },
    grants: [grant()],
    want: 'denied',
  },
  {
    name: 'allows a change covered by a grant whose name glob matches',
    spec: { oldObject: base, object: deployment({ memory: '2Gi' }) },
    grants: [grant({ resources: [{ group: 'apps', kind: 'Deployment', name: 'a*' }] })],
    want: 'bypassed',
  },
  {
    name: 'denies a change when the grant\'s name glob does not match',
    spec: { oldObject: base, object: deployment({ memory: '2Gi' }) },
    grants: [grant({ resources: [{ group: 'apps', kind: 'Deployment', name: 'web-*' }] })],
    want: 'denied',
  },
  {
    name: 'allows a change inside a grant\'s path prefix',
    spec: { oldObject: base, object: deployment({ memory: '2Gi' }) },
    grants: [grant({ paths: ['spec.template.spec.containers[name=api].resources'] })],
    want: 'bypassed',
  },
  {
    name: 'allows a DELETE under a grant that names DELETE',
    spec: { operation: 'DELETE', oldObject: base },
    grants: [grant({ operations: ['DELETE'] })],
    want: 'bypassed',
  },
  {
    name: 'ignores a grant that is not yet valid',
    spec: { oldObject: base, object: deployment({ memory: '2Gi' }) },
    grants: [grant({ notBefore: '2026-11-24T12:00:01Z' })],
    want: 'denied',
  },
  {
    name: 'ignores a revoked grant',
    spec: { oldObject: base, object: deployment({ memory: '2Gi' }) },
    grants: [grant({ state: 'revoked', revokedAt: '2026-11-24T11:59:00Z' })],
    want: 'denied',
  },
  {
    name: 'ignores a grant pending approval',
    spec: { oldObject: base, object: deployment({ memory: '2Gi' }) },
    grants: [grant({ state: 'pending-approval' })],
    want: 'denied',
  },
  {
    name: 'prefers the narrowest covering grant, then the soonest-expiring',
    spec: { oldObject: base, object: deployment({ memory: '2Gi' }) },
    grants: [
      grant({ id: 'wide', resources: [{ group: 'apps', kind: 'Deployment', name: '*' }] }),
      grant({ id: 'late', expiresAt: '2026-11-24T12:50:00Z' }),
      grant({ id: 'soon', expiresAt: '2026-11-24T12:10:00Z' }),
    ],
    want: 'bypassed',
    check: (v) => assert.equal(v.grant?.id, 'soon'),
  },
  {
    name: 'ignores an expired grant',
    spec: { oldObject: base, object: deployment({ memory: '2Gi' }) },
    grants: [grant({ expiresAt: '2026-11-24T11:59:59Z' })],
    want: 'denied',
  },
  {
    name: 'protects namespaces by label selector when namespace labels are known',
    policy: 'protectedNamespaces: {selector: {matchLabels: {driftgate.io/protected: "true"}}}',
    spec: { oldObject: base, object: deployment({ memory: '2Gi' }) },
    want: 'denied',
  },
];

describe('decide (SPEC §2, rules in order)', () => {
  for (const c of cases) {
    it(c.name, () => {
      const input: DecisionInput = {
        request: request(c.spec),
        policy: c.policy ? policyFrom(c.policy) : examplePolicy(),
        now: NOW,
        grantsFor: () => c.grants ?? [],
      };
      const v = decide(input);
      assert.equal(v.outcome, c.want, v.message ?? v.rule);
      assert.equal(v.allowed, c.want !== 'denied');
      if (c.rule) assert.equal(v.rule, c.rule);
      if (c.guarded) assert.deepEqual(v.guarded.map((g) => g.printed), c.guarded);
      c.check?.(v);
    });
  }

  it('skips namespaces whose labels do not match the selector', () => {
    const v = decide({
      request: request({ oldObject: base, object: deployment({ memory: '2Gi' }) }),
      policy: policyFrom('protectedNamespaces: {selector: {matchLabels: {driftgate.io/protected: "true"}}}'),
      now: NOW,
      grantsFor: () => [],
      namespaceLabels: { team: 'x' },
    });
    assert.equal(v.rule, 'namespace-unprotected');
  });

  it('decides a scale write from the parent object when a cache knows it', () => {
    const untracked = edit(deployment({ managed: false }), (o) => delete o.metadata.annotations['argocd.argoproj.io/tracking-id']);
    const v = decide({ request: request(scaleReview('alice')), policy: examplePolicy(), now: NOW, grantsFor: () => [], scaleParent: { state: 'found', object: untracked as never } });
    assert.equal(v.rule, 'not-gitops-owned');
  });

  it('asks for grants only when a write reaches rule 6, naming the object written (the parent for scale)', () => {
    const asked: string[] = [];
    const grantsFor = (t: { namespace: string; group: string; kind: string; name: string }) => {
      asked.push(`${t.namespace}/${t.group}/${t.kind}/${t.name}`);
      return [];
    };
    decide({ request: request({ oldObject: base, object: deployment(), user: ARGO_CONTROLLER }), policy: examplePolicy(), now: NOW, grantsFor });
    decide({ request: request({ oldObject: base, object: deployment({ annotations: { 'platform.example.com/injected-x': 'y' } }) }), policy: examplePolicy(), now: NOW, grantsFor });
    assert.deepEqual(asked, []);
    decide({ request: request(scaleReview('alice')), policy: examplePolicy(), now: NOW, grantsFor });
    assert.deepEqual(asked, ['prod/apps/Deployment/api']);
  });

  it('lists at most five guarded paths in a denial, and stops reading once no grant can cover the write', () => {
    const labels = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`l${i}`, 'x']));
    const v = decide({ request: request({ oldObject: base, object: deployment({ labels }) }), policy: examplePolicy(), now: NOW, grantsFor: () => [] });
    assert.equal(v.partial, true);
    assert.equal(v.guarded.length, 6);
    assert.equal((v.message!.match(/^ {2}- /gm) ?? []).length, 5);
    assert.match(v.message!, /More than 5 guarded change\(s\)/);
    assert.match(v.message!, /…and more \(not all read: no grant can cover this write\)/);
  });

  it('denies an UPDATE with more guarded changes than breakGlass.maxChangesPerBypass, even under a grant for every path', () => {
    const labels = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`l${i}`, 'x']));
    const g = grant({ expiresAt: '2999-01-01T00:00:00Z' });
    const policy = policyFrom('protectedNamespaces: [prod]\nbreakGlass: {maxChangesPerBypass: 10}\n');
    const v = decide({ request: request({ oldObject: base, object: deployment({ labels }) }), policy, now: NOW, grantsFor: () => [g] });
    assert.equal(v.outcome, 'denied');
    assert.equal(v.partial, true);
    assert.equal(v.guarded.length, 11); // read up to the limit, and one more
    assert.match(v.message!, /No grant covers a write of more than 10 guarded changes \(breakGlass\.maxChangesPerBypass\)/);
    const within = decide({ request: request({ oldObject: base, object: deployment({ labels: { l0: 'x' } }) }), policy, now: NOW, grantsFor: () => [g] });
    assert.equal(within.outcome, 'bypassed');
  });

  it('reads every change while a grant could still cover the write, and counts them in the denial', () => {
    const labels = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`l${i}`, 'x']));
    // the grant covers the labels, not the image: the denial is certain only at the image, so all are read
    const g = grant({ paths: ['metadata.labels'], expiresAt: '2999-01-01T00:00:00Z' });
    const v = decide({ request: request({ oldObject: base, object: deployment({ labels, image: 'api:9' }) }), policy: examplePolicy(), now: NOW, grantsFor: () => [g] });
    assert.equal(v.outcome, 'denied');
    assert.equal(v.partial, true); // stopped after the image: nothing can cover it
    const all = decide({ request: request({ oldObject: base, object: deployment({ labels }) }), policy: examplePolicy(), now: NOW, grantsFor: () => [g] });
    assert.equal(all.outcome, 'bypassed');
    assert.equal(all.partial, false);
    assert.equal(all.guarded.length, 8);
  });

  it('never prints a Secret value in a denial', () => {
    const secret = (pw: string) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'prod', annotations: { 'argocd.argoproj.io/tracking-id': 'payments:/Secret:prod/s' } },
      data: { password: Buffer.from(pw).toString('base64') },
    });
    const v = decide({
      request: request({ kind: { group: '', version: 'v1', kind: 'Secret' }, resource: { group: '', version: 'v1', resource: 'secrets' }, oldObject: secret('old-pass'), object: secret('new-pass') }),
      policy: examplePolicy(),
      now: NOW,
      grantsFor: () => [],
    });
    assert.equal(v.outcome, 'denied');
    for (const pw of ['old-pass', 'new-pass']) {
      assert.ok(!v.message!.includes(Buffer.from(pw).toString('base64')));
      assert.ok(!v.message!.includes(pw));
    }
    assert.match(v.message!, /data\.password: "<secret hmac-sha256:[0-9a-f]{16}>" → "<secret hmac-sha256:[0-9a-f]{16}>"/);
  });
});
