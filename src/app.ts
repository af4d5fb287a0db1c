/**
 * Builds the express application from injected dependencies. It never listens: main.ts binds ports,
 * tests call it in-process with supertest.
 */
import express, { type Express } from 'express';
import type { ReviewDeps } from './admission/review.ts';
import { errorHandler, notFound } from './http/errors.ts';
import { validateRouter, type ValidateOptions } from './http/validate-route.ts';

export interface Readiness {
  /** reasons the server is not ready; empty when ready */
  notReady(): string[];
}

export interface AppDeps {
  readonly review: ReviewDeps;
  readonly readiness: Readiness;
  readonly validate?: ValidateOptions;
}

export function buildApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(validateRouter(deps.review, deps.validate));
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const reasons = deps.readiness.notReady();
    res.status(reasons.length === 0 ? 200 : 503).json(reasons.length === 0 ? { status: 'ready' } : { status: 'not ready', reasons });
  });
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
