/**
 * The break-glass API (SPEC §6): /v1/grants and /v1/tasks, behind Bearer authentication. Bodies are
 * validated once with zod; every failure is `{error: {code, message}}` with its HTTP status.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../../admission/review.ts';
import type { Authenticator } from '../../auth/authenticator.ts';
import { DriftgateError } from '../../errors.ts';
import type { Identity } from '../../grants/rules.ts';
import type { Policy } from '../../policy/policy.ts';
import { BreakGlassService, type GrantEventHook } from '../../service/break-glass.ts';
import type { BreakGlassStore } from '../../store/store.ts';
import { RESOLVED_STATES, type ResolvedState } from '../../tasks/rules.ts';
import { parseDuration } from '../../util/duration.ts';

export interface ApiDeps {
  readonly store: BreakGlassStore;
  readonly policy: () => Policy;
  readonly clock: Clock;
  readonly authenticator: Authenticator;
  /** a store write failed (metrics) */
  readonly onStoreError?: () => void;
  /** a grant was requested, approved, denied or revoked (notifications) */
  readonly onGrantEvent?: GrantEventHook;
  /** the break-glass trail (grant transitions, task resolutions and verifications) */
  readonly logger?: Logger;
}

const resource = z.strictObject({ group: z.string().default(''), kind: z.string().min(1), name: z.string().min(1) });
const grantBody = z.strictObject({
  namespace: z.string().min(1),
  resources: z.array(resource).min(1),
  paths: z.array(z.string().min(1)).optional(),
  operations: z.array(z.enum(['CREATE', 'UPDATE', 'DELETE'])).optional(),
  subjects: z.strictObject({ users: z.array(z.string().min(1)).optional(), groups: z.array(z.string().min(1)).optional() }).optional(),
  ttl: z.string().optional(),
  reason: z.string(),
  incident: z.string().optional(),
});
const reasonBody = z.strictObject({ reason: z.string().optional() });
const taskStates = z.enum(['pending', 'reverted', 'backported', 'accepted', 'not-applied']);
const resolveBody = z.strictObject({ as: z.enum(RESOLVED_STATES as [string, ...string[]]), evidence: z.string() });
const verificationBody = z.strictObject({
  verdict: z.enum(['backported', 'reverted', 'pending']),
  evidence: z.string().min(1),
  explanation: z.array(z.string()).max(200),
});

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  throw new DriftgateError(
    'INVALID_REQUEST',
    r.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`).join('; '),
  );
}

type Handler = (req: Request, res: Response, who: Identity) => Promise<void> | void;

export function grantsApi(deps: ApiDeps): Router {
  const service = new BreakGlassService(deps);
  const router = express.Router();
  router.use('/v1', express.json({ limit: '64kb', type: () => true }));

  const authed =
    (h: Handler) =>
    async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      try {
        const who = await deps.authenticator.authenticate(req.headers.authorization);
        await h(req, res, who);
      } catch (err) {
        if (err instanceof DriftgateError && err.code === 'STORE_UNAVAILABLE') deps.onStoreError?.();
        next(err);
      }
    };
  const param = (req: Request, name: string): string => String(req.params[name] ?? '');
  /** `?state=&namespace=` as a store filter (absent or empty values are no filter). */
  const listFilter = (req: Request): { state?: string; namespace?: string } => {
    const out: { state?: string; namespace?: string } = {};
    for (const k of ['state', 'namespace'] as const) if (typeof req.query[k] === 'string' && req.query[k] !== '') out[k] = req.query[k] as string;
    return out;
  };

  router.post(
    '/v1/grants',
    authed(async (req, res, who) => {
      res.status(201).json(await service.requestGrant(who, parse(grantBody, req.body)));
    }),
  );
  router.get(
    '/v1/grants',
    authed((req, res, who) => {
      res.json({ items: service.listGrants(who, listFilter(req)) });
    }),
  );
  router.get(
    '/v1/grants/:id',
    authed((req, res, who) => {
      res.json(service.getGrant(who, param(req, 'id')));
    }),
  );
  for (const action of ['approve', 'deny', 'revoke'] as const) {
    router.post(
      `/v1/grants/:id/${action}`,
      authed(async (req, res, who) => {
        const { reason } = parse(reasonBody, req.body);
        res.json(await service[`${action}Grant`](who, param(req, 'id'), reason));
      }),
    );
  }
  router.get(
    '/v1/tasks',
    authed((req, res, who) => {
      const { state, namespace } = listFilter(req);
      const overdue = req.query.overdue === 'true' ? true : req.query.overdue === 'false' ? false : undefined;
      res.json({ items: service.listTasks(who, { ...(state ? { state: parse(taskStates, state) } : {}), ...(namespace ? { namespace } : {}), ...(overdue !== undefined ? { overdue } : {}) }) });
    }),
  );
  router.get(
    '/v1/tasks/:id',
    authed((req, res, who) => {
      res.json(service.getTask(who, param(req, 'id')));
    }),
  );
  router.post(
    '/v1/tasks/:id/resolve',
    authed(async (req, res, who) => {
      const body = parse(resolveBody, req.body);
      res.json(await service.resolveTask(who, param(req, 'id'), body.as as ResolvedState, body.evidence));
    }),
  );
  router.post(
    '/v1/tasks/:id/verifications',
    authed(async (req, res, who) => {
      await service.recordVerification(who, param(req, 'id'), parse(verificationBody, req.body));
      res.status(201).json({ recorded: true });
    }),
  );
  router.get(
    '/v1/report',
    authed((req, res, who) => {
      const now = deps.clock.now();
      const sinceParam = typeof req.query.since === 'string' ? req.query.since : '168h';
      let since: Date;
      if (/^\d{4}-\d{2}-\d{2}/.test(sinceParam)) since = new Date(sinceParam);
      else {
        try {
          since = new Date(now.getTime() - parseDuration(sinceParam));
        } catch (err) {
          throw new DriftgateError('INVALID_REQUEST', `since: ${(err as Error).message} (or an ISO date)`);
        }
      }
      if (Number.isNaN(since.getTime())) throw new DriftgateError('INVALID_REQUEST', `since: "${sinceParam}" is not a date`);
      res.json(service.report(who, since));
    }),
  );
  return router;
}
