/**
 * Break-glass policy (SPEC §4), as pure functions: who may request, approve and revoke, what a new
 * grant looks like, and what state a grant is in at a given time.
 */
import { DriftgateError } from '../errors.ts';
import type { Operation } from '../lib/operation.ts';
import { parsePathPattern } from '../policy/path-pattern.ts';
import type { ApprovalRule, Policy, Subjects } from '../policy/policy.ts';
import { formatDuration, parseDuration } from '../util/duration.ts';
import type { Approval, Grant, GrantState, ResourceRef } from './grant.ts';
import { namespaceProblem, pathProblem, placeholderProblem, resourceProblem, subjectProblem } from './request-checks.ts';

export interface Identity {
  readonly username: string;
  readonly groups: readonly string[];
}

export interface GrantRequest {
  readonly namespace: string;
  readonly resources: readonly ResourceRef[];
  readonly paths?: readonly string[];
  readonly operations?: readonly Operation[];
  readonly subjects?: { readonly users?: readonly string[]; readonly groups?: readonly string[] };
  readonly ttl?: string;
  readonly reason: string;
  readonly incident?: string;
}

export function isIn(s: Subjects, who: Identity): boolean {
  return s.users.has(who.username) || who.groups.some((g) => s.groups.has(g));
}

export function approvalRule(policy: Policy, namespace: string): ApprovalRule {
  return policy.namespaces.get(namespace)?.approval ?? policy.breakGlass.approval;
}

const invalid = (message: string) => new DriftgateError('INVALID_REQUEST', message);
const GRANTABLE: ReadonlySet<string> = new Set(['CREATE', 'UPDATE', 'DELETE']);

function check(problem: string | undefined): void {
  if (problem) throw invalid(problem);
}

/** A new grant from a request, checked against the policy (unsigned: the store signs it). */
export function newGrant(req: GrantRequest, who: Identity, policy: Policy, now: Date, id: string): Omit<Grant, 'token'> {
  const bg = policy.breakGlass;
  if (!isIn(bg.requesters, who)) {
    throw new DriftgateError('FORBIDDEN', `${who.username} may not request break-glass grants (breakGlass.requesters)`);
  }
  if (req.namespace.trim() === '') throw invalid('namespace is required');
  check(namespaceProblem(req.namespace, policy));
  if (req.resources.length === 0) throw invalid('name at least one resource, e.g. deployment/api');
  for (const r of req.resources) {
    if (!r.kind || !r.name) throw invalid('every resource needs a kind and a name (name may be * or a glob)');
    check(resourceProblem(r));
  }
  if (req.reason.trim() === '') throw invalid('a reason is required');
  check(placeholderProblem('reason', req.reason));
  if (bg.requireIncident && !req.incident?.trim()) throw invalid('an incident reference is required (breakGlass.requireIncident)');
  if (req.incident?.trim()) check(placeholderProblem('incident', req.incident));
  let ttlMs = bg.defaultTTLMs;
  if (req.ttl !== undefined) {
    try {
      ttlMs = parseDuration(req.ttl);
    } catch (err) {
      throw invalid(`ttl: ${(err as Error).message}`);
    }
    if (ttlMs <= 0) throw invalid('ttl must be greater than zero');
  }
  if (ttlMs > bg.maxTTLMs) throw invalid(`ttl ${req.ttl} exceeds the maximum of ${formatDuration(bg.maxTTLMs)} (breakGlass.maxTTL)`);
  for (const p of req.paths ?? []) {
    let problem: string | undefined;
    try {
      problem = pathProblem(parsePathPattern(p));
    } catch (err) {
      problem = (err as Error).message;
    }
    if (problem) throw invalid(`path "${p}": ${problem}`);
  }
  for (const op of req.operations ?? []) {
    if (!GRANTABLE.has(op)) throw invalid(`operation ${JSON.stringify(op)}: a grant covers CREATE, UPDATE or DELETE (CONNECT is never denied)`);
  }
  const operations = req.operations && req.operations.length > 0 ? [...new Set(req.operations)] : (['UPDATE'] as Operation[]);
  const users = req.subjects?.users ?? [];
  const groups = req.subjects?.groups ?? [];
  for (const u of users) check(subjectProblem('user', u));
  for (const g of groups) check(subjectProblem('group', g));
  const required = approvalRule(policy, req.namespace).required;
  return {
    id,
    requester: who.username,
    subjects: users.length + groups.length > 0 ? { users: [...users], groups: [...groups] } : { users: [who.username], groups: [] },
    namespace: req.namespace,
    resources: req.resources.map((r) => ({ group: r.group, kind: r.kind, name: r.name })),
    ...(req.paths && req.paths.length > 0 ? { paths: [...req.paths] } : {}),
    operations,
    reason: req.reason.trim(),
    ...(req.incident?.trim() ? { incident: req.incident.trim() } : {}),
    createdAt: now.toISOString(),
    notBefore: now.toISOString(),
    expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
    approvals: [],
    state: required > 0 ? 'pending-approval' : 'active',
  };
}

/** The state a grant is in at `now`: revoked and expired win over the recorded state. */
export function stateAt(g: Grant, now: Date): GrantState {
  if (g.revokedAt) return 'revoked';
  if (now.getTime() >= Date.parse(g.expiresAt)) return 'expired';
  return g.state;
}

/** Checks an approval; returns it and the grant's state once it is counted. */
export function approve(g: Grant, who: Identity, policy: Policy, now: Date, reason?: string): { approval: Approval; state: GrantState } {
  const state = stateAt(g, now);
  if (state !== 'pending-approval') throw new DriftgateError('CONFLICT', `grant ${g.id} is ${state}: nothing to approve`);
  const rule = approvalRule(policy, g.namespace);
  if (!isIn(rule.approvers, who)) throw new DriftgateError('FORBIDDEN', `${who.username} may not approve grants in ${g.namespace} (breakGlass.approval.approvers)`);
  if (who.username === g.requester) throw new DriftgateError('FORBIDDEN', 'approvers must differ from the requester');
  if (g.approvals.some((a) => a.by === who.username)) throw new DriftgateError('CONFLICT', `${who.username} already approved grant ${g.id}`);
  const approval: Approval = { by: who.username, at: now.toISOString(), ...(reason ? { reason } : {}) };
  return { approval, state: g.approvals.length + 1 >= rule.required ? 'active' : 'pending-approval' };
}

/** The requester, an approver, or an auditor may revoke a grant that is still pending or active. */
export function checkRevoke(g: Grant, who: Identity, policy: Policy, now: Date): void {
  const state = stateAt(g, now);
  if (state === 'revoked' || state === 'expired') throw new DriftgateError('CONFLICT', `grant ${g.id} is already ${state}`);
  const allowed = who.username === g.requester || isIn(approvalRule(policy, g.namespace).approvers, who) || isIn(policy.auditors, who);
  if (!allowed) throw new DriftgateError('FORBIDDEN', `${who.username} may not revoke grant ${g.id} (the requester, approvers and auditors may)`);
}

/** An approver of the grant's namespace may deny a request still waiting for approval (a revoke before it was ever active). */
export function checkDeny(g: Grant, who: Identity, policy: Policy, now: Date): void {
  const state = stateAt(g, now);
  if (state !== 'pending-approval') throw new DriftgateError('CONFLICT', `grant ${g.id} is ${state}: only a request waiting for approval can be denied (revoke an active grant)`);
  if (!isIn(approvalRule(policy, g.namespace).approvers, who)) throw new DriftgateError('FORBIDDEN', `${who.username} may not deny grants in ${g.namespace} (breakGlass.approval.approvers)`);
  if (who.username === g.requester) throw new DriftgateError('FORBIDDEN', 'a requester withdraws a request with revoke, not deny');
}

/** An approver for any namespace (the default approval rule or a per-namespace override). */
export function isAnyApprover(who: Identity, policy: Policy): boolean {
  return [policy.breakGlass.approval, ...[...policy.namespaces.values()].map((n) => n.approval)].some((a) => a && isIn(a.approvers, who));
}

/** Who may read grants and tasks: requesters, approvers and auditors. */
export function checkReader(who: Identity, policy: Policy): void {
  if (!isIn(policy.breakGlass.requesters, who) && !isAnyApprover(who, policy) && !isIn(policy.auditors, who)) {
    throw new DriftgateError('FORBIDDEN', `${who.username} may not read grants or tasks (requesters, approvers and auditors may)`);
  }
}
