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
import { encodeError } from '../admission/encode.ts';
import { reviewBody, type ReviewDeps, type ReviewResult } from '../admission/review.ts';
import type { AdmissionReviewResponse } from '../admission/types.ts';

export const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;

export interface ValidateOptions {
  readonly bodyLimit?: number;
  /** called once per answered request (metrics) */
  readonly onResult?: (r: ReviewResult) => void;
}

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function isValidateRequest(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  return req.method === 'POST' && (url === '/validate' || url.startsWith('/validate?'));
}

function contentTypeError(req: IncomingMessage): DriftgateError | undefined {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type === 'application/json') return undefined;
  return new DriftgateError(
    'REVIEW_UNSUPPORTED_MEDIA_TYPE',
    `content type ${req.headers['content-type'] ?? '(none)'} is not supported: send application/json`,
  );
}

function bodyError(err: unknown, limit: number): DriftgateError {
  const e = err as { type?: string; message?: string };
  if (e.type === 'entity.too.large') return new DriftgateError('REVIEW_TOO_LARGE', `request body is larger than the ${limit} byte limit`);
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
  const reject = (res: ServerResponse, err: DriftgateError, close: boolean): void => {
    const review = encodeError('', err);
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
    getRawBody(req, { limit, length: req.headers['content-length'] }).then(
      async (buf) => {
        const result = await reviewBody(buf.toString('utf8'), deps);
        opts.onResult?.(result);
        send(res, result.httpStatus, result.review);
      },
      // An unread or oversized body leaves the connection in an unknown state: close it.
      (err: unknown) => reject(res, bodyError(err, limit), true),
    );
  };
}
