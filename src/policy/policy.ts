/**
 * The compiled policy: the validated document turned into the lookups the decision core uses
 * (sets, parsed path patterns, kind matchers, milliseconds). Built once per load, then frozen.
 */
import type { PolicyDocument } from './schema.ts';
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
  };
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
    },
  };
  return { policy: Object.freeze(policy), problems };
}
