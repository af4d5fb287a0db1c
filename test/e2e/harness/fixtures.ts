/**
 * The cluster the scenarios run in: a protected namespace `prod` (labelled as deploy/ expects), an
 * unprotected `dev`, RBAC for the people and controllers (the test API server's built-in `edit` role is
 * empty), and objects that Argo CD and Flux own, created by their own (impersonated) service accounts.
 */
import { randomBytes } from 'node:crypto';
import { who, type Cluster } from './cluster.ts';

/** A Secret value that must appear nowhere: not in a denial, a log, a task or the audit log. */
export const SECRET_VALUE = `e2e-s3cret-${randomBytes(8).toString('hex')}`;

const rbac = `
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {driftgate.io/protected: "true"}}
---
apiVersion: v1
kind: Namespace
metadata: {name: dev}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-workloads}
rules:
  - apiGroups: ["", apps, batch, autoscaling, networking.k8s.io, policy, kustomize.toolkit.fluxcd.io, argoproj.io]
    resources: ["*"]
    verbs: ["*"]
  - apiGroups: [rbac.authorization.k8s.io]
    resources: [roles, rolebindings]
    verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-workloads}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-workloads}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: oncall}
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:serviceaccounts}
`;

/** Who may deploy in prod, as Git says: a Role Argo CD owns. */
const argocdRole = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: deployer
  namespace: prod
  annotations: {argocd.argoproj.io/tracking-id: "guestbook:rbac.authorization.k8s.io/Role:prod/deployer"}
rules:
  - apiGroups: [apps]
    resources: [deployments]
    verbs: [get, list, patch]
`;

export function deployment(name: string, o: { image?: string; memory?: string; replicas?: number; metadata?: string } = {}): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: prod
${o.metadata ?? `  annotations: {argocd.argoproj.io/tracking-id: "guestbook:apps/Deployment:prod/${name}"}`}
spec:
  replicas: ${o.replicas ?? 3}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
        - name: ${name}
          image: ${o.image ?? `registry.example.com/${name}:1.2.0`}
          env: [{name: LOG_LEVEL, value: info}]
          resources: {limits: {memory: ${o.memory ?? '512Mi'}}}
`;
}

const secret = `
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
  annotations: {argocd.argoproj.io/tracking-id: "guestbook:/Secret:prod/db"}
stringData: {password: ${SECRET_VALUE}}
`;

const fluxConfigMap = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: prod
  labels: {kustomize.toolkit.fluxcd.io/name: apps, kustomize.toolkit.fluxcd.io/namespace: flux-system}
data: {color: blue}
`;

const helmDeployment = deployment('web', {
  metadata: '  labels: {helm.toolkit.fluxcd.io/name: web, helm.toolkit.fluxcd.io/namespace: flux-system}',
});

/** The GitOps objects themselves, as minimal CRDs (the test API server has no Flux or Argo CD). */
export function gitopsCrd(group: string, kind: string, plural: string, version = 'v1'): string {
  return `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ${plural}.${group}}
spec:
  group: ${group}
  scope: Namespaced
  names: {kind: ${kind}, plural: ${plural}, singular: ${kind.toLowerCase()}, listKind: ${kind}List}
  versions:
    - name: ${version}
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`;
}

/** A tenant's Flux Kustomization and an Argo CD Application ("apps in any namespace") in prod. */
const gitopsObjects = `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: prod}
spec: {interval: 5m, path: ./apps, prune: true, sourceRef: {kind: GitRepository, name: apps}}
---
apiVersion: argoproj.io/v1
kind: Application
metadata: {name: guestbook, namespace: prod}
spec:
  project: default
  source: {repoURL: https://git.example.com/guestbook.git, path: ., targetRevision: main}
  destination: {server: https://kubernetes.default.svc, namespace: prod}
  syncPolicy: {automated: {prune: true, selfHeal: true}}
`;

/** Namespaces, RBAC, and the GitOps-owned objects, each created by its controller. */
export function seed(cluster: Cluster): void {
  cluster.apply(rbac);
  cluster.apply([gitopsCrd('kustomize.toolkit.fluxcd.io', 'Kustomization', 'kustomizations'), gitopsCrd('argoproj.io', 'Application', 'applications')].join('---\n'));
  cluster.ok(['wait', '--for=condition=Established', 'crd/kustomizations.kustomize.toolkit.fluxcd.io', 'crd/applications.argoproj.io', '--timeout=30s']);
  cluster.apply(gitopsObjects, { as: who.admin });
  cluster.apply(deployment('api'), { as: who.argocd, serverSide: 'argocd-controller' });
  cluster.apply(secret, { as: who.argocd, serverSide: 'argocd-controller' });
  cluster.apply(argocdRole, { as: who.argocd, serverSide: 'argocd-controller' });
  cluster.apply(fluxConfigMap, { as: who.kustomizeController, serverSide: 'kustomize-controller' });
  cluster.apply(helmDeployment, { as: who.helmController, serverSide: 'helm-controller' });
}

/** The write the API server sends to driftgate and driftgate denies: a hand-made object in prod (dry run). */
export function unmanagedCreateIsDenied(cluster: Cluster): boolean {
  const r = cluster.kubectl(['-n', 'prod', 'create', 'configmap', 'probe', '--dry-run=server'], { as: who.alice });
  return r.status !== 0 && r.stderr.includes('denied the request');
}
