/** JSON errors for every non-admission route: `{error: {code, message}}` with the right status. */
import type { NextFunction, Request, Response } from 'express';
import { DriftgateError } from '../errors.ts';

export function sendJsonError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

export function notFound(req: Request, res: Response): void {
  sendJsonError(res, 404, 'NOT_FOUND', `no route for ${req.method} ${req.path}`);
}

export function errorHandler(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(err);
  if (err instanceof DriftgateError) return sendJsonError(res, err.status, err.code, err.message);
  const e = err as { type?: string; status?: number; message?: string };
  if (e.type === 'entity.too.large') return sendJsonError(res, 413, 'BODY_TOO_LARGE', 'request body is too large');
  if (e.type === 'entity.parse.failed') return sendJsonError(res, 400, 'BAD_JSON', `invalid JSON body: ${e.message ?? ''}`);
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return sendJsonError(res, e.status, 'BAD_REQUEST', e.message ?? 'bad request');
  }
  sendJsonError(res, 500, 'INTERNAL', 'internal error');
}
