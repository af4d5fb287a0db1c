import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reviewBody } from '../../src/admission/review.ts';
import { grant, LogSink, MemoryGrants, MemoryTasks, reviewDeps } from '../helpers/deps.ts';
import { deployment, fixtureText, reviewJson } from '../helpers/reviews.ts';

const bypass = (over: { dryRun?: boolean; uid?: string } = {}) =>
  JSON.stringify(reviewJson({ oldObject: deployment(), object: deployment({ memory: '2Gi' }), ...over }));

describe('review pipeline: grant branch and task record (rule 6)', () => {
  it('allows a granted change, records one task, and says so in warnings and audit annotations', async () => {
    const tasks = new MemoryTasks();
    const res = await reviewBody(bypass(), reviewDeps({ grants: new MemoryGrants([grant()]), tasks }));
    const r = res.review.response;
    assert.equal(r.allowed, true);
    assert.equal(res.outcome, 'bypassed');
    assert.equal(tasks.tasks.size, 1);
    const task = tasks.tasks.get('task-1')!;
    assert.equal(task.grantId, 'grant-1');
    assert.equal(task.incident, 'INC-1');
    assert.equal(task.owner, 'argocd/payments');
    assert.deepEqual(task.changes, [
      { path: 'spec.template.spec.containers[name=api].resources.limits.memory', before: '512Mi', after: '2Gi', declaredInGit: true },
    ]);
    // the resourceVersion it was admitted against: evidence for the landing check (no generation: the test objects do not bump it)
    assert.deepEqual(task.object, { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'prod', name: 'api', uid: 'uid-1', resourceVersion: '100' });
    assert.match(r.warnings![0]!, /break-glass grant grant-1 \(30m left, incident INC-1\)/);
    assert.match(r.warnings![1]!, /task task-1/);
    // keys without a `/` of their own: the API server stores them as `<webhook name>/grant` and rejects the rest
    assert.deepEqual(r.auditAnnotations, { decision: 'grant', grant: 'grant-1', task: 'task-1' });
  });

  it('records no task for a dry run but gives the same decision', async () => {
    const tasks = new MemoryTasks();
    const res = await reviewBody(bypass({ dryRun: true }), reviewDeps({ grants: new MemoryGrants([grant()]), tasks }));
    assert.equal(res.review.response.allowed, true);
    assert.equal(tasks.tasks.size, 0);
  });

  it('records one task for a retried request (same uid)', async () => {
    const tasks = new MemoryTasks();
    const deps = reviewDeps({ grants: new MemoryGrants([grant()]), tasks });
    const a = await reviewBody(bypass({ uid: 'same' }), deps);
    const b = await reviewBody(bypass({ uid: 'same' }), deps);
    assert.equal(tasks.tasks.size, 1);
    assert.equal(a.review.response.auditAnnotations!.task, b.review.response.auditAnnotations!.task);
  });

  it('denies the bypass when the task cannot be recorded (no record, no bypass)', async () => {
    const tasks = new MemoryTasks();
    tasks.failWith = new Error('disk full');
    const res = await reviewBody(bypass(), reviewDeps({ grants: new MemoryGrants([grant()]), tasks }));
    assert.equal(res.review.response.allowed, false);
    assert.equal(res.review.response.status?.code, 403);
    assert.match(res.review.response.status!.message, /could not be recorded \(disk full\); no bypass without a record/);
  });
});

describe('review pipeline: logging', () => {
  it('logs one line per decision with uid, operation, resource, namespace, name, user, decision and duration', async () => {
    const sink = new LogSink();
    await reviewBody(fixtureText('09-alice-set-image-deployment.json'), reviewDeps({ sink }));
    const lines = sink.lines.filter((l) => l.msg === 'admission decision');
    assert.equal(lines.length, 1);
    const l = lines[0]!;
    assert.equal(l.uid, 'ad5483c1-3450-4ee5-a653-05e147541152');
    assert.equal(l.operation, 'UPDATE');
    assert.equal(l.resource, 'apps/deployments');
    assert.equal(l.namespace, 'prod');
    assert.equal(l.name, 'api');
    assert.equal(l.user, 'alice');
    assert.equal(l.decision, 'denied');
    assert.equal(typeof l.durationMs, 'number');
  });

  it('never logs object bodies or Secret data', async () => {
    const sink = new LogSink();
    await reviewBody(fixtureText('20-alice-create-secret.json'), reviewDeps({ sink }));
    assert.ok(sink.lines.length > 0);
    assert.ok(!sink.text.includes('s3cr3t'));
    assert.ok(!sink.text.includes(Buffer.from('s3cr3t-alice').toString('base64')));
    assert.ok(!sink.text.includes('managedFields'));
  });

  it('turns an internal failure into a code-500 answer that keeps the uid', async () => {
    const deps = reviewDeps();
    const broken = { ...deps, policy: () => { throw new Error('boom'); } };
    const res = await reviewBody(fixtureText('09-alice-set-image-deployment.json'), broken);
    assert.equal(res.httpStatus, 500);
    assert.equal(res.review.response.uid, 'ad5483c1-3450-4ee5-a653-05e147541152');
    assert.equal(res.review.response.status?.code, 500);
    assert.equal(res.review.response.allowed, false);
  });
});
