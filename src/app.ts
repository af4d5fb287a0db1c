/**
 * Builds the HTTP handler from injected dependencies. It never listens: server.ts binds ports,
 * tests call it in-process with supertest. POST /validate goes to the admission handler, the probes
 * are answered on node:http (probes.ts); every other route is served by express (express-app.ts),
 * loaded on the first request that needs it.
 */
import type { ReviewDeps } from './admission/review.ts';
import type { ConsoleDeps } from './console/console.ts';
import type { ApiDeps } from './http/api/grants-api.ts';
import type { OwnersDeps } from './http/api/owners-api.ts';
import { isValidateRequest, validateHandler, type NodeHandler, type ValidateOptions } from './http/validate-handler.ts';
import { answerProbe, type Readiness } from './probes.ts';

export type { Readiness } from './probes.ts';

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

export function buildApp(deps: AppDeps): NodeHandler {
  const validate = validateHandler(deps.review, deps.validate);
  let api: Promise<NodeHandler> | undefined;
  const rest: NodeHandler = (req, res) => {
    api ??= import('./express-app.ts').then((m) => m.buildApi(deps));
    api.then(
      (handle) => handle(req, res),
      (err: unknown) => {
        deps.review.logger.error({ err: String(err) }, 'the API routes could not be loaded');
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end('{"error":{"code":"INTERNAL","message":"internal error"}}');
      },
    );
  };
  return (req, res) => (isValidateRequest(req) ? validate(req, res) : answerProbe(req, res, deps.readiness) || rest(req, res));
}
