import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { buildApp } from '../../src/app.ts';
import { reviewDeps } from '../helpers/deps.ts';
import { fixtureText, reviewJson, deployment } from '../helpers/reviews.ts';

const app = (bodyLimit?: number) =>
  buildApp({ review: reviewDeps(), readiness: { notReady: () => [] }, validate: bodyLimit ? { bodyLimit } : {} });

const post = (body: string | Buffer, type = 'application/json', a = app()) =>
  request(a).post('/validate').set('content-type', type).send(body);

function expectRejected(res: request.Response, status: number, uid: string, message: RegExp): void {
  assert.equal(res.status, status);
  assert.equal(res.body.apiVersion, 'admission.k8s.io/v1');
  assert.equal(res.body.kind, 'AdmissionReview');
  assert.equal(res.body.response.uid, uid);
  assert.equal(res.body.response.allowed, false);
  assert.equal(res.body.response.status.code, status);
  assert.match(res.body.response.status.message, message);
}

describe('POST /validate: the HTTP contract (SPEC §2 rule 1)', () => {
  it('answers a real review with an AdmissionReview v1 echoing the uid', async () => {
    const res = await post(fixtureText('09-alice-set-image-deployment.json'));
    assert.equal(res.status, 200);
    assert.equal(res.body.response.uid, 'ad5483c1-3450-4ee5-a653-05e147541152');
    assert.equal(res.body.response.allowed, false);
    assert.equal(res.body.response.status.code, 403);
  });

  it('accepts application/json with a charset', async () => {
    const res = await post(fixtureText('16-alice-patch-status-subresource.json'), 'application/json; charset=utf-8');
    assert.equal(res.body.response.allowed, true);
  });

  it('answers 415 for a wrong content type', async () => {
    expectRejected(await post('{}', 'text/plain'), 415, '', /content type text\/plain is not supported/);
  });

  it('answers 400 for an empty body', async () => {
    expectRejected(await post(''), 400, '', /empty body/);
  });

  it('answers 400 for truncated JSON', async () => {
    expectRejected(await post(fixtureText('09-alice-set-image-deployment.json').slice(0, 500)), 400, '', /invalid JSON/);
  });

  it('answers 413 for a 20 MB body without reading it all', async () => {
    expectRejected(await post(Buffer.alloc(20 * 1024 * 1024, 0x20)), 413, '', /larger than the 8388608 byte limit/);
  });

  it('answers 413 above a configured limit', async () => {
    expectRejected(await post(fixtureText('09-alice-set-image-deployment.json'), 'application/json', app(1024)), 413, '', /1024 byte limit/);
  });

  it('answers 400 for an unknown apiVersion, echoing the uid', async () => {
    const body = JSON.parse(fixtureText('09-alice-set-image-deployment.json'));
    body.apiVersion = 'admission.k8s.io/v1beta1';
    expectRejected(await post(JSON.stringify(body)), 400, 'ad5483c1-3450-4ee5-a653-05e147541152', /unsupported AdmissionReview apiVersion "admission.k8s.io\/v1beta1"/);
  });

  it('answers 400 for a missing uid', async () => {
    const body = reviewJson({ oldObject: deployment(), object: deployment() }) as { request: Record<string, unknown> };
    delete body.request.uid;
    expectRejected(await post(JSON.stringify(body)), 400, '', /request\.uid must be a string \(missing\)/);
  });

  for (const [field, value, message] of [
    ['operation', 'PATCH', /request\.operation "PATCH"/],
    ['userInfo', 'alice', /request\.userInfo is missing/],
    ['object', 'x', /request\.object must be an object or null, got string/],
    ['dryRun', 'yes', /request\.dryRun must be a boolean/],
    ['kind', null, /request\.kind must be an object/],
  ] as const) {
    it(`answers 400 when request.${field} has the wrong type, echoing the uid`, async () => {
      const body = reviewJson({ oldObject: deployment(), object: deployment(), uid: 'u-wrong' }) as { request: Record<string, unknown> };
      body.request[field] = value;
      expectRejected(await post(JSON.stringify(body)), 400, 'u-wrong', message);
    });
  }

  it('answers 400 for 10,000-deep nesting without overflowing the stack', async () => {
    const deep = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    const body = JSON.stringify(reviewJson({ oldObject: deployment(), object: deployment(), uid: 'u-deep' })).replace('"status":{"replicas":3}', `"status":{"replicas":3},"deep":${deep}`);
    expectRejected(await post(body), 400, 'u-deep', /nests deeper than 100 levels/);
  });

  it('answers 400 for hostile nesting inside an atomic list value (container args)', async () => {
    const deep = '['.repeat(10_000) + '1' + ']'.repeat(10_000);
    const body = JSON.stringify(reviewJson({ oldObject: deployment(), object: deployment(), uid: 'u-args' })).replace('"image":"registry.example.com/api:1.2.0"', `"image":"registry.example.com/api:1.2.0","args":${deep}`);
    expectRejected(await post(body), 400, 'u-args', /nests deeper than 100 levels/);
  });

  it('decides normally when hostile nesting sits in a runtime field it never walks', async () => {
    const deep = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    const body = JSON.stringify(reviewJson({ oldObject: deployment(), object: deployment({ image: 'x:2' }), uid: 'u-status' })).replace('"status":{"replicas":3}', `"status":{"replicas":3,"deep":${deep}}`);
    const res = await post(body);
    assert.equal(res.status, 200);
    assert.equal(res.body.response.uid, 'u-status');
    assert.equal(res.body.response.allowed, false);
    assert.equal(res.body.response.status.code, 403);
  });

  it('treats __proto__ keys as data and does not pollute prototypes', async () => {
    const body = JSON.stringify(reviewJson({ oldObject: deployment(), object: deployment(), uid: 'u-proto' })).replace('"labels":{"app":"api"}', '"labels":{"app":"api","__proto__":{"polluted":"yes"}}');
    const res = await post(body);
    assert.equal(res.body.response.uid, 'u-proto');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(res.body.response.status.code, 400); // labels must map strings to strings
  });

  it('answers 400 for a JSON array body', async () => {
    expectRejected(await post('[1,2]'), 400, '', /expected a JSON object, got array/);
  });

  it('stays up after hostile input: the next real review is decided', async () => {
    const a = app();
    await post('{"', 'application/json', a);
    await post(Buffer.from([0xff, 0xfe, 0x00]), 'application/json', a);
    const res = await post(fixtureText('13-alice-rollout-restart-deployment.json'), 'application/json', a);
    assert.equal(res.body.response.allowed, true);
  });
});

describe('health and readiness', () => {
  it('GET /healthz answers ok', async () => {
    const res = await request(app()).get('/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'ok' });
  });

  it('GET /readyz answers 503 with reasons until ready', async () => {
    let reasons = ['store not loaded'];
    const a = buildApp({ review: reviewDeps(), readiness: { notReady: () => reasons } });
    const res = await request(a).get('/readyz');
    assert.equal(res.status, 503);
    assert.deepEqual(res.body.reasons, ['store not loaded']);
    reasons = [];
    assert.equal((await request(a).get('/readyz')).status, 200);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await request(app()).get('/nope');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'NOT_FOUND');
  });
});
