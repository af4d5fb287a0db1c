import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LandingCheck, landing, type LiveObjects } from '../../src/cluster/landing-check.ts';
import type { KubeObject } from '../../src/admission/types.ts';
import type { Task, TaskDraft } from '../../src/tasks/task.ts';
import { createLogger } from '../../src/log.ts';
import { storeFixture } from '../helpers/breakglass.ts';

const draft = (uid: string, over: Partial<TaskDraft> = {}): TaskDraft => ({
  grantId: 'g-1',
  writer: { username: 'alice', groups: [] },
  operation: 'UPDATE',
  object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'prod', name: uid, uid: `uid-${uid}` },
  owner: 'argocd/payments',
  changes: [{ path: 'spec.replicas', before: 3, after: 5 }],
  admissionUid: uid,
  recordedAt: '2026-11-24T11:58:00.000Z',
  ...over,
});
const task = (d: TaskDraft): Task => ({ ...d, id: 't', state: 'pending' });
const deploy = (replicas: number, uid = 'uid-x'): KubeObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', uid }, spec: { replicas } });

describe('did the bypassed write land?', () => {
  for (const [name, t, live, want] of [
    ['an update live still shows with its old values never landed', task(draft('a')), deploy(3), 'not-applied'],
    ['an update live shows with its new values landed', task(draft('a')), deploy(5), 'landed'],
    ['an update overtaken by another change is unknown', task(draft('a')), deploy(7), 'unknown'],
    ['a delete whose object is still there never landed', task(draft('x', { operation: 'DELETE' })), deploy(3, 'uid-x'), 'not-applied'],
    ['a delete whose object is gone landed', task(draft('x', { operation: 'DELETE' })), undefined, 'landed'],
    ['a delete whose object was recreated (new uid) landed', task(draft('x', { operation: 'DELETE' })), deploy(3, 'other'), 'landed'],
    ['a create whose object never appeared never landed', task(draft('x', { operation: 'CREATE' })), undefined, 'not-applied'],
  ] as const) {
    it(name, () => assert.equal(landing(t, live), want));
  }
});

describe('landing check sweep', () => {
  it('marks only old-enough pending tasks of watched kinds whose write never landed', async () => {
    const f = await storeFixture();
    const never = await f.store.recordBypass(draft('never'));
    const landed = await f.store.recordBypass(draft('landed'));
    const unwatched = await f.store.recordBypass(draft('cm', { object: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'prod', name: 'cm' } }));
    const recent = await f.store.recordBypass(draft('recent', { recordedAt: '2026-11-24T11:59:50.000Z' }));
    const live: LiveObjects = {
      liveObject: (group, kind, _ns, name) => (group !== 'apps' ? 'unknown' : name === 'landed' ? deploy(5) : deploy(3)),
    };
    const check = new LandingCheck({ store: f.store, live, logger: createLogger('silent'), now: () => f.now.value, afterMs: 60_000 });
    assert.deepEqual(await check.sweep(), [never.id]);
    const t = f.store.getTask(never.id)!;
    assert.equal(t.state, 'not-applied');
    assert.equal(t.resolution?.by, 'driftgate');
    assert.match(t.resolution!.evidence, /never reached the live object within 60 s/);
    for (const id of [landed.id, unwatched.id, recent.id]) assert.equal(f.store.getTask(id)?.state, 'pending');
    assert.deepEqual(await check.sweep(), []); // checked once
  });
});
