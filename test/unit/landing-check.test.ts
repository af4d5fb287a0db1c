import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LandingCheck, landing, type LiveChange, type LiveObjects, type SeenByWatch } from '../../src/cluster/landing-check.ts';
import type { KubeObject } from '../../src/admission/types.ts';
import type { Task, TaskDraft } from '../../src/tasks/task.ts';
import { createLogger } from '../../src/log.ts';
import { storeFixture } from '../helpers/breakglass.ts';
import { grant, LogSink, MemoryGrants, MemoryTasks, reviewDeps } from '../helpers/deps.ts';
import { fixtureText } from '../helpers/reviews.ts';
import { reviewBody } from '../../src/admission/review.ts';

// The bypass: spec.replicas 3 → 5, admitted against resourceVersion 100 at generation 4 (the write makes it 5).
const draft = (name: string, over: Partial<TaskDraft> = {}): TaskDraft => ({
  grantId: 'g-1',
  writer: { username: 'alice', groups: [] },
  operation: 'UPDATE',
  object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'prod', name, uid: 'uid-x', resourceVersion: '100', generation: 5 },
  owner: 'argocd/payments',
  changes: [{ path: 'spec.replicas', before: 3, after: 5 }],
  admissionUid: name,
  recordedAt: '2026-11-24T11:58:00.000Z',
  ...over,
});
const task = (d: TaskDraft): Task => ({ ...d, id: 't', state: 'pending' });
const objectOf = (d: TaskDraft, over: Partial<TaskDraft['object']>): TaskDraft['object'] => ({ ...d.object, ...over });

interface LiveMeta {
  rv?: string;
  gen?: number;
  uid?: string;
  deleting?: boolean;
  managers?: { manager: string; operation: string; time: string }[];
}
const deploy = (replicas: number, m: LiveMeta = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'x',
    uid: m.uid ?? 'uid-x',
    ...(m.rv ? { resourceVersion: m.rv } : {}),
    ...(m.gen !== undefined ? { generation: m.gen } : {}),
    ...(m.deleting ? { deletionTimestamp: '2026-11-24T11:58:01Z' } : {}),
    ...(m.managers ? { managedFields: m.managers } : {}),
  },
  spec: { replicas },
});
const ARGO_REVERT = [{ manager: 'argocd-controller', operation: 'Update', time: '2026-11-24T11:58:20Z' }];
const seenNothing: SeenByWatch = () => false;
const seenIt: SeenByWatch = () => true;
const notWatching: SeenByWatch = () => 'unknown';
const update = draft('u');
const metadataOnly = draft('m', { object: objectOf(update, { generation: undefined }), changes: [{ path: 'metadata.labels.team', before: 'a', after: 'b' }] });
const noEvidence = draft('old', { object: objectOf(update, { resourceVersion: undefined, generation: undefined }) });
const del = draft('d', { operation: 'DELETE', object: objectOf(update, { generation: undefined }) });
const create = draft('c', { operation: 'CREATE', object: objectOf(update, { resourceVersion: undefined, generation: undefined }) });

describe('did the bypassed write land? (evidence, never the current values)', () => {
  for (const [name, d, live, seen, want] of [
    ['an update whose object is still at the admitted resourceVersion never landed', update, deploy(3, { rv: '100', gen: 4 }), notWatching, 'not-applied'],
    ['an update whose spec change never bumped the generation never landed (status writes since)', update, deploy(3, { rv: '107', gen: 4 }), notWatching, 'not-applied'],
    ['an update Argo CD self-heal reverted within the window landed (live equals before again)', update, deploy(3, { rv: '112', gen: 6, managers: ARGO_REVERT }), notWatching, 'landed'],
    ['an update live shows with its new values landed', update, deploy(5, { rv: '105', gen: 5 }), notWatching, 'landed'],
    ['an update overtaken by a later spec change landed', update, deploy(7, { rv: '120', gen: 7 }), notWatching, 'landed'],
    ['a label write on an object written since is unknown (no generation evidence)', metadataOnly, deploy(3, { rv: '101', gen: 4 }), notWatching, 'unknown'],
    ['a label write on an untouched object never landed', metadataOnly, deploy(3, { rv: '100', gen: 4 }), notWatching, 'not-applied'],
    ['a task recorded without evidence is unknown even when live shows the old values', noEvidence, deploy(3, { rv: '100', gen: 4 }), notWatching, 'unknown'],
    ['an update whose object was deleted since is unknown', update, undefined, notWatching, 'unknown'],
    ['an update whose object was recreated since is unknown', update, deploy(3, { rv: '100', gen: 1, uid: 'other' }), notWatching, 'unknown'],
    ['a delete whose object is still there, not marked for deletion, never landed', del, deploy(3, { rv: '104' }), notWatching, 'not-applied'],
    ['a delete whose object waits on finalizers landed', del, deploy(3, { rv: '104', deleting: true }), notWatching, 'landed'],
    ['a delete whose object is gone landed', del, undefined, notWatching, 'landed'],
    ['a delete whose object was recreated (new uid) landed', del, deploy(3, { uid: 'other' }), notWatching, 'landed'],
    ['a create whose object exists landed', create, deploy(3), seenNothing, 'landed'],
    ['a create the watch saw, deleted since, landed', create, undefined, seenIt, 'landed'],
    ['a create the watch, running throughout, never saw never landed', create, undefined, seenNothing, 'not-applied'],
    ['a create that is not there while the watch had a gap is unknown', create, undefined, notWatching, 'unknown'],
    ['a create whose name another object took (other uid), never seen, never landed', create, deploy(3, { uid: 'other' }), seenNothing, 'not-applied'],
  ] as const) {
    it(name, () => assert.equal(landing(task(d), live, seen).verdict, want));
  }

  it('says a landed update was reverted since, and by whom', () => {
    const l = landing(task(update), deploy(3, { rv: '112', gen: 6, managers: ARGO_REVERT }));
    assert.equal(l.verdict, 'landed');
    assert.ok(l.verdict === 'landed' && l.revertedSince);
    assert.match(l.revertedSince, /reverted since \(written since by argocd-controller \(Update at 2026-11-24T11:58:20Z\)\); a self-heal revert by the owner \(argocd\/payments\) is expected/);
  });
});

describe('landing check sweep', () => {
  it('closes as not-applied only old-enough pending tasks of watched kinds whose write never landed', async () => {
    const f = await storeFixture();
    const never = await f.store.recordBypass(draft('never'));
    const reverted = await f.store.recordBypass(draft('reverted'));
    const unwatched = await f.store.recordBypass(draft('cm', { object: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'prod', name: 'cm', resourceVersion: '100' } }));
    const recent = await f.store.recordBypass(draft('recent', { recordedAt: '2026-11-24T11:59:50.000Z' }));
    const live: LiveObjects = {
      liveObject: (group, _kind, _ns, name) => (group !== 'apps' ? 'unknown' : name === 'reverted' ? deploy(3, { rv: '112', gen: 6, managers: ARGO_REVERT }) : deploy(3, { rv: '100', gen: 4 })),
    };
    const sink = new LogSink();
    const check = new LandingCheck({ store: f.store, live, logger: createLogger('info', sink.stream), now: () => f.now.value, afterMs: 60_000 });
    assert.deepEqual(await check.sweep(), [never.id]);
    const t = f.store.getTask(never.id)!;
    assert.equal(t.state, 'not-applied');
    assert.equal(t.resolution?.by, 'driftgate');
    assert.match(t.resolution!.evidence, /never reached the object: the object is still at resourceVersion 100/);
    for (const id of [reverted.id, unwatched.id, recent.id]) assert.equal(f.store.getTask(id)?.state, 'pending');
    const note = f.store.getTask(reverted.id)!.verifications?.at(-1);
    assert.equal(note?.by, 'driftgate');
    assert.equal(note?.verdict, 'pending');
    assert.match(note!.explanation.join('\n'), /the write landed: .*generation is 6[\s\S]*reverted since \(written since by argocd-controller/);
    const closed = sink.lines.find((l) => l.event === 'task.resolved');
    assert.deepEqual([closed?.audit, closed?.task, closed?.state, closed?.who], ['break-glass', never.id, 'not-applied', 'driftgate']);
    assert.equal(sink.lines.find((l) => l.event === 'task.landing')?.task, reverted.id);
    assert.deepEqual(await check.sweep(), []); // checked once
    const replica = new LandingCheck({ store: f.store, live, logger: createLogger('silent'), now: () => f.now.value, afterMs: 60_000 });
    assert.deepEqual(await replica.sweep(), []); // another replica, or this one after a restart
    assert.equal(f.store.getTask(reverted.id)!.verifications?.length, 1); // the revert is noted once
  });

  it('remembers the objects its watch saw, and forgets what it saw before a gap', async () => {
    const f = await storeFixture();
    let listener: ((c: LiveChange) => void) | undefined;
    const live: LiveObjects = { liveObject: () => undefined, onChange: (l) => (listener = l) };
    const check = new LandingCheck({ store: f.store, live, logger: createLogger('silent'), now: () => f.now.value });
    const fresh = { metadata: { uid: 'uid-seen', creationTimestamp: f.now.value.toISOString() } };
    listener!({ type: 'add', object: fresh });
    listener!({ type: 'delete', object: fresh });
    const recordedAt = new Date(f.now.value.getTime() + 1000).toISOString();
    f.now.value = new Date(f.now.value.getTime() + 120_000);
    const seen = await f.store.recordBypass(draft('seen', { ...create, admissionUid: 'seen', recordedAt, object: objectOf(create, { uid: 'uid-seen' }) }));
    const never = await f.store.recordBypass(draft('never', { ...create, admissionUid: 'never', recordedAt, object: objectOf(create, { uid: 'uid-never' }) }));
    assert.deepEqual(await check.sweep(), [never.id]);
    assert.equal(f.store.getTask(seen.id)?.state, 'pending');

    listener!({ type: 'gap' }); // a later CREATE cannot be proven absent any more
    const later = await f.store.recordBypass(draft('later', { ...create, admissionUid: 'later', recordedAt, object: objectOf(create, { uid: 'uid-later' }) }));
    assert.deepEqual(await check.sweep(), []);
    assert.equal(f.store.getTask(later.id)?.state, 'pending');
  });
});

describe('the evidence a bypass task records at admission (real API server requests)', () => {
  const UID = '1e00ebab-d63a-4c19-be26-2811d6a06d68';
  for (const [fixture, want] of [
    ['09-alice-set-image-deployment.json', { uid: UID, resourceVersion: '217', generation: 9 }], // a spec change: generation 8 → 9
    ['08-alice-scale-deployment.json', { uid: UID, resourceVersion: '216' }], // a Scale carries no generation
    ['23-alice-delete-deployment.json', { uid: UID, resourceVersion: '223' }],
    ['01-alice-apply-create-deployment.json', { uid: UID }],
  ] as const) {
    it(`${fixture}: ${Object.keys(want).join(', ')}`, async () => {
      const tasks = new MemoryTasks();
      const g = grant({ operations: ['CREATE', 'UPDATE', 'DELETE'] });
      assert.equal((await reviewBody(fixtureText(fixture), reviewDeps({ grants: new MemoryGrants([g]), tasks }))).outcome, 'bypassed');
      const { uid, resourceVersion, generation } = tasks.tasks.get('task-1')!.object;
      assert.deepEqual({ uid, resourceVersion, generation }, { resourceVersion: undefined, generation: undefined, ...want });
    });
  }
});
