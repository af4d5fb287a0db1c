/**
 * Issue 11, Kubernetes store: what someone with write access to the BreakGlassGrant and DriftTask
 * objects (but not driftgate's signing key) can do, done through the API as kubectl would do it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { approve, checkRevoke, newGrant } from '../../src/grants/rules.ts';
import { KeyRing } from '../../src/keys/key-ring.ts';
import { createLogger } from '../../src/log.ts';
import { KubernetesStore, REVOCATION_ANNOTATION } from '../../src/store/kubernetes-store.ts';
import { Metrics } from '../../src/metrics.ts';
import { examplePolicy, LogSink, policyFrom } from '../helpers/deps.ts';
import { ALICE_ID, BOB_LEAD, REQUEST, taskDraft } from '../helpers/breakglass.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeApiServer } from './fake-apiserver.ts';
import { kubeConfigFor } from './kubeconfig.ts';

type Obj = { metadata: { name: string; uid?: string; resourceVersion?: string; annotations?: Record<string, string> }; spec: Record<string, unknown>; status?: Record<string, unknown> };

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('Kubernetes store: tampering with grants and tasks (issue 11)', () => {
  let api: FakeApiServer;
  let server: string;
  let keys: KeyRing;
  let store: KubernetesStore;
  const opened: KubernetesStore[] = [];
  const sink = new LogSink();
  const now = new Date();
  const base = '/apis/driftgate.io/v1alpha1/namespaces/driftgate';

  const open = async () => {
    const s = await KubernetesStore.open({ kubeConfig: kubeConfigFor(server), namespace: 'driftgate', keys, logger: createLogger('debug', sink.stream), delay: (ms) => sleep(Math.min(ms, 50)) });
    opened.push(s);
    return s;
  };
  /** `kubectl replace [--subresource=status]`, `kubectl delete`, `kubectl create` as the attacker. */
  const kubectl = async (method: 'PUT' | 'DELETE' | 'POST', path: string, body?: unknown) => {
    const r = await fetch(`${server}${base}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    assert.ok(r.ok, `${method} ${path}: ${r.status} ${await r.clone().text()}`);
    return (await r.json()) as Obj;
  };
  const grantObj = (id: string) => api.get('breakglassgrants', 'driftgate', id) as unknown as Obj;
  const honours = (s: KubernetesStore, name: string) => s.activeGrants('prod', 'apps', 'Deployment', name, now).length > 0;
  const grant = async (id: string, name: string, policy = examplePolicy()) => store.createGrant(newGrant({ ...REQUEST, ttl: '1h', resources: [{ group: 'apps', kind: 'Deployment', name }] }, ALICE_ID, policy, now, id));
  const revoke = (id: string) => store.revokeGrant(id, (g) => checkRevoke(g, ALICE_ID, examplePolicy(), now), 'alice', now, 'fixed');

  before(async () => {
    api = new FakeApiServer();
    server = await api.start();
    keys = await KeyRing.load(join(tempDir('driftgate-k8stamper-'), 'keys'));
    store = await open();
  });
  after(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await api.stop();
  });

  it('a revocation undone by replacing status with state: active is not honoured, on running and newly started replicas, and is reported', async () => {
    await grant('g-undo', 'undo');
    await until('the grant to be honoured', () => honours(store, 'undo'));
    await revoke('g-undo');
    const revoked = grantObj('g-undo');
    assert.ok(revoked.metadata.annotations?.[REVOCATION_ANNOTATION], 'the signed revocation is on the object itself');
    await until('the cache to see the annotation', () => store.getGrant('g-undo') !== undefined && api.requests.some((r) => r === 'PUT /apis/driftgate.io/v1alpha1/namespaces/driftgate/breakglassgrants/g-undo'));
    await sleep(100);
    assert.deepEqual(store.tampered, [], 'an honest revocation is never reported as tampering');
    const { revokedAt: _a, revokedBy: _b, revocation: _c, revokeReason: _d, ...rest } = revoked.status!;
    await kubectl('PUT', '/breakglassgrants/g-undo/status', { ...revoked, status: { ...rest, state: 'active' } });
    await until('the cache to see the edited status', () => store.getGrant('g-undo')?.grant.state === 'active');
    assert.equal(honours(store, 'undo'), false);
    const fresh = await open();
    await until('a new replica to list the grant', () => fresh.getGrant('g-undo') !== undefined);
    await sleep(50);
    assert.equal(honours(fresh, 'undo'), false);
    assert.match(fresh.getGrant('g-undo')!.ignored!, /status rolled back or edited/);
    assert.ok(store.tampered.some((t) => /grant g-undo: status says active but the grant was revoked/.test(t)));
    assert.match(sink.text, /GRANT TAMPERED/);
  });

  for (const [what, forged] of [
    ['state: revoked', { state: 'revoked' }],
    ['a revokedAt', { revokedAt: '2026-01-01T00:00:00.000Z', revokedBy: 'mallory' }],
  ] as [string, Record<string, unknown>][]) {
    it(`a revocation is written though status was forged to say ${what} first, and the grant stays refused once status is put back`, async () => {
      const id = `g-swallow-${what.length}`;
      await grant(id, id);
      const genuine = grantObj(id);
      await kubectl('PUT', `/breakglassgrants/${id}/status`, { ...genuine, status: { ...genuine.status, ...forged } });
      await until('the cache to see the forged status', () => store.getGrant(id)?.grant.state !== 'active' || store.getGrant(id)?.grant.revokedAt !== undefined);
      await revoke(id); // not "already revoked"
      assert.ok(grantObj(id).metadata.annotations?.[REVOCATION_ANNOTATION], 'the signed revocation is on the object');
      await kubectl('PUT', `/breakglassgrants/${id}/status`, { ...grantObj(id), status: genuine.status });
      const fresh = await open();
      await until('a new replica to list the grant', () => fresh.getGrant(id) !== undefined);
      await sleep(50);
      assert.equal(honours(fresh, id), false);
      assert.equal(honours(store, id), false);
    });
  }

  it('a whole status rolled back to its signed state from before the revocation is not honoured', async () => {
    await grant('g-rollback', 'rollback');
    const before = grantObj('g-rollback');
    await revoke('g-rollback');
    await kubectl('PUT', '/breakglassgrants/g-rollback/status', { ...grantObj('g-rollback'), status: before.status });
    await until('the cache to see the rolled-back status', () => store.getGrant('g-rollback')?.grant.state === 'active');
    const fresh = await open();
    await until('a new replica to list the grant', () => fresh.getGrant('g-rollback') !== undefined);
    await sleep(50);
    assert.equal(honours(store, 'rollback'), false);
    assert.equal(honours(fresh, 'rollback'), false);
  });

  it('a replica that saw a revocation keeps refusing the grant even when the annotation is stripped too (update on the object itself)', async () => {
    await grant('g-strip', 'strip');
    const before = grantObj('g-strip');
    await revoke('g-strip');
    const after = grantObj('g-strip');
    const { [REVOCATION_ANNOTATION]: _gone, ...annotations } = after.metadata.annotations ?? {};
    await kubectl('PUT', '/breakglassgrants/g-strip', { ...after, metadata: { ...after.metadata, annotations } });
    await kubectl('PUT', '/breakglassgrants/g-strip/status', { ...grantObj('g-strip'), status: before.status });
    await until('the cache to see both edits', () => store.getGrant('g-strip')?.grant.state === 'active');
    await sleep(50);
    assert.equal(honours(store, 'strip'), false);
    assert.match(store.getGrant('g-strip')!.ignored!, /seen revoked by this replica/);
  });

  it('a pending grant whose status is edited to active is not honoured (the token signs the state)', async () => {
    const policy = policyFrom('protectedNamespaces: [prod]\nbreakGlass: {approval: {required: 1, approvers: {groups: [sre-leads]}}}');
    await grant('g-pending', 'pending', policy);
    const o = grantObj('g-pending');
    await kubectl('PUT', '/breakglassgrants/g-pending/status', { ...o, status: { ...o.status, state: 'active' } });
    await until('the cache to see the edit', () => store.getGrant('g-pending')?.grant.state === 'active');
    await sleep(50);
    assert.equal(honours(store, 'pending'), false);
    assert.match(store.getGrant('g-pending')!.ignored!, /token says pending-approval/);
    const approved = await store.approveGrant('g-pending', (g) => approve({ ...g, state: 'pending-approval' }, BOB_LEAD, policy, now));
    assert.equal(approved.state, 'active');
    await until('the approved grant to be honoured', () => honours(store, 'pending'));
  });

  // status.approvals is not driftgate's to trust: an approval builds on it only when the token signs it.
  const twoApprovals = policyFrom('protectedNamespaces: [prod]\nbreakGlass: {approval: {required: 2, approvers: {groups: [sre-leads]}}}');
  const carol = { username: 'carol', groups: ['sre-leads'] };
  for (const [name, edit] of [
    ['a forged approval added to status', (st: Record<string, unknown>) => ({ ...st, approvals: [{ by: 'dave', at: now.toISOString() }] })],
    ['a forged approval with the state left pending and the token kept', (st: Record<string, unknown>) => ({ ...st, state: 'pending-approval', approvals: [{ by: 'erin', at: now.toISOString(), reason: 'lgtm' }] })],
  ] as [string, (st: Record<string, unknown>) => Record<string, unknown>][]) {
    it(`a grant that needs two approvals is not activated by one real approval on top of ${name}`, async () => {
      const id = `g-forged-${name.length}`;
      await grant(id, `forged-${name.length}`, twoApprovals);
      const o = grantObj(id);
      await kubectl('PUT', `/breakglassgrants/${id}/status`, { ...o, status: edit(o.status ?? {}) });
      await until('the cache to see the forged approval', () => (store.getGrant(id)?.grant.approvals.length ?? 0) > 0);
      await assert.rejects(
        store.approveGrant(id, (g) => approve(g, carol, twoApprovals, now)),
        (err: Error) => /does not match its signature/.test(err.message),
      );
      assert.notEqual(grantObj(id).status?.state, 'active');
      assert.equal(honours(store, `forged-${name.length}`), false);
    });
  }

  it('a revoked grant deleted and recreated from a copy (new uid, old signed status) is not honoured', async () => {
    await grant('g-recreate', 'recreate');
    const copy = grantObj('g-recreate');
    await revoke('g-recreate');
    await kubectl('DELETE', '/breakglassgrants/g-recreate');
    const created = await kubectl('POST', '/breakglassgrants', { apiVersion: 'driftgate.io/v1alpha1', kind: 'BreakGlassGrant', metadata: { name: 'g-recreate' }, spec: copy.spec });
    await kubectl('PUT', '/breakglassgrants/g-recreate/status', { ...created, status: copy.status });
    const fresh = await open();
    await until('a new replica to list the recreated grant', () => fresh.getGrant('g-recreate')?.grant.state === 'active');
    await sleep(50);
    assert.equal(honours(fresh, 'recreate'), false);
    assert.match(fresh.getGrant('g-recreate')!.ignored!, /signed for another object/);
    assert.equal(honours(store, 'recreate'), false);
  });

  it('a task whose spec or status is edited, or which is deleted, is reported', async () => {
    const edited = await store.recordBypass(taskDraft('uid-edit'));
    const resolved = await store.recordBypass(taskDraft('uid-resolve'));
    const deleted = await store.recordBypass(taskDraft('uid-delete'));
    await until('the tasks in the cache', () => store.listTasks({}).length >= 3);
    assert.deepEqual(store.tampered.filter((t) => t.startsWith('task')), []);
    const e = api.get('drifttasks', 'driftgate', edited.id) as unknown as Obj;
    await kubectl('PUT', `/drifttasks/${edited.id}`, { ...e, spec: { ...e.spec, changes: [] } });
    const r = api.get('drifttasks', 'driftgate', resolved.id) as unknown as Obj;
    await kubectl('PUT', `/drifttasks/${resolved.id}/status`, { ...r, status: { state: 'reverted', resolution: { by: 'mallory', at: now.toISOString(), evidence: 'trust me' } } });
    await kubectl('DELETE', `/drifttasks/${deleted.id}`);
    await until('all three reported', () => store.tampered.filter((t) => t.startsWith('task')).length === 3);
    const report = store.tampered.join('\n');
    assert.match(report, new RegExp(`task ${edited.id}: spec does not match its signature`));
    assert.match(report, new RegExp(`task ${resolved.id}: status is not signed`));
    assert.match(report, new RegExp(`task ${deleted.id} \\(pending\\) was deleted`));
    assert.match(sink.text, /TASK TAMPERED/);
    const metrics = await new Metrics({ store, policy: examplePolicy, now: () => now }, false).registry.metrics();
    assert.ok(Number(/^driftgate_store_tampered (\d+)$/m.exec(metrics)![1]) >= 3);
  });

  it('a forged task status is never re-signed by driftgate (a later verification or resolution refuses to build on it)', async () => {
    const t = await store.recordBypass(taskDraft('uid-launder'));
    await until('the task in the cache', () => store.getTask(t.id) !== undefined);
    const o = api.get('drifttasks', 'driftgate', t.id) as unknown as Obj;
    await kubectl('PUT', `/drifttasks/${t.id}/status`, { ...o, status: { state: 'reverted', resolution: { by: 'mallory', at: now.toISOString(), evidence: 'trust me' } } });
    await until('the forgery reported', () => store.tampered.some((x) => x.startsWith(`task ${t.id}: status is not signed`)));
    const verification = { at: now.toISOString(), by: 'ci', verdict: 'pending', evidence: 'ci', explanation: [] } as const;
    await assert.rejects(store.recordVerification(t.id, () => verification), /does not match its signature/);
    await assert.rejects(store.resolveTask(t.id, () => ({ state: 'accepted' })), /does not match its signature/);
    await sleep(100);
    assert.ok(store.tampered.some((x) => x.startsWith(`task ${t.id}: status is not signed`)), 'the forgery stays reported');
    assert.equal((api.get('drifttasks', 'driftgate', t.id) as unknown as Obj).status?.signature, undefined);
  });

  it('a task resolved through driftgate carries a valid status signature', async () => {
    const t = await store.recordBypass(taskDraft('uid-honest'));
    await until('the task in the cache', () => store.getTask(t.id) !== undefined);
    await store.recordVerification(t.id, () => ({ at: now.toISOString(), by: 'alice', verdict: 'pending', evidence: 'ci', explanation: [] }));
    await sleep(100);
    assert.ok(!store.tampered.some((x) => x.includes(t.id)));
  });
});

describe('shipped RBAC: only driftgate can undo a revocation', () => {
  it('no Role or ClusterRole in deploy/ other than driftgate\'s may update, patch or delete grants or their status', () => {
    const root = join(import.meta.dirname, '..', '..', 'deploy');
    const files = ['base/rbac.yaml'];
    const writers: string[] = [];
    for (const f of files) {
      for (const doc of parseAllDocuments(readFileSync(join(root, f), 'utf8'))) {
        const o = doc.toJS() as { kind?: string; metadata?: { name?: string }; rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[]; subjects?: { kind: string; name: string }[] };
        if (o.kind === 'Role' || o.kind === 'ClusterRole') {
          for (const r of o.rules ?? []) {
            const grants = r.apiGroups.some((g) => g === 'driftgate.io' || g === '*') && r.resources.some((res) => /^(\*|breakglassgrants(\/status)?)$/.test(res));
            if (grants && r.verbs.some((v) => ['update', 'patch', 'delete', '*'].includes(v))) writers.push(`${o.kind}/${o.metadata?.name}`);
          }
        }
        if ((o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') && o.metadata?.name === 'driftgate') {
          assert.deepEqual(o.subjects, [{ kind: 'ServiceAccount', name: 'driftgate', namespace: 'driftgate' }]);
        }
      }
    }
    assert.deepEqual([...new Set(writers)], ['Role/driftgate']);
  });
});
