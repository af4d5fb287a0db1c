/**
 * The admission pipeline, end to end: decode → decide (normalize/diff → ownership & delegation →
 * grant check) → record the task for a bypass → encode. The only step that awaits IO is the task
 * record; grants and cluster facts come from in-memory caches behind ports.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { logTaskRecorded } from '../audit/break-glass-log.ts';
import { DriftgateError, errorMessage } from '../errors.ts';
import type { GrantSource } from '../grants/grant.ts';
import type { Policy } from '../policy/policy.ts';
import type { TaskDraft, TaskRecorder } from '../tasks/task.ts';
import { decide, type Outcome, type ScaleParent, type Verdict } from './decide.ts';
import { decodeReview, parseReviewJson, uidOf } from './decode.ts';
import { moreJsonKeysThan } from '../lib/json-keys.ts';
import { encodeError, encodeReview } from './encode.ts';
import { bypassWarnings, MAX_LISTED_PATHS, shownPath } from './message.ts';
import { shownName } from './target.ts';
import type { SecretHashKey } from './redact.ts';
import type { AdmissionRequest, AdmissionReviewResponse } from './types.ts';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** What a cluster cache knows; absent in the embedded default. */
export interface ClusterFacts {
  scaleParent(group: string, resource: string, namespace: string, name: string): ScaleParent;
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
}

export interface ReviewDeps {
  readonly policy: () => Policy;
  readonly clock: Clock;
  readonly grants: GrantSource;
  readonly tasks: TaskRecorder | undefined;
  readonly cluster: ClusterFacts | undefined;
  readonly logger: Logger;
  /** the installation's key for hashing Secret values (src/keys/secret-hash-key.ts) */
  readonly secretHashKey?: SecretHashKey;
}

export type ReviewOutcome = Outcome | 'errored';

export interface ReviewResult {
  readonly review: AdmissionReviewResponse;
  readonly outcome: ReviewOutcome;
  readonly operation: string;
  /** HTTP status: 200 for every decision; the error's status for input the webhook could not decide */
  readonly httpStatus: number;
  readonly verdict: Verdict | undefined;
  readonly seconds: number;
  /** the task recorded for a bypass (absent for a dry run or any other decision) */
  readonly taskId?: string;
  /** the task store failed, so a bypass was denied */
  readonly storeFailed?: boolean;
}

/**
 * What the landing check compares the live object with: the version the write was admitted against,
 * and the generation the write produces when it bumps it (a spec change; not a status or label write).
 */
function landingEvidence(req: AdmissionRequest): { resourceVersion?: string; generation?: number } {
  const rv = req.oldObject?.metadata?.resourceVersion;
  const gen = req.object?.metadata?.generation;
  const old = req.oldObject?.metadata?.generation;
  const bumps = req.operation === 'UPDATE' && Number.isSafeInteger(gen) && Number.isSafeInteger(old) && gen! > old!;
  return { ...(typeof rv === 'string' && rv !== '' ? { resourceVersion: rv } : {}), ...(bumps ? { generation: gen! } : {}) };
}

function taskDraft(req: AdmissionRequest, v: Verdict, now: Date): TaskDraft {
  const obj = req.object ?? req.oldObject;
  const grant = v.grant!;
  return {
    grantId: grant.id,
    ...(grant.incident ? { incident: grant.incident } : {}),
    writer: { username: req.userInfo.username, groups: [...req.userInfo.groups] },
    operation: req.operation,
    object: {
      apiVersion: v.target.group ? `${v.target.group}/${v.target.version}` : v.target.version,
      kind: v.target.kind,
      namespace: v.target.namespace,
      name: v.target.name,
      ...(typeof obj?.metadata?.uid === 'string' ? { uid: obj.metadata.uid } : {}),
      ...landingEvidence(req),
    },
    owner: v.owner?.id ?? 'unknown',
    changes: v.guarded.map((c) => ({
      path: c.printed,
      ...(c.before !== undefined ? { before: c.before } : {}),
      ...(c.after !== undefined ? { after: c.after } : {}),
      ...(c.declaredInGit !== undefined ? { declaredInGit: c.declaredInGit } : {}),
    })),
    admissionUid: req.uid,
    recordedAt: now.toISOString(),
  };
}

/** The request's identity, put on every log line about it (no child logger: this is the hot path). */
function requestFields(req: AdmissionRequest): Record<string, unknown> {
  return {
    // request text, cut for the log (a direct POST can send megabytes in any of these)
    uid: shownName(req.uid),
    operation: req.operation,
    resource: shownName(`${req.resource.group ? `${req.resource.group}/` : ''}${req.resource.resource}${req.subResource ? `/${req.subResource}` : ''}`),
    namespace: req.namespace ? shownName(req.namespace) : undefined,
    name: req.name ? shownName(req.name) : undefined,
    user: shownName(req.userInfo.username),
    dryRun: req.dryRun || undefined,
  };
}

type Answered = { review: AdmissionReviewResponse; verdict: Verdict; taskId?: string; storeFailed?: boolean };

/** Decides; only a bypass awaits (its task record), so every other answer is returned as it is decided. */
function answer(req: AdmissionRequest, body: string, deps: ReviewDeps): Answered | Promise<Answered> {
  const now = deps.clock.now();
  const policy = deps.policy();
  const scaleParent =
    req.subResource === 'scale' && deps.cluster
      ? deps.cluster.scaleParent(req.resource.group, req.resource.resource, req.namespace, req.name)
      : undefined;
  const nsLabels = deps.cluster && req.namespace ? deps.cluster.namespaceLabels(req.namespace) : undefined;
  const verdict = decide({
    request: req,
    policy,
    now,
    grantsFor: (t) => deps.grants.activeGrants(t.namespace, t.group, t.kind, t.name, now),
    moreKeysThan: (limit) => moreJsonKeysThan(body, limit),
    ...(scaleParent ? { scaleParent } : {}),
    ...(nsLabels ? { namespaceLabels: nsLabels } : {}),
    ...(deps.secretHashKey ? { secretHashKey: deps.secretHashKey } : {}),
  });

  if (verdict.outcome !== 'bypassed') {
    return {
      verdict,
      review: encodeReview(req.uid, {
        allowed: verdict.allowed,
        code: 403,
        reason: 'Forbidden',
        ...(verdict.message && !verdict.allowed ? { message: verdict.message } : {}),
        warnings: verdict.warnings,
        ...(verdict.outcome === 'warned' ? { auditAnnotations: decisionAnnotations(verdict) } : {}),
      }),
    };
  }

  return bypass(req, verdict, deps, now);
}

/** A bypass: recorded as a task before it is admitted; no record, no bypass. */
async function bypass(req: AdmissionRequest, verdict: Verdict, deps: ReviewDeps, now: Date): Promise<Answered> {
  const grant = verdict.grant!;
  let taskId: string | undefined;
  let journalRecord: string | undefined;
  if (!req.dryRun) {
    if (!deps.tasks) return noRecord(req, verdict, 'no task store is configured');
    const draft = taskDraft(req, verdict, now);
    try {
      const recorded = await deps.tasks.recordBypass(draft);
      taskId = recorded.id;
      journalRecord = recorded.record;
    } catch (err) {
      deps.logger.error({ ...requestFields(req), err: errorMessage(err), grant: grant.id }, 'task record failed: bypass denied');
      return { ...noRecord(req, verdict, `the bypass task could not be recorded (${errorMessage(err)})`), storeFailed: true };
    }
    logTaskRecorded(deps.logger, draft, taskId, grant.reason);
  }
  return {
    verdict,
    ...(taskId ? { taskId } : {}),
    review: encodeReview(req.uid, {
      allowed: true,
      warnings: bypassWarnings(grant, taskId, now),
      auditAnnotations: { ...decisionAnnotations(verdict), ...grantAnnotations(grant.id, taskId), ...journalAnnotations(journalRecord) },
    }),
  };
}

/**
 * Audit annotation keys carry no `/` of their own: the API server prefixes each key with the webhook's
 * name and rejects a key that is then not a valid qualified name (so `grant` is stored as
 * `validate.driftgate.io/grant`).
 */
function grantAnnotations(grantId: string, taskId: string | undefined): Record<string, string> {
  return taskId ? { grant: grantId, task: taskId } : { grant: grantId };
}

/** The task's journal record (`<seq>:<MAC prefix>`): the audit log keeps an anchor outside driftgate's disk. */
function journalAnnotations(record: string | undefined): Record<string, string> {
  return record ? { journal: record } : {}; // stored as `validate.driftgate.io/journal` (no `/` of its own)
}

function decisionAnnotations(v: Verdict): Record<string, string> {
  return { decision: v.audited ? `audit:${v.rule}` : v.rule };
}

function noRecord(req: AdmissionRequest, verdict: Verdict, why: string): Answered {
  const denied: Verdict = { ...verdict, outcome: 'denied', allowed: false };
  return {
    verdict: denied,
    review: encodeReview(req.uid, {
      allowed: false,
      code: 403,
      reason: 'Forbidden',
      message: `driftgate: break-glass grant ${verdict.grant?.id ?? ''} covers this change, but ${why}; no bypass without a record. Retry, or ask the platform team to check driftgate's store.`,
    }),
  };
}

const LEVEL: Record<Outcome, 'debug' | 'info' | 'warn'> = { allowed: 'debug', warned: 'warn', bypassed: 'warn', denied: 'info' };

/**
 * Decides one raw request body. Never throws: every failure becomes an AdmissionReview answer. The
 * answer is synchronous unless a bypass has to wait for its task record (the hot path makes no
 * promise).
 */
export function reviewBody(body: string, deps: ReviewDeps): ReviewResult | Promise<ReviewResult> {
  const started = performance.now();
  let uid = '';
  let operation = 'UNKNOWN';
  try {
    const parsed = parseReviewJson(body);
    uid = uidOf(parsed);
    const req = decodeReview(parsed);
    operation = req.operation;
    const answered = answer(req, body, deps);
    if (!(answered instanceof Promise)) return decided(req, answered, started, deps);
    return answered.then(
      (a) => decided(req, a, started, deps),
      (err: unknown) => failed(err, uid, operation, started, deps),
    );
  } catch (err) {
    return failed(err, uid, operation, started, deps);
  }
}

function decided(req: AdmissionRequest, answered: Answered, started: number, deps: ReviewDeps): ReviewResult {
  const { review, verdict, taskId, storeFailed } = answered;
  const seconds = (performance.now() - started) / 1000;
  const level = LEVEL[verdict.outcome];
  // allowed decisions log at debug: build the line only when someone will read it
  if (deps.logger.isLevelEnabled(level)) {
    deps.logger[level](
      {
        ...requestFields(req),
        decision: verdict.outcome,
        rule: verdict.rule,
        owner: verdict.owner?.id,
        guarded: verdict.guarded.length > 0 ? verdict.guarded.slice(0, MAX_LISTED_PATHS).map(shownPath) : undefined,
        allowances: verdict.allowancesUsed.length > 0 ? verdict.allowancesUsed : undefined,
        grant: verdict.grant?.id,
        audit: verdict.audited || undefined,
        durationMs: Math.round(seconds * 1e6) / 1e3,
      },
      'admission decision',
    );
  }
  return { review, outcome: verdict.outcome, operation: req.operation, httpStatus: 200, verdict, seconds, ...(taskId ? { taskId } : {}), ...(storeFailed ? { storeFailed } : {}) };
}

function failed(err: unknown, uid: string, operation: string, started: number, deps: ReviewDeps): ReviewResult {
  const seconds = (performance.now() - started) / 1000;
  const e = err instanceof DriftgateError ? err : new DriftgateError('INTERNAL', `internal error: ${errorMessage(err)}`, { cause: err });
  const level = e.code === 'INTERNAL' ? 'error' : 'warn';
  deps.logger[level]({ uid: uid || undefined, code: e.code, err: e.message, durationMs: Math.round(seconds * 1e6) / 1e3 }, 'admission request rejected');
  return { review: encodeError(uid, e), outcome: 'errored', operation, httpStatus: e.status, verdict: undefined, seconds };
}
