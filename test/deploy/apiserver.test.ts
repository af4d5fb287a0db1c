/**
 * deploy/ against a real kube-apiserver (issue 10 item 8): the overlay applies, the admission policies'
 * CEL type-checks, tracked cluster-scoped objects reach driftgate, and driftgate's own configuration and
 * the protected namespaces are guarded in-process, also while driftgate is down. Skips with one line
 * when no kube-apiserver is available (test/e2e/harness/cluster.ts: KUBE_CLUSTER_SCRIPTS, KUBE_APISERVER).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { Cluster, freePort, missingPrerequisite, ROOT, who } from '../e2e/harness/cluster.ts';
import { Driftgate, render } from '../e2e/harness/driftgate.ts';
import { tempDir } from '../helpers/tmp.ts';

const skip = missingPrerequisite() ?? false;
const BREAK_GLASS = ['--context', 'admin', '--as=admin', '--as-group=system:masters', '--as-group=driftgate-break-glass'];
const SELF = /ValidatingAdmissionPolicy 'driftgate-self-protection' .*denied request: driftgate protects its own/;
const NAMESPACE = /ValidatingAdmissionPolicy 'driftgate-protected-namespaces' .*denied request: namespace prod is protected by driftgate/;
const CLUSTER_HOOK = /admission webhook "cluster\.driftgate\.io" denied the request: driftgate: /;

/** Polls `ready` (a readiness wait for the API server's caches, not a timed assertion). */
async function until(what: string, ready: () => boolean): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (ready()) return;
    await sleep(100);
  }
  throw new Error(`${what}: not within 15 s`);
}

describe('deploy/ behind a real kube-apiserver', { skip }, () => {
  let cluster: Cluster;
  let dg: Driftgate;
  const work = skip ? '' : tempDir('driftgate-apiserver-');
  const admin = (args: string[]) => cluster.kubectl(args, { as: who.admin });
  const glass = (args: string[]) => cluster.kubectl(args, { as: BREAK_GLASS });
  const argocd = (args: string[]) => cluster.kubectl(args, { as: who.argocd });
  const policyConfigMap = () => admin(['-n', 'driftgate', 'get', 'configmap', '-o', 'name']).stdout.split('\n').find((n) => n.includes('driftgate-policy'))!;

  before(async () => {
    cluster = await Cluster.start();
    cluster.ok(['apply', '-k', join(ROOT, 'deploy', 'overlays', 'ha')]);
    cluster.ok(['wait', '--for=condition=Established', 'crd/breakglassgrants.driftgate.io', 'crd/drifttasks.driftgate.io', '--timeout=30s']);
    cluster.ok(['create', 'clusterrolebinding', 'argocd-controller', '--clusterrole=cluster-admin', '--serviceaccount=argocd:argocd-application-controller']);
    // driftgate as a process (kubectl runs synchronously here), with the shipped policy minus
    // TokenReview (no grants are used here)
    const config = join(work, 'driftgate.yaml');
    writeFileSync(config, readFileSync(join(ROOT, 'deploy', 'base', 'driftgate.yaml'), 'utf8').replace(/^auth:\n(?: .*\n)+/m, ''));
    dg = new Driftgate({ port: await freePort(), dataDir: join(work, 'data'), certsDir: join(work, 'certs'), config, kubeconfig: cluster.kubeconfig });
    await dg.start();
    const ca = readFileSync(dg.ca).toString('base64');
    const vwc = render('ha').find((o) => o.kind === 'ValidatingWebhookConfiguration') as { webhooks: { clientConfig: unknown }[] };
    for (const w of vwc.webhooks) w.clientConfig = { url: `${dg.url}/validate`, caBundle: ca };
    // pointing the webhook at this process is itself a change to driftgate's configuration: break glass
    await until('the self-protection policy is active', () => SELF.test(admin(['label', 'validatingwebhookconfiguration', 'driftgate', 'probe=1', '--dry-run=server']).stderr));
    cluster.apply(stringify(vwc), { as: BREAK_GLASS });
    cluster.apply('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: payments\n  annotations: {argocd.argoproj.io/tracking-id: "platform:/Namespace:payments"}\n', { as: who.argocd, serverSide: 'argocd-controller' });
    await until('the API server calls driftgate', () => CLUSTER_HOOK.test(admin(['delete', 'namespace', 'payments', '--dry-run=server']).stderr));
  });

  after(async () => {
    await dg?.stop();
    cluster?.stop();
  });

  it('accepts every object of the ha overlay; the policies\' CEL compiles and their messages evaluate', () => {
    const r = admin(['delete', 'validatingwebhookconfiguration', 'driftgate', '--dry-run=server']);
    assert.match(r.stderr, /denied request: driftgate protects its own validatingwebhookconfigurations driftgate: /);
    assert.doesNotMatch(r.stderr, /failed expression/);
  });

  describe("driftgate's own configuration", () => {
    for (const [name, args] of [
      ['deleting the webhook configuration', ['delete', 'validatingwebhookconfiguration', 'driftgate']],
      ['making the webhook fail open', ['patch', 'validatingwebhookconfiguration', 'driftgate', '--type=json', '-p', '[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Ignore"}]']],
      ['deleting the DriftTask CRD (and every task with it)', ['delete', 'crd', 'drifttasks.driftgate.io']],
      ['editing the BreakGlassGrant CRD', ['label', 'crd', 'breakglassgrants.driftgate.io', 'x=y']],
      ['deleting the driftgate namespace', ['delete', 'namespace', 'driftgate']],
      ['labelling the driftgate namespace protected', ['label', 'namespace', 'driftgate', 'driftgate.io/protected=true', '--overwrite']],
      ['deleting the signing-key Role', ['-n', 'driftgate', 'delete', 'role', 'driftgate']],
      ['scaling driftgate to zero', ['-n', 'driftgate', 'scale', 'deployment/driftgate', '--replicas=0']],
    ] as [string, string[]][]) {
      it(`denies a cluster admin ${name}; the break-glass group and Argo CD may`, () => {
        const denied = admin([...args, '--dry-run=server']);
        assert.notEqual(denied.status, 0);
        assert.match(denied.stderr, SELF);
        assert.match(denied.stderr, /change it through GitOps, or act in the break-glass group driftgate-break-glass/);
        const broken = glass([...args, '--dry-run=server']);
        assert.equal(broken.status, 0, broken.stderr);
        const gitops = argocd([...args, '--dry-run=server']);
        assert.equal(gitops.status, 0, gitops.stderr);
      });
    }

    it("denies a cluster admin editing driftgate's policy ConfigMap", () => {
      const r = admin(['-n', 'driftgate', 'patch', policyConfigMap(), '--type=merge', '-p', '{"data":{"driftgate.yaml":"protectedNamespaces: []\\n"}}', '--dry-run=server']);
      assert.match(r.stderr, SELF);
    });
  });

  describe('a protected namespace', () => {
    before(() => {
      cluster.ok(['create', 'namespace', 'prod']);
      cluster.ok(['label', 'namespace', 'prod', 'driftgate.io/protected=true']);
      cluster.ok(['create', 'namespace', 'scratch']);
    });

    for (const [name, args] of [
      ['removing its protected label', ['label', 'namespace', 'prod', 'driftgate.io/protected-']],
      ['setting the label to false', ['label', 'namespace', 'prod', 'driftgate.io/protected=false', '--overwrite']],
      ['deleting it', ['delete', 'namespace', 'prod']],
      // the status subresource persists metadata (the API server resets only spec there)
      ['removing its protected label through the status subresource', ['patch', 'namespace', 'prod', '--subresource=status', '--type=merge', '-p', '{"metadata":{"labels":{"driftgate.io/protected":null}}}']],
      ['setting the label to false through the status subresource', ['patch', 'namespace', 'prod', '--subresource=status', '--type=merge', '-p', '{"metadata":{"labels":{"driftgate.io/protected":"false"}}}']],
    ] as [string, string[]][]) {
      it(`denies a cluster admin ${name}; the break-glass group may`, () => {
        assert.match(admin([...args, '--dry-run=server']).stderr, NAMESPACE);
        const r = glass([...args, '--dry-run=server']);
        assert.equal(r.status, 0, r.stderr);
      });
    }

    it('denies a cluster admin removing its protected label through the finalize subresource; the break-glass group may', () => {
      const ns = cluster.json<{ metadata: { labels: Record<string, string> } }>(['get', 'namespace', 'prod']);
      delete ns.metadata.labels['driftgate.io/protected'];
      const finalize = ['replace', '--raw', '/api/v1/namespaces/prod/finalize?dryRun=All', '-f', '-'];
      assert.match(cluster.kubectl(finalize, { as: who.admin, input: JSON.stringify(ns) }).stderr, NAMESPACE);
      const r = cluster.kubectl(finalize, { as: BREAK_GLASS, input: JSON.stringify(ns) });
      assert.equal(r.status, 0, r.stderr);
    });

    it('lets anyone label it otherwise, and delete an unprotected namespace', () => {
      assert.equal(admin(['label', 'namespace', 'prod', 'team=payments', '--dry-run=server']).status, 0);
      assert.equal(admin(['delete', 'namespace', 'scratch', '--dry-run=server']).status, 0);
    });
  });

  describe('tracked cluster-scoped objects (clusterScoped: guard)', () => {
    before(() => {
      cluster.apply('apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: payments-reader\nrules:\n  - apiGroups: [""]\n    resources: [configmaps]\n    verbs: [get]\n', { as: who.argocd, serverSide: 'argocd-controller' });
      cluster.apply('apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: scratch-reader\nrules: []\n');
      cluster.apply('apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: payments-critical\n  labels: {app.kubernetes.io/instance: platform}\nvalue: 1000\n', { as: who.argocd });
    });

    it('denies a person deleting a Namespace Argo CD tracks; Argo CD may', () => {
      const r = admin(['delete', 'namespace', 'payments', '--dry-run=server']);
      assert.match(r.stderr, CLUSTER_HOOK);
      assert.match(r.stderr, /Namespace payments/);
      assert.equal(argocd(['delete', 'namespace', 'payments', '--dry-run=server']).status, 0);
    });

    it("denies a person changing a tracked Namespace's labels through its status subresource (pod security off)", () => {
      const r = admin(['patch', 'namespace', 'payments', '--subresource=status', '--type=merge', '-p', '{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged"}}}', '--dry-run=server']);
      assert.match(r.stderr, CLUSTER_HOOK);
      assert.match(r.stderr, /Namespace payments/);
    });

    it('denies a person editing a ClusterRole that Argo CD owns only through managedFields', () => {
      const r = admin(['patch', 'clusterrole', 'payments-reader', '--type=json', '-p', '[{"op":"add","path":"/rules/0/verbs/-","value":"list"}]', '--dry-run=server']);
      assert.match(r.stderr, CLUSTER_HOOK);
      assert.match(r.stderr, /ClusterRole payments-reader/);
    });

    it('denies a person deleting a tracked PriorityClass', () => {
      assert.match(admin(['delete', 'priorityclass', 'payments-critical', '--dry-run=server']).stderr, CLUSTER_HOOK);
    });

    it('never sends an untracked ClusterRole to driftgate', () => {
      const r = admin(['label', 'clusterrole', 'scratch-reader', 'x=y', '--dry-run=server']);
      assert.equal(r.status, 0, r.stderr);
    });
  });

  describe('while driftgate is down', () => {
    before(async () => {
      await dg.stop();
      await until('the API server fails to call driftgate', () => /failed calling webhook "cluster\.driftgate\.io"/.test(admin(['delete', 'namespace', 'payments', '--dry-run=server']).stderr));
    });

    it('refuses writes to tracked cluster-scoped objects (fail closed), never to untracked ones or the GitOps path', () => {
      assert.match(admin(['delete', 'priorityclass', 'payments-critical', '--dry-run=server']).stderr, /failed calling webhook "cluster\.driftgate\.io"/);
      assert.equal(admin(['label', 'clusterrole', 'scratch-reader', 'x=y', '--dry-run=server']).status, 0);
      assert.equal(admin(['delete', 'namespace', 'scratch', '--dry-run=server']).status, 0);
      assert.equal(argocd(['delete', 'namespace', 'payments', '--dry-run=server']).status, 0);
    });

    it('still protects its own configuration and the protected namespaces', () => {
      assert.match(admin(['delete', 'validatingwebhookconfiguration', 'driftgate', '--dry-run=server']).stderr, SELF);
      assert.match(admin(['delete', 'namespace', 'prod', '--dry-run=server']).stderr, NAMESPACE);
    });
  });
});
