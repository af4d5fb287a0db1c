import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TaskTable } from '../../src/store/task-table.ts';
import { summarize, type TaskSummary } from '../../src/tasks/task.ts';
import { requestGrant, storeFixture, taskDraft } from '../helpers/breakglass.ts';
import { examplePolicy } from '../helpers/deps.ts';
import { Metrics } from '../../src/metrics.ts';
import { isOverdue } from '../../src/tasks/rules.ts';

/** a webhook task's summary (random hex id, UUID admission uid) */
const summary = (over: Partial<TaskSummary> = {}): TaskSummary => ({
  ...summarize({ ...taskDraft('6f1d2c3b-0a9e-4f8d-8c7b-1a2b3c4d5e6f'), id: 't-0a1b2c3d4e', state: 'pending' }),
  ...over,
});

/** the key order `summarize` gives (JSON output keeps it) */
const ORDER = ['id', 'state', 'namespace', 'kind', 'name', 'writer', 'grantId', 'incident', 'owner', 'recordedAt', 'admissionUid', 'resolution', 'source'];

const at = (offset: number) => ({ offset, length: 100 + offset });

describe('task table: every summary comes back exactly as it went in', () => {
  const cases: { name: string; s: TaskSummary }[] = [
    { name: 'a webhook task (random hex id, UUID admission uid)', s: summary() },
    { name: 'an id with leading zeros in its hex suffix', s: summary({ id: 't-000000000a' }) },
    { name: 'decimal ids and uids (seeded data)', s: summary({ id: 't-seed120', admissionUid: 'seed-120' }) },
    { name: 'ids and uids with no hex suffix at all', s: summary({ id: 'task-XYZ', admissionUid: 'UPPER-CASE-UID-Q' }) },
    { name: 'an upper-case UUID (not the compact form)', s: summary({ admissionUid: '6F1D2C3B-0A9E-4F8D-8C7B-1A2B3C4D5E6F' }) },
    { name: 'an empty admission uid', s: summary({ admissionUid: '' }) },
    { name: 'a hex suffix longer than one word pair', s: summary({ id: 't-0123456789abcdef0123', admissionUid: 'x-0123456789abcdef0123456789abcdef' }) },
    { name: 'an incident and a detected source', s: summary({ incident: 'INC-7', source: 'detected' }) },
    { name: 'a resolution', s: summary({ state: 'reverted', resolution: { by: 'bob', at: '2026-11-24T11:00:00.000Z', evidence: 'rolled back' } }) },
    { name: 'a timestamp not in toISOString form (kept as written)', s: summary({ recordedAt: '2026-11-24T10:00:00Z' }) },
    { name: 'a timestamp that is not a date (kept as written)', s: summary({ recordedAt: 'yesterday' }) },
  ];
  for (const { name, s } of cases) {
    it(`round-trips ${name}`, () => {
      const table = new TaskTable();
      table.put(summary({ id: 't-other', admissionUid: 'other' }), at(0));
      table.put(s, at(7));
      const row = table.row(s.id);
      assert.deepEqual(table.summary(row), s);
      assert.deepEqual(Object.keys(table.summary(row)), ORDER.filter((k) => k in s), 'same key order as summarize');
      assert.deepEqual(table.location(row), at(7));
      assert.equal(table.idByAdmission(s.admissionUid), s.id);
    });
  }
});

describe('task table: lookups are exact', () => {
  const table = new TaskTable();
  const n = 5000;
  for (let i = 0; i < n; i += 1) table.put(summary({ id: `t-${i.toString(16).padStart(10, '0')}`, admissionUid: `${i.toString(16).padStart(8, '0')}-0a9e-4f8d-8c7b-1a2b3c4d5e6f` }), at(i));
  const cases: { name: string; id: string; uid: string; found: boolean }[] = [
    { name: 'finds the first task', id: 't-0000000000', uid: '00000000-0a9e-4f8d-8c7b-1a2b3c4d5e6f', found: true },
    { name: 'finds the last task', id: `t-${(n - 1).toString(16).padStart(10, '0')}`, uid: `${(n - 1).toString(16).padStart(8, '0')}-0a9e-4f8d-8c7b-1a2b3c4d5e6f`, found: true },
    { name: 'misses an id one past the last', id: `t-${n.toString(16).padStart(10, '0')}`, uid: `${n.toString(16).padStart(8, '0')}-0a9e-4f8d-8c7b-1a2b3c4d5e6f`, found: false },
    { name: 'misses an id without its leading zeros', id: 't-0', uid: '0-0a9e-4f8d-8c7b-1a2b3c4d5e6f', found: false },
    { name: 'misses an upper-case spelling', id: 'T-0000000000', uid: '00000000-0A9E-4F8D-8C7B-1A2B3C4D5E6F', found: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(table.size, n);
      assert.equal(table.row(c.id) >= 0, c.found);
      assert.equal(table.idByAdmission(c.uid), c.found ? c.id : undefined);
    });
  }
});

describe('task table: a field with many distinct values', () => {
  for (const n of [255, 256, 65_536]) {
    it(`keeps every value and filter with ${n} distinct names and namespaces`, () => {
      const table = new TaskTable();
      for (let i = 0; i < n; i += 1) table.put(summary({ id: `t-${i}`, admissionUid: `u-${i}`, name: `api-${i}`, namespace: `ns-${i}` }), at(i));
      for (const i of [0, 254, 255, n - 1].filter((i) => i < n)) {
        const s = table.summary(table.row(`t-${i}`));
        assert.deepEqual([s.name, s.namespace, s.admissionUid], [`api-${i}`, `ns-${i}`, `u-${i}`]);
        assert.deepEqual(table.list({ namespace: `ns-${i}` }).map((t) => t.id), [`t-${i}`]);
      }
    });
  }

  it('keeps prototype-named, empty and repeated values apart, before and after the pool grows', () => {
    const table = new TaskTable();
    const namespaces = ['__proto__', 'constructor', '', 'toString', 'hasOwnProperty', '__proto__', 'prod', ''];
    namespaces.forEach((namespace, i) => table.put(summary({ id: `t-${i}`, admissionUid: `u-${i}`, namespace }), at(i)));
    for (let i = 0; i < 40; i += 1) table.put(summary({ id: `t-x${i}`, admissionUid: `u-x${i}`, namespace: `ns-${i}` }), at(100 + i));
    namespaces.forEach((namespace, i) => assert.equal(table.summary(table.row(`t-${i}`)).namespace, namespace));
    assert.deepEqual(table.list({ namespace: '__proto__' }).map((t) => t.id), ['t-0', 't-5']);
    assert.deepEqual(table.list({ namespace: 'constructor' }).map((t) => t.id), ['t-1']);
    assert.deepEqual(table.list({ namespace: 'valueOf' }).map((t) => t.id), []);
  });
});

describe('task table: state, resolution and filters', () => {
  const build = () => {
    const table = new TaskTable();
    table.put(summary({ id: 't-a', admissionUid: 'u-a', recordedAt: '2026-11-24T10:00:02.000Z' }), at(1));
    table.put(summary({ id: 't-b', admissionUid: 'u-b', namespace: 'payments', recordedAt: '2026-11-24T10:00:01.000Z' }), at(2));
    table.put(summary({ id: 't-c', admissionUid: 'u-c', recordedAt: '2026-11-24T10:00:01.000Z' }), at(3));
    table.setState(table.row('t-a'), 'reverted', { by: 'bob', at: '2026-11-24T11:00:00.000Z', evidence: 'rolled back' });
    return table;
  };
  const cases: { name: string; filter: Parameters<TaskTable['list']>[0]; ids: string[] }[] = [
    { name: 'lists every task oldest first, recording order among equal times', filter: {}, ids: ['t-b', 't-c', 't-a'] },
    { name: 'filters by state', filter: { state: 'pending' }, ids: ['t-b', 't-c'] },
    { name: 'filters by a resolved state', filter: { state: 'reverted' }, ids: ['t-a'] },
    { name: 'filters by namespace', filter: { namespace: 'payments' }, ids: ['t-b'] },
    { name: 'filters by state and namespace', filter: { state: 'reverted', namespace: 'prod' }, ids: ['t-a'] },
    { name: 'matches nothing for an unknown namespace', filter: { namespace: 'nowhere' }, ids: [] },
    { name: 'matches nothing for a state no task has', filter: { state: 'accepted' }, ids: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(build().list(c.filter).map((s) => s.id), c.ids);
    });
  }

  it('keeps the resolution when a later state change carries none, replaces it when one does', () => {
    const table = build();
    const row = table.row('t-a');
    table.setState(row, 'pending');
    assert.equal(table.summary(row).resolution?.evidence, 'rolled back');
    table.setState(row, 'backported', { by: 'carol', at: '2026-11-24T12:00:00.000Z', evidence: 'PR 7' });
    assert.deepEqual(table.summary(row).resolution, { by: 'carol', at: '2026-11-24T12:00:00.000Z', evidence: 'PR 7' });
    assert.equal(table.summary(row).state, 'backported');
  });

  it('visits the pending tasks with their grant and time in ms, in recording order', () => {
    const seen: [string, number][] = [];
    build().forEachPending((grant, ms) => seen.push([grant, ms]));
    assert.deepEqual(seen, [['g-1', Date.parse('2026-11-24T10:00:01.000Z')], ['g-1', Date.parse('2026-11-24T10:00:01.000Z')]]);
  });

  it('a task id recorded twice keeps one row with the later record, found by the later admission uid', () => {
    const table = build();
    table.put(summary({ id: 't-b', admissionUid: 'u-b2', namespace: 'prod' }), at(9));
    assert.equal(table.size, 3);
    assert.equal(table.summary(table.row('t-b')).namespace, 'prod');
    assert.equal(table.idByAdmission('u-b2'), 't-b');
    assert.deepEqual(table.location(table.row('t-b')), at(9));
  });

  it('keeps journal offsets exact past 4 GiB, the earlier rows with them', () => {
    const table = new TaskTable();
    const offsets = [0, 0xffffffff, 2 ** 32 + 7, 3, 2 ** 40 + 1, Number.MAX_SAFE_INTEGER - 200];
    offsets.forEach((offset, i) => table.put(summary({ id: `t-${i}`, admissionUid: `u-${i}` }), { offset, length: 10 + i }));
    offsets.forEach((offset, i) => assert.deepEqual(table.location(table.row(`t-${i}`)), { offset, length: 10 + i }));
  });
});

describe('embedded store: tasks in the compact table', () => {
  it('lists, filters and resolves the same tasks after a reopen from the journal', async () => {
    const f = await storeFixture();
    const ids: string[] = [];
    for (let i = 0; i < 40; i += 1) ids.push((await f.store.recordBypass({ ...taskDraft(`uid-${i}`), object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: i % 2 ? 'prod' : 'payments', name: `api-${i}` } })).id);
    await f.store.resolveTask(ids[3]!, () => ({ state: 'reverted', resolution: { by: 'bob', at: '2026-11-24T11:00:00.000Z', evidence: 'rolled back' } }));
    const before = { all: f.store.listTasks({}), prod: f.store.listTasks({ namespace: 'prod' }), pending: f.store.listTasks({ state: 'pending' }), task: f.store.getTask(ids[3]!) };
    const again = await f.reopen();
    assert.deepEqual({ all: again.listTasks({}), prod: again.listTasks({ namespace: 'prod' }), pending: again.listTasks({ state: 'pending' }), task: again.getTask(ids[3]!) }, before);
    assert.equal(before.prod.length, 20);
    assert.equal(before.pending.length, 39);
    assert.equal(before.task?.state, 'reverted');
    assert.equal((await again.recordBypass(taskDraft('uid-17'))).id, ids[17], 'a retried admission finds its task after a reopen');
    assert.equal(again.listTasks({}).length, 40);
  });
});

describe('metrics: pending and overdue tasks counted from the compact table', () => {
  const hours = (h: number) => h * 3600_000;
  const cases: { name: string; after: number; pending: number; overdue: number }[] = [
    { name: 'none overdue at recording time', after: 0, pending: 3, overdue: 0 },
    { name: 'tasks without a known grant overdue 72 h after recording, the granted one not yet (its 30 min grant counts)', after: hours(72.25), pending: 3, overdue: 2 },
    { name: 'the granted task overdue once its grant expired 72 h ago too', after: hours(72.75), pending: 3, overdue: 3 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const f = await storeFixture();
      const grant = await requestGrant(f);
      for (const uid of ['u-1', 'u-2', 'u-3']) await f.store.recordBypass(taskDraft(uid));
      await f.store.recordBypass({ ...taskDraft('u-4'), grantId: grant.id, recordedAt: f.now.value.toISOString() });
      const first = f.store.listTasks({})[0]!;
      await f.store.resolveTask(first.id, () => ({ state: 'accepted', resolution: { by: 'bob', at: f.now.value.toISOString(), evidence: 'fine' } }));
      const now = new Date(f.now.value.getTime() + c.after);
      const text = await new Metrics({ store: f.store, policy: examplePolicy, now: () => now }, false).registry.metrics();
      const reference = f.store.listTasks({ state: 'pending' }).filter((t) => isOverdue(t, f.store.getGrant(t.grantId)?.grant.expiresAt, examplePolicy(), now)).length;
      assert.match(text, new RegExp(`^driftgate_tasks_pending ${c.pending}$`, 'm'));
      assert.match(text, new RegExp(`^driftgate_tasks_overdue ${c.overdue}$`, 'm'));
      assert.equal(reference, c.overdue, 'the same count as listTasks and isOverdue give');
    });
  }
});
