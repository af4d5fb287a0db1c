/**
 * A hostile client against POST /validate's HTTP front over real TLS: the body reader (two listeners,
 * a byte limit), the server's own request deadline (REQUEST_DEADLINE) answered by framingErrorHandler,
 * keep-alive and pipelining, and what error messages give back. Written from the docs and the code
 * only. Attacks the server handles are regression tests; attacks it fails are `todo` with the reason.
 *
 * Most tests build the server as `driftgate serve` does (buildApp + Node's request deadline +
 * framingErrorHandler) with the deadline shortened to DEADLINE_MS; one describe checks that the served
 * server (startServer) really carries REQUEST_DEADLINE.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import type { Server } from 'node:https';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DEFAULT_BODY_BUDGET, DEFAULT_BODY_LIMIT } from '../../src/http/request-body.ts';
import { REQUEST_DEADLINE, REQUEST_TIMEOUT_MS } from '../../src/http/validate-handler.ts';
import { createLogger } from '../../src/log.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { CERTS, Conn, DEADLINE_MS, front, HANG_MS, head, post, type Front, type Reply } from '../helpers/http-front.ts';
import { deployment, reviewJson } from '../helpers/reviews.ts';
import { tempDir } from '../helpers/tmp.ts';

const allowed = (uid: string) => JSON.stringify(reviewJson({ uid, oldObject: deployment(), object: deployment() }));
/** a memory-limit edit: alice holds a grant for it (bypass), bob does not (denied) */
const memoryEdit = (uid: string, user = 'alice') => JSON.stringify(reviewJson({ uid, user, oldObject: deployment(), object: deployment({ memory: '2Gi' }) }));

function connections(server: Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

function assertReview(r: Reply | undefined, status: number, uid: string, message?: RegExp): void {
  assert.ok(r, 'a reply');
  assert.equal(r.status, status);
  assert.equal(r.body?.kind, 'AdmissionReview');
  assert.equal(r.body?.response?.uid, uid);
  if (message) assert.match(r.body?.response?.status?.message ?? '', message);
}

const DEADLINE_MESSAGE = new RegExp(`did not arrive within ${DEADLINE_MS} ms`);

describe('adversary: requests that never finish arriving are answered once and closed', () => {
  let f: Front;
  before(async () => (f = await front()));
  after(() => f.close());

  const trickle = (conn: Conn, bytes: () => string) => {
    const timer = setInterval(() => void (conn.isClosed ? clearInterval(timer) : conn.write(bytes())), 25);
    void conn.closed.then(() => clearInterval(timer));
  };

  for (const [name, start, more] of [
    ['headers that stop before their end (slowloris)', 'POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Ty', undefined],
    ['headers trickled one byte at a time, never ending', 'POST /validate HTTP/1.1\r\nHost: localhost\r\nX-Slow: ', () => 'a'],
    ['a body trickled one byte at a time under a large Content-Length', head('Content-Length: 100000\r\n'), () => ' '],
    ['a chunked body whose chunks never stop coming', head('Transfer-Encoding: chunked\r\n'), () => '1\r\n \r\n'],
    ['a body shorter than its Content-Length', `${head('Content-Length: 1000\r\n')}{"apiVersion":`, undefined],
  ] as const) {
    it(`answers ${name} with one AdmissionReview 400 and closes`, async () => {
      const conn = await Conn.open(f.port);
      await conn.write(start);
      if (more) trickle(conn, more);
      const replies = await conn.repliesUntilClosed();
      assert.equal(replies.length, 1);
      assertReview(replies[0], 400, '', DEADLINE_MESSAGE);
    });
  }

  it('answers a connection that sends nothing after the TLS handshake with one AdmissionReview 400 and closes', async () => {
    const conn = await Conn.open(f.port);
    const replies = await conn.repliesUntilClosed();
    assert.equal(replies.length, 1);
    assertReview(replies[0], 400, '', DEADLINE_MESSAGE);
  });

  it('answers a keep-alive request, then closes the connection when the next one stalls', async () => {
    const conn = await Conn.open(f.port);
    await conn.write(`${post(allowed('u-first'))}${head('Content-Length: 500\r\n')}{`);
    const replies = await conn.repliesUntilClosed();
    assert.equal(replies.length, 2);
    assertReview(replies[0], 200, 'u-first');
    assertReview(replies[1], 400, '', DEADLINE_MESSAGE);
  });

  it('answers a stalled request pipelined behind a waiting bypass after the bypass, and records the task once', async () => {
    f.clientErrors.length = 0;
    const release = f.tasks.hold();
    const before = f.tasks.drafts.length;
    const conn = await Conn.open(f.port);
    await conn.write(`${post(memoryEdit('u-held'))}${head('Content-Length: 500\r\n')}{`);
    await conn.until(() => f.clientErrors.includes('ERR_HTTP_REQUEST_TIMEOUT'), 'the deadline of the stalled request');
    assert.equal(conn.replies().length, 0, 'nothing is answered before the bypass');
    release();
    const replies = await conn.repliesUntilClosed();
    assert.equal(replies.length, 2);
    assertReview(replies[0], 200, 'u-held');
    assert.equal(replies[0]!.body?.response?.allowed, true);
    assertReview(replies[1], 400, '', DEADLINE_MESSAGE);
    assert.equal(f.tasks.drafts.length, before + 1);
  });

  it(
    'answers a request once when its last byte arrives just after its deadline answered it, and keeps running',
    async () => {
      // In a child process: the server dies of it. The second 'clientError' listener is the network's
      // timing made exact: the last byte arrives right after the deadline's 400 is written.
      const code = `
        import { createServer } from 'node:https';
        import { connect } from 'node:tls';
        const { buildApp } = await import(${JSON.stringify(new URL('../../src/app.ts', import.meta.url).href)});
        const { framingErrorHandler } = await import(${JSON.stringify(new URL('../../src/http/validate-handler.ts', import.meta.url).href)});
        const { reviewDeps } = await import(${JSON.stringify(new URL('../helpers/deps.ts', import.meta.url).href)});
        const certs = ${JSON.stringify(CERTS)};
        const server = createServer({ cert: certs.cert, key: certs.key, requestTimeout: 200, headersTimeout: 200, connectionsCheckingInterval: 20 }, buildApp({ review: reviewDeps(), readiness: { notReady: () => [] } }));
        server.on('clientError', framingErrorHandler(undefined, 200));
        let client;
        server.on('clientError', (err) => { if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') client.write('}'); });
        server.listen(0, '127.0.0.1', () => {
          client = connect({ host: 'localhost', port: server.address().port, ca: certs.caCert, servername: 'localhost' }, () => {
            client.write('POST /validate HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: 7\\r\\n\\r\\n{"a":1');
          });
          let got = '';
          client.on('data', (d) => (got += d));
          client.on('error', () => {});
          client.on('close', () => setTimeout(() => { console.log('replies ' + (got.match(/HTTP\\/1\\.1 /g) ?? []).length); server.close(); }, 100));
        });`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exit = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.doesNotMatch(err, /ERR_HTTP_HEADERS_SENT/);
      assert.equal(exit, 0);
      assert.match(out, /^replies 1$/m);
    },
  );

  it('answers a pipelined request once, with its deadline\'s 400 after the bypass ahead of it, even when its last byte comes late', async () => {
    f.clientErrors.length = 0;
    const release = f.tasks.hold();
    const before = f.tasks.drafts.length;
    const conn = await Conn.open(f.port);
    const late = allowed('u-late');
    await conn.write(`${post(memoryEdit('u-waiting'))}${head(`Content-Length: ${Buffer.byteLength(late)}\r\n`)}${late.slice(0, -1)}`);
    await conn.until(() => f.clientErrors.includes('ERR_HTTP_REQUEST_TIMEOUT'), 'the deadline of the stalled request');
    await conn.write(late.slice(-1)); // too late: the request was answered at its deadline
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(f.results.some((r) => r.review.response.uid === 'u-late'), false, 'a request answered at its deadline is not decided');
    release();
    const replies = await conn.repliesUntilClosed();
    assert.deepEqual(
      replies.map((r) => [r.status, r.body?.response?.uid]),
      [
        [200, 'u-waiting'],
        [400, ''],
      ],
    );
    assertReview(replies[1], 400, '', DEADLINE_MESSAGE);
    assert.equal(f.tasks.drafts.length, before + 1);
  });
});

describe('adversary: keep-alive and pipelining answer every request once, in order', () => {
  let f: Front;
  before(async () => (f = await front()));
  after(() => f.close());

  it('answers six pipelined requests of every kind in order on one connection and keeps it open', async () => {
    const tasksBefore = f.tasks.drafts.length;
    const resultsBefore = f.results.length;
    const latin1 = Buffer.from(allowed('u-latin1'));
    const at = latin1.indexOf('"api"') + 1;
    const notUtf8 = Buffer.concat([latin1.subarray(0, at), Buffer.from([0xe9]), latin1.subarray(at)]);
    const conn = await Conn.open(f.port);
    await conn.write(Buffer.concat([
      Buffer.from(post(allowed('u-allowed')) + post(memoryEdit('u-denied', 'bob')) + post(memoryEdit('u-bypass')) + post('{"apiVersion":') + post('')),
      Buffer.from(head(`Content-Length: ${notUtf8.length}\r\n`)),
      notUtf8,
    ]));
    const replies = await conn.waitReplies(6);
    assert.deepEqual(
      replies.map((r) => [r.status, r.body?.response?.uid, r.body?.response?.allowed]),
      [
        [200, 'u-allowed', true],
        [200, 'u-denied', false],
        [200, 'u-bypass', true],
        [400, '', false],
        [400, '', false],
        [400, 'u-latin1', false],
      ],
    );
    assert.equal(conn.isClosed, false, 'bad JSON is no reason to close a connection');
    assert.equal(f.tasks.drafts.length, tasksBefore + 1, 'one task for the one bypass');
    assert.equal(f.results.length, resultsBefore + 6, 'one result per request');
    conn.destroy();
  });

  it('keeps the order when a bypass waits for its task record and the requests behind it are decided at once', async () => {
    const release = f.tasks.hold();
    const conn = await Conn.open(f.port);
    const resultsBefore = f.results.length;
    await conn.write(post(memoryEdit('u-slow-bypass')) + post(allowed('u-quick-1')) + post(memoryEdit('u-quick-2', 'bob')));
    await conn.until(() => f.results.length === resultsBefore + 2, 'the two quick requests decided');
    assert.equal(conn.replies().length, 0);
    release();
    const replies = await conn.waitReplies(3);
    assert.deepEqual(replies.map((r) => r.body?.response?.uid), ['u-slow-bypass', 'u-quick-1', 'u-quick-2']);
    assert.equal(f.tasks.drafts.filter((d) => d.admissionUid === 'u-slow-bypass').length, 1);
    conn.destroy();
  });

  it('answers 60 requests on one keep-alive connection, good and bad alternating, each once and in order', async () => {
    const conn = await Conn.open(f.port);
    for (let i = 0; i < 60; i += 1) {
      await conn.write(i % 3 === 2 ? post('{"kind":') : post(allowed(`u-${i}`)));
      await conn.waitReplies(i + 1);
    }
    const replies = conn.replies();
    assert.equal(replies.length, 60);
    replies.forEach((r, i) => assertReview(r, i % 3 === 2 ? 400 : 200, i % 3 === 2 ? '' : `u-${i}`));
    assert.equal(conn.isClosed, false);
    conn.destroy();
  });

  it('answers a request that asks for an Upgrade like any other', async () => {
    const conn = await Conn.open(f.port);
    await conn.write(post(allowed('u-upgrade'), 'Connection: Upgrade\r\nUpgrade: websocket\r\n'));
    const replies = await conn.waitReplies(1);
    assertReview(replies[0], 200, 'u-upgrade');
    conn.destroy();
  });

  it('answers a request that asks for an Upgrade, then closes the connection instead of losing what follows it', async () => {
    const conn = await Conn.open(f.port);
    await conn.write(post(allowed('u-upgrade-1'), 'Connection: Upgrade\r\nUpgrade: websocket\r\n') + post(allowed('u-upgrade-2'), 'Connection: close\r\n'));
    const replies = await conn.repliesUntilClosed();
    // Node hands the bytes after an Upgrade request to an upgrade handler driftgate does not have: the
    // closed connection tells the client to send them again, where a kept one would hang them
    assert.deepEqual(replies.map((r) => r.body?.response?.uid), ['u-upgrade-1']);
  });

  it('closes a CONNECT request without answering it', async () => {
    const conn = await Conn.open(f.port);
    await conn.write('CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n');
    assert.deepEqual(await conn.repliesUntilClosed(), []);
  });
});

describe('adversary: the 8 MiB body limit', () => {
  let f: Front;
  before(async () => (f = await front({ deadlineMs: 5000 })));
  after(() => f.close());

  it('refuses a declared Content-Length over the limit before a byte of the body is sent, and closes', async () => {
    const conn = await Conn.open(f.port);
    await conn.write(head(`Content-Length: ${DEFAULT_BODY_LIMIT + 1}\r\n`));
    const replies = await conn.repliesUntilClosed();
    assert.equal(replies.length, 1);
    assertReview(replies[0], 413, '', /larger than the 8388608 byte limit/);
  });

  it('refuses an oversized body that asks Expect: 100-continue with a 413', async () => {
    const conn = await Conn.open(f.port);
    await conn.write(head(`Content-Length: ${DEFAULT_BODY_LIMIT * 100}\r\nExpect: 100-continue\r\n`));
    const replies = await conn.repliesUntilClosed();
    assert.equal(replies.length, 1);
    assertReview(replies[0], 413, '');
  });

  for (const [name, size, status] of [
    ['exactly at the limit', DEFAULT_BODY_LIMIT, 200],
    ['one byte over the limit', DEFAULT_BODY_LIMIT + 1, 413],
  ] as const) {
    for (const chunked of [false, true]) {
      it(`${status === 200 ? 'decides' : 'refuses'} a ${chunked ? 'chunked body with no Content-Length' : 'body'} ${name}`, async () => {
        const review = allowed('u-at-limit');
        const body = review + ' '.repeat(size - Buffer.byteLength(review)); // whitespace after the object is valid JSON
        const conn = await Conn.open(f.port);
        if (chunked) {
          await conn.write(head('Transfer-Encoding: chunked\r\n'));
          for (let at = 0; at < body.length; at += 65536) {
            const part = body.slice(at, at + 65536);
            await conn.write(`${part.length.toString(16)}\r\n${part}\r\n`);
            if (conn.isClosed) break;
          }
          if (!conn.isClosed) await conn.write('0\r\n\r\n');
        } else {
          await conn.write(post(body));
        }
        const replies = await conn.waitReplies(1);
        assertReview(replies[0], status, status === 200 ? 'u-at-limit' : '');
        if (status === 413) await conn.repliesUntilClosed();
        conn.destroy();
      });
    }
  }

  it('reads a body sent with neither Content-Length nor chunked as empty, and the stray bytes as a malformed request', async () => {
    const conn = await Conn.open(f.port);
    await conn.write(`${head()}${allowed('u-stray')}`);
    const replies = await conn.repliesUntilClosed();
    assert.equal(replies.length, 2);
    assertReview(replies[0], 400, '', /empty body/);
    assertReview(replies[1], 400, '', /the HTTP request is malformed/);
  });

  it('bounds the memory that parallel unfinished bodies near the limit hold, answering the rest 503', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const held = await front({ deadlineMs: HANG_MS });
    const part = Buffer.alloc(DEFAULT_BODY_LIMIT - 1, 0x20);
    gc();
    const base = process.memoryUsage().arrayBuffers;
    const conns: Conn[] = [];
    try {
      for (let i = 0; i < 12; i += 1) {
        const conn = await Conn.open(held.port);
        await conn.write(head(`Content-Length: ${DEFAULT_BODY_LIMIT}\r\n`));
        await conn.write(part);
        conns.push(conn);
      }
      await new Promise((resolve) => setTimeout(resolve, 200)); // the server reads what was sent
      gc();
      const grown = process.memoryUsage().arrayBuffers - base;
      assert.ok(grown < DEFAULT_BODY_BUDGET + DEFAULT_BODY_LIMIT, `12 unfinished bodies hold ${Math.round(grown / 2 ** 20)} MiB`);
      const busy = conns.map((c) => c.replies()[0]).filter((r) => r !== undefined);
      assert.ok(busy.length >= 12 - DEFAULT_BODY_BUDGET / DEFAULT_BODY_LIMIT, `${busy.length} answered at once`);
      // one client: its three-quarter share (24 MiB) is reached first
      for (const r of busy) assertReview(r, 503, '', /this client's unfinished request bodies already hold 25165824 bytes, its share of the webhook's budget: retry shortly/);
    } finally {
      for (const c of conns) c.destroy();
      await held.close();
    }
  });
});

describe('adversary: error messages do not quote attacker text at length', () => {
  let f: Front;
  before(async () => (f = await front()));
  after(() => f.close());

  const LONG = 'Q'.repeat(100_000);
  /** the docs: request text in answers and logs is cut at 512 characters */
  const assertShort = (r: Reply | undefined, status: number) => {
    assert.ok(r);
    assert.equal(r.status, status);
    const message = r.body?.response?.status?.message ?? '';
    assert.ok(message.length < 800, `the message is ${message.length} characters`);
  };
  const ask = async (bytes: string) => {
    const conn = await Conn.open(f.port);
    await conn.write(bytes);
    const replies = await conn.waitReplies(1);
    conn.destroy();
    return replies[0];
  };

  it('cuts a long charset', async () => {
    assertShort(await ask(`POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json; charset=${'x'.repeat(8000)}\r\nContent-Length: 2\r\n\r\n{}`), 415);
  });

  for (const [name, bytes, status, where] of [
    ['a long Content-Type', `POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: text/${'q'.repeat(8000)}\r\nContent-Length: 2\r\n\r\n{}`, 415, 'contentTypeError in validate-handler.ts'],
    ['a long Content-Encoding', post('{}', `Content-Encoding: ${'q'.repeat(8000)}\r\n`), 415, 'the content-encoding check in validate-handler.ts'],
    ['a long apiVersion', post(JSON.stringify({ apiVersion: LONG, kind: 'AdmissionReview' })), 400, 'decodeReview in decode.ts (JSON.stringify(parsed.apiVersion))'],
    ['a large kind value', post(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: { LONG } })), 400, 'decodeReview in decode.ts (JSON.stringify(parsed.kind))'],
    ['a long operation', post(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', operation: LONG } })), 400, 'decodeReview in decode.ts (request.operation)'],
  ] as const) {
    it(`cuts ${name} (${where})`, async () => {
      assertShort(await ask(bytes), status);
    });
  }

  it('accepts Content-Encoding identity in any case (content codings are case-insensitive, RFC 9110 8.4.1)', async () => {
    const r = await ask(post(allowed('u-identity'), 'Content-Encoding: IDENTITY\r\n'));
    assert.equal(r?.status, 200);
  });
});

describe('adversary: bodies at the edge of JSON get the same answers as before the new body reader', () => {
  let f: Front;
  before(async () => (f = await front()));
  after(() => f.close());

  for (const [name, body, message] of [
    ['an empty body', '', /empty body/],
    ['a body of whitespace', ' \r\n\t ', /empty body/],
    ['a byte-order mark alone', '\ufeff', /empty body/],
    ['a no-break space alone', '\u00a0', /empty body/],
    ['null', 'null', /expected a JSON object, got null/],
    ['a list', '[{}]', /expected a JSON object, got array/],
    ['an object without apiVersion', '{}', /unsupported AdmissionReview apiVersion null/],
    ['a cut object', '{"a":', /the body ends inside a JSON value/],
    ['a NUL byte', '\u0000', /invalid JSON/],
  ] as const) {
    it(`answers ${name} with an AdmissionReview 400`, async () => {
      const conn = await Conn.open(f.port);
      await conn.write(post(body));
      const replies = await conn.waitReplies(1);
      conn.destroy();
      assertReview(replies[0], 400, '', message);
    });
  }
});

describe('adversary: nothing is left behind', () => {
  let f: Front;
  before(async () => (f = await front()));
  after(() => f.close());

  it('holds no connection or file descriptor after 60 hostile connections end', async () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const warm = await Conn.open(f.port); // TLS and the server's first connection set up once
    warm.destroy();
    await warm.closed;
    const before = fds();
    const attacks: ((c: Conn) => Promise<void>)[] = [
      async (c) => void (await c.write(`${head('Content-Length: 1000\r\n')}{"a":`)), // deadline
      async (c) => {
        await c.write(`${head('Content-Length: 1000\r\n')}{"a":`);
        c.destroy(); // gone mid-body
      },
      async (c) => {
        await c.write(`${head('Content-Length: 1000\r\n')}{"a":`);
        c.socket.end(); // half-closed mid-body
      },
      async (c) => void (await c.write(head(`Content-Length: ${DEFAULT_BODY_LIMIT + 1}\r\n`))), // too large
      async (c) => void (await c.write(`${head('Content-Length: 2\r\nContent-Length: 3\r\n')}{}`)), // framing
      async (c) => void (await c.write(post(allowed('u-gone')))), // answered, then kept alive until destroyed below
    ];
    const conns: Conn[] = [];
    for (let i = 0; i < 60; i += 1) {
      const c = await Conn.open(f.port);
      conns.push(c);
      await attacks[i % attacks.length]!(c);
    }
    await Promise.all(conns.map((c, i) => (i % attacks.length === 5 ? c.waitReplies(1).then(() => c.destroy()) : undefined)));
    await Promise.all(conns.map((c) => c.until(() => c.isClosed, 'closed')));
    let open = await connections(f.server);
    for (let i = 0; open > 0 && i < 100; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      open = await connections(f.server);
    }
    assert.equal(open, 0);
    assert.ok(fds() <= before, `${fds() - before} file descriptors more than before`);
  });
});

describe('adversary: the served server carries the deadline (startServer)', () => {
  let running: RunningServer;
  before(async () => {
    const dir = tempDir('driftgate-adversary-');
    running = await startServer({ port: 0, metricsPort: 0, host: '127.0.0.1', dataDir: join(dir, 'data'), certsDir: join(dir, 'certs'), logger: createLogger('silent'), watch: false });
  });
  after(() => running.close());

  it('uses REQUEST_DEADLINE and answers framing errors itself', () => {
    assert.equal(running.server.requestTimeout, REQUEST_TIMEOUT_MS);
    assert.equal(running.server.headersTimeout, REQUEST_DEADLINE.headersTimeout);
    assert.equal(running.server.listenerCount('clientError'), 1);
  });

  it('holds the --metrics-port listener to the same deadline, not the 5 minutes Node allows by default', () => {
    assert.ok(running.metricsServer);
    assert.equal(running.metricsServer.requestTimeout, REQUEST_TIMEOUT_MS);
    assert.equal(running.metricsServer.headersTimeout, REQUEST_DEADLINE.headersTimeout);
  });

  it(
    'drops a TCP connection that never starts TLS within the request deadline',
    async () => {
      // Node keeps the handshake timeout under this symbol; waiting 120 s is no test.
      const symbol = Object.getOwnPropertySymbols(running.server).find((s) => s.description === 'handshake-timeout');
      assert.ok(symbol);
      const handshakeMs = (running.server as unknown as Record<symbol, number>)[symbol] ?? Number.POSITIVE_INFINITY;
      assert.ok(handshakeMs <= REQUEST_TIMEOUT_MS, `handshake timeout ${handshakeMs} ms`);
      // and the silent socket is accepted and held meanwhile
      const socket = tcpConnect(running.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.destroy();
    },
  );
});
