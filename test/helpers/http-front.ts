/**
 * The webhook's HTTP front as server.ts builds it (buildApp behind an HTTPS server with a request deadline
 * and framingErrorHandler), with a short deadline, task records that can be held back, and a raw TLS
 * connection that keeps every byte the server sends: what the hostile-client suites drive.
 */
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { buildApp } from '../../src/app.ts';
import type { ReviewResult } from '../../src/admission/review.ts';
import { DEFAULT_BODY_BUDGET, DEFAULT_BODY_LIMIT } from '../../src/http/request-body.ts';
import { framingErrorHandler } from '../../src/http/validate-handler.ts';
import type { TaskDraft, TaskRecorder } from '../../src/tasks/task.ts';
import { generateCertificates } from '../../src/tls/certs.ts';
import { grant, MemoryGrants, reviewDeps } from './deps.ts';

export const CERTS = generateCertificates({ service: 'driftgate', namespace: 'driftgate', days: 1 });
/** How long a test waits for something that must happen before it calls the server hung (not a speed check). */
export const HANG_MS = 8000;
/** The front's request deadline unless a suite asks for another. */
export const DEADLINE_MS = 300;

export const head = (extra = '') => `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${extra}\r\n`;
export const post = (body: string | Buffer, extra = '') => `${head(`Content-Length: ${Buffer.byteLength(body)}\r\n${extra}`)}${body.toString()}`;

/** Task records that can be held back, so a bypass's answer waits as long as a test wants. */
export class HeldTasks implements TaskRecorder {
  readonly drafts: TaskDraft[] = [];
  private gate: Promise<void> = Promise.resolve();
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise<void>((resolve) => (release = resolve));
    return () => release();
  }
  async recordBypass(draft: TaskDraft): Promise<{ id: string }> {
    await this.gate;
    this.drafts.push(draft);
    return { id: `task-${this.drafts.length}` };
  }
}

export interface Front {
  readonly server: Server;
  readonly port: number;
  readonly tasks: HeldTasks;
  /** every onResult call, from the handler and from framingErrorHandler: one per answered request */
  readonly results: ReviewResult[];
  /** every 'clientError' code the server raised */
  readonly clientErrors: string[];
  /** exceptions nothing caught while the front ran */
  readonly uncaught: unknown[];
  close(): Promise<void>;
}

export interface FrontOptions {
  readonly deadlineMs?: number;
  readonly bodyLimit?: number;
  readonly bodyBudget?: number;
}

/** Starts the front on a free loopback port; alice holds a grant for the memory limit of deployment(). */
export async function front(opts: FrontOptions = {}): Promise<Front> {
  const deadlineMs = opts.deadlineMs ?? DEADLINE_MS;
  const tasks = new HeldTasks();
  const results: ReviewResult[] = [];
  const clientErrors: string[] = [];
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  const app = buildApp({
    review: reviewDeps({ grants: new MemoryGrants([grant()]), tasks }),
    readiness: { notReady: () => [] },
    validate: { bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT, bodyBudget: opts.bodyBudget ?? DEFAULT_BODY_BUDGET, onResult: (r) => results.push(r) },
  });
  const server = createHttpsServer({ cert: CERTS.cert, key: CERTS.key, requestTimeout: deadlineMs, headersTimeout: deadlineMs, connectionsCheckingInterval: 50 }, app);
  server.on('clientError', framingErrorHandler((r) => results.push(r), deadlineMs));
  server.on('clientError', (err: Error & { code?: string }) => clientErrors.push(err.code ?? ''));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    tasks,
    results,
    clientErrors,
    uncaught,
    close: async () => {
      process.removeListener('uncaughtException', onUncaught);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Reply {
  status: number;
  headers: string;
  body: { kind?: string; response?: { uid: string; allowed: boolean; status?: { code: number; message: string } } } | undefined;
}

/** A raw TLS connection that keeps every byte the server sends and parses the HTTP responses in them. */
export class Conn {
  private readonly chunks: Buffer[] = [];
  private readonly waiters = new Set<() => void>();
  readonly closed: Promise<void>;
  isClosed = false;

  readonly socket: TLSSocket;

  private constructor(socket: TLSSocket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.chunks.push(c);
      for (const w of this.waiters) w();
    });
    socket.on('error', () => {}); // a reset by the server shows as 'close'
    this.closed = new Promise<void>((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        for (const w of this.waiters) w();
        resolve();
      }),
    );
  }

  /** `localAddress`: connect from another loopback address, as another client (another peer) would */
  static open(port: number, localAddress?: string): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ca: CERTS.caCert, servername: 'localhost', ...(localAddress ? { localAddress } : {}) }, () => resolve(new Conn(socket)));
      socket.once('error', reject);
    });
  }

  /** Writes `bytes`; on a connection already closed, writes nothing. */
  write(bytes: string | Buffer): Promise<void> {
    if (this.isClosed || this.socket.destroyed || !this.socket.writable) return Promise.resolve();
    return new Promise((resolve) => this.socket.write(bytes, () => resolve()));
  }

  /** Writes `piece` every `everyMs` until the server closes the connection or `stop` says so. */
  stream(piece: string, everyMs: number, stop: () => boolean = () => false): Promise<void> {
    return new Promise((resolve) => {
      const timer = setInterval(() => {
        if (this.isClosed || stop()) {
          clearInterval(timer);
          resolve();
        } else void this.write(piece);
      }, everyMs);
    });
  }

  /**
   * Resolves once `done` holds (checked on every byte, on close and every 10 ms, for conditions on the
   * server's side); rejects when it does not hold within `ms` (the server hung).
   */
  until(done: () => boolean, what: string, ms = HANG_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const stop = (): void => {
        this.waiters.delete(check);
        clearTimeout(timer);
        clearInterval(poll);
      };
      const check = (): void => {
        if (!done()) return;
        stop();
        resolve();
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`server hung: ${what} (got ${this.replies().length} replies, closed: ${this.isClosed})`));
      }, ms);
      const poll = setInterval(check, 10);
      this.waiters.add(check);
      check();
    });
  }

  /** Waits for the server to close the connection and returns everything it answered. */
  async repliesUntilClosed(): Promise<Reply[]> {
    await this.until(() => this.isClosed, 'the connection was never closed');
    return this.replies();
  }

  async waitReplies(n: number): Promise<Reply[]> {
    await this.until(() => this.replies().length >= n || this.isClosed, `waiting for ${n} replies`);
    return this.replies();
  }

  /** Every complete final response received so far (1xx interim answers left out). */
  replies(): Reply[] {
    const out: Reply[] = [];
    let rest = Buffer.concat(this.chunks);
    while (rest.subarray(0, 5).toString('latin1') === 'HTTP/') {
      const headEnd = rest.indexOf('\r\n\r\n');
      if (headEnd < 0) break;
      const headers = rest.subarray(0, headEnd).toString('latin1');
      const status = Number(headers.slice(9, 12));
      const length = status < 200 ? 0 : Number(/content-length: *(\d+)/i.exec(headers)?.[1] ?? '0');
      if (rest.length < headEnd + 4 + length) break;
      const text = rest.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8');
      out.push({ status, headers, body: length > 0 ? (JSON.parse(text) as Reply['body']) : undefined });
      rest = rest.subarray(headEnd + 4 + length);
    }
    return out.filter((r) => r.status >= 200);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
