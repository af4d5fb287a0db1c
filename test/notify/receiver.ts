/** A notification receiver for tests: a real HTTP server that records every raw delivery it gets. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RawDelivery {
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** the status the receiver answered */
  readonly status: number;
}

export class Receiver {
  readonly deliveries: RawDelivery[] = [];
  /** the status to answer with (200: accepted) */
  status = 200;
  #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<Receiver> {
    const server = createServer();
    const r = new Receiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        r.deliveries.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status: r.status });
        res.writeHead(r.status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** deliveries the receiver accepted (2xx), by the X-Driftgate-Delivery key (or the Slack text) */
  accepted(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const d of this.deliveries) {
      if (d.status >= 300) continue;
      const key = (d.headers['x-driftgate-delivery'] as string | undefined) ?? (JSON.parse(d.body) as { text: string }).text;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** Waits until `cond` holds (polling); fails with `what` if it never does. */
export async function until(cond: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limitMs) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
