/**
 * Hostile input against the real server over TLS (issue 10, items 7, 9 and 10): what an attacker
 * sends to freeze the webhook, to get a grant that looks like permission, or to make an error message
 * quote a Secret; and HTTP framing that Node's parser refuses.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, request as httpsRequest, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { buildApp } from '../../src/app.ts';
import { issueDevToken } from '../../src/auth/authenticator.ts';
import { framingErrorHandler } from '../../src/http/validate-handler.ts';
import { createLogger } from '../../src/log.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { generateCertificates } from '../../src/tls/certs.ts';
import { reviewDeps } from '../helpers/deps.ts';
import { deployment, reviewJson } from '../helpers/reviews.ts';
import { tempDir } from '../helpers/tmp.ts';

const POLICY = `
protectedNamespaces: [prod]
ignore:
  - paths: ["metadata.annotations[*a*a*a*b]"]
breakGlass:
  requireIncident: true
  requesters: {groups: [oncall]}
`;

interface Reply {
  status: number;
  body: Record<string, unknown> & { response?: { uid: string; allowed: boolean; status?: { code: number; message: string } }; error?: { message: string } };
}

function post(port: number, ca: string, path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: 'localhost', port, path, method: 'POST', ca, agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Reply['body'] }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Raw bytes over TLS; resolves with everything the server wrote before it closed the connection. */
function raw(port: number, ca: string, bytes: string, endAfterWrite = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: 'localhost', port, ca, servername: 'localhost' }, () => {
      socket.write(bytes);
      if (endAfterWrite) socket.end();
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

/** Every HTTP response in a raw byte stream: status code and parsed JSON body. */
function responses(stream: string): { status: number; body: Reply['body'] }[] {
  const out: { status: number; body: Reply['body'] }[] = [];
  let rest = stream;
  while (rest.startsWith('HTTP/1.1 ')) {
    const headEnd = rest.indexOf('\r\n\r\n');
    const head = rest.slice(0, headEnd);
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? '0');
    const body = Buffer.from(rest.slice(headEnd + 4), 'utf8').subarray(0, length).toString('utf8');
    out.push({ status: Number(head.slice(9, 12)), body: JSON.parse(body) as Reply['body'] });
    rest = rest.slice(headEnd + 4 + body.length);
  }
  return out;
}

function assertReview400(r: { status: number; body: Reply['body'] }, message: RegExp, uid = ''): void {
  assert.equal(r.status, 400);
  assert.equal(r.body.kind, 'AdmissionReview');
  assert.equal(r.body.response?.uid, uid);
  assert.equal(r.body.response?.allowed, false);
  assert.equal(r.body.response?.status?.code, 400);
  assert.match(r.body.response?.status?.message ?? '', message);
}

const SECRET = 'c2VjcmV0LXBhc3N3b3JkLTQy'; // base64 a Secret would carry
const named = (name: string, image = 'x:2') => {
  const d = deployment({ image }) as { metadata: { name: string } };
  d.metadata.name = name;
  return d;
};
const setImage = (name: string, uid: string) => JSON.stringify(reviewJson({ uid, oldObject: named(name, 'x:1'), object: named(name, 'x:2') }));

describe('hostile input over HTTPS (real server)', () => {
  let server: RunningServer;
  let ca: string;
  let token: string;
  const grant = (body: Record<string, unknown>) =>
    post(server.port, ca, '/v1/grants', JSON.stringify({ namespace: 'prod', ttl: '30m', reason: 'OOM loop', incident: 'INC-7', ...body }), { authorization: `Bearer ${token}` });
  const validate = (body: string | Buffer, type = 'application/json') => post(server.port, ca, '/validate', body, { 'content-type': type });

  before(async () => {
    const dir = tempDir('driftgate-hostile-');
    writeFileSync(join(dir, 'driftgate.yaml'), POLICY);
    const dataDir = join(dir, 'data');
    server = await startServer({ config: join(dir, 'driftgate.yaml'), port: 0, host: '127.0.0.1', dataDir, certsDir: join(dir, 'certs'), logger: createLogger('silent'), watch: false });
    ca = readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');
    token = await issueDevToken(dataDir, 'alice', ['oncall'], 3600);
  });
  after(async () => server.close());

  describe('grant requests that can never match: 422 saying why', () => {
    for (const [name, body, message] of [
      ['namespace *', { namespace: '*', resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }] }, /a grant names one namespace exactly/],
      ['an unprotected namespace', { namespace: 'staging', resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }] }, /namespace staging is not protected/],
      ['group *', { resources: [{ group: '*', kind: 'Deployment', name: 'api' }] }, /group "\*" matches no group/],
      ['kind *', { resources: [{ group: 'apps', kind: '*', name: 'api' }] }, /kind "\*" matches no kind/],
      ['a many-star name glob', { resources: [{ group: 'apps', kind: 'Deployment', name: 'a*a*a*a*a*a*b' }] }, /has 6 "\*": a glob may have at most 4/],
      ['a path under status', { resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }], paths: ['status.replicas'] }, /runtime field/],
      ['a path that is not a path', { resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }], paths: ['<path>'] }, /is not a field name/],
      ['a many-star path glob', { resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }], paths: ['metadata.annotations[*a*a*a*a*a*a*a*a*b]'] }, /has 9 "\*"/],
      ['reason "..."', { resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }], reason: '...' }, /reason "..." is the placeholder/],
      ['incident INC-...', { resources: [{ group: 'apps', kind: 'Deployment', name: 'api' }], incident: 'INC-...' }, /incident "INC-..." is the placeholder/],
    ] as const) {
      it(`refuses ${name}`, async () => {
        const res = await grant(body);
        assert.equal(res.status, 422);
        assert.match(res.body.error?.message ?? '', message);
      });
    }
  });

  describe('globs on attacker-chosen names and keys are matched in linear time', () => {
    it('a four-star name glob grant decides writes to 250-character names', async () => {
      const created = await grant({ resources: [{ group: 'apps', kind: 'Deployment', name: '*a*a*a*b' }] });
      assert.equal(created.status, 201);
      const miss = await validate(setImage('a'.repeat(250), 'u-miss'));
      assert.equal(miss.body.response?.allowed, false);
      assert.equal(miss.body.response?.status?.code, 403);
      const hit = await validate(setImage(`${'a'.repeat(249)}b`, 'u-hit'));
      assert.equal(hit.body.response?.allowed, true);
    });

    it('a policy path glob decides a 100,000-character annotation key', async () => {
      const withKey = (key: string, uid: string) => {
        const old = deployment();
        const next = deployment({ annotations: { [key]: 'x' } });
        return JSON.stringify(reviewJson({ uid, oldObject: old, object: next }));
      };
      const guarded = await validate(withKey('a'.repeat(100_000), 'u-key-guarded'));
      assert.equal(guarded.body.response?.allowed, false);
      const ignored = await validate(withKey(`${'a'.repeat(100_000)}b`, 'u-key-ignored'));
      assert.equal(ignored.body.response?.allowed, true);
    });
  });

  describe('bad bytes are answered inside an AdmissionReview and never quoted', () => {
    for (const [name, body] of [
      ['a bare token after a Secret value', `{"apiVersion":"admission.k8s.io/v1","data":{"password":"${SECRET}"},x}`],
      ['an unquoted Secret value', `{"data":{"password":${SECRET}}}`],
      ['a Secret value with a raw control character', `{"data":{"password":"${SECRET}\u0001"}}`],
      ['a body cut inside a Secret value', `{"data":{"password":"${SECRET}`],
      ['a trailing Secret value after the object', `{"kind":"AdmissionReview"}${SECRET}`],
      ['a single-quoted Secret value', `{'password':'${SECRET}'}`],
    ] as const) {
      it(`answers 400 for ${name} without quoting it`, async () => {
        const res = await validate(body);
        assertReview400(res, /invalid JSON/);
        const message = res.body.response?.status?.message ?? '';
        assert.doesNotMatch(message, /c2Vj|password|"/);
      });
    }

    for (const [name, bytes] of [
      ['a lone continuation byte', Buffer.from([0x80])],
      ['an overlong encoding of "/"', Buffer.from([0xc0, 0xaf])],
      ['a UTF-16 surrogate encoded in UTF-8', Buffer.from([0xed, 0xa0, 0x80])],
      ['a truncated four-byte sequence', Buffer.from([0xf0, 0x9f, 0x98])],
      ['Latin-1 text', Buffer.from('é', 'latin1')],
    ] as const) {
      it(`answers 400 for a body with ${name}, echoing the uid`, async () => {
        const review = Buffer.from(JSON.stringify(reviewJson({ uid: 'u-utf8', oldObject: deployment(), object: deployment() })), 'utf8');
        const at = review.indexOf('"api"') + 1;
        const res = await validate(Buffer.concat([review.subarray(0, at), bytes, review.subarray(at)]));
        assertReview400(res, /not valid UTF-8: send the AdmissionReview as UTF-8 JSON/, 'u-utf8');
      });
    }

    for (const type of ['application/json; charset=latin1', 'application/json; charset=utf-16', 'application/json;charset="ISO-8859-1"', 'application/json; charset=']) {
      it(`answers 415 for ${type}`, async () => {
        const res = await validate('{}', type);
        assert.equal(res.status, 415);
        assert.equal(res.body.response?.status?.code, 415);
        assert.match(res.body.response?.status?.message ?? '', /charset .* is not supported: send application\/json in UTF-8/);
      });
    }

    it('accepts an explicit UTF-8 charset in any spelling', async () => {
      for (const type of ['application/json; charset=UTF-8', 'application/json;charset="utf-8"', 'application/json; charset=utf8']) {
        const res = await validate(setImage('api', 'u-charset'), type);
        assert.equal(res.status, 200, type);
      }
    });
  });

  describe('HTTP framing errors get an AdmissionReview 400', () => {
    const head = (extra: string) => `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${extra}\r\n`;
    for (const [name, bytes] of [
      ['Content-Length together with chunked', `${head('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n')}5\r\n{"a":\r\n0\r\n\r\n`],
      ['two different Content-Lengths', `${head('Content-Length: 2\r\nContent-Length: 3\r\n')}{}`],
      ['a Content-Length that is not a number', `${head('Content-Length: 1e3\r\n')}{}`],
      ['a negative Content-Length', `${head('Content-Length: -1\r\n')}{}`],
      ['a chunk size that is not hex', `${head('Transfer-Encoding: chunked\r\n')}zz\r\n{}\r\n0\r\n\r\n`],
    ] as const) {
      it(`answers ${name} with an AdmissionReview 400 and closes`, async () => {
        const replies = responses(await raw(server.port, ca, bytes));
        assert.equal(replies.length, 1);
        assertReview400(replies[0]!, /the HTTP request is malformed \(HPE_[A-Z_]+\)/);
      });
    }

    it('answers a body longer than its Content-Length: the cut body, then the leftover bytes, both as AdmissionReviews', async () => {
      const body = setImage('api', 'u-long');
      const replies = responses(await raw(server.port, ca, `${head(`Content-Length: ${body.length - 10}\r\n`)}${body}`));
      assert.equal(replies.length, 2);
      assertReview400(replies[0]!, /invalid JSON/);
      assertReview400(replies[1]!, /the HTTP request is malformed/);
    });
  });
});

describe('a body shorter than its Content-Length, over HTTPS', () => {
  let server: Server;
  let ca: string;
  before(async () => {
    const certs = generateCertificates({ service: 'driftgate', namespace: 'driftgate', days: 1 });
    ca = certs.caCert;
    const app = buildApp({ review: reviewDeps(), readiness: { notReady: () => [] } });
    // the server's own deadline, shortened for the test (driftgate serve: REQUEST_DEADLINE, 10 s)
    server = createHttpsServer({ cert: certs.cert, key: certs.key, requestTimeout: 300, headersTimeout: 300, connectionsCheckingInterval: 50 }, app);
    server.on('clientError', framingErrorHandler(undefined, 300));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers an AdmissionReview 400 while the client still waits, then closes', async () => {
    const port = (server.address() as AddressInfo).port;
    const stream = await raw(port, ca, 'POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion":');
    const replies = responses(stream);
    assert.equal(replies.length, 1);
    assertReview400(replies[0]!, /did not arrive within 300 ms \(a body shorter than its Content-Length\?\)/);
  });

  it('answers headers that stop before their end with an AdmissionReview 400, then closes', async () => {
    const port = (server.address() as AddressInfo).port;
    const replies = responses(await raw(port, ca, 'POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Ty'));
    assert.equal(replies.length, 1);
    assertReview400(replies[0]!, /did not arrive within 300 ms/);
  });

  it('leaves an idle keep-alive connection alone past the deadline: only a request in progress is timed', async () => {
    const port = (server.address() as AddressInfo).port;
    const request = (uid: string, last: boolean) => {
      const body = setImage('api', uid);
      return `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${last ? 'Connection: close\r\n' : ''}\r\n${body}`;
    };
    const stream = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect({ host: 'localhost', port, ca, servername: 'localhost' }, () => {
        socket.write(request('u-first', false));
        // idle for three deadlines (and many checks), then a second request on the same connection
        setTimeout(() => socket.write(request('u-second', true)), 900);
      });
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.on('error', reject);
    });
    const replies = responses(stream);
    assert.deepEqual(replies.map((r) => [r.status, r.body.response?.uid]), [[200, 'u-first'], [200, 'u-second']]);
  });

  it('keeps serving after a client goes away in the middle of a body', async () => {
    const port = (server.address() as AddressInfo).port;
    const half = 'POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion":';
    const cut = responses(await raw(port, ca, half, true)); // the client ends its side mid-body
    assert.equal(cut.length, 1);
    assertReview400(cut[0]!, /the HTTP request is malformed \(HPE_INVALID_EOF_STATE\)/);
    const body = setImage('api', 'u-after');
    const replies = responses(await raw(port, ca, `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`));
    assert.equal(replies.length, 1);
    assert.equal(replies[0]!.status, 200);
    assert.equal(replies[0]!.body.response?.uid, 'u-after');
  });

  it('answers 413 for a chunked body that grows past the limit, and closes', async () => {
    const port = (server.address() as AddressInfo).port;
    const chunk = 'a'.repeat(1024 * 1024);
    const chunks = Array.from({ length: 9 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
    const replies = responses(await raw(port, ca, `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`));
    assert.equal(replies.length, 1);
    assert.equal(replies[0]!.status, 413);
    assert.match(replies[0]!.body.response?.status?.message ?? '', /larger than the 8388608 byte limit/);
  });
});

describe('the shared budget of unfinished bodies, over HTTPS', () => {
  const BUDGET = 1024 * 1024;
  let server: Server;
  let ca: string;
  before(async () => {
    const certs = generateCertificates({ service: 'driftgate', namespace: 'driftgate', days: 1 });
    ca = certs.caCert;
    const app = buildApp({ review: reviewDeps(), readiness: { notReady: () => [] }, validate: { bodyBudget: BUDGET } });
    server = createHttpsServer({ cert: certs.cert, key: certs.key }, app);
    server.on('clientError', framingErrorHandler());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** Sends `bytes` over TLS and resolves once they are written (the connection stays open). */
  /** `from`: another loopback address, i.e. another client */
  const open = (bytes: string, from?: string) =>
    new Promise<ReturnType<typeof connect>>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca, servername: 'localhost', ...(from ? { localAddress: from } : {}) }, () => socket.write(bytes, () => resolve(socket)));
      socket.on('error', reject);
    });
  const head = (length: number) => `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

  it('gives the budget back when clients go away mid-body, so later large bodies are still decided', async () => {
    for (let round = 0; round < 3; round += 1) {
      const held = await Promise.all(['127.0.0.2', '127.0.0.3'].map((from) => open(`${head(2 * BUDGET)}${' '.repeat(BUDGET / 2 - 1000)}`, from)));
      await settle();
      for (const s of held) s.destroy();
      await settle();
    }
    const body = setImage('api', 'u-budget');
    const padded = `${body.slice(0, -1)}${' '.repeat(BUDGET / 2)}}`; // one body in many TLS records, under the budget
    const replies = responses(await raw((server.address() as AddressInfo).port, ca, `${head(Buffer.byteLength(padded)).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}${padded}`));
    assert.equal(replies.length, 1);
    assert.equal(replies[0]!.status, 200);
    assert.equal(replies[0]!.body.response?.uid, 'u-budget');
  });

  /** Everything the held connections are sent back before they are closed, as AdmissionReview replies. */
  const repliesOf = (held: ReturnType<typeof connect>[]) =>
    Promise.all(held.map((s) => new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
      setTimeout(() => s.destroy(), 300);
    }))).then((streams) => streams.flatMap(responses));

  it('answers 503 once unfinished bodies from several clients hold the budget, and closes that connection', async () => {
    const held = await Promise.all(['127.0.0.2', '127.0.0.3', '127.0.0.4'].map((from) => open(`${head(2 * BUDGET)}${' '.repeat(BUDGET / 3 + 40_000)}`, from)));
    await settle();
    const replies = await repliesOf(held);
    assert.equal(replies.length, 1, 'one of the three bodies is over the budget');
    assert.equal(replies[0]!.status, 503);
    assert.match(replies[0]!.body.response?.status?.message ?? '', /unfinished request bodies already hold 1048576 bytes, the webhook's budget: retry shortly/);
  });

  it('keeps a quarter of the budget from any one client: its bodies are answered 503 first, another client\'s are decided', async () => {
    const held = await Promise.all([0, 1].map(() => open(`${head(2 * BUDGET)}${' '.repeat(BUDGET / 2)}`, '127.0.0.5')));
    await settle();
    const body = setImage('api', 'u-other-client');
    const padded = `${body.slice(0, -1)}${' '.repeat(BUDGET / 5)}}`;
    const other = responses(await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca, servername: 'localhost', ...{ localAddress: '127.0.0.6' } /* net's option; tls's types omit it */ }, () => {
        socket.write(`${head(Buffer.byteLength(padded)).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}${padded}`);
      });
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.on('error', reject);
    }));
    const mine = await repliesOf(held);
    assert.deepEqual(mine.map((r) => r.status), [503]);
    assert.match(mine[0]!.body.response?.status?.message ?? '', /this client's unfinished request bodies already hold 786432 bytes, its share of the webhook's budget: retry shortly/);
    assert.deepEqual(other.map((r) => [r.status, r.body.response?.uid]), [[200, 'u-other-client']]);
  });
});
