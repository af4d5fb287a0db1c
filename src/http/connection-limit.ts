/**
 * How many connections a server holds at once. Each open TLS connection costs the webhook ~60 KiB of
 * RSS (docs/reference.md, measured): without a cap, anyone on the pod network who opens enough
 * connections gets the webhook OOM-killed (and without closeSilentConnections below, Node would keep
 * every one that never sends a request). At the cap Node destroys each new socket as it is accepted,
 * before any TLS, and emits 'drop'; connections already open (the API server's keep-alive pool) keep
 * being answered.
 *
 * A drop is counted at once (a metric) and logged at most once per interval, with the count since the
 * last warning and the addresses holding the most connections: an attack never floods the log.
 */
import type { Server, Socket } from 'node:net';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Logger } from 'pino';
import { DriftgateError } from '../errors.ts';

/** Below it, the API server's own connections and the kubelet's probes would be dropped in normal use. */
export const MIN_MAX_CONNECTIONS = 16;
/**
 * Three API servers × 100 idle keep-alive connections each (client-go's pool per host) on one replica,
 * three times over for bursts, probes, Prometheus and the grant API: 1024 × ~62 KiB ≈ 62 MiB at most.
 */
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** The plain `--metrics-port`: a Prometheus server or two, one keep-alive connection each, and a person with curl. */
export const METRICS_MAX_CONNECTIONS = 32;
/** At most one dropped-connection warning per server this often. */
export const DROP_WARNING_INTERVAL_MS = 60_000;
/** How many of the addresses holding connections a warning names. */
const HOLDERS_SHOWN = 5;

/** Why `n` cannot be the connection limit, or undefined when it can. */
export function maxConnectionsProblem(n: number): string | undefined {
  if (!Number.isSafeInteger(n) || n < MIN_MAX_CONNECTIONS) {
    return `must be a whole number of connections, at least ${MIN_MAX_CONNECTIONS} (default ${DEFAULT_MAX_CONNECTIONS}; each open connection costs ~60 KiB)`;
  }
  return undefined;
}

/** The limit a server starts with: the default, or the given value when it is a valid one. */
export function checkedMaxConnections(n: number | undefined): number {
  if (n === undefined) return DEFAULT_MAX_CONNECTIONS;
  const problem = maxConnectionsProblem(n);
  if (problem) throw new DriftgateError('INPUT_INVALID', `--max-connections ${String(n)}: ${problem}`);
  return n;
}

export interface ConnectionLimitOptions {
  readonly max: number;
  /** names the server in the log and the metric: `webhook` (the TLS port) or `metrics` */
  readonly name: string;
  /** the flag that changes `max`, named in the warning */
  readonly flag: string;
  readonly logger: Logger;
  /** each dropped connection, as it happens (the counter) */
  readonly onDrop: () => void;
  readonly warnEveryMs?: number;
}

export interface ConnectionLimit {
  /** connections open now, by remote address */
  readonly holders: ReadonlyMap<string, number>;
  /** stops the pending warning timer (the server's close) */
  stop(): void;
}

/**
 * Caps `server` at `opts.max` open connections. Open connections are counted by remote address (one
 * Map entry per peer, updated on connect and close) so that a warning can say who holds them.
 */
export function limitConnections(server: Server, opts: ConnectionLimitOptions): ConnectionLimit {
  server.maxConnections = opts.max;
  const holders = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress ?? 'unknown';
    holders.set(peer, (holders.get(peer) ?? 0) + 1);
    socket.once('close', () => {
      const left = (holders.get(peer) ?? 1) - 1;
      if (left > 0) holders.set(peer, left);
      else holders.delete(peer);
    });
  });
  const warnEveryMs = opts.warnEveryMs ?? DROP_WARNING_INTERVAL_MS;
  let pending = 0;
  let lastPeer: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const warn = (): void => {
    timer = undefined;
    if (pending === 0) return;
    const top = [...holders].sort((a, b) => b[1] - a[1]).slice(0, HOLDERS_SHOWN).map(([address, connections]) => ({ address, connections }));
    opts.logger.warn(
      { server: opts.name, dropped: pending, maxConnections: opts.max, lastDroppedPeer: lastPeer, holders: top },
      `${opts.name} server: ${pending} new connection(s) closed unanswered since the last warning: ${opts.max} connections were open (${opts.flag}); see the runbook, connections-dropped`,
    );
    pending = 0;
    timer = setTimeout(warn, warnEveryMs).unref();
  };
  server.on('drop', (data?: { remoteAddress?: string }) => {
    opts.onDrop();
    pending += 1;
    lastPeer = data?.remoteAddress;
    if (!timer) warn();
  });
  return {
    holders,
    stop: () => clearTimeout(timer),
  };
}

/**
 * Closes a connection that has not started a request `ms` after it was set up (`secureConnection`: after
 * the TLS handshake). Node closes none itself (its headersTimeout starts at a request's first byte), so
 * a silent connection would hold its place under the limit, and hold up shutdown, as long as its client
 * liked. The API server writes its request as soon as the handshake is done. Give `ms` longer than the
 * request deadline, so that a request begun and then stalled gets the deadline's answer first.
 */
export function closeSilentConnections(server: HttpServer | HttpsServer, event: 'connection' | 'secureConnection', ms: number): void {
  const silent = new WeakSet<Socket>();
  server.on(event, (socket: Socket) => {
    socket.setTimeout(ms); // Node's http server destroys a socket whose timeout nobody handles
    silent.add(socket);
  });
  server.on('request', (req: IncomingMessage) => {
    if (silent.delete(req.socket)) req.socket.setTimeout(0);
  });
}
