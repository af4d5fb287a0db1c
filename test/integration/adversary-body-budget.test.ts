/**
 * A hostile client against the shared budget of unfinished request bodies (validate.bodyBudget) and
 * the request deadline's answer (framingErrorHandler, awaitingBody), over real TLS. Written from the
 * docs and the code only. Each attack ends a multi-chunk body one way (end, reset, half-close, the
 * deadline, too large, over the budget, a bad chunk, pipelining, keep-alive, 100-continue) and then
 * checks that the budget came back: one 0.6 MiB body in many TLS records, under a 1 MiB budget, is
 * still decided 200. Attacks the server handles are regression tests; attacks it fails are `todo`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_BODY_LIMIT } from '../../src/http/request-body.ts';
import { Conn, DEADLINE_MS, front, head, post, type Front } from '../helpers/http-front.ts';
import { deployment, reviewJson } from '../helpers/reviews.ts';

const BUDGET = 1024 * 1024;
/** the body limit, above the 0.6 MiB probe: bodies past it are answered 413 */
const LIMIT = 700 * 1024;

const allowed = (uid: string) => JSON.stringify(reviewJson({ uid, oldObject: deployment(), object: deployment() }));
/** a memory-limit edit alice holds a grant for: a bypass, whose answer waits for its task record */
const bypass = (uid: string) => JSON.stringify(reviewJson({ uid, user: 'alice', oldObject: deployment(), object: deployment({ memory: '2Gi' }) }));
/** a review padded with whitespace to about `bytes` */
const padded = (uid: string, bytes: number) => {
  const body = allowed(uid);
  return `${body.slice(0, -1)}${' '.repeat(bytes - body.length)}}`;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The front with a 1 MiB budget and a body limit above the 0.6 MiB probe. */
const budgetFront = (bodyLimit = LIMIT): Promise<Front> => front({ bodyBudget: BUDGET, bodyLimit });

/** The budget came back: one 0.6 MiB body (or `bytes`) in many TLS records is decided, not refused 503. */
async function assertBudgetBack(f: Front, uid: string, bytes = 600 * 1024, localAddress?: string): Promise<void> {
  const conn = await Conn.open(f.port, localAddress);
  await conn.write(post(padded(uid, bytes), 'Connection: close\r\n'));
  const replies = await conn.repliesUntilClosed();
  assert.deepEqual(replies.map((r) => [r.status, r.body?.response?.uid, r.body?.response?.status?.message]), [[200, uid, undefined]]);
}


/**
 * Three clients: one peer's bodies may hold only three quarters of the budget, so tests about the whole
 * budget spread their bodies over peers (loopback addresses).
 */
const PEERS = [undefined, '127.0.0.2', '127.0.0.3'] as const;

/** A multi-chunk body that stops short: a head announcing `declared` bytes and `sent` of them. */
const partial = (sent: number, declared = LIMIT - 1) => `${head(`Content-Length: ${declared}\r\n`)}${' '.repeat(sent)}`;
/** Lets the server read what was written (not a speed check: the probe after it fails loudly either way). */
const settle = () => sleep(150);
const chunk = (n: number) => `${n.toString(16)}\r\n${' '.repeat(n)}\r\n`;

describe('adversary: the body budget comes back however a request ends', () => {
  let f: Front;
  before(async () => (f = await budgetFront()));
  after(() => f.close());

  it('decides a 0.6 MiB body in many TLS records on a fresh server (the probe)', async () => {
    await assertBudgetBack(f, 'u-fresh');
  });

  it('gives the budget back after complete bodies on a keep-alive connection', async () => {
    const conn = await Conn.open(f.port);
    for (const uid of ['u-ka-1', 'u-ka-2', 'u-ka-3']) await conn.write(post(padded(uid, 450 * 1024)));
    await conn.until(() => conn.replies().length === 3, 'three keep-alive answers');
    assert.deepEqual(conn.replies().map((r) => [r.status, r.body?.response?.uid]), [[200, 'u-ka-1'], [200, 'u-ka-2'], [200, 'u-ka-3']]);
    await conn.write(partial(450 * 1024)); // then the connection is reused for a body that never ends
    await settle();
    conn.destroy();
    await settle();
    await assertBudgetBack(f, 'u-after-keepalive');
  });

  it('gives the budget back after clients reset their connections mid-body', async () => {
    for (let round = 0; round < 3; round += 1) {
      const conns = await Promise.all([0, 1].map(() => Conn.open(f.port)));
      await Promise.all(conns.map((c) => c.write(partial(450 * 1024))));
      await settle();
      for (const c of conns) c.destroy();
      await settle();
    }
    await assertBudgetBack(f, 'u-after-reset');
  });

  it('answers a body cut by the client FIN with one 400 and gives the budget back', async () => {
    for (let round = 0; round < 3; round += 1) {
      const conns = await Promise.all([0, 1].map((i) => Conn.open(f.port, PEERS[i])));
      await Promise.all(conns.map((c) => c.write(partial(450 * 1024))));
      await settle();
      for (const c of conns) c.socket.end();
      for (const c of conns) assert.deepEqual((await c.repliesUntilClosed()).map((r) => r.status), [400]);
    }
    await assertBudgetBack(f, 'u-after-fin');
  });

  it('answers bodies streamed right through their deadline with one 400 each and gives the budget back', async () => {
    for (let round = 0; round < 4; round += 1) {
      const conns = await Promise.all([0, 1].map(() => Conn.open(f.port)));
      await Promise.all(conns.map(async (c) => {
        await c.write(head(`Content-Length: ${LIMIT - 1}\r\n`));
        await sleep(DEADLINE_MS - 100);
        await c.stream(' '.repeat(4 * 1024), 2);
      }));
      for (const c of conns) assert.deepEqual(c.replies().map((r) => r.status), [400]);
    }
    await assertBudgetBack(f, 'u-after-deadline');
  });

  it('answers a chunked body with a malformed chunk mid-body with one 400 and gives the budget back', async () => {
    for (let round = 0; round < 3; round += 1) {
      const conns = await Promise.all([0, 1].map((i) => Conn.open(f.port, PEERS[i])));
      await Promise.all(conns.map((c) => c.write(`${head('Transfer-Encoding: chunked\r\n')}${chunk(150 * 1024).repeat(3)}`)));
      await settle();
      await Promise.all(conns.map((c) => c.write('zz\r\n')));
      for (const c of conns) assert.deepEqual((await c.repliesUntilClosed()).map((r) => r.status), [400]);
    }
    await assertBudgetBack(f, 'u-after-bad-chunk');
  });

  it('answers a chunked body past the limit 413, keeps nothing of what follows, and gives the budget back', async () => {
    for (let round = 0; round < 3; round += 1) {
      const conn = await Conn.open(f.port);
      await conn.write(`${head('Transfer-Encoding: chunked\r\n')}${chunk(100 * 1024).repeat(8)}`);
      await conn.stream(chunk(8 * 1024), 2); // keeps sending after its answer, until closed
      assert.deepEqual(conn.replies().map((r) => r.status), [413]);
    }
    await assertBudgetBack(f, 'u-after-too-large');
  });

  it('answers the body over the budget 503, and gives the whole budget back once the others go', async () => {
    for (let round = 0; round < 3; round += 1) {
      const conns = await Promise.all([0, 1, 2].map((i) => Conn.open(f.port, PEERS[i])));
      await Promise.all(conns.map((c) => c.write(partial(450 * 1024))));
      await settle();
      const refused = conns.flatMap((c) => c.replies().map((r) => r.status));
      assert.deepEqual(refused, [503]);
      for (const c of conns) c.destroy();
      await settle();
    }
    await assertBudgetBack(f, 'u-after-busy');
  });

  it('gives the budget back after many connections each hold a small multi-chunk body and go', async () => {
    const conns = await Promise.all(Array.from({ length: 40 }, () => Conn.open(f.port)));
    await Promise.all(conns.map((c) => c.write(partial(20 * 1024))));
    await settle();
    for (const [i, c] of conns.entries()) {
      if (i % 2) c.destroy();
      else c.socket.end();
    }
    await Promise.all(conns.map((c) => c.closed));
    await assertBudgetBack(f, 'u-after-many');
  });

  it('gives the budget back after Expect: 100-continue bodies that stop short', async () => {
    const conns = await Promise.all([0, 1].map(() => Conn.open(f.port)));
    await Promise.all(conns.map((c) => c.write(head(`Content-Length: ${LIMIT - 1}\r\nExpect: 100-continue\r\n`))));
    await settle();
    await Promise.all(conns.map((c) => c.write(' '.repeat(450 * 1024))));
    await settle();
    for (const c of conns) c.destroy();
    await settle();
    await assertBudgetBack(f, 'u-after-continue');
  });

  for (const [name, start] of [
    ['an unsupported content type (415)', `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: ${LIMIT - 1}\r\n\r\n`],
    ['a Content-Length over the limit (413)', head(`Content-Length: ${LIMIT + 1}\r\n`)],
  ] as const) {
    it(`counts nothing of a body still arriving after it was answered for ${name}`, async () => {
      const conns = await Promise.all([0, 1].map(() => Conn.open(f.port)));
      await Promise.all(conns.map(async (c) => {
        await c.write(`${start}${' '.repeat(300 * 1024)}`);
        await c.stream(' '.repeat(16 * 1024), 5); // goes on sending after its answer, until closed
      }));
      for (const c of conns) assert.equal(c.replies().length, 1);
      await assertBudgetBack(f, 'u-after-early-answer');
    });
  }

  it('answers a body whose last byte comes after its deadline once (400) and never decides it', async () => {
    const before = f.results.length;
    const drafts = f.tasks.drafts.length;
    const late = bypass('u-late-bypass');
    const full = `${late.slice(0, -1)}${' '.repeat(400 * 1024)}}`;
    const conn = await Conn.open(f.port);
    await conn.write(post(full).slice(0, -1));
    await conn.until(() => conn.replies().length === 1, 'the deadline answer');
    await conn.write('}');
    const replies = await conn.repliesUntilClosed();
    assert.deepEqual(replies.map((r) => r.status), [400]);
    assert.equal(f.results.length - before, 1, 'one result: the 400');
    assert.equal(f.tasks.drafts.length, drafts, 'no bypass task recorded for a request answered at its deadline');
    assert.deepEqual(f.uncaught, []);
    await assertBudgetBack(f, 'u-after-late');
  });
});

describe('adversary: pipelined bodies behind a bypass waiting for its task record', () => {
  let f: Front;
  before(async () => (f = await budgetFront()));
  after(() => f.close());

  it('answers the stalled body behind the bypass after it, records the task once, and gives the budget back', async () => {
    const release = f.tasks.hold();
    const drafts = f.tasks.drafts.length;
    const conn = await Conn.open(f.port);
    await conn.write(`${post(bypass('u-held'))}${partial(450 * 1024)}`);
    await sleep(DEADLINE_MS * 2); // its deadline passes while the bypass waits
    release();
    const replies = await conn.repliesUntilClosed();
    assert.deepEqual(replies.map((r) => [r.status, r.body?.response?.uid]), [[200, 'u-held'], [400, '']]);
    assert.equal(f.tasks.drafts.length - drafts, 1);
    await assertBudgetBack(f, 'u-after-pipelined');
  });

  it('answers a bypass whose task record outlasts the deadline once, with its decision, and keeps the connection', async () => {
    const release = f.tasks.hold();
    const conn = await Conn.open(f.port);
    await conn.write(post(bypass('u-slow-record')));
    await sleep(DEADLINE_MS * 2); // complete requests are not timed: the answer waits for the record
    release();
    await conn.until(() => conn.replies().length >= 1, 'the decision');
    await conn.write(post(allowed('u-next'), 'Connection: close\r\n'));
    const replies = await conn.repliesUntilClosed();
    assert.deepEqual(replies.map((r) => [r.status, r.body?.response?.uid]), [[200, 'u-slow-record'], [200, 'u-next']]);
  });

  it('gives the budget back when the client resets while the bypass ahead still waits', async () => {
    const release = f.tasks.hold();
    const conn = await Conn.open(f.port);
    await conn.write(`${post(bypass('u-held-reset'))}${partial(450 * 1024)}`);
    await settle();
    conn.destroy();
    await settle();
    await assertBudgetBack(f, 'u-after-pipelined-reset');
    release();
  });

  it('never decides a pipelined bypass answered at its deadline whose last byte comes later', async () => {
    const release = f.tasks.hold();
    const drafts = f.tasks.drafts.length;
    const late = bypass('u-late-pipelined');
    const full = post(`${late.slice(0, -1)}${' '.repeat(200 * 1024)}}`);
    const conn = await Conn.open(f.port);
    await conn.write(`${post(bypass('u-ahead'))}${full.slice(0, -1)}`);
    await sleep(DEADLINE_MS * 2); // answered at its deadline, the answer queued behind the bypass
    await conn.write('}');
    await settle();
    release();
    const replies = await conn.repliesUntilClosed();
    assert.deepEqual(replies.map((r) => [r.status, r.body?.response?.uid]), [[200, 'u-ahead'], [400, '']]);
    assert.equal(f.tasks.drafts.length - drafts, 1, 'only the bypass ahead is recorded');
    assert.deepEqual(f.uncaught, []);
    await assertBudgetBack(f, 'u-after-late-pipelined');
  });

  it('answers a pipelined chunked body that turns malformed after its deadline answer once, not twice', async () => {
    const release = f.tasks.hold();
    const results = f.results.length;
    const conn = await Conn.open(f.port);
    await conn.write(`${post(bypass('u-ahead-2'))}${head('Transfer-Encoding: chunked\r\n')}${chunk(100 * 1024).repeat(2)}`);
    await sleep(DEADLINE_MS * 2);
    await conn.write('zz\r\n'); // a malformed chunk size after the answer
    await settle();
    release();
    const replies = await conn.repliesUntilClosed();
    assert.deepEqual(replies.map((r) => [r.status, r.body?.response?.uid]), [[200, 'u-ahead-2'], [400, '']]);
    assert.equal(f.results.length - results, 2, 'one result per request');
  });

  it('stops counting a pipelined body once its deadline answered it, even while the bypass ahead still waits', async () => {
    const release = f.tasks.hold();
    const conn = await Conn.open(f.port);
    await conn.write(`${post(bypass('u-held-long'))}${partial(100 * 1024)}`);
    await sleep(DEADLINE_MS * 2); // answered (queued behind the bypass) at its deadline
    await conn.write(' '.repeat(500 * 1024)); // the body keeps coming after its answer
    await settle();
    try {
      await assertBudgetBack(f, 'u-while-held');
    } finally {
      release();
      await conn.repliesUntilClosed();
    }
  });
});

describe('adversary: a client that stops reading its answers', () => {
  let f: Front;
  before(async () => (f = await budgetFront(DEFAULT_BODY_LIMIT)));
  after(() => f.close());

  it('gives the budget back from a body pipelined behind an answer the client never reads', async () => {
    const bigUid = `u-${'x'.repeat(900 * 1024)}`;
    const conn = await Conn.open(f.port);
    conn.socket.pause(); // never reads: the large answer to the first request cannot be written out
    await conn.write(`${[1, 2, 3, 4, 5].map((n) => post(allowed(`${bigUid}${n}`))).join('')}${partial(100 * 1024)}`);
    await settle();
    await conn.write(' '.repeat(400 * 1024)); // the pipelined body goes on arriving
    await sleep(DEADLINE_MS * 2); // and its deadline passes
    try {
      await assertBudgetBack(f, 'u-not-reading');
    } finally {
      conn.destroy();
    }
  });
});

describe('adversary: a few slow clients refilling the budget at every deadline', () => {
  let f: Front;
  before(async () => (f = await budgetFront()));
  after(() => f.close());

  // One peer's bodies may hold three quarters of the budget (validate-handler.ts BodyBudget.perPeer): the
  // API server, another peer, keeps a quarter however many connections one client opens.
  it('keeps deciding an ordinary 100 KiB review from another client while two slow clients hold the budget across deadlines', async () => {
    let stop = false;
    const hog = async (): Promise<void> => {
      while (!stop) {
        const conn = await Conn.open(f.port);
        await conn.write(partial(500 * 1024));
        await conn.stream(' ', 50, () => stop); // until its deadline answers and closes it
        conn.destroy();
      }
    };
    const hogs = [hog(), hog()];
    try {
      await sleep(DEADLINE_MS * 3); // past two deadlines: the hogs have come back
      await assertBudgetBack(f, 'u-hogged', 100 * 1024, '127.0.0.2');
    } finally {
      stop = true;
      await Promise.all(hogs);
    }
  });
});
