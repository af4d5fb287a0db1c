/**
 * Keeps deploy/ honest: every manifest parses and validates against its kind's schema, kustomizations
 * reference what exists, the webhook can never block the GitOps controllers, RBAC grants exactly what
 * the code calls, and the image's entrypoint is what `npm run build` produces.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { run as cel, isCelError } from '@bufbuild/cel';
import { parsePolicy } from '../../src/policy/load.ts';
import { tempDir } from '../helpers/tmp.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');

type K8s = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are read field by field
type Any = any;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? yamlFiles(join(dir, e.name)) : e.name.endsWith('.yaml') ? [join(dir, e.name)] : []));
}

function docs(file: string): K8s[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    assert.deepEqual(d.errors, [], `${relative(ROOT, file)}: YAML errors`);
    return d.toJS() as K8s;
  });
}

const kustomizations = yamlFiles(DEPLOY).filter((f) => f.endsWith('kustomization.yaml'));
const patchFiles = new Set(kustomizations.flatMap((k) => ((docs(k)[0] as Any).patches ?? []).map((p: { path: string }) => join(dirname(k), p.path))));
const resourceFiles = yamlFiles(DEPLOY).filter((f) => !f.endsWith('kustomization.yaml') && !patchFiles.has(f) && !f.endsWith('base/driftgate.yaml'));

async function model(apiVersion: string, kind: string): Promise<(new (o: unknown) => { validate(): void }) | undefined> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const module =
    group === 'cert-manager.io'
      ? `@kubernetes-models/cert-manager/cert-manager.io/${version}`
      : group === 'monitoring.coreos.com'
        ? `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}`
        : group === ''
          ? `kubernetes-models/${version}`
          : `kubernetes-models/${group}/${version}`;
  const m = (await import(module)) as Record<string, new (o: unknown) => { validate(): void }>;
  return m[kind];
}

describe('deploy/ manifests', () => {
  it('validate against the schema of their kind', async () => {
    assert.ok(resourceFiles.length >= 12);
    for (const file of resourceFiles) {
      for (const doc of docs(file)) {
        const M = await model(doc.apiVersion, doc.kind);
        assert.ok(M, `${relative(ROOT, file)}: no schema for ${doc.apiVersion} ${doc.kind}`);
        assert.doesNotThrow(() => new M(doc).validate(), `${relative(ROOT, file)}: ${doc.kind} ${doc.metadata.name} is invalid`);
      }
    }
  });

  it('kustomizations reference files that exist, and patches target objects of the base', () => {
    const base = resourceFiles.flatMap((f) => docs(f)).map((d) => `${d.kind}/${d.metadata.name}`);
    for (const k of kustomizations) {
      const kz = docs(k)[0] as Any;
      for (const r of kz.resources ?? []) assert.ok(existsSync(join(dirname(k), r)), `${relative(ROOT, k)}: missing ${r}`);
      for (const c of kz.configMapGenerator ?? []) for (const f of c.files) assert.ok(existsSync(join(dirname(k), f)), `${relative(ROOT, k)}: missing ${f}`);
      for (const p of kz.patches ?? []) {
        const target = docs(join(dirname(k), p.path))[0]!;
        assert.ok(base.includes(`${target.kind}/${target.metadata.name}`), `${relative(ROOT, k)}: patch ${p.path} targets no ${target.kind}/${target.metadata.name}`);
      }
    }
    assert.deepEqual(kustomizations.map((k) => relative(DEPLOY, dirname(k))).sort(), ['base', 'crds', 'monitoring', 'overlays/cert-manager', 'overlays/embedded', 'overlays/ha', 'self-protection']);
  });

  it('runs at least two non-root replicas with a read-only root filesystem, probes and resources', () => {
    const d = docs(join(DEPLOY, 'base/deployment.yaml'))[0] as Any;
    assert.ok(d.spec.replicas >= 2);
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.ok(c.readinessProbe && c.livenessProbe && c.resources.requests && c.resources.limits);
    assert.ok(pod.affinity.podAntiAffinity);
    assert.equal(c.args[0], 'serve');
  });

  it('ships a driftgate policy that loads', () => {
    assert.doesNotThrow(() => parsePolicy(readFileSync(join(DEPLOY, 'base/driftgate.yaml'), 'utf8'), 'deploy/base/driftgate.yaml'));
  });
});

describe('the ValidatingWebhookConfiguration', () => {
  const vwc = docs(join(DEPLOY, 'base/webhook.yaml'))[0] as Any;
  const hook = vwc.webhooks[0];
  const policy = parsePolicy(readFileSync(join(DEPLOY, 'base/driftgate.yaml'), 'utf8'), 'deploy/base/driftgate.yaml');
  // Like the API server, a request without a subresource carries no subResource key at all.
  const sentToDriftgate = (username: string, subResource?: string) =>
    hook.matchConditions.every((m: { name: string; expression: string }) => {
      const r = cel(m.expression, { request: { ...(subResource ? { subResource } : {}), userInfo: { username, groups: [] } } });
      assert.ok(!isCelError(r), `${m.name}: ${String(r)}`);
      return r === true;
    });

  it('fails closed, has no side effects on dry run, answers within 5 s, speaks v1 only', () => {
    assert.equal(hook.failurePolicy, 'Fail');
    assert.equal(hook.sideEffects, 'NoneOnDryRun');
    assert.ok(hook.timeoutSeconds <= 5);
    assert.deepEqual(hook.admissionReviewVersions, ['v1']);
    assert.deepEqual(hook.namespaceSelector, { matchLabels: { 'driftgate.io/protected': 'true' } });
    assert.equal(hook.clientConfig.service.path, '/validate');
  });

  it('includes the scale and status subresources', () => {
    const resources = hook.rules.flatMap((r: { resources: string[] }) => r.resources);
    for (const r of ['deployments', 'deployments/scale', 'deployments/status', 'statefulsets/scale']) assert.ok(resources.includes(r), r);
  });

  it('guards Roles and RoleBindings in protected namespaces (a hand-made binding is how a person grants themselves more)', () => {
    const rbac = hook.rules.filter((r: { apiGroups: string[] }) => r.apiGroups.includes('rbac.authorization.k8s.io'));
    assert.deepEqual(rbac.flatMap((r: { resources: string[] }) => r.resources).sort(), ['rolebindings', 'roles']);
    for (const r of rbac) assert.deepEqual([...r.operations].sort(), ['CREATE', 'DELETE', 'UPDATE']);
  });

  it('exempts at the API server exactly the GitOps controllers, system writers and driftgate itself', () => {
    const exempt = [...policy.gitops.controllers, ...policy.systemWriters, 'system:serviceaccount:driftgate:driftgate'];
    for (const u of exempt) assert.equal(sentToDriftgate(u), false, `${u} must never reach driftgate`);
    for (const u of ['alice', 'system:serviceaccount:argocd:argocd-server', 'admin', 'system:serviceaccount:kube-system:horizontal-pod-autoscaler']) {
      assert.equal(sentToDriftgate(u), true, `${u} must be decided by driftgate`);
    }
    const identities = hook.matchConditions.filter((m: { name: string }) => m.name !== 'not-a-controller-status-write');
    const listed = new Set(identities.flatMap((m: { expression: string }) => [...m.expression.matchAll(/'([^']+)'/g)].map((x) => x[1])));
    assert.deepEqual([...listed].sort(), [...exempt].sort());
  });

  const statusWrites: [string, string, boolean][] = [
    ['the deployment controller', 'system:serviceaccount:kube-system:deployment-controller', false],
    ['an ingress controller', 'system:serviceaccount:ingress-nginx:ingress-nginx', false],
    ['the controller manager', 'system:kube-controller-manager', false],
    ['a person', 'alice', true],
    ['a person named like a system user but without the prefix', 'systemadmin', true],
  ];
  it('exempts controllers\' status writes in both entries, and sends the CRD status subresource to the cluster entry', () => {
    for (const h of vwc.webhooks as Any[]) {
      const m = h.matchConditions.find((c: { name: string }) => c.name === 'not-a-controller-status-write');
      assert.ok(m, `${h.name} has the status-write exemption`);
      const sent = (username: string, subResource?: string) => cel(m.expression, { request: { ...(subResource ? { subResource } : {}), userInfo: { username, groups: [] } } });
      assert.equal(sent('system:apiserver', 'status'), false, h.name);
      assert.equal(sent('alice', 'status'), true, h.name);
      assert.equal(sent('system:apiserver'), true, h.name);
    }
    const cluster = (vwc.webhooks as Any[]).find((h) => h.name === 'cluster.driftgate.io');
    assert.ok(cluster.rules.flatMap((r: { resources: string[] }) => r.resources).includes('customresourcedefinitions/status'));
  });

  for (const [who, username, sent] of statusWrites) {
    it(`${sent ? 'sends' : 'exempts at the API server'} a status write by ${who}`, () => {
      assert.equal(sentToDriftgate(username, 'status'), sent);
      assert.equal(sentToDriftgate(username, 'scale'), username !== 'system:kube-controller-manager', 'scale writes are decided as before');
    });
  }
});

/** Every Kubernetes API call in src/, with the RBAC it needs. Each `call` must appear in the code. */
const API_CALLS = [
  { call: 'createTokenReview', group: 'authentication.k8s.io', resource: 'tokenreviews', verb: 'create' },
  { call: 'listDeploymentForAllNamespaces', group: 'apps', resource: 'deployments', verb: 'list' },
  { call: 'listStatefulSetForAllNamespaces', group: 'apps', resource: 'statefulsets', verb: 'list' },
  { call: 'listReplicaSetForAllNamespaces', group: 'apps', resource: 'replicasets', verb: 'list' },
  { call: '`/apis/apps/v1/${p}`', group: 'apps', resource: 'deployments', verb: 'watch' },
  { call: '`/apis/apps/v1/${p}`', group: 'apps', resource: 'statefulsets', verb: 'watch' },
  { call: '`/apis/apps/v1/${p}`', group: 'apps', resource: 'replicasets', verb: 'watch' },
  { call: 'listNamespace', group: '', resource: 'namespaces', verb: 'list' },
  { call: "plural: 'daemonsets'", group: 'apps', resource: 'daemonsets', verb: 'list' },
  { call: "plural: 'configmaps'", group: '', resource: 'configmaps', verb: 'list' },
  { call: "plural: 'secrets'", group: '', resource: 'secrets', verb: 'list' },
  { call: "plural: 'services'", group: '', resource: 'services', verb: 'list' },
  { call: "'/api/v1/namespaces'", group: '', resource: 'namespaces', verb: 'watch' },
  { call: "cr('argoproj.io', 'v1alpha1', 'applications')", group: 'argoproj.io', resource: 'applications', verb: 'list' },
  { call: "'/apis/argoproj.io/v1alpha1/applications'", group: 'argoproj.io', resource: 'applications', verb: 'watch' },
  { call: "cr('kustomize.toolkit.fluxcd.io', 'v1', 'kustomizations')", group: 'kustomize.toolkit.fluxcd.io', resource: 'kustomizations', verb: 'list' },
  { call: "'/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations'", group: 'kustomize.toolkit.fluxcd.io', resource: 'kustomizations', verb: 'watch' },
  { call: "cr('helm.toolkit.fluxcd.io', 'v2', 'helmreleases')", group: 'helm.toolkit.fluxcd.io', resource: 'helmreleases', verb: 'list' },
  { call: "'/apis/helm.toolkit.fluxcd.io/v2/helmreleases'", group: 'helm.toolkit.fluxcd.io', resource: 'helmreleases', verb: 'watch' },
  { call: "listNamespacedConfigMap({ namespace: argoNs, fieldSelector: 'metadata.name=argocd-cm' })", group: '', resource: 'configmaps', verb: 'list' },
  { call: "fieldSelector: 'metadata.name=argocd-cm',", group: '', resource: 'configmaps', verb: 'watch' },
  { call: 'readValidatingWebhookConfiguration', group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations', verb: 'get' },
  { call: 'replaceValidatingWebhookConfiguration', group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations', verb: 'update' },
  { call: 'listNamespacedCustomObject', group: 'driftgate.io', resource: 'breakglassgrants', verb: 'list' },
  { call: 'listNamespacedCustomObject', group: 'driftgate.io', resource: 'drifttasks', verb: 'list' },
  { call: 'new ListWatch<GrantObject>', group: 'driftgate.io', resource: 'breakglassgrants', verb: 'watch' },
  { call: 'new ListWatch<TaskObject>', group: 'driftgate.io', resource: 'drifttasks', verb: 'watch' },
  { call: 'getNamespacedCustomObject', group: 'driftgate.io', resource: 'breakglassgrants', verb: 'get' },
  { call: 'getNamespacedCustomObject', group: 'driftgate.io', resource: 'drifttasks', verb: 'get' },
  { call: 'createNamespacedCustomObject', group: 'driftgate.io', resource: 'breakglassgrants', verb: 'create' },
  { call: 'createNamespacedCustomObject', group: 'driftgate.io', resource: 'drifttasks', verb: 'create' },
  { call: 'replaceNamespacedCustomObject(', group: 'driftgate.io', resource: 'breakglassgrants', verb: 'update' },
  { call: 'replaceNamespacedCustomObjectStatus', group: 'driftgate.io', resource: 'breakglassgrants/status', verb: 'update' },
  { call: 'replaceNamespacedCustomObjectStatus', group: 'driftgate.io', resource: 'drifttasks/status', verb: 'update' },
  { call: 'readNamespacedSecret', group: '', resource: 'secrets', verb: 'get' },
  { call: 'createNamespacedSecret', group: '', resource: 'secrets', verb: 'create' },
  { call: 'replaceNamespacedSecret', group: '', resource: 'secrets', verb: 'update' },
  { call: 'readNamespacedLease', group: 'coordination.k8s.io', resource: 'leases', verb: 'get' },
  { call: 'createNamespacedLease', group: 'coordination.k8s.io', resource: 'leases', verb: 'create' },
  { call: 'replaceNamespacedLease', group: 'coordination.k8s.io', resource: 'leases', verb: 'update' },
];

describe('RBAC', () => {
  it('lists only calls the code makes', () => {
    const src = yamlFilesTs(join(ROOT, 'src')).map((f) => readFileSync(f, 'utf8')).join('\n');
    for (const c of API_CALLS) assert.ok(src.includes(c.call), `the code no longer calls ${c.call}: update RBAC and this list`);
  });

  it('grants exactly what those calls need, nothing more', () => {
    const granted = new Set<string>();
    for (const role of docs(join(DEPLOY, 'base/rbac.yaml')).filter((d) => d.kind.endsWith('Role'))) {
      for (const r of (role as Any).rules) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) granted.add(`${g}|${res}|${v}`);
    }
    const needed = new Set(API_CALLS.map((c) => `${c.group}|${c.resource}|${c.verb}`));
    assert.deepEqual([...granted].sort(), [...needed].sort());
  });
});

function yamlFilesTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? yamlFilesTs(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('the image', () => {
  it('starts the file that npm run build produces, and copies only what exists', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const entry = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(dockerfile)![1]!) as string[];
    const script = entry.find((a) => a.endsWith('.js'))!;
    assert.equal(script, 'dist/main.js');
    const out = tempDir('driftgate-build-');
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(existsSync(join(out, script.replace(/^dist\//, ''))), `${script} is not built`);
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.split(' ')) assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: not in the repository`);
    }
    assert.match(dockerfile, /^USER 10001:10001$/m);
    assert.match(dockerfile, /^FROM node:24/m);
  });
});

describe('kubectl kustomize renders every overlay into valid manifests', () => {
  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  const skip = kubectl.status === 0 ? false : 'kubectl is not installed on this machine';
  const render = (overlay: string, deploy = DEPLOY): K8s[] => {
    const r = spawnSync('kubectl', ['kustomize', join(deploy, 'overlays', overlay)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return parseAllDocuments(r.stdout).map((d) => d.toJS() as K8s);
  };
  const operatorKinds = ['PrometheusRule', 'ServiceMonitor'];

  for (const overlay of ['ha', 'embedded', 'cert-manager']) {
    it(`${overlay}: every object validates and lives in the driftgate namespace`, { skip }, async () => {
      const objects = render(overlay);
      for (const o of objects) {
        const M = await model(o.apiVersion, o.kind);
        assert.ok(M, `no schema for ${o.apiVersion} ${o.kind}`);
        assert.doesNotThrow(() => new M(o).validate(), `${overlay}: ${o.kind} ${o.metadata.name} is invalid`);
        const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'ValidatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].includes(o.kind);
        assert.equal(o.metadata.namespace, clusterScoped ? undefined : 'driftgate', `${o.kind} ${o.metadata.name}`);
      }
      const deployment = objects.find((o) => o.kind === 'Deployment') as Any;
      const policy = deployment.spec.template.spec.volumes.find((v: Any) => v.configMap).configMap.name as string;
      assert.ok(objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === policy), 'the Deployment mounts the generated policy ConfigMap');
    });
  }

  it('the overlays need no prometheus-operator and keep the metrics port closed; the monitoring component adds rule, ServiceMonitor and scraper access', { skip }, () => {
    for (const overlay of ['ha', 'embedded', 'cert-manager']) {
      assert.deepEqual(render(overlay).filter((o) => operatorKinds.includes(o.kind)).map((o) => o.kind), [], overlay);
    }
    const base = render('ha') as Any[];
    assert.ok(base.filter((o) => o.kind === 'NetworkPolicy').every((p) => p.spec.ingress.every((r: Any) => r.ports.every((port: Any) => port.port !== 9090))));
    // a user's overlay: an overlay of ours plus the component (a copy of deploy/, as kustomize wants relative paths)
    const copy = join(tempDir(), 'deploy');
    cpSync(DEPLOY, copy, { recursive: true });
    mkdirSync(join(copy, 'overlays', 'mine'));
    writeFileSync(join(copy, 'overlays', 'mine', 'kustomization.yaml'), 'resources: [../ha]\ncomponents: [../../monitoring]\n');
    const objects = render('mine', copy) as Any[];
    assert.deepEqual(objects.filter((o) => operatorKinds.includes(o.kind)).map((o) => o.kind).sort(), operatorKinds);
    const service = objects.find((o) => o.kind === 'Service');
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor');
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(service.metadata.labels[k], v, `ServiceMonitor selects the Service by ${k}`);
    assert.ok(service.spec.ports.some((p: Any) => p.name === monitor.spec.endpoints[0].port), 'the ServiceMonitor scrapes a port the Service has');
    const scraper = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'driftgate-metrics');
    assert.deepEqual(scraper.spec.ingress[0].from, [{ namespaceSelector: { matchLabels: { 'driftgate.io/metrics-scraper': 'true' } } }]);
    assert.deepEqual(scraper.spec.ingress[0].ports, [{ port: 9090, protocol: 'TCP' }]);
  });

  it('embedded: one replica, Recreate, the journal on a PVC, a PDB that allows drains', { skip }, () => {
    const objects = render('embedded') as Any[];
    const d = objects.find((o) => o.kind === 'Deployment');
    assert.equal(d.spec.replicas, 1);
    assert.equal(d.spec.strategy.type, 'Recreate');
    assert.ok(d.spec.template.spec.containers[0].args.includes('--store=embedded'));
    assert.ok(objects.some((o) => o.kind === 'PersistentVolumeClaim'));
    assert.deepEqual(objects.find((o) => o.kind === 'PodDisruptionBudget').spec.maxUnavailable, 1);
  });

  it('cert-manager: certificates from cert-manager, caBundle injected', { skip }, () => {
    const objects = render('cert-manager') as Any[];
    assert.equal(objects.find((o) => o.kind === 'ValidatingWebhookConfiguration').metadata.annotations['cert-manager.io/inject-ca-from'], 'driftgate/driftgate-serving');
    assert.ok(objects.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0].args.includes('--certs-mode=files'));
    assert.ok(objects.some((o) => o.kind === 'Certificate' && o.spec.secretName === 'driftgate-serving'));
  });
});
