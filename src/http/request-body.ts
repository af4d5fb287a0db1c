/**
 * Reading one request body into memory, bounded twice: each body by a size limit, and all unfinished
 * bodies together by a budget (with a per-client share of it), so that many slow or hostile clients
 * cannot pin the process's memory. The caller owns the HTTP answer; this module only reads and counts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DriftgateError } from '../errors.ts';

export const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;

/**
 * Bytes all unfinished request bodies together may hold. One body may hold DEFAULT_BODY_LIMIT; without
 * a shared cap, a thousand connections trickling 8 MiB bodies would pin 8 GiB until their deadline.
 */
export const DEFAULT_BODY_BUDGET = 32 * 1024 * 1024;

/** What unfinished bodies hold together, and how much they may. */
export interface BodyBudget {
  held: number;
  readonly max: number;
  /** what the bodies from one peer address may hold: three quarters, so one client cannot starve the API server */
  readonly perPeer: number;
  readonly byPeer: Map<string, number>;
}

/**
 * Reads the whole body, at most `limit` bytes, and calls `done` once (not at all if the client goes
 * away). A body that arrives in more than one piece counts against the shared budget, and against its
 * peer address's three quarters of it, until its request or its response ends, however it ends; the first piece
 * does not (a body that fits in one is done at once).
 */
export function readBody(req: IncomingMessage, res: ServerResponse, limit: number, budget: BodyBudget, done: (err: DriftgateError | undefined, body?: Buffer) => void): () => void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    done(tooLarge(limit)); // refused before a byte of it is read
    return () => undefined;
  }
  const chunks: Buffer[] = [];
  const peer = req.socket.remoteAddress ?? '';
  let size = 0;
  let counted = 0;
  let releasing = false;
  const release = (): void => {
    if (counted === 0) return;
    budget.held -= counted;
    const left = (budget.byPeer.get(peer) ?? 0) - counted;
    if (left > 0) budget.byPeer.set(peer, left);
    else budget.byPeer.delete(peer);
    counted = 0;
  };
  /** Stops reading: what arrives from now on is neither kept nor counted. */
  const abandon = (): void => {
    req.removeListener('data', onData);
    req.removeListener('end', onEnd);
    chunks.length = 0;
    release();
  };
  const stop = (err: DriftgateError): void => {
    abandon();
    done(err);
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > limit) return stop(tooLarge(limit));
    if (chunks.length > 0) {
      if (budget.held + chunk.length > budget.max) return stop(busy(`unfinished request bodies already hold ${budget.max} bytes, the webhook's budget`));
      const mine = budget.byPeer.get(peer) ?? 0;
      if (mine + chunk.length > budget.perPeer) return stop(busy(`this client's unfinished request bodies already hold ${budget.perPeer} bytes, its share of the webhook's budget`));
      budget.byPeer.set(peer, mine + chunk.length);
      if (!releasing) {
        // A request answered before its body ended (its deadline, a framing error) leaves Node's list
        // of open requests without emitting 'close'; its response always emits one.
        releasing = true;
        req.once('close', release);
        res.once('close', release);
      }
      counted += chunk.length;
      budget.held += chunk.length;
    }
    chunks.push(chunk);
  };
  const onEnd = (): void => {
    release();
    done(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  };
  req.on('data', onData);
  req.on('end', onEnd);
  return abandon;
}

function busy(what: string): DriftgateError {
  return new DriftgateError('REVIEW_BUSY', `${what}: retry shortly`);
}

function tooLarge(limit: number): DriftgateError {
  return new DriftgateError('REVIEW_TOO_LARGE', `request body is larger than the ${limit} byte limit`);
}

/** A budget of `max` bytes, of which one peer address may hold three quarters. */
export function bodyBudget(max: number): BodyBudget {
  return { held: 0, max, perPeer: Math.floor((max * 3) / 4), byPeer: new Map() };
}
