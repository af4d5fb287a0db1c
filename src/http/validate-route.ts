/**
 * POST /validate: the only place the admission pipeline touches HTTP. Checks the content type, reads
 * the body under the size limit, hands the text to the pipeline, and writes the AdmissionReview.
 * Input the webhook cannot decide is answered inside an AdmissionReview too (uid echoed when known),
 * with the HTTP status equal to the review's status.code.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { DriftgateError } from '../errors.ts';
import { encodeError } from '../admission/encode.ts';
import { reviewBody, type ReviewDeps, type ReviewResult } from '../admission/review.ts';

export const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;

export interface ValidateOptions {
  readonly bodyLimit?: number;
  /** called once per answered request (metrics) */
  readonly onResult?: (r: ReviewResult) => void;
}

function isJson(req: Request): boolean {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json';
}

function sendError(res: Response, err: DriftgateError, opts: ValidateOptions, seconds = 0): void {
  opts.onResult?.({ review: encodeError('', err), outcome: 'errored', operation: 'UNKNOWN', httpStatus: err.status, verdict: undefined, seconds });
  res.status(err.status).json(encodeError('', err));
}

export function validateRouter(deps: ReviewDeps, opts: ValidateOptions = {}): Router {
  const limit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const router = express.Router();
  router.post(
    '/validate',
    (req: Request, res: Response, next: NextFunction) => {
      if (isJson(req)) return next();
      const got = req.headers['content-type'] ?? '(none)';
      sendError(res, new DriftgateError('REVIEW_UNSUPPORTED_MEDIA_TYPE', `content type ${got} is not supported: send application/json`), opts);
    },
    express.raw({ type: () => true, limit, inflate: true }),
    async (req: Request, res: Response) => {
      const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      const result = await reviewBody(body, deps);
      opts.onResult?.(result);
      res.status(result.httpStatus).json(result.review);
    },
    // Body-reading failures (too large, aborted, bad encoding) still get an AdmissionReview answer.
    (err: unknown, _req: Request, res: Response, next: NextFunction) => {
      const e = err as { type?: string; status?: number; message?: string };
      if (res.headersSent) return next(err);
      if (e.type === 'entity.too.large') {
        return sendError(res, new DriftgateError('REVIEW_TOO_LARGE', `request body is larger than the ${limit} byte limit`), opts);
      }
      if (e.type === 'encoding.unsupported' || e.status === 415) {
        return sendError(res, new DriftgateError('REVIEW_UNSUPPORTED_MEDIA_TYPE', e.message ?? 'unsupported encoding'), opts);
      }
      return sendError(res, new DriftgateError('REVIEW_MALFORMED', `could not read the request body: ${e.message ?? 'unknown error'}`), opts);
    },
  );
  return router;
}
