import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import type { DriftgateError } from '../../src/errors.ts';
import { bodyBudget, readBody } from '../../src/http/request-body.ts';

/** A request from `peer` that the test feeds chunk by chunk, and what readBody made of it. */
function request(peer: string, budget = bodyBudget(1000), limit = 800, headers: Record<string, string> = {}) {
  const req = Object.assign(new EventEmitter(), { headers, socket: { remoteAddress: peer } });
  const res = new EventEmitter();
  const outcome: { err?: DriftgateError; body?: Buffer } = {};
  let calls = 0;
  const abandon = readBody(req as unknown as IncomingMessage, res as unknown as ServerResponse, limit, budget, (err, body) => {
    calls += 1;
    outcome.err = err;
    outcome.body = body;
  });
  return {
    budget,
    outcome,
    calls: () => calls,
    abandon,
    send: (...sizes: number[]) => {
      for (const n of sizes) req.emit('data', Buffer.alloc(n, 0x20));
    },
    end: () => req.emit('end'),
    closeRequest: () => req.emit('close'),
    closeResponse: () => res.emit('close'),
  };
}

describe('reading a request body under a limit and a shared budget', () => {
  it('hands over the whole body once, and holds nothing of the budget afterwards', () => {
    const r = request('10.0.0.1');
    r.send(100, 200, 300);
    assert.equal(r.budget.held, 500); // every piece but the first counts while the body is unfinished
    r.end();
    assert.equal(r.calls(), 1);
    assert.equal(r.outcome.body?.length, 600);
    assert.equal(r.budget.held, 0);
    assert.equal(r.budget.byPeer.size, 0);
  });

  it('refuses a declared Content-Length over the limit before reading', () => {
    const r = request('10.0.0.1', bodyBudget(1000), 800, { 'content-length': '801' });
    assert.equal(r.outcome.err?.code, 'REVIEW_TOO_LARGE');
  });

  it('refuses a body that grows past the limit, and gives its share back', () => {
    const r = request('10.0.0.1');
    r.send(500, 200, 200);
    assert.equal(r.outcome.err?.code, 'REVIEW_TOO_LARGE');
    assert.equal(r.budget.held, 0);
  });

  for (const [name, close] of [
    ['its request closes (the client went away)', 'closeRequest'],
    ['its response closes (answered before the body ended)', 'closeResponse'],
    ['it is abandoned (answered at its deadline)', 'abandon'],
  ] as const) {
    it(`gives the budget back when ${name}`, () => {
      const r = request('10.0.0.1');
      r.send(10, 300);
      assert.equal(r.budget.held, 300);
      r[close]();
      assert.equal(r.budget.held, 0);
      assert.equal(r.budget.byPeer.size, 0);
    });
  }

  it('keeps a quarter of the budget from any one client address', () => {
    const budget = bodyBudget(1000);
    const first = request('10.0.0.1', budget);
    const second = request('10.0.0.1', budget);
    first.send(10, 400);
    second.send(10, 300, 100);
    assert.equal(second.outcome.err?.code, 'REVIEW_BUSY');
    assert.match(second.outcome.err?.message ?? '', /this client's unfinished request bodies already hold 750 bytes/);
    const other = request('10.0.0.2', budget);
    other.send(10, 250);
    assert.equal(other.outcome.err, undefined);
    assert.equal(budget.held, 650);
  });

  it('refuses any client once unfinished bodies hold the whole budget', () => {
    const budget = bodyBudget(1000);
    for (const peer of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) request(peer, budget).send(1, 300);
    const late = request('10.0.0.4', budget);
    late.send(1, 200);
    assert.equal(late.outcome.err?.code, 'REVIEW_BUSY');
    assert.match(late.outcome.err?.message ?? '', /unfinished request bodies already hold 1000 bytes, the webhook's budget: retry shortly/);
  });
});
