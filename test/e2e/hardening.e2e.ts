/**
 * End to end, the attacks that a real API server makes possible, against driftgate installed from
 * deploy/ (Kubernetes store, its own ServiceAccount): detaching an object from GitOps by emptying its
 * managedFields, deleting a GitOps-owned Namespace, and editing grants and tasks behind driftgate's back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, missingPrerequisite, who } from './harness/cluster.ts';
import { DENIED, type Driftgate, keepLogs, registerWebhook } from './harness/driftgate.ts';
import { deployment, seed, unmanagedCreateIsDenied } from './harness/fixtures.ts';
import { applyOverlay, replica } from './harness/install.ts';
import { tempDir } from '../helpers/tmp.ts';

const skip = missingPrerequisite() ?? false;

describe('driftgate holds against detaching, namespace deletes and tampered records', { skip }, () => {
  let cluster: Cluster;
  let dg: Driftgate;
  const work = skip ? '' : tempDir('driftgate-e2e-hard-');

  before(async () => {
    cluster = await Cluster.start();
    seed(cluster);
    applyOverlay(cluster);
    dg = await replica(work, 'a', cluster.serviceAccountKubeconfig('driftgate', 'driftgate', join(work, 'sa.kubeconfig')));
    await dg.start();
    await registerWebhook(cluster, dg, () => unmanagedCreateIsDenied(cluster));
  });

  after(async () => {
    await dg?.stop();
    cluster?.stop();
    keepLogs(cluster, dg, 'hardening');
  });

  const alice = (args: string[]) => cluster.kubectl(['-n', 'prod', ...args], { as: who.alice });
  const cli = (user: string, args: string[]) => dg.cli(args, { DRIFTGATE_TOKEN: cluster.token(user) });

  describe('an object Argo CD owns only through managedFields (no tracking marker)', () => {
    before(() => {
      cluster.apply(deployment('worker', { metadata: '' }), { as: who.argocd, serverSide: 'argocd-controller' });
    });
    const managers = () => cluster.json<{ metadata: { managedFields?: { manager: string }[] } }>(['-n', 'prod', 'get', 'deployment', 'worker', '--show-managed-fields']).metadata.managedFields?.map((m) => m.manager) ?? [];

    it('denies a person emptying its managedFields (detaching it from GitOps), so the next write is still guarded', () => {
      const r = alice(['patch', 'deployment', 'worker', '--type=json', '-p', '[{"op":"replace","path":"/metadata/managedFields","value":[{}]}]']);
      assert.match(r.stderr, DENIED);
      assert.match(r.stderr, /Deployment prod\/worker/);
      assert.ok(managers().includes('argocd-controller'), JSON.stringify(managers()));
      assert.match(alice(['set', 'image', 'deployment/worker', 'worker=registry.example.com/worker:6.6.6']).stderr, DENIED);
    });
  });

  describe('Namespaces that Argo CD tracks', () => {
    const namespace = (name: string, labels: string) =>
      `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  labels: {${labels}}\n  annotations: {argocd.argoproj.io/tracking-id: "platform:/Namespace:${name}"}\n`;
    before(() => {
      cluster.apply(namespace('payments', 'driftgate.io/protected: "true"'), { as: who.argocd, serverSide: 'argocd-controller' });
      cluster.apply(namespace('platform', 'team: platform'), { as: who.argocd, serverSide: 'argocd-controller' });
    });

    it('denies a person deleting a tracked Namespace (the cluster-scoped webhook)', () => {
      const r = cluster.kubectl(['delete', 'namespace', 'platform', '--wait=false'], { as: who.alice });
      assert.match(r.stderr, /admission webhook "cluster\.driftgate\.io" denied the request: driftgate: /);
      assert.match(r.stderr, /Namespace platform/);
      assert.match(r.stderr, /Break-glass grants cover namespaced objects only/); // no grant command that cannot work
      assert.equal(cluster.ok(['get', 'namespace', 'platform', '-o', 'jsonpath={.status.phase}']), 'Active');
    });

    it('denies a person deleting a protected Namespace, and unlabelling it (deploy/self-protection)', () => {
      const r = cluster.kubectl(['delete', 'namespace', 'payments', '--wait=false'], { as: who.alice });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /namespace payments is protected by driftgate/);
      const unlabel = cluster.kubectl(['label', 'namespace', 'payments', 'driftgate.io/protected-'], { as: who.alice });
      assert.notEqual(unlabel.status, 0);
      assert.equal(cluster.ok(['get', 'namespace', 'payments', '-o', 'jsonpath={.status.phase}']), 'Active');
    });

    it('lets Argo CD delete them (dry run: this API server cannot finish a namespace delete)', () => {
      cluster.ok(['delete', 'namespace', 'platform', 'payments', '--dry-run=server'], { as: who.argocd });
    });
  });

  describe('records that hold: edits to grants and tasks by someone without driftgate\'s key (an administrator in the break-glass group)', () => {
    let grantId = '';
    let taskId = '';
    const write = () => alice(['set', 'image', 'deployment/api', 'api=registry.example.com/api:7.7.7', '--dry-run=server']);
    /** driftgate reports tampering in its log (as it arrives through its watch) */
    const reported = async (what: RegExp) => {
      for (let i = 0; i < 100 && !what.test(dg.log); i++) await sleep(100);
      assert.match(dg.log, what);
    };

    it('a write under a grant records a task', () => {
      const requested = cli('alice', ['grant', 'request', '-n', 'prod', 'deployment/api', '--ttl', '30m', '--reason', 'hotfix', '--incident', 'INC-77', '-o', 'json']);
      assert.equal(requested.status, 0, requested.stderr);
      grantId = (JSON.parse(requested.stdout) as { id: string }).id;
      const r = alice(['set', 'image', 'deployment/api', 'api=registry.example.com/api:1.2.7']);
      assert.equal(r.status, 0, r.stderr);
      taskId = /bypass recorded as task (t-\S+?):/.exec(r.stderr)![1]!;
      assert.equal(cli('alice', ['grant', 'revoke', grantId, '--reason', 'done']).status, 0);
      assert.match(write().stderr, DENIED);
    });

    it('a revoked grant whose status is set back to active is never honoured again, and is reported', async () => {
      const grant = cluster.json<{ status: Record<string, unknown> }>(['-n', 'driftgate', 'get', 'breakglassgrant', grantId]);
      delete grant.status.revokedAt;
      delete grant.status.revokedBy;
      delete grant.status.revocation; // the signed revocation in status too: all the status says of it
      grant.status.state = 'active';
      const tamper = (as: readonly string[]) => cluster.kubectl(['replace', '--subresource=status', '-f', '-'], { as, input: JSON.stringify(grant) });
      // deploy/self-protection refuses it to a cluster admin outside the break-glass group…
      assert.match(tamper(who.admin).stderr, /driftgate-self-protection/);
      // …and the attacker who holds that group too is not honoured
      const r = tamper(who.breakGlassAdmin);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(cluster.ok(['-n', 'driftgate', 'get', 'breakglassgrant', grantId, '-o', 'jsonpath={.status.state}']), 'active');
      for (let i = 0; i < 20; i++) {
        assert.match(write().stderr, DENIED, `attempt ${i}: the tampered grant admitted the write`);
        await sleep(100);
      }
      await reported(new RegExp(`"grant":"${grantId}".*GRANT TAMPERED`));
    });

    it('a task closed by hand in its status, and a task deleted, are reported', async () => {
      const task = cluster.json<{ status?: Record<string, unknown> }>(['-n', 'driftgate', 'get', 'drifttask', taskId]);
      task.status = { ...task.status, state: 'accepted', resolution: { by: 'mallory', at: new Date().toISOString(), evidence: 'nothing to see' } };
      cluster.ok(['replace', '--subresource=status', '-f', '-'], { as: who.breakGlassAdmin, input: JSON.stringify(task) });
      await reported(new RegExp(`"task":"${taskId}".*TASK TAMPERED`));
      cluster.ok(['-n', 'driftgate', 'delete', 'drifttask', taskId], { as: who.breakGlassAdmin });
      await reported(new RegExp(`TASK TAMPERED: task ${taskId} \\(accepted\\) was deleted`));
    });
  });
});
