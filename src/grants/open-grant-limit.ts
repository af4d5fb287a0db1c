/**
 * breakGlass.maxOpenGrantsPerRequester: how many open grants (pending approval or active, not expired,
 * revoked or denied) one requester may hold at once. Every grant is signed, journaled and kept, and
 * approvers and auditors read the list at 3 a.m.: a requester who may create grants without approval
 * must not be able to flood either. The store runs this check under its write lock (store.ts).
 */
import { DriftgateError } from '../errors.ts';
import type { Policy } from '../policy/policy.ts';
import type { Grant, GrantState } from './grant.ts';
import type { Identity } from './rules.ts';
import { stateAt } from './rules.ts';

/** How many of the requester's open grants the refusal names (soonest to expire first). */
const NAMED = 5;

const OPEN: ReadonlySet<GrantState> = new Set(['pending-approval', 'active']);

/** Whether a grant still counts against its requester at `now`. */
export function isOpen(g: Grant, now: Date): boolean {
  return OPEN.has(stateAt(g, now));
}

/**
 * Refuses a new grant when `open` (the requester's open grants at `now`) already holds the limit, with
 * what to do next: revoke one by id, list them, wait for the first to expire, or ask an auditor.
 */
export function checkOpenGrants(who: Identity, policy: Policy, open: readonly Grant[]): void {
  const max = policy.breakGlass.maxOpenGrantsPerRequester;
  if (open.length < max) return;
  const soonest = [...open].sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt));
  const named = soonest.slice(0, NAMED).map((g) => g.id).join(', ');
  const more = soonest.length > NAMED ? ` and ${soonest.length - NAMED} more` : '';
  throw new DriftgateError(
    'TOO_MANY_OPEN_GRANTS',
    `${who.username} already holds ${open.length} open grant(s), the most one requester may hold (breakGlass.maxOpenGrantsPerRequester: ${max}): ` +
      `revoke one you no longer need with \`driftgate grant revoke <id>\` (yours, soonest to expire first: ${named}${more}; ` +
      `\`driftgate grant list --state active\` and \`--state pending-approval\` list them), wait until ${soonest[0]!.id} expires at ${soonest[0]!.expiresAt}, ` +
      'or ask an auditor or approver to revoke the ones the incident no longer needs',
  );
}
