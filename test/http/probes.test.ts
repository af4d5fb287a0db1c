/**
 * The kubelet's probes are answered without express (src/probes.ts), exactly as express answered them,
 * and the serving process does not load express until a route that needs it is called.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import request from 'supertest';
import { buildApp } from '../../src/app.ts';
import { reviewDeps } from '../helpers/deps.ts';

const app = (reasons: string[] = []) => buildApp({ review: reviewDeps(), readiness: { notReady: () => reasons } });

describe('probes answered on node:http', () => {
  for (const [method, path, reasons, status, body] of [
    ['GET', '/healthz', [], 200, { status: 'ok' }],
    ['GET', '/HealthZ', [], 200, { status: 'ok' }],
    ['GET', '/healthz/', [], 200, { status: 'ok' }],
    ['GET', '/healthz?verbose=1', ['store not loaded'], 200, { status: 'ok' }],
    ['GET', '/readyz', [], 200, { status: 'ready' }],
    ['GET', '/readyz/?x', ['store not loaded'], 503, { status: 'not ready', reasons: ['store not loaded'] }],
  ] as const) {
    it(`${method} ${path} with ${reasons.length} reason(s) answers ${status} and JSON`, async () => {
      const res = await request(app([...reasons])).get(path);
      assert.equal(res.status, status);
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(res.headers['content-length'], String(Buffer.byteLength(JSON.stringify(body))));
      assert.deepEqual(res.body, body);
    });
  }

  it('HEAD /readyz gets the status and headers without a body', async () => {
    const res = await request(app(['journal tampered'])).head('/readyz');
    assert.equal(res.status, 503);
    assert.equal(res.headers['content-length'], String(Buffer.byteLength('{"status":"not ready","reasons":["journal tampered"]}')));
    assert.equal(res.text, undefined);
  });

  for (const [method, path] of [
    ['POST', '/healthz'],
    ['GET', '/healthz//'],
    ['GET', '/healthzz'],
    ['GET', '/v1/healthz'],
  ] as const) {
    it(`${method} ${path} is not a probe: express answers the JSON 404`, async () => {
      const res = await request(app())[method === 'POST' ? 'post' : 'get'](path);
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'NOT_FOUND');
    });
  }
});

it('loading the server and the CLI does not load express (it is imported on the first API or console request)', () => {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = [];
    registerHooks({ resolve: (specifier, context, next) => { seen.push(specifier); return next(specifier, context); } });
    await import(${JSON.stringify(new URL('../../src/server.ts', import.meta.url).href)});
    await import(${JSON.stringify(new URL('../../src/cli/program.ts', import.meta.url).href)});
    process.stdout.write(JSON.stringify(seen));`;
  const seen = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as string[];
  assert.ok(seen.some((s) => s.endsWith('/app.ts')), 'the app module is loaded');
  assert.deepEqual(seen.filter((s) => s === 'express' || s.endsWith('/express-app.ts')), []);
});
