/**
 * Builds the HTTP handler from injected dependencies. It never listens: server.ts binds ports,
 * tests call it in-process with supertest. POST /validate goes to the admission handler; every other
 * route is served by express.
 */
import express, { type Express } from 'express';
import type { ReviewDeps } from './admission/review.ts';
import { consoleRouter, type ConsoleDeps } from './console/console.ts';
import { errorHandler, notFound } from './http/errors.ts';
import { grantsApi, type ApiDeps } from './http/api/grants-api.ts';
import { ownersApi, type OwnersDeps } from './http/api/owners-api.ts';
import { isValidateRequest, validateHandler, type NodeHandler, type ValidateOptions } from './http/validate-handler.ts';

export interface Readiness {
  /** reasons the server is not ready; empty when ready */
  notReady(): string[];
}

export interface AppDeps {
  readonly review: ReviewDeps;
  readonly readiness: Readiness;
  readonly validate?: ValidateOptions;
  /** the break-glass API; absent: only the webhook and health endpoints are served */
  readonly api?: ApiDeps;
  /** driftgate's public grant-signing keys */
  readonly jwks?: () => unknown;
  /** the web console under /ui/; absent: not served */
  readonly console?: ConsoleDeps;
  /** GET /v1/owners: GitOps owner health and open tasks; absent: not served */
  readonly owners?: OwnersDeps;
  /** Prometheus exposition for GET /metrics */
  readonly metrics?: () => Promise<{ contentType: string; body: string }>;
}

export function buildApi(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const reasons = deps.readiness.notReady();
    res.status(reasons.length === 0 ? 200 : 503).json(reasons.length === 0 ? { status: 'ready' } : { status: 'not ready', reasons });
  });
  if (deps.jwks) {
    const jwks = deps.jwks;
    app.get('/.well-known/jwks.json', (_req, res) => {
      res.json(jwks());
    });
  }
  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get('/metrics', async (_req, res, next) => {
      try {
        const m = await metrics();
        res.type(m.contentType).send(m.body);
      } catch (err) {
        next(err);
      }
    });
  }
  if (deps.api) app.use(grantsApi(deps.api));
  if (deps.owners) app.use(ownersApi(deps.owners));
  if (deps.console) app.use('/ui', consoleRouter(deps.console));
  app.use(notFound);
  app.use(errorHandler);
  return app;
}

export function buildApp(deps: AppDeps): NodeHandler {
  const validate = validateHandler(deps.review, deps.validate);
  const api = buildApi(deps);
  return (req, res) => (isValidateRequest(req) ? validate(req, res) : api(req, res));
}
