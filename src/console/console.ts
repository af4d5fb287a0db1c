/**
 * The web console under /ui/ (issue 16), served by the same TLS server as the webhook and the API.
 * Server-rendered HTML; the rules are the API's (the break-glass service), only the transport
 * differs: a session cookie instead of a Bearer header, forms instead of JSON.
 *
 * Defences, in order: every response carries a strict Content Security Policy (no inline script or
 * style at all) and no-store; a POST must come from this origin (Sec-Fetch-Site / Origin) and carry
 * the session's CSRF token; the session cookie is SameSite=Strict; every value is escaped by html.ts.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { Clock } from '../admission/review.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { DriftgateError, errorMessage } from '../errors.ts';
import { approvalRule, checkReader } from '../grants/rules.ts';
import type { Notifier } from '../notify/notifier.ts';
import type { Policy } from '../policy/policy.ts';
import type { BreakGlassService } from '../service/break-glass.ts';
import { RESOLVED_STATES, type ResolvedState, type TaskView } from '../tasks/rules.ts';
import { parseDuration } from '../util/duration.ts';
import { CONSOLE_CSS, FAVICON_SVG } from './assets.ts';
import { bypassesPerDay, openAndOverdue, timeToResolution } from './charts.ts';
import type { Html } from './html.ts';
import { errorPage, grantsPage, loginPage, notificationsPage, reportPage, taskPage, tasksPage, TASK_STATE_FILTERS, type PageContext, type TaskFilters } from './pages.ts';
import { checkCsrf, cookieHeader, cookieValue, issueSession, LOGIN_COOKIE, randomToken, readSession, sameToken, SESSION_COOKIE, type Session, type SessionKeys } from './session.ts';

export interface ConsoleDeps {
  readonly service: BreakGlassService;
  readonly authenticator: Authenticator;
  readonly policy: () => Policy;
  readonly clock: Clock;
  /** signs and checks session cookies (driftgate's grant-signing keys) */
  readonly keys: SessionKeys;
  readonly notifier?: Pick<Notifier, 'status' | 'retry'>;
  /** where unexpected failures are logged (the page says only that one happened) */
  readonly logger?: Logger;
}

export const CONTENT_SECURITY_POLICY = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

const REPORT_WINDOWS = ['7d', '30d', '90d'];

type Authed = (req: Request, res: Response, session: Session, ctx: PageContext) => Promise<void> | void;

function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin', // no-referrer would make the browser send `Origin: null` with our own forms
    'cross-origin-opener-policy': 'same-origin',
    'cache-control': 'no-store',
  });
  next();
}

/** A state-changing request must come from a page of this console, not another site. */
function sameOrigin(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  return origin === undefined || origin === `https://${req.headers.host ?? ''}`;
}

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

export function consoleRouter(deps: ConsoleDeps): Router {
  const router = express.Router();
  router.use(securityHeaders);
  router.use(express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 20 }));

  const send = (res: Response, page: Html, status = 200) => {
    res.status(status).type('html').send(page.toString());
  };
  const ctxOf = (session?: Session): PageContext => ({
    ...(session ? { user: { username: session.username, groups: session.groups, csrf: session.csrf } } : {}),
    dev: deps.authenticator.dev,
    now: deps.clock.now(),
  });
  const failed = (res: Response, ctx: PageContext, err: unknown, back: string) => {
    if (err instanceof DriftgateError) return send(res, errorPage(ctx, err.status, err.message, back), err.status);
    deps.logger?.error({ err: errorMessage(err), user: ctx.user?.username }, 'console: request failed');
    return send(res, errorPage(ctx, 500, 'internal error: the server log has the details', back), 500);
  };

  /** Pages need a session (else: to the login form); POSTs also need this origin and the CSRF token. */
  const page =
    (h: Authed) =>
    async (req: Request, res: Response): Promise<void> => {
      const session = await readSession(deps.keys, cookieValue(req.headers.cookie, SESSION_COOKIE), deps.clock.now());
      if (!session) {
        res.redirect(303, '/ui/login');
        return;
      }
      const ctx = ctxOf(session);
      const back = req.method === 'POST' ? (str(req.headers.referer).startsWith(`https://${req.headers.host ?? ''}/ui/`) ? new URL(str(req.headers.referer)).pathname : '/ui/') : '/ui/';
      try {
        if (req.method === 'POST') {
          if (!sameOrigin(req)) throw new DriftgateError('FORBIDDEN', 'this request came from another site');
          checkCsrf(session, (req.body as Record<string, unknown> | undefined)?._csrf);
        }
        await h(req, res, session, ctx);
      } catch (err) {
        failed(res, ctx, err, back);
      }
    };

  router.get('/static/console.css', (_req, res) => {
    res.set('cache-control', 'public, max-age=3600').type('css').send(CONSOLE_CSS);
  });
  router.get('/static/favicon.svg', (_req, res) => {
    res.set('cache-control', 'public, max-age=86400').type('image/svg+xml').send(FAVICON_SVG);
  });
  router.get('/', (_req, res) => res.redirect(303, '/ui/grants'));

  // ---- login ----
  router.get('/login', (_req, res) => {
    const nonce = randomToken();
    res.set('set-cookie', cookieHeader(LOGIN_COOKIE, nonce, 600));
    send(res, loginPage(ctxOf(), nonce));
  });
  router.post('/login', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const nonce = randomToken();
    const retry = (message: string, status: number) => {
      res.set('set-cookie', cookieHeader(LOGIN_COOKIE, nonce, 600));
      send(res, loginPage(ctxOf(), nonce, message), status);
    };
    if (!sameOrigin(req) || !sameToken(cookieValue(req.headers.cookie, LOGIN_COOKIE), str(body._csrf))) {
      return retry('The login form expired or came from another site: try again.', 403);
    }
    const token = str(body.token).replace(/^Bearer\s+/i, '');
    if (token === '') return retry('Paste a token.', 400);
    try {
      const who = await deps.authenticator.authenticate(`Bearer ${token}`);
      const now = deps.clock.now();
      const { cookie, session } = await issueSession(deps.keys, who, token, now);
      res.append('set-cookie', cookieHeader(SESSION_COOKIE, cookie, (session.expiresAt.getTime() - now.getTime()) / 1000));
      res.append('set-cookie', cookieHeader(LOGIN_COOKIE, '', 0));
      res.redirect(303, '/ui/grants');
    } catch (err) {
      retry(err instanceof DriftgateError ? `Not logged in: ${err.message}` : 'Not logged in: the token could not be checked.', 401);
    }
  });
  router.post(
    '/logout',
    page((_req, res) => {
      res.set('set-cookie', cookieHeader(SESSION_COOKIE, '', 0));
      res.redirect(303, '/ui/login');
    }),
  );

  // ---- grants ----
  const DONE: Record<string, string> = { approve: 'approved', deny: 'denied', revoke: 'revoked' };
  router.get(
    '/grants',
    page((req, res, who, ctx) => {
      const grants = deps.service.listGrants(who);
      const done = str(req.query.done);
      const id = str(req.query.id);
      const message = Object.values(DONE).includes(done) && /^[\w-]{1,64}$/.test(id) ? `Grant ${id} ${done}.` : undefined;
      send(res, grantsPage(ctx, grants, (g) => approvalRule(deps.policy(), g.namespace).required, message));
    }),
  );
  for (const action of ['approve', 'deny', 'revoke'] as const) {
    router.post(
      `/grants/:id/${action}`,
      page(async (req, res, who) => {
        const id = String(req.params.id);
        const reason = str((req.body as Record<string, unknown>).reason) || undefined;
        await deps.service[`${action}Grant`](who, id, reason);
        res.redirect(303, `/ui/grants?done=${DONE[action]}&id=${encodeURIComponent(id)}`);
      }),
    );
  }

  // ---- tasks ----
  router.get(
    '/tasks',
    page((req, res, who, ctx) => {
      const q = (k: string) => str(req.query[k]);
      const f: TaskFilters = {
        state: (TASK_STATE_FILTERS as readonly string[]).includes(q('state')) ? q('state') : 'pending',
        namespace: q('namespace'),
        owner: q('owner'),
        writer: q('writer'),
        incident: q('incident'),
      };
      const byState = (t: TaskView) =>
        f.state === 'all' || (f.state === 'overdue' ? t.overdue : f.state === 'resolved' ? (RESOLVED_STATES as readonly string[]).includes(t.state) : t.state === f.state);
      const tasks = deps.service
        .listTasks(who, f.namespace ? { namespace: f.namespace } : {})
        .filter((t) => byState(t) && (!f.owner || t.owner === f.owner) && (!f.writer || t.writer === f.writer) && (!f.incident || t.incident === f.incident))
        .reverse(); // newest first
      send(res, tasksPage(ctx, tasks, f));
    }),
  );
  router.get(
    '/tasks/:id',
    page((req, res, who, ctx) => {
      const task = deps.service.getTask(who, String(req.params.id));
      let grant;
      try {
        grant = deps.service.getGrant(who, task.grantId);
      } catch {
        grant = undefined;
      }
      send(res, taskPage(ctx, task, grant, RESOLVED_STATES, req.query.done === 'resolved' ? `Task ${task.id} resolved as ${task.state}.` : undefined));
    }),
  );
  router.post(
    '/tasks/:id/resolve',
    page(async (req, res, who) => {
      const body = req.body as Record<string, unknown>;
      const as = str(body.as);
      if (!(RESOLVED_STATES as readonly string[]).includes(as)) throw new DriftgateError('INVALID_REQUEST', `resolve as one of ${RESOLVED_STATES.join(', ')}`);
      const t = await deps.service.resolveTask(who, String(req.params.id), as as ResolvedState, str(body.evidence));
      res.redirect(303, `/ui/tasks/${encodeURIComponent(t.id)}?done=resolved`);
    }),
  );

  // ---- report ----
  router.get(
    '/report',
    page((req, res, who, ctx) => {
      const sinceLabel = REPORT_WINDOWS.includes(str(req.query.since)) ? str(req.query.since) : '30d';
      const days = parseDuration(sinceLabel) / 86_400_000;
      const since = new Date(ctx.now.getTime() - parseDuration(sinceLabel));
      const report = deps.service.report(who, since);
      const tasks = deps.service.listTasks(who);
      send(
        res,
        reportPage(
          ctx,
          {
            sinceLabel,
            byNamespace: openAndOverdue(tasks, (t) => t.namespace),
            byOwner: openAndOverdue(tasks, (t) => t.owner),
            perDay: bypassesPerDay(tasks, ctx.now, Math.min(days, 30)),
            resolution: timeToResolution(tasks, since),
            totals: report.totals,
          },
          REPORT_WINDOWS,
        ),
      );
    }),
  );

  // ---- notifications ----
  router.get(
    '/notifications',
    page((req, res, who, ctx) => {
      checkReader(who, deps.policy());
      const message = req.query.done === 'retried' ? 'Queued for another round of attempts.' : undefined;
      send(res, notificationsPage(ctx, deps.notifier?.status(), deps.policy().notifications.sinks.map((s) => s.name), message));
    }),
  );
  router.post(
    '/notifications/retry',
    page(async (req, res, who) => {
      checkReader(who, deps.policy());
      const body = req.body as Record<string, unknown>;
      if (!deps.notifier || !(await deps.notifier.retry(str(body.key), str(body.sink), who.username))) {
        throw new DriftgateError('NOT_FOUND', 'no such dead letter (already retried?)');
      }
      res.redirect(303, '/ui/notifications?done=retried');
    }),
  );

  router.use((req, res) => {
    send(res, errorPage(ctxOf(), 404, `no console page ${req.path}`, '/ui/'), 404);
  });
  return router;
}
