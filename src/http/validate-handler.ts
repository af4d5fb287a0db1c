/**
 * POST /validate: the only place the admission pipeline touches HTTP, and the hottest path in the
 * product (every kubectl write in a protected namespace waits on it). It is a plain Node handler in
 * front of express, measured at ~60 µs less per request than the same work as express middleware.
 *
 * Checks the content type, reads the body under the size limit, hands the text to the pipeline and
 * writes the AdmissionReview. Input the webhook cannot decide is answered inside an AdmissionReview
 * too (uid echoed when known), with the HTTP status equal to the review's status.code.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import getRawBody from 'raw-body';
import { DriftgateError } from '../errors.ts';
import { bodyText, uidOfBytes } from '../admission/decode.ts';
import { encodeError } from '../admission/encode.ts';
import { reviewBody, type ReviewDeps, type ReviewResult } from '../admission/review.ts';
import type { AdmissionReviewResponse } from '../admission/types.ts';

export const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;
/** A body not complete this long after its headers (e.g. shorter than its Content-Length) is answered 400. */
export const DEFAULT_BODY_TIMEOUT_MS = 10_000;

export interface ValidateOptions {
  readonly bodyLimit?: number;
  readonly bodyTimeoutMs?: number;
  /** called once per answered request (metrics) */
  readonly onResult?: (r: ReviewResult) => void;
}

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function isValidateRequest(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  return req.method === 'POST' && (url === '/validate' || url.startsWith('/validate?'));
}

const UTF8 = new Set(['utf-8', 'utf8']);

function contentTypeError(req: IncomingMessage): DriftgateError | undefined {
  const [type, ...params] = (req.headers['content-type'] ?? '').split(';');
  if (type!.trim().toLowerCase() !== 'application/json') {
    return new DriftgateError(
      'REVIEW_UNSUPPORTED_MEDIA_TYPE',
      `content type ${req.headers['content-type'] ?? '(none)'} is not supported: send application/json`,
    );
  }
  for (const param of params) {
    const [name, value = ''] = param.split('=', 2).map((x) => x.trim().toLowerCase().replace(/^"(.*)"$/, '$1'));
    if (name === 'charset' && !UTF8.has(value)) {
      return new DriftgateError('REVIEW_UNSUPPORTED_MEDIA_TYPE', `charset ${value.slice(0, 40) || '(empty)'} is not supported: send application/json in UTF-8`);
    }
  }
  return undefined;
}

function bodyError(err: unknown, limit: number): DriftgateError {
  const e = err as { type?: string; message?: string };
  if (e.type === 'entity.too.large') return new DriftgateError('REVIEW_TOO_LARGE', `request body is larger than the ${limit} byte limit`);
  if (e.type === 'request.size.invalid') return new DriftgateError('REVIEW_MALFORMED', 'the request body does not match its Content-Length');
  return new DriftgateError('REVIEW_MALFORMED', `could not read the request body: ${e.message ?? 'unknown error'}`);
}

function send(res: ServerResponse, status: number, review: AdmissionReviewResponse, close = false): void {
  const body = JSON.stringify(review);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(body);
}

export function validateHandler(deps: ReviewDeps, opts: ValidateOptions = {}): NodeHandler {
  const limit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const bodyTimeoutMs = opts.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  const reject = (res: ServerResponse, err: DriftgateError, close: boolean, uid = ''): void => {
    if (res.headersSent || res.destroyed) return;
    const review = encodeError(uid, err);
    opts.onResult?.({ review, outcome: 'errored', operation: 'UNKNOWN', httpStatus: err.status, verdict: undefined, seconds: 0 });
    send(res, err.status, review, close);
  };
  return (req, res) => {
    const typeError = contentTypeError(req);
    if (typeError) return reject(res, typeError, true);
    const encoding = req.headers['content-encoding'];
    if (encoding && encoding !== 'identity') {
      return reject(res, new DriftgateError('REVIEW_UNSUPPORTED_MEDIA_TYPE', `content encoding ${encoding} is not supported`), true);
    }
    // A body that stops short of its Content-Length would hold the request until the server's timeout.
    const stalled = setTimeout(() => {
      reject(res, new DriftgateError('REVIEW_MALFORMED', `the request body did not arrive within ${bodyTimeoutMs} ms (shorter than its Content-Length?)`), true);
    }, bodyTimeoutMs);
    res.once('close', () => clearTimeout(stalled));
    getRawBody(req, { limit, length: req.headers['content-length'] }).then(
      async (buf) => {
        clearTimeout(stalled);
        let text: string;
        try {
          text = bodyText(buf);
        } catch (err) {
          return reject(res, err as DriftgateError, false, uidOfBytes(buf));
        }
        const result = await reviewBody(text, deps);
        opts.onResult?.(result);
        send(res, result.httpStatus, result.review);
      },
      // An unread or oversized body leaves the connection in an unknown state: close it.
      (err: unknown) => {
        clearTimeout(stalled);
        reject(res, bodyError(err, limit), true);
      },
    );
  };
}

interface ClientSocket {
  readonly writable: boolean;
  /** the response in flight on this connection (Node's own field; its default handler reads it too) */
  readonly _httpMessage?: ServerResponse | null;
  end(data: string): void;
  destroy(): void;
}

function framingReview(err: Error & { code?: string }, onResult?: (r: ReviewResult) => void): AdmissionReviewResponse {
  const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT';
  const failure = new DriftgateError(
    'REVIEW_MALFORMED',
    timeout
      ? 'the request did not arrive in time'
      : `the HTTP request is malformed (${/^[A-Z_]{1,60}$/.test(err.code ?? '') ? err.code : 'parse error'}): send one Content-Length or chunked body, not both, and exactly as many bytes as announced`,
  );
  const review = encodeError('', failure);
  onResult?.({ review, outcome: 'errored', operation: 'UNKNOWN', httpStatus: failure.status, verdict: undefined, seconds: 0 });
  return review;
}

/**
 * The server's 'clientError' listener: a request Node's HTTP parser refuses (Content-Length together with
 * chunked transfer encoding, a malformed Content-Length or chunk, bytes after a body that ran past its
 * Content-Length) is answered with an AdmissionReview 400 instead of a bare one, and the connection is
 * closed. When the broken bytes are the body of the request being answered, the answer is that
 * request's response; when they follow a complete request, they are answered after its response.
 * Nothing of the input is quoted.
 */
export function framingErrorHandler(onResult?: (r: ReviewResult) => void) {
  return (err: Error & { code?: string }, socket: ClientSocket): void => {
    const inFlight = socket._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    if (inFlight && !inFlight.req.complete) {
      send(inFlight, 400, framingReview(err, onResult), true);
      return;
    }
    const answer = (): void => {
      const body = JSON.stringify(framingReview(err, onResult));
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    };
    if (inFlight && !inFlight.writableFinished) inFlight.once('finish', answer);
    else answer();
  };
}
