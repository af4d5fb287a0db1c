/**
 * The break-glass API (SPEC §6): /v1/grants and /v1/tasks, behind Bearer authentication. Bodies are
 * validated once with zod; every failure is `{error: {code, message}}` with its HTTP status.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Clock } from '../../admission/review.ts';
import type { Authenticator } from '../../auth/authenticator.ts';
import { DriftgateError } from '../../errors.ts';
import type { Grant } from '../../grants/grant.ts';
import { approve, checkReader, checkRevoke, newGrant, stateAt, type Identity } from '../../grants/rules.ts';
import type { Policy } from '../../policy/policy.ts';
import { newId } from '../../store/embedded-store.ts';
import type { BreakGlassStore } from '../../store/store.ts';
import { buildReport, checkResolve, checkTaskActor, isOverdue, RESOLVED_STATES, type TaskView } from '../../tasks/rules.ts';
import { summarize, type TaskSummary } from '../../tasks/task.ts';
import { parseDuration } from '../../util/duration.ts';

export interface ApiDeps {
  readonly store: BreakGlassStore;
  readonly policy: () => Policy;
  readonly clock: Clock;
  readonly authenticator: Authenticator;
  /** a store write failed (metrics) */
  readonly onStoreError?: () => void;
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

/** A grant as the API shows it: its state now, and whether the webhook honours it. */
export function grantView(g: Grant, now: Date, ignored?: string): Record<string, unknown> {
  return { ...g, state: stateAt(g, now), ...(ignored ? { honoured: false, ignoredBecause: ignored } : { honoured: true }) };
}

type Handler = (req: Request, res: Response, who: Identity) => Promise<void> | void;

export function grantsApi(deps: ApiDeps): Router {
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
      const policy = deps.policy();
      const body = parse(grantBody, req.body);
      const now = deps.clock.now();
      const grant = await deps.store.createGrant(newGrant(body, who, policy, now, newId('g')));
      res.status(201).json(grantView(grant, now));
    }),
  );
  router.get(
    '/v1/grants',
    authed((req, res, who) => {
      checkReader(who, deps.policy());
      const now = deps.clock.now();
      const grants = deps.store.listGrants(listFilter(req), now);
      res.json({ items: grants.map((g) => grantView(g, now, deps.store.getGrant(g.id)?.ignored)) });
    }),
  );
  router.get(
    '/v1/grants/:id',
    authed((req, res, who) => {
      checkReader(who, deps.policy());
      const found = deps.store.getGrant(param(req, 'id'));
      if (!found) throw new DriftgateError('NOT_FOUND', `no grant ${param(req, 'id')}`);
      res.json(grantView(found.grant, deps.clock.now(), found.ignored));
    }),
  );
  router.post(
    '/v1/grants/:id/approve',
    authed(async (req, res, who) => {
      const { reason } = parse(reasonBody, req.body);
      const now = deps.clock.now();
      const g = await deps.store.approveGrant(param(req, 'id'), (grant) => approve(grant, who, deps.policy(), now, reason));
      res.json(grantView(g, now));
    }),
  );
  router.post(
    '/v1/grants/:id/revoke',
    authed(async (req, res, who) => {
      const { reason } = parse(reasonBody, req.body);
      const now = deps.clock.now();
      const g = await deps.store.revokeGrant(param(req, 'id'), (grant) => checkRevoke(grant, who, deps.policy(), now), who.username, now, reason);
      res.json(grantView(g, now));
    }),
  );
  const view = (t: TaskSummary, now: Date): TaskView => ({
    ...t,
    overdue: isOverdue(t, deps.store.getGrant(t.grantId)?.grant.expiresAt, deps.policy(), now),
  });

  router.get(
    '/v1/tasks',
    authed((req, res, who) => {
      checkReader(who, deps.policy());
      const { state, namespace } = listFilter(req);
      const overdue = req.query.overdue === 'true' ? true : req.query.overdue === 'false' ? false : undefined;
      const now = deps.clock.now();
      const tasks = deps.store
        .listTasks({ ...(state ? { state: parse(taskStates, state) } : {}), ...(namespace ? { namespace } : {}) })
        .map((t) => view(t, now))
        .filter((t) => overdue === undefined || t.overdue === overdue);
      res.json({ items: tasks });
    }),
  );
  router.get(
    '/v1/tasks/:id',
    authed((req, res, who) => {
      checkReader(who, deps.policy());
      const task = deps.store.getTask(param(req, 'id'));
      if (!task) throw new DriftgateError('NOT_FOUND', `no task ${param(req, 'id')}`);
      res.json({ ...task, overdue: view(summarize(task), deps.clock.now()).overdue });
    }),
  );
  router.post(
    '/v1/tasks/:id/resolve',
    authed(async (req, res, who) => {
      const body = parse(resolveBody, req.body);
      const now = deps.clock.now();
      const t = await deps.store.resolveTask(param(req, 'id'), (task) => ({
        state: body.as as TaskSummary['state'],
        resolution: checkResolve(task, who, deps.policy(), body.as as 'reverted', body.evidence, now),
      }));
      res.json(view(t, now));
    }),
  );
  router.post(
    '/v1/tasks/:id/verifications',
    authed(async (req, res, who) => {
      const body = parse(verificationBody, req.body);
      const now = deps.clock.now();
      await deps.store.recordVerification(param(req, 'id'), (t) => {
        checkTaskActor(t, who, deps.policy(), 'verify');
        return { at: now.toISOString(), by: who.username, verdict: body.verdict, evidence: body.evidence, explanation: body.explanation };
      });
      res.status(201).json({ recorded: true });
    }),
  );
  router.get(
    '/v1/report',
    authed((req, res, who) => {
      checkReader(who, deps.policy());
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
      res.json(buildReport(deps.store.listTasks({}).map((t) => view(t, now)), since, now));
    }),
  );
  return router;
}
