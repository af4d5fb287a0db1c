/**
 * The bench's paced load (bench/paced.ts): every due request is sent and answered or counted as an
 * error, and a request that waited behind a slow answer is charged for the wait (no coordinated
 * omission). The bounds below come from the server's own fixed delays, which a request cannot beat.
 */
import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { paced } from '../../bench/paced.ts';
import { generateCertificates } from '../../src/tls/certs.ts';

const certs = generateCertificates({ service: 'driftgate', namespace: 'driftgate', days: 1 });

function serve(handler: (body: string, answer: (status: number) => void) => void): Promise<Server> {
  const server = createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => handler(body, (status) => res.writeHead(status, { 'content-type': 'application/json' }).end('{}')));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const portOf = (s: Server) => (s.address() as AddressInfo).port;

describe('paced load', () => {
  const bodies: string[] = [];
  let ok: Server;
  let failing: Server;
  let slow: Server;
  before(async () => {
    ok = await serve((body, answer) => {
      bodies.push(body);
      answer(200);
    });
    failing = await serve((_body, answer) => answer(500));
    // one answer at a time, each 30 ms after the previous one ended
    let busyUntil = 0;
    slow = await serve((_body, answer) => {
      const start = Math.max(Date.now(), busyUntil);
      busyUntil = start + 30;
      setTimeout(() => answer(200), busyUntil - Date.now());
    });
  });
  after(() => {
    for (const s of [ok, failing, slow]) s.close();
  });

  it('sends every due request, the bodies in turn, and counts each answer', async () => {
    const r = await paced({ port: portOf(ok), ca: certs.caCert, rate: 200, seconds: 0.1, connections: 2, bodies: ['{"a":1}', '{"b":2}'] });
    assert.equal(r.due, 20);
    assert.equal(r.answered, 20);
    assert.equal(r.errors, 0);
    assert.equal(bodies.filter((b) => b === '{"a":1}').length, 10);
    assert.equal(bodies.filter((b) => b === '{"b":2}').length, 10);
    assert.ok(r.p50 <= r.p99 && r.p99 <= r.max);
  });

  it('counts non-2xx answers as errors, not as latencies', async () => {
    const r = await paced({ port: portOf(failing), ca: certs.caCert, rate: 100, seconds: 0.1, connections: 1, bodies: ['{}'] });
    assert.equal(r.due, 10);
    assert.equal(r.answered, 0);
    assert.equal(r.errors, 10);
  });

  it('counts transport errors and still finishes', async () => {
    const closed = await serve((_b, answer) => answer(200));
    const port = portOf(closed);
    await new Promise((resolve) => closed.close(resolve));
    const r = await paced({ port, ca: certs.caCert, rate: 100, seconds: 0.05, connections: 1, bodies: ['{}'] });
    assert.equal(r.errors, 5);
    assert.equal(r.answered, 0);
  });

  it('charges the queue behind a slow server to the requests that waited in it', async () => {
    // 10 requests due 10 ms apart on one connection, each answered 30 ms after the one before: the last
    // is due at 90 ms and answered at 300 ms or later, so it waited 210 ms or more. Counted from when it
    // went out on the connection, it would be ~30 ms.
    const r = await paced({ port: portOf(slow), ca: certs.caCert, rate: 100, seconds: 0.1, connections: 1, bodies: ['{}'] });
    assert.equal(r.answered, 10);
    assert.ok(r.max >= 200, `the last request waited ${r.max} ms`);
    assert.ok(r.p50 >= 60, `the median request waited ${r.p50} ms`);
  });

  it('refuses a rate, a duration or a connection count that is not positive', () => {
    for (const bad of [{ rate: 0 }, { seconds: -1 }, { connections: 0 }, { rate: Number.NaN }]) {
      assert.throws(() => paced({ port: 1, ca: '', rate: 10, seconds: 1, connections: 1, bodies: ['{}'], ...bad }), RangeError);
    }
  });
});
