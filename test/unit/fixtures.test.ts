import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reviewBody } from '../../src/admission/review.ts';
import { reviewDeps } from '../helpers/deps.ts';
import { EXPECTED } from '../helpers/expected.ts';
import { fixtureJson, fixtureNames, fixtureText } from '../helpers/reviews.ts';

describe('captured kube-apiserver reviews get the decision SPEC §2 gives', () => {
  it('covers every fixture', () => {
    assert.deepEqual(fixtureNames(), Object.keys(EXPECTED).sort());
  });
  for (const [name, want] of Object.entries(EXPECTED)) {
    it(`${want.allowed ? 'allows' : 'denies'} ${name.replace(/\.json$/, '')}: ${want.why}`, async () => {
      const res = await reviewBody(fixtureText(name), reviewDeps());
      const r = res.review.response;
      assert.equal(r.uid, fixtureJson(name).request.uid);
      assert.equal(r.allowed, want.allowed, r.status?.message);
      assert.equal(res.verdict?.rule, want.rule);
      if (!want.allowed) {
        assert.equal(r.status?.code, 403);
        assert.equal(r.status?.reason, 'Forbidden');
        assert.match(r.status!.message, /Next step: (change it in Git|add it to Git), or request a break-glass grant: `driftgate grant request -n prod /);
      }
    });
  }

  it('never echoes the Secret value from 20-alice-create-secret', async () => {
    const res = await reviewBody(fixtureText('20-alice-create-secret.json'), reviewDeps());
    const text = JSON.stringify(res.review);
    assert.ok(!text.includes('s3cr3t-alice'));
    assert.ok(!text.includes(Buffer.from('s3cr3t-alice').toString('base64')));
  });

  it('warns on the rollout-restart allowance with kubectl-style warnings and audit annotations', async () => {
    const res = await reviewBody(fixtureText('13-alice-rollout-restart-deployment.json'), reviewDeps());
    assert.match(res.review.response.warnings![0]!, /allowance "rollout-restart"/);
    assert.deepEqual(res.review.response.auditAnnotations, { decision: 'allowance' });
  });
});
