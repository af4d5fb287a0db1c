import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { CommanderError } from 'commander';
import { buildProgram } from '../../src/cli/program.ts';
import { DriftgateError } from '../../src/errors.ts';
import { checkedMaxConnections, closeSilentConnections, DEFAULT_MAX_CONNECTIONS, DROP_WARNING_INTERVAL_MS, limitConnections, MIN_MAX_CONNECTIONS } from '../../src/http/connection-limit.ts';
import { generateCertificates } from '../../src/tls/certs.ts';
import { createLogger } from '../../src/log.ts';
import { LogSink } from '../helpers/deps.ts';

/** `driftgate serve` parsed in-process up to the first usage error (a bad value never reaches the action). */
async function serveUsageError(args: readonly string[], env?: string): Promise<{ code: string; stderr: string }> {
  let stderr = '';
  const saved = process.env.DRIFTGATE_MAX_CONNECTIONS;
  if (env !== undefined) process.env.DRIFTGATE_MAX_CONNECTIONS = env;
  try {
    await buildProgram({ stdout: () => undefined, stderr: (s) => (stderr += s) }, 'driftgate').parseAsync(['serve', ...args], { from: 'user' });
    throw new Error(`serve ${args.join(' ')} started`);
  } catch (err) {
    assert.ok(err instanceof CommanderError, String(err));
    return { code: err.code, stderr };
  } finally {
    if (saved === undefined) delete process.env.DRIFTGATE_MAX_CONNECTIONS;
    else process.env.DRIFTGATE_MAX_CONNECTIONS = saved;
  }
}

describe('--max-connections / DRIFTGATE_MAX_CONNECTIONS', () => {
  for (const value of ['15', '0', '-1', '16.5', '1e3', '0x40', 'lots', '', '99999999999999999999']) {
    it(`refuses ${JSON.stringify(value)} as a flag and from the environment, saying what is accepted`, async () => {
      for (const r of [await serveUsageError(['--max-connections', value]), await serveUsageError([], value)]) {
        assert.equal(r.code, 'commander.invalidArgument');
        assert.match(r.stderr, /max-connections/);
        assert.match(r.stderr, /must be a whole number of connections, at least 16 \(default 1024; each open connection costs ~60 KiB\)/);
      }
    });
  }

  it('lists the flag, its environment variable and its default in serve --help', async () => {
    let help = '';
    await assert.rejects(buildProgram({ stdout: (s) => (help += s), stderr: () => undefined }, 'driftgate').parseAsync(['serve', '--help'], { from: 'user' }), CommanderError);
    assert.match(help.replace(/\s+/g, ' '), /--max-connections <n> .*\(default: 1024, env: DRIFTGATE_MAX_CONNECTIONS\)/);
  });

  for (const [given, expected] of [[undefined, DEFAULT_MAX_CONNECTIONS], [MIN_MAX_CONNECTIONS, MIN_MAX_CONNECTIONS], [50_000, 50_000]] as const) {
    it(`starts a server with ${String(expected)} when given ${String(given)}`, () => {
      assert.equal(checkedMaxConnections(given), expected);
    });
  }

  for (const bad of [15, 0, -3, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`refuses ${String(bad)} from a caller of startServer with INPUT_INVALID`, () => {
      assert.throws(() => checkedMaxConnections(bad), (err: unknown) => err instanceof DriftgateError && err.code === 'INPUT_INVALID' && /--max-connections .*at least 16/.test(err.message));
    });
  }
});

describe('limitConnections: dropped connections are counted each and logged at most once a minute', () => {
  async function capped(t: TestContext) {
    const sink = new LogSink();
    let counted = 0;
    const server: Server = createServer((s) => s.on('error', () => undefined));
    const limit = limitConnections(server, { max: 1, name: 'webhook', flag: '--max-connections', logger: createLogger('info', sink.stream), onDrop: () => (counted += 1) });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const open: Socket[] = [];
    t.after(async () => {
      limit.stop();
      for (const s of open) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    });
    const holder = connect(port, '127.0.0.1');
    open.push(holder);
    await once(server, 'connection');
    /** one connection past the cap; resolves once the server dropped it */
    const drop = async (): Promise<void> => {
      const dropped = once(server, 'drop');
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      open.push(s);
      await dropped;
    };
    const warnings = () => sink.lines.filter((l) => l.level === 'warn').map((l) => l.dropped);
    return { sink, drop, warnings, counted: () => counted };
  }

  it('warns at the first drop, then once per interval with the count since the last warning, and again at once after a quiet interval', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const c = await capped(t);
    await c.drop();
    assert.deepEqual(c.warnings(), [1]);
    await c.drop();
    await c.drop();
    assert.deepEqual(c.warnings(), [1], 'no second warning within the interval');
    t.mock.timers.tick(DROP_WARNING_INTERVAL_MS);
    assert.deepEqual(c.warnings(), [1, 2]);
    t.mock.timers.tick(DROP_WARNING_INTERVAL_MS);
    assert.deepEqual(c.warnings(), [1, 2], 'a quiet interval logs nothing');
    await c.drop();
    assert.deepEqual(c.warnings(), [1, 2, 1]);
    assert.equal(c.counted(), 4, 'every drop is counted as it happens');
  });

  it('names the server, the limit, the flag and who holds the connections', async (t) => {
    const c = await capped(t);
    await c.drop();
    const w = c.sink.lines.find((l) => l.level === 'warn');
    assert.deepEqual(
      { server: w?.server, dropped: w?.dropped, maxConnections: w?.maxConnections, holders: w?.holders, lastDroppedPeer: w?.lastDroppedPeer },
      { server: 'webhook', dropped: 1, maxConnections: 1, holders: [{ address: '127.0.0.1', connections: 1 }], lastDroppedPeer: '127.0.0.1' },
    );
    assert.match(String(w?.msg), /webhook server: 1 new connection\(s\) closed unanswered .*--max-connections.*connections-dropped/);
  });
});

describe('closeSilentConnections: a connection that starts no request is closed, one that did is not', () => {
  const SILENCE_MS = 150;
  const certs = generateCertificates({ service: 'driftgate', namespace: 'driftgate', days: 1 });
  const kinds = [
    {
      name: 'TLS (after the handshake)',
      serve: (h: (req: IncomingMessage, res: ServerResponse) => void) => {
        const server = createHttpsServer({ cert: certs.cert, key: certs.key }, h);
        closeSilentConnections(server, 'secureConnection', SILENCE_MS);
        return server;
      },
      open: (port: number): Promise<Socket> =>
        new Promise((resolve, reject) => {
          const s = tlsConnect({ host: '127.0.0.1', port, ca: certs.caCert, servername: 'localhost' }, () => resolve(s));
          s.once('error', reject);
        }),
    },
    {
      name: 'plain HTTP',
      serve: (h: (req: IncomingMessage, res: ServerResponse) => void) => {
        const server = createHttpServer(h);
        closeSilentConnections(server, 'connection', SILENCE_MS);
        return server;
      },
      open: (port: number): Promise<Socket> =>
        new Promise((resolve, reject) => {
          const s = connect(port, '127.0.0.1', () => resolve(s));
          s.once('error', reject);
        }),
    },
  ];

  /** everything the server writes on `s` until it closes the connection */
  const received = (s: Socket): Promise<string> =>
    new Promise((resolve) => {
      let text = '';
      s.on('data', (c: Buffer) => (text += c.toString('latin1')));
      s.on('error', () => undefined);
      s.once('close', () => resolve(text));
    });

  for (const kind of kinds) {
    it(`${kind.name}: closes the silent connection unanswered, and keeps one whose request is still being answered past the same silence`, async (t) => {
      let requestArrived = (): void => undefined;
      const requested = new Promise<void>((resolve) => (requestArrived = resolve));
      let release = (): void => undefined;
      const answerHeld = new Promise<void>((resolve) => (release = resolve));
      const server = kind.serve((_req, res) => {
        requestArrived();
        void answerHeld.then(() => res.writeHead(200, { connection: 'close' }).end('ok'));
      });
      t.after(() => new Promise((done) => server.close(done)));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as AddressInfo).port;
      const busy = await kind.open(port);
      const busyAnswer = received(busy);
      busy.write('GET / HTTP/1.1\r\nhost: localhost\r\n\r\n');
      await requested;
      // set up after the busy connection: the silent one's time runs out after the busy one's would have
      const silent = await kind.open(port);
      assert.equal(await received(silent), '', 'the silent connection was closed without a byte');
      release();
      assert.match(await busyAnswer, /^HTTP\/1\.1 200 /, 'the connection with a request in progress was answered');
      busy.destroy();
    });
  }
});
