/**
 * The connection limit on the real server (startServer, real TLS): at the cap a new connection is
 * closed before any TLS and without an answer, while the connections already open keep getting
 * answers; the drop is counted and logged; a closed connection frees its place. The plain
 * --metrics-port server has its own, fixed cap.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { METRICS_MAX_CONNECTIONS, MIN_MAX_CONNECTIONS } from '../../src/http/connection-limit.ts';
import { createLogger } from '../../src/log.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { LogSink } from '../helpers/deps.ts';
import { deployment, reviewJson } from '../helpers/reviews.ts';
import { tempDir } from '../helpers/tmp.ts';

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One HTTP/1.1 request on an open connection, which stays open (keep-alive); resolves with the answer. */
function exchange(conn: Duplex, method: string, path: string, body = '', headers = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      const headEnd = got.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = got.subarray(0, headEnd).toString('latin1');
      const body = /\r\ntransfer-encoding: *chunked/i.test(head) ? unchunked(got.subarray(headEnd + 4)) : sized(got.subarray(headEnd + 4), head);
      if (body === undefined) return;
      conn.off('data', onData);
      conn.off('close', onClose);
      resolve({ status: Number(head.slice(9, 12)), body: body.toString('utf8') });
    };
    const onClose = (): void => {
      conn.off('data', onData);
      reject(new Error(`connection closed before the answer to ${method} ${path}`));
    };
    conn.on('data', onData);
    conn.once('close', onClose);
    conn.write(`${method} ${path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`);
  });
}

function sized(rest: Buffer, head: string): Buffer | undefined {
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  return rest.length < length ? undefined : rest.subarray(0, length);
}

/** A chunked body once its last chunk has arrived. */
function unchunked(rest: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  for (let at = 0; ;) {
    const lineEnd = rest.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(rest.subarray(at, lineEnd).toString('latin1'), 16);
    if (rest.length < lineEnd + 2 + size + 2) return undefined;
    if (size === 0) return Buffer.concat(parts);
    parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

/** What happened to a connection attempt: open (answered, kept alive), or closed before an answer. */
type Attempt = { readonly open: true; readonly conn: Duplex } | { readonly open: false; readonly bytes: number };

interface Port {
  readonly name: 'webhook' | 'metrics';
  readonly cap: number;
  /** a new connection: resolves once it answered a first request, or once it was closed unanswered */
  attempt(): Promise<Attempt>;
  /** a request whose answer the server gives on any open connection */
  check(conn: Duplex): Promise<void>;
}

/**
 * A plain TCP connect succeeds before the server's accept() (the kernel's backlog), and a dropped
 * TLS connection fails its handshake: a first request tells both apart the same way.
 */
async function attemptWith(conn: Socket): Promise<Attempt> {
  let bytes = 0;
  conn.on('data', (c: Buffer) => (bytes += c.length));
  conn.on('error', () => undefined); // a dropped connection is reset; 'close' follows
  try {
    await exchange(conn, 'GET', '/healthz');
    return { open: true, conn };
  } catch {
    return { open: false, bytes };
  }
}

/** driftgate_connections_dropped_total{server}: 0 until the first drop adds the series */
const dropped = (exposition: string, server: string): number =>
  Number(new RegExp(`^driftgate_connections_dropped_total\\{server="${server}"\\} (\\d+)$`, 'm').exec(exposition)?.[1] ?? 0);

describe('connection limit (real server, real TLS)', () => {
  let server: RunningServer;
  let ca: string;
  const sink = new LogSink();
  const metricsPort = 20000 + Math.floor(Math.random() * 40000);
  const review = (uid: string) => JSON.stringify(reviewJson({ uid, oldObject: deployment({ image: 'x:1' }), object: deployment({ image: 'x:2' }) }));

  before(async () => {
    const dir = tempDir('driftgate-connection-limit-');
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      metricsPort,
      maxConnections: MIN_MAX_CONNECTIONS,
      dataDir: join(dir, 'data'),
      certsDir: join(dir, 'certs'),
      logger: createLogger('info', sink.stream),
      watch: false,
    });
    ca = readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');
  });
  after(async () => server.close());

  const ports: Port[] = [
    {
      name: 'webhook',
      cap: MIN_MAX_CONNECTIONS,
      attempt: () => attemptWith(tlsConnect({ host: '127.0.0.1', port: server.port, ca, servername: 'localhost' })),
      check: async (conn) => {
        const uid = `uid-${Math.random()}`;
        const a = await exchange(conn, 'POST', '/validate', review(uid));
        const body = JSON.parse(a.body) as { kind: string; response: { uid: string; allowed: boolean } };
        assert.equal(a.status, 200);
        assert.equal(body.kind, 'AdmissionReview');
        assert.equal(body.response.uid, uid);
        assert.equal(body.response.allowed, false); // alice edits a GitOps-owned image in prod
      },
    },
    {
      name: 'metrics',
      cap: METRICS_MAX_CONNECTIONS,
      attempt: () => attemptWith(tcpConnect({ host: '127.0.0.1', port: metricsPort })),
      check: async (conn) => {
        const a = await exchange(conn, 'GET', '/metrics');
        assert.equal(a.status, 200);
        assert.match(a.body, /^driftgate_admission_requests_total/m);
      },
    },
  ];

  for (const p of ports) {
    it(`${p.name} port: at ${p.cap} open connections the next is closed unanswered, counted and logged; the open ones keep answering; a closed one frees its place`, async () => {
      const open: Duplex[] = [];
      try {
      for (let i = 0; i < p.cap; i++) {
        const a = await p.attempt();
        assert.ok(a.open, `connection ${i + 1} of ${p.cap} was refused`);
        open.push(a.conn);
      }
      const before = dropped((await exchange(open[0]!, 'GET', '/metrics')).body, p.name);

      const refused = await p.attempt();
      assert.deepEqual(refused, { open: false, bytes: 0 }, 'the connection past the cap was closed without a byte of answer');

      for (const conn of open) await p.check(conn);
      const exposition = (await exchange(open[0]!, 'GET', '/metrics')).body;
      assert.equal(dropped(exposition, p.name), before + 1);
      const warning = sink.lines.find((l) => l.server === p.name && l.dropped !== undefined);
      assert.deepEqual(
        { level: warning?.level, dropped: warning?.dropped, maxConnections: warning?.maxConnections, holders: warning?.holders },
        { level: 'warn', dropped: 1, maxConnections: p.cap, holders: [{ address: '127.0.0.1', connections: p.cap }] },
      );

      // the server closes it (after answering): its count is down before the client sees the close
      const last = open.pop()!;
      const closed = new Promise((resolve) => last.once('close', resolve));
      assert.equal((await exchange(last, 'GET', '/healthz', '', 'connection: close\r\n')).status, p.name === 'webhook' ? 200 : 404);
      await closed;
      const again = await p.attempt();
      assert.ok(again.open, 'a connection was accepted once one was closed');
      open.push(again.conn);
      await p.check(again.conn);
      } finally {
        for (const conn of open) conn.destroy();
      }
    });
  }
});
