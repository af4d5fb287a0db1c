/**
 * End to end, the cluster install: `kubectl apply -k deploy/overlays/ha` on a cluster without
 * prometheus-operator, then two driftgate replicas running as the driftgate ServiceAccount (a token from
 * `kubectl create token`, so only the RBAC that deploy/ ships), with the Kubernetes store,
 * `--certs-mode self-managed` and TokenReview authentication, sharing grants and tasks as CRs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, missingPrerequisite, who } from './harness/cluster.ts';
import { DENIED, Driftgate, keepLogs, registerWebhook, until } from './harness/driftgate.ts';
import { applyOverlay, replica } from './harness/install.ts';
import { seed, unmanagedCreateIsDenied } from './harness/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const skip = missingPrerequisite() ?? false;

describe('driftgate as installed from deploy/: Kubernetes store, two replicas, its own ServiceAccount', { skip }, () => {
  let cluster: Cluster;
  let a: Driftgate;
  let b: Driftgate;
  const work = skip ? '' : tempDir('driftgate-e2e-k8s-');

  before(async () => {
    cluster = await Cluster.start();
    seed(cluster);
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
    cluster?.stop();
    keepLogs(cluster, a, 'k8s-a');
    keepLogs(undefined, b, 'k8s-b');
  });

  const alice = (args: string[]) => cluster.kubectl(['-n', 'prod', ...args], { as: who.alice });
  const cli = (dg: Driftgate, user: string, args: string[]) => dg.cli(args, { DRIFTGATE_TOKEN: cluster.token(user) });

  it('kubectl apply -k deploy/overlays/ha succeeds on a cluster without prometheus-operator', () => {
    applyOverlay(cluster); // throws with kubectl's message on any error
  });

  it('two replicas start as the driftgate ServiceAccount with the shipped RBAC; self-managed certificates set the caBundle', async () => {
    const kubeconfig = cluster.serviceAccountKubeconfig('driftgate', 'driftgate', join(work, 'sa.kubeconfig'));
    a = await replica(work, 'a', kubeconfig);
    b = await replica(work, 'b', kubeconfig);
    await a.start();
    await b.start();
    const secretCa = Buffer.from(cluster.json<{ data: Record<string, string> }>(['-n', 'driftgate', 'get', 'secret', 'driftgate-tls']).data['ca.crt']!, 'base64').toString('utf8');
    assert.equal(readFileSync(a.ca, 'utf8'), secretCa, 'replica a serves the certificate from the shared Secret');
    assert.equal(readFileSync(b.ca, 'utf8'), secretCa, 'replica b serves the certificate from the shared Secret');
    const webhook = cluster.json<{ webhooks: { clientConfig: { caBundle?: string } }[] }>(['get', 'validatingwebhookconfiguration', 'driftgate']);
    assert.equal(Buffer.from(webhook.webhooks[0]!.clientConfig.caBundle ?? '', 'base64').toString('utf8'), secretCa, 'driftgate set the caBundle itself');
    await registerWebhook(cluster, a, () => unmanagedCreateIsDenied(cluster));
  });

  it('a scale write is decided from the parent Deployment: a person is denied naming its owner, the HPA is allowed', () => {
    const r = alice(['scale', 'deployment/api', '--replicas=5']);
    assert.match(r.stderr, DENIED);
    assert.match(r.stderr, /Argo CD application "guestbook"/);
    cluster.ok(['-n', 'prod', 'scale', 'deployment/api', '--replicas=4'], { as: who.hpa });
  });

  describe('grants and tasks as CRs, shared by the replicas', () => {
    let grantId = '';
    let taskId = '';

    it('authenticates the grant API with TokenReview: alice (oncall) may request, bob (dev) may not', () => {
      const bob = cli(a, 'bob', ['grant', 'request', '-n', 'prod', 'deployment/api', '--ttl', '30m', '--reason', 'curious', '--incident', 'INC-9']);
      assert.notEqual(bob.status, 0);
      assert.match(bob.stderr, /bob/);
      const r = cli(a, 'alice', ['grant', 'request', '-n', 'prod', 'deployment/api', '--ttl', '30m', '--reason', 'hotfix', '--incident', 'INC-42', '-o', 'json']);
      assert.equal(r.status, 0, r.stderr);
      grantId = (JSON.parse(r.stdout) as { id: string }).id;
    });

    it('a write under the grant lands and records a DriftTask; kubectl get breakglassgrants,drifttasks -A is the audit view', () => {
      const r = alice(['set', 'image', 'deployment/api', 'api=registry.example.com/api:1.2.9']);
      assert.equal(r.status, 0, r.stderr);
      taskId = /bypass recorded as task (t-\S+?):/.exec(r.stderr)![1]!;
      const view = cluster.ok(['get', 'breakglassgrants,drifttasks', '-A']);
      assert.match(view, new RegExp(`breakglassgrant\\.driftgate\\.io/${grantId}\\s+prod\\s+api\\s+alice\\s+INC-42\\s+active`));
      assert.match(view, new RegExp(`drifttask\\.driftgate\\.io/${taskId}\\s+pending\\s+prod\\s+Deployment\\s+api\\s+alice\\s+${grantId}\\s+INC-42`));
    });

    it('the other replica sees the task, and its revoke closes the grant on the replica the API server calls', async () => {
      const list = Driftgate.json<{ id: string }[]>(cli(b, 'alice', ['tasks', 'list', '-o', 'json']));
      assert.deepEqual(list.map((t) => t.id), [taskId]);
      const revoked = cli(b, 'alice', ['grant', 'revoke', grantId, '--reason', 'done', '-o', 'json']);
      assert.equal(revoked.status, 0, revoked.stderr);
      // replica a learns of the revocation through its watch
      let r = alice(['set', 'image', 'deployment/api', 'api=registry.example.com/api:1.3.0', '--dry-run=server']);
      for (let i = 0; i < 50 && r.status === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        r = alice(['set', 'image', 'deployment/api', 'api=registry.example.com/api:1.3.0', '--dry-run=server']);
      }
      assert.match(r.stderr, DENIED);
    });

    it('a task resolved through one replica reads as resolved in kubectl', () => {
      const r = cli(b, 'alice', ['tasks', 'resolve', taskId, '--as', 'accepted', '--evidence', 'INC-42 postmortem']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(cluster.ok(['-n', 'driftgate', 'get', 'drifttask', taskId, '-o', 'jsonpath={.status.state}']), 'accepted');
    });
  });

  it('one replica at a time sends the swept notifications: it holds the Lease, and the other takes over when it stops', async () => {
    const holder = () => {
      const r = cluster.kubectl(['-n', 'driftgate', 'get', 'lease', 'driftgate-notifications', '-o', 'jsonpath={.spec.holderIdentity}']);
      return r.status === 0 ? r.stdout.trim() : '';
    };
    const acquired = (dg: Driftgate) => [...dg.log.matchAll(/"identity":"([^"]+)".*leader lease acquired/g)].map((m) => m[1]);
    await until(() => holder() !== '', 'a replica holds the driftgate-notifications Lease');
    const leaders = [a, b].filter((dg) => acquired(dg).includes(holder()));
    assert.equal(leaders.length, 1, `exactly one replica logged that it holds ${holder()}`);
    const [leader, other] = leaders[0] === a ? [a, b] : [b, a];
    await leader.stop(); // a graceful stop releases the Lease
    await until(() => acquired(other).includes(holder()), 'the other replica holds the Lease');
    assert.match(leader.log, /leader lease released/);
  });
});
