/**
 * The words people read: denial messages (shown by kubectl as "admission webhook … denied the
 * request: <message>") and warnings (shown as "Warning: …"). Values are already redacted upstream.
 */
import type { Grant } from '../grants/grant.ts';
import { formatDuration } from '../util/duration.ts';
import type { ClassifiedChange } from './classify.ts';
import type { OperatorOwner, Owner } from './ownership.ts';
import { showValue } from './redact.ts';
import { describeTarget, MAX_SHOWN, resourceRef, shownName, type Target } from './target.ts';
import type { Operation } from './types.ts';

export const MAX_LISTED_PATHS = 5;

/** A change's path for people: cut like any request text (see MAX_SHOWN). */
export function shownPath(c: { readonly printed: string }): string {
  return shownName(c.printed);
}

function gitNote(c: ClassifiedChange): string {
  if (c.rule === 'tracking-marker') return ' (GitOps tracking marker: detaches the object from Git)';
  if (c.rule === 'reconcile-lever') return ' (reconcile lever: switches GitOps off for this object)';
  if (c.rule === 'gitops-ownership') return ' (GitOps field ownership removed: detaches the object from Git)';
  if (c.declaredInGit === true) return ' (declared in Git)';
  if (c.declaredInGit === false) return ' (not declared in Git)';
  return '';
}

/** "only the HPA may change it (Argo CD Application argocd/api spec.ignoreDifferences[0] ignores it)" */
function delegationNote(c: ClassifiedChange): string {
  const d = c.delegatedTo;
  if (!d) return '';
  const who = d.writers.length > 0 ? d.writers.join(', ') : 'its delegated writers';
  return d.source ? ` [${d.source} ignores it: only ${who} may change it without a grant]` : ` [delegated to ${who} by "${d.rule}"]`;
}

export function changeLine(c: ClassifiedChange): string {
  return `${shownPath(c)}: ${showValue(c.before)} → ${showValue(c.after)}${gitNote(c)}${delegationNote(c)}`;
}

/**
 * One shell word: as it is when it holds only characters no shell treats specially, else in single
 * quotes with each `'` written `'\''`. Request text (a key under `spec.values`, a name a hand-made
 * review sends) must never run when someone pastes the suggested command.
 */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9._/:=@%+,-]+$/.test(s) ? s : singleQuoted(s);
}

/** In single quotes, each `'` written `'\''`: nothing inside is expanded by a shell. */
function singleQuoted(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

export function grantCommand(t: Target, op: Operation, guarded: readonly ClassifiedChange[]): string {
  const parts = ['driftgate grant request'];
  if (!t.clusterScoped) parts.push(`-n ${shellWord(t.namespace)}`);
  parts.push(shellWord(resourceRef(t)));
  // a path cut for display would be a grant for another path: suggest paths only when all fit
  if (op === 'UPDATE' && guarded.length > 0 && guarded.length <= 3 && guarded.every((c) => c.printed.length <= MAX_SHOWN)) {
    for (const c of guarded) parts.push(`--path ${singleQuoted(c.printed)}`);
  }
  if (op !== 'UPDATE') parts.push(`--operation ${op}`);
  parts.push('--ttl 30m --reason "..." --incident INC-...');
  return parts.join(' ');
}

function listChanges(guarded: readonly ClassifiedChange[], partial: boolean): string[] {
  const listed = guarded.slice(0, MAX_LISTED_PATHS);
  const shown = listed.map((c) => `  - ${changeLine(c)}`);
  if (partial) shown.push('  …and more (not all read: no grant can cover this write)');
  else if (guarded.length > MAX_LISTED_PATHS) shown.push(`  …and ${guarded.length - MAX_LISTED_PATHS} more`);
  // counted over what is listed when the rest was not read
  const counted = partial ? listed : guarded;
  const declared = counted.filter((c) => c.declaredInGit === true).length;
  const fresh = counted.filter((c) => c.declaredInGit === false).length;
  if (declared + fresh > 0) shown.push(`  (${partial ? 'of those listed: ' : ''}${declared} declared in Git, ${fresh} not declared in Git)`);
  return shown;
}

export interface DenialInput {
  readonly target: Target;
  readonly operation: Operation;
  readonly owner: Owner | undefined;
  readonly guarded: readonly ClassifiedChange[];
  readonly unmanagedCreate: boolean;
  /** the decision stopped reading changes once the denial was certain: `guarded` is the first few */
  readonly partial?: boolean;
  /** set when the write makes more guarded changes than any grant may cover (breakGlass.maxChangesPerBypass) */
  readonly bypassLimit?: number;
}

/**
 * Grants are namespaced: a tracked cluster-scoped object (a Namespace, a ClusterRole) has no grant to
 * request, so its denial says so instead of suggesting a command that cannot work.
 */
const CLUSTER_SCOPED_NEXT =
  'Next step: change it in Git. Break-glass grants cover namespaced objects only; in an emergency an administrator in the driftgate-break-glass group can break the glass on driftgate itself (docs/install.md), on the record in the Kubernetes audit log.';

export function denialMessage(d: DenialInput): string {
  const what = describeTarget(d.target);
  const next = d.target.clusterScoped
    ? CLUSTER_SCOPED_NEXT
    : d.bypassLimit !== undefined
      ? `Next step: change it in Git. No grant covers a write of more than ${d.bypassLimit} guarded changes (breakGlass.maxChangesPerBypass): that is no incident fix; split it, or make it in Git.`
      : `Next step: change it in Git, or request a break-glass grant: \`${grantCommand(d.target, d.operation, d.guarded)}\``;
  if (d.unmanagedCreate) {
    return [
      `driftgate: creating ${what} by hand is denied: the object is not managed by GitOps, and a hand-made object in a protected namespace is drift that Git does not know about (unmanagedCreates: deny).`,
      `Next step: add it to Git, or request a break-glass grant: \`${grantCommand(d.target, d.operation, d.guarded)}\``,
    ].join('\n');
  }
  const owner = d.owner?.display ?? 'GitOps';
  if (d.operation === 'DELETE') {
    return [`driftgate: deleting ${what} is denied: it is managed by ${owner}.`, next].join('\n');
  }
  const verb = d.operation === 'CREATE' ? 'creating' : 'this change to';
  return [
    `driftgate: ${verb} ${what} is denied: it is managed by ${owner}. ${d.partial ? `More than ${MAX_LISTED_PATHS}` : d.guarded.length} guarded change(s):`,
    ...listChanges(d.guarded, d.partial === true),
    next,
  ].join('\n');
}

/** What makes a review too large to read: its map keys (limits.maxKeys), or its managedFields entries. */
export type TooLarge = { readonly keys: number } | { readonly managers: number };

function tooLargeWhy(t: TooLarge): string {
  return 'keys' in t
    ? `this review holds more than ${t.keys} map keys (object and old object together, limits.maxKeys)`
    : `its managedFields list more than ${t.managers} field managers`;
}

/**
 * A direct write whose review is too large for one decision to read: denied unread. No grant can help (a
 * grant needs the changes read), so the next step is Git, or for map keys the limit.
 */
export function tooManyKeysMessage(target: Target, op: Operation, owner: Owner | undefined, large: TooLarge): string {
  const verb = op === 'CREATE' ? 'creating' : op === 'DELETE' ? 'deleting' : 'this change to';
  // no owner: a hand-made create under unmanagedCreates: deny
  const why = owner ? `it is managed by ${owner.display}` : 'it is not managed by GitOps (unmanagedCreates: deny)';
  return [
    `driftgate: ${verb} ${describeTarget(target)} is denied unread: ${why}, and ${tooLargeWhy(large)}, more than one admission decision reads.`,
    'keys' in large
      ? 'Next step: make the change in Git (the GitOps controller is not limited), or ask the platform team to raise limits.maxKeys in the driftgate policy.'
      : 'Next step: make the change in Git (the GitOps controller is not limited).',
  ].join('\n');
}

export function tooManyKeysWarning(target: Target, owned: boolean, large: TooLarge): string {
  return `driftgate (audit): would deny in enforce mode: ${describeTarget(target)} is ${owned ? 'GitOps-managed' : 'not in Git'} and ${tooLargeWhy(large)}, so it was not read`;
}

/** Allowed because an operator owns the object: say who, and that the operator will put it back. */
export function operatorWarning(target: Target, op: OperatorOwner): string {
  return `driftgate: ${describeTarget(target)} is managed by the operator of ${op.kind} ${op.name} (${op.apiVersion}, its controller): driftgate guards that GitOps-owned ${op.kind}, not its children, and the operator may revert this change; change the ${op.kind} in Git instead`;
}

export function allowanceWarning(target: Target, names: readonly string[], user: string): string {
  return `driftgate: allowance ${names.map((n) => `"${n}"`).join(', ')} used on ${describeTarget(target)} by ${user}; this is logged for audit`;
}

export function auditWarning(target: Target, guarded: readonly ClassifiedChange[], unmanagedCreate: boolean, partial = false): string {
  if (unmanagedCreate) {
    return `driftgate (audit): ${describeTarget(target)} is not in Git; in enforce mode this create is denied — add it to Git`;
  }
  const paths = guarded.slice(0, 3).map(shownPath).join(', ');
  const more = partial ? ' and more' : guarded.length > 3 ? ` and ${guarded.length - 3} more` : '';
  return `driftgate (audit): would deny in enforce mode: ${describeTarget(target)} is GitOps-managed; changed ${paths}${more}`;
}

export function bypassWarnings(grant: Grant, taskId: string | undefined, now: Date): string[] {
  const left = formatDuration(Date.parse(grant.expiresAt) - now.getTime());
  const out = [`driftgate: allowed by break-glass grant ${grant.id} (${left} left${grant.incident ? `, incident ${grant.incident}` : ''})`];
  if (taskId) out.push(`driftgate: bypass recorded as task ${taskId}: revert it or backport it to Git after the incident`);
  else out.push('driftgate: dry run: no task recorded');
  return out;
}
