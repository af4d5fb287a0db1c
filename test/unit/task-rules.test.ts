import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, checkResolve, isOverdue, type TaskView } from '../../src/tasks/rules.ts';
import type { TaskSummary } from '../../src/tasks/task.ts';
import { examplePolicy, NOW } from '../helpers/deps.ts';

const policy = examplePolicy(); // backportDeadline 72h, auditors group "auditors", approvers group "sre-leads"

const summary = (over: Partial<TaskSummary> = {}): TaskSummary => ({
  id: 't-1',
  state: 'pending',
  namespace: 'prod',
  kind: 'Deployment',
  name: 'api',
  writer: 'alice',
  grantId: 'g-1',
  incident: 'INC-1',
  owner: 'argocd/payments',
  recordedAt: '2026-11-20T10:00:00Z',
  admissionUid: 'u',
  ...over,
});

describe('resolving tasks', () => {
  for (const [who, groups, ok] of [
    ['alice', ['oncall'], true], // the writer
    ['audrey', ['auditors'], true],
    ['bob', ['sre-leads'], true], // an approver
    ['carol', ['oncall'], false],
  ] as const) {
    it(`${ok ? 'lets' : 'forbids'} ${who} (${groups.join(',')}) resolve alice's task`, () => {
      const run = () => checkResolve(summary(), { username: who, groups }, policy, 'backported', 'PR #42', NOW);
      if (ok) assert.deepEqual(run(), { by: who, at: NOW.toISOString(), evidence: 'PR #42' });
      else assert.throws(run, { code: 'FORBIDDEN' });
    });
  }

  it('refuses a second resolution with 409', () => {
    assert.throws(() => checkResolve(summary({ state: 'reverted' }), { username: 'alice', groups: [] }, policy, 'accepted', 'x', NOW), { code: 'CONFLICT', message: /already reverted/ });
  });

  it('requires evidence', () => {
    assert.throws(() => checkResolve(summary(), { username: 'alice', groups: [] }, policy, 'accepted', '  ', NOW), { code: 'INVALID_REQUEST', message: /evidence is required/ });
  });
});

describe('overdue', () => {
  const grantExpiry = '2026-11-21T10:00:00Z';
  it('is not overdue until backportDeadline after the grant expired', () => {
    assert.equal(isOverdue(summary(), grantExpiry, policy, new Date('2026-11-24T10:00:00Z')), false);
    assert.equal(isOverdue(summary(), grantExpiry, policy, new Date('2026-11-24T10:00:01Z')), true);
  });
  it('is never overdue once resolved', () => {
    assert.equal(isOverdue(summary({ state: 'backported' }), grantExpiry, policy, new Date('2027-01-01T00:00:00Z')), false);
  });
  it('counts from the task when its grant is unknown', () => {
    assert.equal(isOverdue(summary(), undefined, policy, new Date('2026-11-23T10:00:01Z')), true);
  });
});

describe('the report', () => {
  const view = (over: Partial<TaskView>): TaskView => ({ ...summary(), overdue: false, ...over });
  const tasks: TaskView[] = [
    view({ id: 't-old', recordedAt: '2026-11-01T00:00:00Z', overdue: true, namespace: 'prod', writer: 'alice' }),
    view({ id: 't-new', recordedAt: '2026-11-23T00:00:00Z', namespace: 'payments', writer: 'bob', incident: 'INC-2' }),
    view({ id: 't-done', state: 'backported', resolution: { by: 'audrey', at: '2026-11-24T09:00:00Z', evidence: 'abc' } }),
    view({ id: 't-ancient', state: 'reverted', resolution: { by: 'audrey', at: '2026-10-01T00:00:00Z', evidence: 'x' } }),
  ];
  const r = buildReport(tasks, new Date('2026-11-17T12:00:00Z'), NOW);

  it('counts pending, overdue and recently resolved tasks', () => {
    assert.equal(r.totals.pending, 2);
    assert.equal(r.totals.overdue, 1);
    assert.equal(r.totals.resolved, 1);
    assert.deepEqual(r.totals.byState, { pending: 2, reverted: 1, backported: 1, accepted: 0, 'not-applied': 0 });
  });

  it('groups by namespace, owner, writer and incident', () => {
    assert.deepEqual(r.byNamespace.prod, { pending: 1, overdue: 1, resolved: 1 });
    assert.deepEqual(r.byWriter.bob, { pending: 1, overdue: 0, resolved: 0 });
    assert.deepEqual(r.byIncident['INC-2'], { pending: 1, overdue: 0, resolved: 0 });
    assert.equal(r.byOwner['argocd/payments']!.pending, 2);
  });

  it('lists pending tasks oldest first and leaves out resolutions before the period', () => {
    assert.deepEqual(r.pending.map((t) => t.id), ['t-old', 't-new']);
    assert.deepEqual(r.resolved.map((t) => t.id), ['t-done']);
  });
});
