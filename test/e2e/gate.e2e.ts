/**
 * End to end against a real kube-apiserver: driftgate (embedded store, cluster cache, the policy that
 * deploy/ ships) registered with the webhook configuration rendered from deploy/, driven through kubectl
 * as the people and controllers of SPEC: alice (group oncall), Argo CD, Flux, the HPA.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { Cluster, missingPrerequisite, ROOT, who } from './harness/cluster.ts';
import { DENIED, Driftgate, keepLogs, registerWebhook, unregisterWebhook, until } from './harness/driftgate.ts';
import { summarize, timePatches, type Sample } from './harness/latency.ts';
import { deployment, SECRET_VALUE, seed, unmanagedCreateIsDenied } from './harness/fixtures.ts';
import { embeddedGate } from './harness/install.ts';
import { tempDir } from '../helpers/tmp.ts';

const skip = missingPrerequisite() ?? false;

describe('driftgate behind a real kube-apiserver (embedded store)', { skip }, () => {
  let cluster: Cluster;
  let dg: Driftgate;
  let aliceKubeconfig: string;
  const work = skip ? '' : tempDir('driftgate-e2e-dg-');

  before(async () => {
    cluster = await Cluster.start();
    seed(cluster);
    dg = await embeddedGate(cluster, work, ['--cluster-cache']);
    // alice's own kubeconfig: the CLI takes her token from the current context (TokenReview)
    aliceKubeconfig = join(work, 'alice.kubeconfig');
    writeFileSync(aliceKubeconfig, readFileSync(cluster.kubeconfig, 'utf8').replace(/^current-context: .*$/m, 'current-context: alice'), { mode: 0o600 });
  });

  after(async () => {
    await dg?.stop();
    cluster?.stop();
    keepLogs(cluster, dg);
  });

  const alice = (args: string[]) => cluster.kubectl(['-n', 'prod', ...args], { as: who.alice });
  const image = () => cluster.json<{ spec: { template: { spec: { containers: { image: string }[] } } } }>(['-n', 'prod', 'get', 'deployment', 'api']).spec.template.spec.containers[0]!.image;
  const aliceCli = (args: string[]) => dg.cli([...args], { KUBECONFIG: aliceKubeconfig });

  describe('human writes to a Deployment that Argo CD owns are denied, whatever the kubectl verb', () => {
    const editor = () => {
      const script = join(work, 'editor.sh');
      writeFileSync(script, '#!/bin/sh\nsed -i "s#registry.example.com/api:1.2.0#registry.example.com/api:9.9.9#" "$1"\n', { mode: 0o755 });
      return script;
    };
    const changed = deployment('api', { image: 'registry.example.com/api:1.3.0' });
    const table: { name: string; run: () => ReturnType<Cluster['kubectl']>; shows?: RegExp }[] = [
      { name: 'kubectl edit', run: () => cluster.kubectl(['-n', 'prod', 'edit', 'deployment/api'], { as: who.alice, env: { KUBE_EDITOR: editor() } }), shows: /api:9\.9\.9/ },
      { name: 'kubectl patch (strategic)', run: () => alice(['patch', 'deployment', 'api', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"api","image":"registry.example.com/api:1.3.0"}]}}}}']), shows: /containers\[name=api\]\.image/ },
      { name: 'kubectl patch --type=json', run: () => alice(['patch', 'deployment', 'api', '--type=json', '-p', '[{"op":"replace","path":"/spec/template/spec/containers/0/env/0/value","value":"debug"}]']), shows: /env\[name=LOG_LEVEL\]/ },
      { name: 'kubectl patch --type=merge', run: () => alice(['patch', 'deployment', 'api', '--type=merge', '-p', '{"spec":{"minReadySeconds":5}}']), shows: /spec\.minReadySeconds/ },
      { name: 'kubectl set image', run: () => alice(['set', 'image', 'deployment/api', 'api=registry.example.com/api:1.3.0']), shows: /"registry\.example\.com\/api:1\.2\.0" → "registry\.example\.com\/api:1\.3\.0"/ },
      { name: 'kubectl set resources', run: () => alice(['set', 'resources', 'deployment/api', '-c', 'api', '--limits=memory=2Gi']), shows: /limits\.memory: "512Mi" → "2Gi"/ },
      { name: 'kubectl scale', run: () => alice(['scale', 'deployment/api', '--replicas=5']), shows: /spec\.replicas: 3 → 5/ },
      { name: 'kubectl label', run: () => alice(['label', 'deployment/api', 'tier=backend']), shows: /metadata\.labels/ },
      { name: 'kubectl annotate', run: () => alice(['annotate', 'deployment/api', 'note=hello']), shows: /metadata\.annotations/ },
      { name: 'kubectl apply (client-side)', run: () => cluster.kubectl(['apply', '-f', '-'], { as: who.alice, input: changed }), shows: /api:1\.3\.0/ },
      { name: 'kubectl apply --server-side --force-conflicts', run: () => cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], { as: who.alice, input: changed }), shows: /api:1\.3\.0/ },
      { name: 'kubectl replace', run: () => cluster.kubectl(['replace', '-f', '-'], { as: who.alice, input: changed }), shows: /api:1\.3\.0/ },
      { name: 'kubectl delete', run: () => alice(['delete', 'deployment', 'api', '--wait=false']) },
      { name: 'kubectl set image --dry-run=server', run: () => alice(['set', 'image', 'deployment/api', 'api=registry.example.com/api:1.3.0', '--dry-run=server']), shows: /api:1\.3\.0/ },
      { name: 'detaching: removing the Argo CD tracking annotation', run: () => alice(['annotate', 'deployment/api', 'argocd.argoproj.io/tracking-id-']), shows: /tracking-id/ },
      { name: 'a reconcile lever: argocd.argoproj.io/skip-reconcile', run: () => alice(['annotate', 'deployment/api', 'argocd.argoproj.io/skip-reconcile=true']), shows: /skip-reconcile/ },
      { name: 'a reconcile lever: kustomize.toolkit.fluxcd.io/reconcile=disabled', run: () => alice(['annotate', 'deployment/api', 'kustomize.toolkit.fluxcd.io/reconcile=disabled']), shows: /reconcile/ },
      { name: 'a click in the Argo CD UI (argocd-server patches)', run: () => cluster.kubectl(['-n', 'prod', 'patch', 'deployment', 'api', '-p', '{"spec":{"replicas":1}}'], { as: who.argocdServer }), shows: /spec\.replicas: 3 → 1/ },
    ];
    for (const c of table) {
      it(`denies ${c.name}, naming the owner and the next step`, () => {
        const r = c.run();
        assert.notEqual(r.status, 0, `${c.name} went through: ${r.stdout}`);
        assert.match(r.stderr, DENIED);
        assert.match(r.stderr, /Deployment prod\/api/);
        assert.match(r.stderr, /guestbook/);
        assert.match(r.stderr, /driftgate grant request/);
        if (c.shows) assert.match(r.stderr, c.shows);
      });
    }

    it('left the Deployment as Git made it', () => {
      assert.equal(image(), 'registry.example.com/api:1.2.0');
      assert.equal(cluster.json<{ spec: { replicas: number } }>(['-n', 'prod', 'get', 'deployment', 'api']).spec.replicas, 3);
    });
  });

  describe('what is never drift goes through', () => {
    it('allows kubectl rollout restart (an allowance) with a kubectl Warning: line', () => {
      const r = alice(['rollout', 'restart', 'deployment/api']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /^Warning: driftgate: allowance "rollout-restart" used on Deployment prod\/api by alice/m);
    });

    it('allows a status write (status subresource)', () => {
      const r = alice(['patch', 'deployment', 'api', '--subresource=status', '--type=merge', '-p', '{"status":{"observedGeneration":1}}']);
      assert.equal(r.status, 0, r.stderr);
    });

    it('allows the HPA to scale (scale subresource, hpa-replicas delegation, ownership from the parent)', () => {
      const r = cluster.kubectl(['-n', 'prod', 'scale', 'deployment/api', '--replicas=4'], { as: who.hpa });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(cluster.json<{ spec: { replicas: number } }>(['-n', 'prod', 'get', 'deployment', 'api']).spec.replicas, 4);
    });

    it('denies a human the same scale subresource write', () => {
      const r = alice(['scale', 'deployment/api', '--replicas=6']);
      assert.match(r.stderr, DENIED);
      assert.match(r.stderr, /spec\.replicas: 4 → 6/);
    });

    it('lets Argo CD sync a new image (server-side apply as argocd-controller)', () => {
      cluster.apply(deployment('api', { image: 'registry.example.com/api:1.2.1', replicas: 4 }), { as: who.argocd, serverSide: 'argocd-controller' });
      assert.equal(image(), 'registry.example.com/api:1.2.1');
    });

    it('lets Flux kustomize-controller and helm-controller update what they own', () => {
      // as the controllers write: their own identity and field manager
      cluster.ok(['-n', 'prod', 'patch', 'configmap', 'settings', '--type=merge', '-p', '{"data":{"color":"green"}}', '--field-manager=kustomize-controller'], { as: who.kustomizeController });
      cluster.ok(['-n', 'prod', 'set', 'image', 'deployment/web', 'web=registry.example.com/web:2.0.0', '--field-manager=helm-controller'], { as: who.helmController });
    });

    it('denies a human edit of what Flux owns (kustomize-controller and helm-controller objects)', () => {
      const cm = alice(['patch', 'configmap', 'settings', '--type=merge', '-p', '{"data":{"color":"red"}}']);
      assert.match(cm.stderr, DENIED);
      assert.match(cm.stderr, /ConfigMap prod\/settings/);
      const web = alice(['set', 'image', 'deployment/web', 'web=registry.example.com/web:6.6.6']);
      assert.match(web.stderr, DENIED);
      assert.match(web.stderr, /Deployment prod\/web/);
    });

    it('denies an unmanaged create in a protected namespace, allows it from Argo CD and in an unprotected one', () => {
      const mine = alice(['create', 'configmap', 'handmade', '--from-literal=a=b']);
      assert.match(mine.stderr, DENIED);
      assert.match(mine.stderr, /ConfigMap prod\/handmade/);
      cluster.apply('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-git\n  namespace: prod\n  annotations: {argocd.argoproj.io/tracking-id: "guestbook:/ConfigMap:prod/from-git"}\ndata: {a: b}\n', { as: who.argocd, serverSide: 'argocd-controller' });
      cluster.ok(['-n', 'dev', 'create', 'configmap', 'handmade', '--from-literal=a=b'], { as: who.alice });
    });

    it('denies a person binding a role by hand or widening a Role Argo CD owns in a protected namespace; allows the binding in an unprotected one', () => {
      const bind = alice(['create', 'rolebinding', 'alice-more', '--clusterrole=e2e-workloads', '--user=alice']);
      assert.match(bind.stderr, DENIED);
      assert.match(bind.stderr, /RoleBinding prod\/alice-more/);
      const widen = alice(['patch', 'role', 'deployer', '--type=json', '-p', '[{"op":"add","path":"/rules/0/verbs/-","value":"delete"}]']);
      assert.match(widen.stderr, DENIED);
      assert.match(widen.stderr, /Role prod\/deployer/);
      assert.deepEqual(cluster.json<{ rules: { verbs: string[] }[] }>(['-n', 'prod', 'get', 'role', 'deployer']).rules[0]!.verbs, ['get', 'list', 'patch']);
      cluster.ok(['-n', 'dev', 'create', 'rolebinding', 'alice-more', '--clusterrole=e2e-workloads', '--user=alice'], { as: who.alice });
    });
  });

  describe('reconcile levers on the GitOps objects themselves', () => {
    it('denies a person suspending a Flux Kustomization', () => {
      const r = cluster.kubectl(['-n', 'prod', 'patch', 'kustomization.kustomize.toolkit.fluxcd.io', 'apps', '--type=merge', '-p', '{"spec":{"suspend":true}}'], { as: who.alice });
      assert.match(r.stderr, DENIED);
      assert.match(r.stderr, /spec\.suspend/);
    });

    it("denies a person removing a tracked object's marker through its status subresource (the API server keeps metadata there)", () => {
      cluster.apply('apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: prod\n  annotations: {argocd.argoproj.io/tracking-id: "guestbook:/Service:prod/api"}\nspec: {ports: [{port: 80}], selector: {app: api}}\n', { as: who.argocd, serverSide: 'argocd-controller' });
      const r = alice(['patch', 'service', 'api', '--subresource=status', '--type=merge', '-p', '{"metadata":{"annotations":{"argocd.argoproj.io/tracking-id":null}}}', '--dry-run=server']);
      assert.match(r.stderr, DENIED);
      assert.match(r.stderr, /argocd\.argoproj\.io\/tracking-id/);
    });

    it('denies a person creating a Flux Kustomization by hand (kustomize-controller would apply whatever it names)', () => {
      const r = cluster.kubectl(['apply', '-f', '-'], {
        as: who.alice,
        input: 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: handmade, namespace: prod}\nspec: {interval: 5m, path: ./evil, prune: true, sourceRef: {kind: GitRepository, name: apps}}\n',
      });
      assert.match(r.stderr, DENIED);
      assert.match(r.stderr, /Kustomization prod\/handmade/);
    });

    it('denies a person deleting an Argo CD Application that Argo CD tracks (its resources would be pruned with it)', () => {
      cluster.apply('apiVersion: argoproj.io/v1\nkind: Application\nmetadata:\n  name: child\n  namespace: prod\n  annotations: {argocd.argoproj.io/tracking-id: "root:argoproj.io/Application:prod/child"}\nspec: {project: default}\n', { as: who.argocd, serverSide: 'argocd-controller' });
      const r = cluster.kubectl(['-n', 'prod', 'delete', 'application.argoproj.io', 'child', '--dry-run=server'], { as: who.alice });
      assert.match(r.stderr, DENIED);
      assert.match(r.stderr, /Application prod\/child/);
    });

    it('denies a person turning off Argo CD self-heal', () => {
      const r = cluster.kubectl(['-n', 'prod', 'patch', 'application.argoproj.io', 'guestbook', '--type=merge', '-p', '{"spec":{"syncPolicy":{"automated":{"selfHeal":false}}}}'], { as: who.alice });
      assert.match(r.stderr, DENIED);
      assert.match(r.stderr, /syncPolicy\.automated/);
    });
  });

  describe('a Secret value appears nowhere', () => {
    it('denies a change to a GitOps-owned Secret without printing its values', () => {
      const r = alice(['patch', 'secret', 'db', '--type=merge', '-p', JSON.stringify({ stringData: { password: `${SECRET_VALUE}-new` } })]);
      assert.match(r.stderr, DENIED);
      assert.match(r.stderr, /Secret prod\/db/);
      assert.match(r.stderr, /<secret [a-z0-9-]*sha256:/);
      assert.ok(!r.stderr.includes(SECRET_VALUE));
      assert.ok(!r.stderr.includes(Buffer.from(SECRET_VALUE).toString('base64')));
    });
  });

  describe('a write too large to read in one decision (limits.maxKeys)', () => {
    // 50,000 keys a side, and as many again in each side's managedFields: ~200,000 in the review, over the
    // default 150,000. The ConfigMap itself is ~0.5 MB, well inside what the API server stores.
    const keys = 50_000;
    before(() => {
      const data = Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, 'v']));
      const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'lookup', namespace: 'prod', annotations: { 'argocd.argoproj.io/tracking-id': 'payments:/ConfigMap:prod/lookup' } }, data });
      cluster.apply(manifest, { as: who.argocd, serverSide: 'argocd-controller' });
    });
    const value = (key: string) => cluster.ok(['-n', 'prod', 'get', 'configmap', 'lookup', '-o', `jsonpath={.data.${key}}`]);

    it('denies a person\'s edit unread, saying why and what to do next', () => {
      const r = alice(['patch', 'configmap', 'lookup', '--type=merge', '-p', '{"data":{"k7":"hand-edited"}}']);
      assert.match(r.stderr, DENIED);
      assert.match(r.stderr, /this change to ConfigMap prod\/lookup is denied unread: .* more than 150000 map keys/);
      assert.match(r.stderr, /make the change in Git \(the GitOps controller is not limited\), or ask the platform team to raise limits\.maxKeys/);
      assert.equal(value('k7'), 'v');
    });

    it('lets the GitOps controller write it (never limited)', () => {
      cluster.ok(['-n', 'prod', 'patch', 'configmap', 'lookup', '--type=merge', '-p', '{"data":{"k7":"from-git"}}'], { as: who.argocd });
      assert.equal(value('k7'), 'from-git');
    });
  });

  describe('break glass through the CLI', () => {
    let grantId = '';
    let taskId = '';

    it('alice requests a grant with kubectl breakglass and her Kubernetes credentials (TokenReview)', () => {
      // the kubectl plugin (bin/ on the PATH), as a responder runs it
      const r = cluster.kubectl(['breakglass', 'request', '-n', 'prod', 'deployment/api', '--ttl', '30m', '--reason', 'OOMKilled, raising limits', '--incident', 'INC-7', '-o', 'json'], {
        as: [],
        env: { KUBECONFIG: aliceKubeconfig, PATH: `${join(ROOT, 'bin')}:${process.env.PATH ?? ''}`, DRIFTGATE_SERVER: dg.url, DRIFTGATE_CA: dg.ca },
      });
      assert.equal(r.status, 0, r.stderr);
      const grant = JSON.parse(r.stdout) as { id: string; state: string; requester: string };
      assert.equal(grant.state, 'active');
      assert.equal(grant.requester, 'alice');
      grantId = grant.id;
    });

    it('a dry run under the grant is allowed with warnings and records no task', () => {
      const r = alice(['set', 'resources', 'deployment/api', '-c', 'api', '--limits=memory=2Gi', '--dry-run=server']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`^Warning: driftgate: allowed by break-glass grant ${grantId}`, 'm'));
      assert.deepEqual(Driftgate.json(aliceCli(['tasks', 'list', '-o', 'json'])), []);
    });

    it('kubectl set resources goes through with kubectl Warning: lines naming grant and task', () => {
      const r = alice(['set', 'resources', 'deployment/api', '-c', 'api', '--limits=memory=2Gi']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`^Warning: driftgate: allowed by break-glass grant ${grantId} \\(\\d+m(\\d+s)? left, incident INC-7\\)`, 'm'));
      const task = /^Warning: driftgate: bypass recorded as task (t-\S+?):/m.exec(r.stderr);
      assert.ok(task, r.stderr);
      taskId = task[1]!;
    });

    it('the task is listed and shown as a readable diff', () => {
      const list = Driftgate.json<{ id: string; state: string }[]>(aliceCli(['tasks', 'list', '-o', 'json']));
      assert.deepEqual(list.map((t) => [t.id, t.state]), [[taskId, 'pending']]);
      const show = aliceCli(['tasks', 'show', taskId]);
      assert.equal(show.status, 0, show.stderr);
      assert.match(show.stdout, /resources\.limits\.memory/);
      assert.match(show.stdout, /512Mi/);
      assert.match(show.stdout, /2Gi/);
      assert.match(show.stdout, new RegExp(grantId));
    });

    it('the API server keeps the audit annotations (validate.driftgate.io/grant, task, decision, journal) and rejects none', () => {
      const events = cluster.auditEvents().filter((e) => e.annotations?.['validate.driftgate.io/task'] === taskId);
      assert.ok(events.length >= 1, 'an audit event carries the task id');
      assert.equal(events[0]!.user.username, 'alice');
      assert.equal(events[0]!.annotations!['validate.driftgate.io/grant'], grantId);
      assert.equal(events[0]!.annotations!['validate.driftgate.io/decision'], 'grant');
      // the embedded journal's record, an anchor outside driftgate's disk (`driftgate journal verify --expect-head`)
      assert.match(events[0]!.annotations!['validate.driftgate.io/journal'] ?? '', /^\d+:[0-9a-f]{12,}$/);
      assert.doesNotMatch(cluster.apiserverLog(), /annotation key has invalid format/);
    });

    it('after revoke the same kind of write is denied again', () => {
      const r = aliceCli(['grant', 'revoke', grantId, '--reason', 'fire is out', '-o', 'json']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { state: string }).state, 'revoked');
      const again = alice(['set', 'resources', 'deployment/api', '-c', 'api', '--limits=memory=3Gi']);
      assert.match(again.stderr, DENIED);
    });

    it('the task is closed with evidence once the change is in Git', () => {
      const r = aliceCli(['tasks', 'resolve', taskId, '--as', 'backported', '--evidence', 'git.example.com/guestbook/pull/42', '-o', 'json']);
      assert.equal(r.status, 0, r.stderr);
      const show = Driftgate.json<{ state: string; resolution: { by: string; evidence: string } }>(aliceCli(['tasks', 'show', taskId, '-o', 'json']));
      assert.equal(show.state, 'backported');
      assert.deepEqual([show.resolution.by, show.resolution.evidence], ['alice', 'git.example.com/guestbook/pull/42']);
    });

    it('the Secret value is in no log, task or journal', () => {
      const grant = Driftgate.json<{ id: string }>(aliceCli(['grant', 'request', '-n', 'prod', 'secret/db', '--ttl', '10m', '--reason', 'rotate', '--incident', 'INC-8', '-o', 'json']));
      const r = alice(['patch', 'secret', 'db', '--type=merge', '-p', JSON.stringify({ stringData: { password: `${SECRET_VALUE}-rotated` } })]);
      assert.equal(r.status, 0, r.stderr);
      const taskOfSecret = /bypass recorded as task (t-\S+?):/.exec(r.stderr)![1]!;
      const show = aliceCli(['tasks', 'show', taskOfSecret]);
      assert.match(show.stdout, /sha256/);
      aliceCli(['grant', 'revoke', grant.id, '--reason', 'done']);
      const data = readdirSync(join(work, 'data'), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
        .join('\n');
      const audit = readFileSync(join(cluster.dir, 'run', 'audit.log'), 'utf8');
      for (const [where, text] of Object.entries({ 'tasks show': show.stdout + show.stderr, 'driftgate log': dg.log, 'data dir': data, 'audit log': audit })) {
        assert.ok(!text.includes(SECRET_VALUE), `the secret value appears in the ${where}`);
        assert.ok(!text.includes(Buffer.from(SECRET_VALUE).toString('base64')), `the base64 secret value appears in the ${where}`);
      }
    });
  });

  describe('driftgate down', () => {
    it('human writes in a protected namespace fail closed; GitOps controllers and unprotected namespaces are unaffected', async () => {
      await dg.kill();
      const human = alice(['set', 'image', 'deployment/api', 'api=registry.example.com/api:6.6.6']);
      assert.notEqual(human.status, 0);
      assert.match(human.stderr, /failed calling webhook "validate\.driftgate\.io"/);
      cluster.apply(deployment('api', { image: 'registry.example.com/api:1.2.2', replicas: 4, memory: '2Gi' }), { as: who.argocd, serverSide: 'argocd-controller' });
      cluster.ok(['-n', 'prod', 'patch', 'configmap', 'settings', '--type=merge', '-p', '{"data":{"color":"blue"}}', '--field-manager=kustomize-controller'], { as: who.kustomizeController });
      cluster.ok(['-n', 'prod', 'patch', 'deployment', 'web', '-p', '{"spec":{"replicas":2}}', '--field-manager=helm-controller'], { as: who.helmController });
      cluster.ok(['-n', 'dev', 'create', 'configmap', 'while-down', '--from-literal=a=b'], { as: who.alice });
      assert.equal(image(), 'registry.example.com/api:1.2.2');
      // controllers keep writing status (a rollout's progress), exempted at the API server; a person's status write is refused
      const deploymentController = ['--context', 'admin', '--as=system:serviceaccount:kube-system:deployment-controller', '--as-group=system:serviceaccounts'];
      cluster.ok(['-n', 'prod', 'patch', 'deployment', 'api', '--subresource=status', '--type=merge', '-p', '{"status":{"observedGeneration":1}}'], { as: deploymentController });
      const personStatus = alice(['patch', 'deployment', 'api', '--subresource=status', '--type=merge', '-p', '{"status":{"observedGeneration":2}}']);
      assert.match(personStatus.stderr, /failed calling webhook "validate\.driftgate\.io"/);
    });

    it('a restart keeps the tasks and the gate', async () => {
      await dg.start();
      // the API server reaches the new process (its first calls may still meet the old connection's end)
      await until(() => unmanagedCreateIsDenied(cluster), 'the API server did not reach the restarted driftgate within 20 s');
      // the admitted bypasses (a drift scan at start may add `detected` tasks of its own)
      const list = Driftgate.json<{ state: string; source?: string }[]>(aliceCli(['tasks', 'list', '-o', 'json']));
      assert.deepEqual(list.filter((t) => t.source !== 'detected').map((t) => t.state).sort(), ['backported', 'pending']);
      assert.match(alice(['set', 'image', 'deployment/api', 'api=registry.example.com/api:6.6.6']).stderr, DENIED);
    });
  });

  describe('what the webhook costs a kubectl user', () => {
    it('reports the median and p99 latency it adds to a kubectl PATCH (rollout restart of a GitOps-owned Deployment)', async (t) => {
      const probeDenied = () => unmanagedCreateIsDenied(cluster);
      const on: Sample[] = [];
      const off: Sample[] = [];
      await timePatches(cluster, 'alice', 'prod', 'api', 20); // warm-up: connections, caches, JIT
      // alternating rounds, so both sides see the same machine load
      for (let round = 0; round < 5; round++) {
        on.push(...(await timePatches(cluster, 'alice', 'prod', 'api', 80)));
        await unregisterWebhook(cluster, () => !probeDenied());
        off.push(...(await timePatches(cluster, 'alice', 'prod', 'api', 80)));
        await registerWebhook(cluster, dg, probeDenied);
      }
      assert.ok([...on, ...off].every((s) => s.status === 200));
      assert.ok(on.every((s) => /allowance \\?"rollout-restart/.test(s.warning ?? '')), 'every timed PATCH went through driftgate');
      assert.ok(off.every((s) => s.warning === undefined), 'no timed PATCH without the webhook reached driftgate');
      const withWebhook = summarize(on);
      const without = summarize(off);
      const lines = [
        `kubectl PATCH through kube-apiserver, ${withWebhook.n} requests each way in 5 alternating rounds, sequential, one connection (load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores):`,
        `  without the webhook: median ${without.medianMs} ms, p99 ${without.p99Ms} ms`,
        `  with driftgate:      median ${withWebhook.medianMs} ms, p99 ${withWebhook.p99Ms} ms`,
        `  added:               median ${Math.round((withWebhook.medianMs - without.medianMs) * 100) / 100} ms, p99 ${Math.round((withWebhook.p99Ms - without.p99Ms) * 100) / 100} ms`,
      ];
      for (const l of lines) t.diagnostic(l);
      if (process.env.E2E_REPORT) appendFileSync(process.env.E2E_REPORT, `${lines.join('\n')}\n`);
    });
  });
});
