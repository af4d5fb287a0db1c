import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reviewBody } from '../../src/admission/review.ts';
import { Metrics } from '../../src/metrics.ts';
import { examplePolicy, grant, MemoryGrants, MemoryTasks, NOW, reviewDeps } from '../helpers/deps.ts';
import { fixtureText } from '../helpers/reviews.ts';

describe('metrics (SPEC §6 names)', () => {
  it('counts decisions by operation and outcome, durations, bypasses and store errors', async () => {
    const metrics = new Metrics({ store: undefined, policy: examplePolicy, now: () => NOW }, false);
    const tasks = new MemoryTasks();
    const withGrant = reviewDeps({ grants: new MemoryGrants([grant()]), tasks });
    const plain = reviewDeps();
    const seq = [
      await reviewBody(fixtureText('09-alice-set-image-deployment.json'), plain), // denied
      await reviewBody(fixtureText('13-alice-rollout-restart-deployment.json'), plain), // warned
      await reviewBody(fixtureText('22-alice-delete-configmap.json'), plain), // allowed
      await reviewBody(fixtureText('09-alice-set-image-deployment.json'), withGrant), // bypassed
      await reviewBody('{"truncated', plain), // errored
    ];
    tasks.failWith = new Error('disk full');
    seq.push(await reviewBody(fixtureText('10-alice-set-resources-deployment.json'), withGrant)); // store failure → denied
    for (const r of seq) metrics.observe(r);
    const text = await metrics.registry.metrics();
    for (const line of [
      'driftgate_admission_requests_total{operation="UPDATE",decision="denied"} 2',
      'driftgate_admission_requests_total{operation="UPDATE",decision="warned"} 1',
      'driftgate_admission_requests_total{operation="DELETE",decision="allowed"} 1',
      'driftgate_admission_requests_total{operation="UPDATE",decision="bypassed"} 1',
      'driftgate_admission_requests_total{operation="UNKNOWN",decision="errored"} 1',
      'driftgate_bypasses_total{namespace="prod",with_incident="true"} 1',
      'driftgate_store_errors_total 1',
      'driftgate_admission_duration_seconds_count 6',
      'driftgate_grants_active 0',
      'driftgate_tasks_pending 0',
      'driftgate_tasks_overdue 0',
      'driftgate_policy_require_incident 1',
    ]) {
      assert.ok(text.includes(line), `missing: ${line}\n${text}`);
    }
  });
});
