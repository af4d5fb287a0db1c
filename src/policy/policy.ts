/**
 * The compiled policy: the validated document turned into the lookups the decision core uses
 * (sets, parsed path patterns, kind matchers, milliseconds). Built once per load, then frozen.
 */
import { NOTIFICATION_EVENTS, type PolicyDocument } from './schema.ts';
import { parsePathPattern, type PathPattern } from './path-pattern.ts';
import { anyKind, parseKindSelector, type KindMatcher } from './kinds.ts';
import { parseDuration } from '../util/duration.ts';

export type Mode = 'enforce' | 'audit';
export type UnmanagedCreates = 'deny' | 'audit' | 'allow';

export interface Subjects {
  readonly users: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
}

export interface ApprovalRule {
  readonly required: number;
  readonly approvers: Subjects;
}

export interface Delegation {
  readonly name: string;
  readonly kinds: KindMatcher;
  readonly paths: readonly PathPattern[];
  /** field managers whose fields (in the stored object's managedFields) are delegated */
  readonly managers: ReadonlySet<string>;
  /** undefined: anyone may write the delegated fields */
  readonly writers: ReadonlySet<string> | undefined;
  /** the kind selectors as written (`apps/Deployment`); empty: any kind */
  readonly kindNames: readonly string[];
  /** undefined: every object of the kinds; else only the objects in scope (see delegationInScope) */
  readonly scope: DelegationScope | undefined;
  /** where the delegation comes from, e.g. `Argo CD Application argocd/api spec.ignoreDifferences[0]` */
  readonly source: string | undefined;
}

export interface DelegationScope {
  /** owner ids (`argocd/api`); an entry ending in `/*` matches every owner id under that prefix */
  readonly owners: readonly string[] | undefined;
  readonly names: ReadonlySet<string> | undefined;
  readonly namespaces: ReadonlySet<string> | undefined;
}

/** What a scoped delegation needs to know about the object being written. */
export interface ScopeTarget {
  readonly name: string;
  readonly namespace: string;
  /** the GitOps owner id of the stored object; undefined: not GitOps-owned */
  readonly owner: string | undefined;
}

/** True when a delegation applies to the object: unscoped, or every part of its scope matches. */
export function delegationInScope(d: Pick<Delegation, 'scope'>, t: ScopeTarget | undefined): boolean {
  const s = d.scope;
  if (s === undefined) return true;
  if (t === undefined) return false;
  if (s.names !== undefined && !s.names.has(t.name)) return false;
  if (s.namespaces !== undefined && !s.namespaces.has(t.namespace)) return false;
  if (s.owners !== undefined) return t.owner !== undefined && ownerInScope(s.owners, t.owner);
  return true;
}

/** True when an owner id is one of `owners` (exact, or under a `prefix/*`). */
export function ownerInScope(owners: readonly string[], owner: string): boolean {
  return owners.some((o) => (o.endsWith('/*') ? owner.startsWith(o.slice(0, -1)) : o === owner));
}

export interface PathRule {
  readonly name: string;
  readonly kinds: KindMatcher;
  readonly paths: readonly PathPattern[];
}

export interface NamespaceOverride {
  readonly mode?: Mode;
  readonly unmanagedCreates?: UnmanagedCreates;
  readonly approval?: ApprovalRule;
}

export interface OidcSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUri?: string;
  readonly jwksFile?: string;
  readonly usernameClaim: string;
  readonly groupsClaim: string;
}

export interface Policy {
  readonly mode: Mode;
  readonly protectedNamespaces: {
    readonly names: ReadonlySet<string>;
    readonly matchLabels: Readonly<Record<string, string>> | undefined;
  };
  readonly clusterScoped: 'guard' | 'ignore';
  readonly unmanagedCreates: UnmanagedCreates;
  readonly namespaces: ReadonlyMap<string, NamespaceOverride>;
  readonly gitops: {
    readonly controllers: ReadonlySet<string>;
    readonly fieldManagers: ReadonlySet<string>;
    readonly trackingAnnotations: readonly string[];
    readonly trackingLabels: readonly string[];
  };
  readonly systemWriters: ReadonlySet<string>;
  readonly delegations: readonly Delegation[];
  readonly ignore: readonly PathRule[];
  readonly allowances: readonly PathRule[];
  /** may read and resolve tasks and revoke grants */
  readonly auditors: Subjects;
  /** grant-API authentication; neither: the local development issuer */
  readonly oidc: OidcSettings | undefined;
  /** authenticate grant-API callers with their Kubernetes tokens (TokenReview) */
  readonly tokenReview: { readonly audiences: readonly string[] } | undefined;
  readonly breakGlass: {
    readonly defaultTTLMs: number;
    readonly maxTTLMs: number;
    readonly requireIncident: boolean;
    readonly requesters: Subjects;
    readonly approval: ApprovalRule;
    readonly backportDeadlineMs: number;
    /**
     * The most guarded changes one write may make under a grant. A write beyond it is denied without
     * reading further: it is no incident fix, and its task would hold every change.
     */
    readonly maxChangesPerBypass: number;
    /**
     * The most open (pending or active) grants one requester may hold: a request beyond it is refused
     * with TOO_MANY_OPEN_GRANTS, so no requester can flood the store and the approvers' list.
     */
    readonly maxOpenGrantsPerRequester: number;
  };
  readonly limits: {
    /**
     * The most map keys one review may hold (object and oldObject together, counted in its text) when a
     * direct write has to be compared: listing a map's keys is V8's own O(N log N) work, so a write that
     * holds more is denied unread instead of holding up every other review (docs/policy.md#limits).
     */
    readonly maxKeys: number;
  };
  /** where driftgate tells people about grants, tasks and drift (docs/policy.md#notifications) */
  readonly notifications: NotificationSettings;
}

export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

export interface NotificationSink {
  readonly name: string;
  readonly type: 'webhook' | 'slack';
  /** exactly one is set: the URL itself, a file that holds it, or an environment variable */
  readonly url?: string;
  readonly urlFile?: string;
  readonly urlEnv?: string;
  /** the webhook's HMAC-SHA256 key, from a file or the environment (never in the policy) */
  readonly secretFile?: string;
  readonly secretEnv?: string;
  readonly events: ReadonlySet<NotificationEvent>;
  readonly timeoutMs: number;
}

export interface NotificationSettings {
  readonly sinks: readonly NotificationSink[];
  /** deliveries of one event to one sink before it is a dead letter */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** how often expiry, first use and overdue tasks are looked for */
  readonly sweepIntervalMs: number;
}

type Problems = string[];

function subjectsOf(s: { users: string[]; groups: string[] }): Subjects {
  return { users: new Set(s.users), groups: new Set(s.groups) };
}

function approvalOf(a: { required: number; approvers: { users: string[]; groups: string[] } }): ApprovalRule {
  return { required: a.required, approvers: subjectsOf(a.approvers) };
}

// The schema has already checked every path, kind and duration; these cannot throw here.
const compilePaths = (paths: readonly string[]): PathPattern[] => paths.map((p) => parsePathPattern(p));
const compileKinds = (kinds: readonly string[]): KindMatcher => anyKind(kinds.map((k) => parseKindSelector(k)));

function compileNotifications(n: PolicyDocument['notifications']): NotificationSettings {
  return {
    sinks: n.sinks.map((s) => ({
      name: s.name,
      type: s.type,
      ...(s.url !== undefined ? { url: s.url } : {}),
      ...(s.urlFile !== undefined ? { urlFile: s.urlFile } : {}),
      ...(s.urlEnv !== undefined ? { urlEnv: s.urlEnv } : {}),
      ...(s.secretFile !== undefined ? { secretFile: s.secretFile } : {}),
      ...(s.secretEnv !== undefined ? { secretEnv: s.secretEnv } : {}),
      events: new Set(s.events ?? NOTIFICATION_EVENTS),
      timeoutMs: parseDuration(s.timeout),
    })),
    maxAttempts: n.maxAttempts,
    initialBackoffMs: parseDuration(n.initialBackoff),
    maxBackoffMs: parseDuration(n.maxBackoff),
    sweepIntervalMs: parseDuration(n.sweepInterval),
  };
}

/** Compiles a schema-valid document; returns every semantic problem found (empty when valid). */
export function compilePolicy(doc: PolicyDocument): { policy: Policy; problems: Problems } {
  const problems: Problems = [];
  const pn = Array.isArray(doc.protectedNamespaces)
    ? { names: doc.protectedNamespaces, selector: undefined }
    : doc.protectedNamespaces;

  const delegations = doc.delegations.map((d, i): Delegation => {
    const at = `delegations[${i}]`;
    if (d.paths.length === 0 && d.managers.length === 0) {
      problems.push(`${at} (${d.name}): name the delegated fields with "paths" or "managers"`);
    }
    return {
      name: d.name,
      kinds: compileKinds(d.kinds),
      paths: compilePaths(d.paths),
      managers: new Set(d.managers),
      writers: d.writers ? new Set(d.writers) : undefined,
      kindNames: [...d.kinds],
      scope: d.scope
        ? {
            owners: d.scope.owners,
            names: d.scope.names ? new Set(d.scope.names) : undefined,
            namespaces: d.scope.namespaces ? new Set(d.scope.namespaces) : undefined,
          }
        : undefined,
      source: d.source,
    };
  });
  const ignore = doc.ignore.map((r, i) => ({
    name: `ignore[${i}]`,
    kinds: compileKinds(r.kinds),
    paths: compilePaths(r.paths),
  }));
  const allowances = doc.allowances.map((r) => ({
    name: r.name,
    kinds: compileKinds(r.kinds),
    paths: compilePaths(r.paths),
  }));

  const bg = doc.breakGlass;
  const defaultTTLMs = parseDuration(bg.defaultTTL);
  const maxTTLMs = parseDuration(bg.maxTTL);
  if (defaultTTLMs > maxTTLMs) {
    problems.push(`breakGlass.defaultTTL: ${bg.defaultTTL} is longer than breakGlass.maxTTL ${bg.maxTTL}`);
  }
  const backportDeadlineMs = parseDuration(bg.backportDeadline);

  const overlap = doc.gitops.controllers.filter((c) => c === 'system:serviceaccount:argocd:argocd-server');
  if (overlap.length > 0) {
    problems.push(
      'gitops.controllers: argocd-server is not a GitOps path (its writes are human clicks in the Argo CD UI); remove it',
    );
  }

  const namespaces = new Map<string, NamespaceOverride>();
  for (const [ns, o] of Object.entries(doc.namespaces)) {
    namespaces.set(ns, {
      ...(o.mode ? { mode: o.mode } : {}),
      ...(o.unmanagedCreates ? { unmanagedCreates: o.unmanagedCreates } : {}),
      ...(o.approval ? { approval: approvalOf(o.approval) } : {}),
    });
  }

  const policy: Policy = {
    mode: doc.mode,
    protectedNamespaces: { names: new Set(pn.names), matchLabels: pn.selector?.matchLabels },
    clusterScoped: doc.clusterScoped,
    unmanagedCreates: doc.unmanagedCreates,
    namespaces,
    gitops: {
      controllers: new Set(doc.gitops.controllers),
      fieldManagers: new Set(doc.gitops.fieldManagers),
      trackingAnnotations: doc.gitops.trackingAnnotations,
      trackingLabels: doc.gitops.trackingLabels,
    },
    systemWriters: new Set(doc.systemWriters),
    delegations,
    ignore,
    allowances,
    auditors: subjectsOf(doc.auditors),
    oidc: doc.auth.oidc,
    tokenReview: doc.auth.tokenReview,
    breakGlass: {
      defaultTTLMs,
      maxTTLMs,
      requireIncident: bg.requireIncident,
      requesters: subjectsOf(bg.requesters),
      approval: approvalOf(bg.approval),
      backportDeadlineMs,
      maxChangesPerBypass: bg.maxChangesPerBypass,
      maxOpenGrantsPerRequester: bg.maxOpenGrantsPerRequester,
    },
    limits: { maxKeys: doc.limits.maxKeys },
    notifications: compileNotifications(doc.notifications),
  };
  return { policy: Object.freeze(policy), problems };
}
