/**
 * The policy file's shape (SPEC §3), with every documented default. Unknown keys are errors so a typo
 * ("protectedNamespace") is caught at start instead of silently protecting nothing.
 */
import { z } from 'zod';
import { parsePathPattern } from './path-pattern.ts';
import { parseKindSelector } from './kinds.ts';
import { parseDuration } from '../util/duration.ts';

/** A string checked by a parser, so syntax problems are listed together with the shape problems. */
function parsed(what: string, parse: (s: string) => unknown) {
  return z.string().check((ctx) => {
    try {
      parse(ctx.value);
    } catch (err) {
      ctx.issues.push({ code: 'custom', input: ctx.value, message: `bad ${what} "${ctx.value}": ${(err as Error).message}` });
    }
  });
}
const pathList = z.array(parsed('path', parsePathPattern));
const kindList = z.array(parsed('kind', parseKindSelector));
const duration = parsed('duration', (s) => {
  if (parseDuration(s) <= 0) throw new Error('must be greater than zero');
});

const names = z.array(z.string().min(1));
const subjects = z.strictObject({ users: names.default([]), groups: names.default([]) });
const mode = z.enum(['enforce', 'audit']);
const unmanagedCreates = z.enum(['deny', 'audit', 'allow']);
const approval = z.strictObject({
  required: z.number().int().min(0).max(10).default(0),
  approvers: subjects.default({ users: [], groups: [] }),
});

/** What driftgate tells people about (SPEC §4, §5; issue 16). */
export const NOTIFICATION_EVENTS = [
  'grant.requested',
  'grant.approved',
  'grant.denied',
  'grant.revoked',
  'grant.expired',
  'grant.first-used',
  'task.overdue',
  'drift.found',
] as const;

/** Secrets (HMAC keys, Slack URLs, which embed a token) come from a file or the environment, never the policy. */
const notificationSink = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'use lowercase letters, digits and dashes'),
    type: z.enum(['webhook', 'slack']),
    url: z.url({ protocol: /^https?$/ }).optional(),
    urlFile: z.string().min(1).optional(),
    urlEnv: z.string().min(1).optional(),
    secretFile: z.string().min(1).optional(),
    secretEnv: z.string().min(1).optional(),
    events: z.array(z.enum(NOTIFICATION_EVENTS)).min(1).optional(),
    timeout: duration.default('10s'),
  })
  .check((ctx) => {
    const s = ctx.value;
    const urls = [s.url, s.urlFile, s.urlEnv].filter((u) => u !== undefined).length;
    const fail = (message: string) => ctx.issues.push({ code: 'custom', input: s, message });
    if (urls !== 1) fail(`sink "${s.name}": set exactly one of url, urlFile, urlEnv`);
    if (s.type === 'slack' && s.url !== undefined) fail(`sink "${s.name}": a Slack webhook URL contains its token; put it in urlFile or urlEnv`);
    if (s.type === 'webhook' && (s.secretFile === undefined) === (s.secretEnv === undefined)) fail(`sink "${s.name}": a webhook is signed: set exactly one of secretFile, secretEnv`);
    if (s.type === 'slack' && (s.secretFile ?? s.secretEnv) !== undefined) fail(`sink "${s.name}": Slack webhooks are not signed; remove secretFile/secretEnv`);
  });

const OPEN_GRANTS = 'a whole number of grants from 1 to 1000 (default 10): pending or active grants one requester may hold';

export const DEFAULT_PROTECTED_SELECTOR = { 'driftgate.io/protected': 'true' } as const;

export const policySchema = z.strictObject({
  mode: mode.default('enforce'),
  protectedNamespaces: z
    .union([
      names,
      z.strictObject({
        names: names.default([]),
        selector: z.strictObject({ matchLabels: z.record(z.string(), z.string()) }).optional(),
      }),
    ])
    .default({ names: [], selector: { matchLabels: { ...DEFAULT_PROTECTED_SELECTOR } } }),
  clusterScoped: z.enum(['guard', 'ignore']).default('guard'),
  unmanagedCreates: unmanagedCreates.default('deny'),
  namespaces: z
    .record(
      z.string().min(1),
      z.strictObject({ mode: mode.optional(), unmanagedCreates: unmanagedCreates.optional(), approval: approval.optional() }),
    )
    .default({}),
  gitops: z
    .strictObject({
      controllers: names.default([
        'system:serviceaccount:argocd:argocd-application-controller',
        'system:serviceaccount:flux-system:kustomize-controller',
        'system:serviceaccount:flux-system:helm-controller',
      ]),
      fieldManagers: names.default(['argocd-controller', 'kustomize-controller', 'helm-controller']),
      trackingAnnotations: names.default(['argocd.argoproj.io/tracking-id']),
      trackingLabels: names.default([
        'app.kubernetes.io/instance',
        'kustomize.toolkit.fluxcd.io/name',
        'helm.toolkit.fluxcd.io/name',
      ]),
    })
    .prefault({}),
  systemWriters: names.default([
    'system:serviceaccount:kube-system:generic-garbage-collector',
    'system:serviceaccount:kube-system:namespace-controller',
    'system:kube-controller-manager',
  ]),
  delegations: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        kinds: kindList.default([]),
        paths: pathList.default([]),
        managers: names.default([]),
        writers: names.optional(),
        /** limits the delegation to some objects (imported from Argo CD / Flux ignore rules) */
        scope: z
          .strictObject({ owners: names.min(1).optional(), names: names.optional(), namespaces: names.optional() })
          .optional(),
        /** where the delegation comes from, shown in denials (e.g. an Argo CD ignoreDifferences entry) */
        source: z.string().min(1).optional(),
      }),
    )
    .default([]),
  ignore: z.array(z.strictObject({ kinds: kindList.default([]), paths: pathList.min(1) })).default([]),
  allowances: z
    .array(z.strictObject({ name: z.string().min(1), kinds: kindList.default([]), paths: pathList.min(1) }))
    .default([
      {
        name: 'rollout-restart',
        kinds: [],
        paths: ['spec.template.metadata.annotations[kubectl.kubernetes.io/restartedAt]'],
      },
    ]),
  auditors: subjects.default({ users: [], groups: ['auditors'] }),
  auth: z
    .strictObject({
      oidc: z
        .strictObject({
          issuer: z.string().min(1),
          audience: z.string().min(1),
          jwksUri: z.url().optional(),
          jwksFile: z.string().min(1).optional(),
          usernameClaim: z.string().min(1).default('sub'),
          groupsClaim: z.string().min(1).default('groups'),
        })
        .refine((o) => (o.jwksUri === undefined) !== (o.jwksFile === undefined), { message: 'set exactly one of jwksUri or jwksFile' })
        .optional(),
      tokenReview: z.strictObject({ audiences: names.default([]) }).optional(),
    })
    .refine((a) => !(a.oidc && a.tokenReview), { message: 'choose one of auth.oidc and auth.tokenReview' })
    .default({}),
  breakGlass: z
    .strictObject({
      defaultTTL: duration.default('1h'),
      maxTTL: duration.default('4h'),
      requireIncident: z.boolean().default(true),
      requesters: subjects.default({ users: [], groups: ['oncall'] }),
      approval: approval.default({ required: 0, approvers: { users: [], groups: ['sre-leads'] } }),
      backportDeadline: duration.default('72h'),
      maxChangesPerBypass: z.number().int().min(1).max(100_000).default(10_000),
      /** pending or active grants one requester may hold at once: a responder needs a few, not a flood */
      maxOpenGrantsPerRequester: z.number({ error: OPEN_GRANTS }).int({ error: OPEN_GRANTS }).min(1, { error: OPEN_GRANTS }).max(1_000, { error: OPEN_GRANTS }).default(10),
    })
    .prefault({}),
  limits: z
    .strictObject({
      /** map keys one review may hold (object and oldObject together) when a direct write has to be compared */
      maxKeys: z.number().int().min(1_000).max(10_000_000).default(150_000),
    })
    .prefault({}),
  notifications: z
    .strictObject({
      sinks: z.array(notificationSink).default([]),
      maxAttempts: z.number().int().min(1).max(100).default(12),
      initialBackoff: duration.default('5s'),
      maxBackoff: duration.default('15m'),
      sweepInterval: duration.default('30s'),
    })
    .refine((n) => new Set(n.sinks.map((s) => s.name)).size === n.sinks.length, { message: 'sink names must be unique (deliveries are recorded by sink name)' })
    .prefault({}),
});

export type PolicyDocument = z.infer<typeof policySchema>;
