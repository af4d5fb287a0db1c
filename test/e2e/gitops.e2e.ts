/**
 * End to end, one ownership map with the GitOps tools: driftgate runs as its own ServiceAccount with
 * the RBAC deploy/ ships, watches Argo CD Applications, argocd-cm and Flux objects through a real
 * kube-apiserver, and follows what they ignore. An HPA-managed Deployment whose Argo CD application
 * ignores /spec/replicas: the HPA scales it, a person cannot, and no delegation is written by hand.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, freePort, missingPrerequisite, ROOT, who } from './harness/cluster.ts';
import { DENIED, Driftgate, keepLogs, registerWebhook } from './harness/driftgate.ts';
import { gitopsCrd } from './harness/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const skip = missingPrerequisite() ?? false;

const setup = `
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {driftgate.io/protected: "true"}}
---
apiVersion: v1
kind: Namespace
metadata: {name: argocd}
---
apiVersion: v1
kind: Namespace
metadata: {name: flux-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-gitops-workloads}
rules:
  - apiGroups: ["", apps, argoproj.io, kustomize.toolkit.fluxcd.io, helm.toolkit.fluxcd.io]
    resources: ["*"]
    verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-gitops-workloads}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-gitops-workloads}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: oncall}
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:serviceaccounts:argocd}
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:serviceaccounts:kube-system}
`;

const application = (ignore: string) => `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: payments, namespace: argocd}
spec:
  project: default
  source: {repoURL: https://git.example.com/payments.git, path: prod, targetRevision: main}
  destination: {server: https://kubernetes.default.svc, namespace: prod}
  syncPolicy: {automated: {prune: true, selfHeal: true}}
  ignoreDifferences: ${ignore}
status:
  sync: {status: Synced, revision: 4f2c1e0}
  health: {status: Healthy}
  operationState: {phase: Succeeded, finishedAt: "2026-11-25T10:00:00Z"}
`;

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: payments-api
  namespace: prod
  annotations: {argocd.argoproj.io/tracking-id: "payments:apps/Deployment:prod/payments-api"}
spec:
  replicas: 2
  selector: {matchLabels: {app: payments-api}}
  template:
    metadata: {labels: {app: payments-api}}
    spec: {containers: [{name: api, image: registry.example.com/payments:1.0.0}]}
`;

const suspendedKustomization = `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: infra, namespace: flux-system}
spec: {interval: 5m, path: ./infra, prune: true, suspend: true, sourceRef: {kind: GitRepository, name: infra}}
status:
  conditions: [{type: Ready, status: "True", reason: ReconciliationSucceeded, lastTransitionTime: "2026-11-25T09:00:00Z"}]
`;

describe('driftgate follows what Argo CD and Flux ignore (real API server, shipped RBAC)', { skip }, () => {
  let cluster: Cluster;
  let dg: Driftgate;
  const work = skip ? '' : tempDir('driftgate-e2e-gitops-');

  before(async () => {
    cluster = await Cluster.start();
    cluster.apply(setup);
    cluster.apply([gitopsCrd('argoproj.io', 'Application', 'applications', 'v1alpha1'), gitopsCrd('kustomize.toolkit.fluxcd.io', 'Kustomization', 'kustomizations'), gitopsCrd('helm.toolkit.fluxcd.io', 'HelmRelease', 'helmreleases', 'v2')].join('---\n'));
    cluster.ok(['wait', '--for=condition=Established', 'crd/applications.argoproj.io', 'crd/kustomizations.kustomize.toolkit.fluxcd.io', 'crd/helmreleases.helm.toolkit.fluxcd.io', '--timeout=30s']);
    cluster.apply(application('[{group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}]'));
    cluster.apply(suspendedKustomization);
    cluster.apply(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm, namespace: argocd}\ndata:\n  resource.customizations.ignoreDifferences.all: |\n    jsonPointers:\n    - /metadata/labels/cost-center\n`);
    cluster.apply(deployment, { as: who.argocd, serverSide: 'argocd-controller' });
    // driftgate's namespace, ServiceAccount and RBAC exactly as deploy/base ships them
    for (const f of ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml']) cluster.ok(['apply', '-f', join(ROOT, 'deploy', 'base', f)]);
    const config = join(work, 'driftgate.yaml');
    writeFileSync(config, 'delegations: []   # nothing by hand: the Argo CD application says who owns replicas\n');
    dg = new Driftgate({
      port: await freePort(),
      dataDir: join(work, 'data'),
      certsDir: join(work, 'certs'),
      config,
      args: ['--store=embedded', '--cluster-cache'],
      kubeconfig: cluster.serviceAccountKubeconfig('driftgate', 'driftgate', join(work, 'sa.kubeconfig')),
    });
    await dg.start();
    await registerWebhook(cluster, dg, () => {
      const r = cluster.kubectl(['-n', 'prod', 'create', 'configmap', 'probe', '--dry-run=server'], { as: who.alice });
      return r.status !== 0 && r.stderr.includes('denied the request');
    });
  });

  after(async () => {
    await dg?.stop();
    cluster?.stop();
    keepLogs(cluster, dg, 'gitops');
  });

  const replicas = () => cluster.json<{ spec: { replicas: number } }>(['-n', 'prod', 'get', 'deployment', 'payments-api']).spec.replicas;

  it('watches the GitOps objects with the shipped RBAC (no forbidden list or watch)', () => {
    assert.doesNotMatch(dg.log, /forbidden/i);
    assert.doesNotMatch(dg.log, /gitops watch: cannot list/);
  });

  it('lets the HPA scale the Deployment: Argo CD ignores /spec/replicas', () => {
    const r = cluster.kubectl(['-n', 'prod', 'scale', 'deployment', 'payments-api', '--replicas=4'], { as: who.hpa });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(replicas(), 4);
  });

  it('denies a person the same scale, naming the owner', () => {
    const r = cluster.kubectl(['-n', 'prod', 'scale', 'deployment', 'payments-api', '--replicas=9'], { as: who.alice });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, DENIED);
    assert.match(r.stderr, /Argo CD application "payments"/);
    assert.match(r.stderr, /spec\.replicas: 4 → 9 .*\[Argo CD Application argocd\/payments spec\.ignoreDifferences\[0\] ignores it: only system:serviceaccounts/);
    assert.equal(replicas(), 4);
  });

  it('guards replicas again, for the HPA too, once the application stops ignoring them', async () => {
    cluster.apply(application('[]'));
    let r = { status: 0, stdout: '', stderr: '' };
    for (let i = 0; i < 50; i++) {
      r = cluster.kubectl(['-n', 'prod', 'scale', 'deployment', 'payments-api', '--replicas=5', '--dry-run=server'], { as: who.hpa });
      if (r.status !== 0) break;
      await sleep(100);
    }
    assert.match(r.stderr, DENIED);
    cluster.apply(application('[{group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}]'));
  });

  it('lets a controller change a label argocd-cm ignores for every application', () => {
    const r = cluster.kubectl(['-n', 'prod', 'label', 'deployment', 'payments-api', 'cost-center=42'], { as: who.hpa });
    assert.equal(r.status, 0, r.stderr);
  });

  it('reports each owner\'s delivery health on /metrics', async () => {
    const m = await dg.get('/metrics');
    assert.match(m.body, /driftgate_gitops_owner_ready\{owner="argocd\/payments",kind="Application"\} 1/);
    assert.match(m.body, /driftgate_gitops_owner_ready\{owner="flux-kustomization\/flux-system\/infra",kind="Kustomization"\} 0/);
    assert.match(m.body, /driftgate_gitops_owners_suspended 1/);
  });
});
