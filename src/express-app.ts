/**
 * Every route but POST /validate and the probes (probes.ts), on express: the break-glass API, the
 * console, GET /v1/owners, the JWKS, /metrics on the TLS port, and the JSON 404 of every other path.
 * app.ts imports this module, and with it express, the API and the console, on the first request that
 * needs it: a webhook that answers reviews and probes only (Prometheus scrapes --metrics-port) never
 * loads them (~2 MiB of heap, docs/benchmarks.md).
 */
import express, { type Express } from 'express';
import type { AppDeps } from './app.ts';
import { consoleRouter } from './console/console.ts';
import { errorHandler, notFound } from './http/errors.ts';
import { grantsApi } from './http/api/grants-api.ts';
import { ownersApi } from './http/api/owners-api.ts';

export function buildApi(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
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
