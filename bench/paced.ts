/**
 * A fixed request rate, paced: request i is due at start + i / rate, whatever happened to the ones
 * before it (an open loop, the model of wrk2 and of an API server serving many users at once). Its
 * latency is counted from when it was due, not from when it went out, so a server that stalls is
 * charged for the queue it builds behind the stall (no "coordinated omission").
 *
 * Why not autocannon's `overallRate`: autocannon lets each connection send its share of a second
 * back to back as soon as the second starts and then idle until the next one, so "500 req/s over 10
 * connections" arrives as a burst of 500 requests at the top of every second (10 in flight, ~75 ms of
 * saturation, then nothing). Its percentiles are those of the burst, and the client's --trace-gc shows
 * the server's scavenges clustered in the first 70 ms of each second. bench/run.ts keeps that figure
 * too, named as what it is.
 *
 * The requests go over `connections` keep-alive HTTPS connections (node:https, one Agent); when all of
 * them are busy a due request waits for one, and that wait is part of its latency. The scheduler wakes
 * on a timer at each due time; Node's timers have millisecond resolution and fire up to ~1 ms late
 * (more when the client shares its core), which is the client's, not the server's: the latency is
 * counted from when the client set out to send (every request due by then goes out in that wake-up),
 * and the latency from the due time, timer lateness included, is reported beside it (`dueP99`).
 */
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';
import { percentile } from './stats.ts';

export interface PacedOptions {
  readonly port: number;
  readonly ca: string;
  readonly rate: number;
  readonly seconds: number;
  readonly connections: number;
  readonly bodies: readonly string[];
  readonly path?: string;
  readonly host?: string;
  readonly servername?: string;
}

export interface PacedFigures {
  /** requests due in the run (rate × seconds) */
  readonly due: number;
  readonly answered: number;
  /** answers per second over the run, from the first due time to the last answer */
  readonly rps: number;
  /**
   * latency from the moment the client set out to send the request to the answer's last byte, ms: the
   * wait for a free connection (behind a stalled server) is in it, the client's own timer lateness not
   */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** latency from the due time, ms: the above plus how late the client's timer woke (p99) */
  readonly dueP99: number;
  /** how late the client's timer sent a request after its due time, ms (p99): the client's own share */
  readonly lateP99: number;
  /** transport errors and non-2xx answers */
  readonly errors: number;
}

/** Drive one target at a paced rate; resolves when every due request has its answer or its error. */
export function paced(opts: PacedOptions): Promise<PacedFigures> {
  const { rate, seconds, connections } = opts;
  if (!(rate > 0) || !(seconds > 0) || !(connections >= 1) || opts.bodies.length === 0) {
    throw new RangeError('paced: rate, seconds and connections must be positive and bodies non-empty');
  }
  const due = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const bodies = opts.bodies.map((b) => Buffer.from(b));
  const agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections, ca: opts.ca });
  const fromAttempt: number[] = [];
  const fromDue: number[] = [];
  const late: number[] = [];
  let errors = 0;
  let settled = 0;
  let lastAnswer = 0;
  const start = performance.now() + 20; // the first due time, a moment after set-up

  return new Promise((resolve) => {
    const finish = () => {
      agent.destroy();
      for (const xs of [fromAttempt, fromDue, late]) xs.sort((a, b) => a - b);
      resolve({
        due,
        answered: fromAttempt.length,
        rps: fromAttempt.length / Math.max(1e-9, (lastAnswer - start) / 1000),
        p50: percentile(fromAttempt, 50),
        p99: percentile(fromAttempt, 99),
        max: fromAttempt[fromAttempt.length - 1] ?? 0,
        dueP99: percentile(fromDue, 99),
        lateP99: percentile(late, 99),
        errors,
      });
    };
    const done = () => {
      settled += 1;
      if (settled === due) finish();
    };
    const send = (i: number, dueAt: number, attemptAt: number) => {
      const body = bodies[i % bodies.length]!;
      const req = request(
        {
          host: opts.host ?? '127.0.0.1',
          port: opts.port,
          path: opts.path ?? '/validate?timeout=5s',
          method: 'POST',
          agent,
          servername: opts.servername ?? 'localhost',
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => {
            const now = performance.now();
            lastAnswer = now;
            if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) {
              fromAttempt.push(now - attemptAt);
              fromDue.push(now - dueAt);
            } else {
              errors += 1;
            }
            done();
          });
        },
      );
      req.on('error', () => {
        errors += 1;
        done();
      });
      req.end(body);
    };
    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < due && start + next * interval <= now) {
        const dueAt = start + next * interval;
        late.push(now - dueAt);
        send(next, dueAt, now);
        next += 1;
      }
      if (next < due) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
}
