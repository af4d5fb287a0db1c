/**
 * GET /v1/owners: per GitOps owner, delivery health (cluster mode) and the tasks still open against
 * it, as the caller may see them. `?owner=` narrows to one owner.
 */
import express, { type Router } from 'express';
import type { Authenticator } from '../../auth/authenticator.ts';
import type { OwnerHealth } from '../../gitops/health.ts';
import { ownerStatuses, type TaskLike } from '../../gitops/owner-status.ts';
import type { Identity } from '../../grants/rules.ts';

export interface OwnersDeps {
  readonly authenticator: Authenticator;
  /** the pending tasks the caller may read (the same rules as GET /v1/tasks) */
  readonly pendingTasks: (who: Identity) => readonly TaskLike[];
  /** undefined: not watching the GitOps tools (not in cluster mode) */
  readonly health: (() => readonly OwnerHealth[]) | undefined;
}

export function ownersApi(deps: OwnersDeps): Router {
  const router = express.Router();
  router.get('/v1/owners', async (req, res, next) => {
    try {
      const who = await deps.authenticator.authenticate(req.headers.authorization);
      const only = typeof req.query.owner === 'string' && req.query.owner !== '' ? req.query.owner : undefined;
      let rows = ownerStatuses(deps.health?.() ?? [], deps.pendingTasks(who));
      if (only) rows = rows.filter((r) => r.owner === only);
      res.json({ watching: deps.health !== undefined, items: rows });
    } catch (err) {
      next(err);
    }
  });
  return router;
}
