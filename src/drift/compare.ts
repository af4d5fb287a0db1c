/**
 * The manual normalize-and-classify workflow (`driftgate diff DESIRED LIVE`): Git's rendered objects
 * against live dumps, each difference classified exactly as the webhook would classify a write.
 *
 * A field present only in the live object is an API-server default when no field manager owns it in
 * the live managedFields (defaults are never tracked there); with managedFields stripped from the dump
 * (kubectl's default output) it cannot be told apart from a hand-made addition and stays guarded.
 */
import { classifyChanges, type ChangeClass } from '../admission/classify.ts';
import { diffObjects } from '../admission/diff.ts';
import { anyFieldSetOwns, mergeKeyTree } from '../admission/managed-fields.ts';
import { ownerOf } from '../admission/ownership.ts';
import { isSecretKind, redactSecret, type SecretHashKey } from '../admission/redact.ts';
import type { JsonObject, KubeObject } from '../admission/types.ts';
import type { Policy } from '../policy/policy.ts';
import { groupOf, objectKey, type SourcedObject } from '../manifests/read.ts';

export interface Difference {
  readonly path: string;
  readonly class: ChangeClass;
  readonly rule?: string;
  readonly git?: unknown;
  readonly live?: unknown;
  readonly declaredInGit?: boolean;
  readonly note?: string;
}

export interface ObjectComparison {
  readonly ref: string;
  readonly status: 'compared' | 'missing-live' | 'not-in-git';
  readonly owner?: string;
  readonly differences: readonly Difference[];
}

export interface Comparison {
  readonly objects: readonly ObjectComparison[];
  readonly guarded: number;
}

function refOf(o: KubeObject): string {
  const ns = o.metadata?.namespace;
  return `${o.apiVersion} ${o.kind} ${ns ? `${ns}/` : ''}${o.metadata?.name ?? '(unnamed)'}`;
}

function compareOne(git: KubeObject, live: KubeObject, policy: Policy, secretHashKey: SecretHashKey | undefined): ObjectComparison {
  const group = groupOf(live.apiVersion ?? '');
  const kind = live.kind ?? '';
  const secret = isSecretKind(group, kind);
  const g = secret ? redactSecret(git, secretHashKey) : git;
  const l = secret ? redactSecret(live, secretHashKey) : live;
  const managed = live.metadata?.managedFields;
  const allSets = Array.isArray(managed) ? managed.map((e) => e?.fieldsV1).filter((f): f is JsonObject => typeof f === 'object' && f !== null) : [];
  const changes = diffObjects(g, l, { mergeKeys: mergeKeyTree(managed), skipRuntime: false });
  const owner = ownerOf(live, policy) ?? ownerOf(git, policy);
  const scopeTarget = { name: live.metadata?.name ?? '', namespace: live.metadata?.namespace ?? '', owner: owner?.id };
  const classified = classifyChanges(changes, { policy, group, kind, writer: undefined, stored: live, wholeObject: false, scopeTarget });
  const differences = classified.map((c): Difference => {
    const base = {
      path: c.printed,
      ...(c.rule ? { rule: c.rule } : {}),
      ...(c.before !== undefined ? { git: c.before } : {}),
      ...(c.after !== undefined ? { live: c.after } : {}),
      ...(c.declaredInGit !== undefined ? { declaredInGit: c.declaredInGit } : {}),
    };
    if (c.class === 'guarded' && c.before === undefined && c.rule === undefined) {
      if (allSets.length > 0 && !anyFieldSetOwns(allSets, c.path)) {
        return { ...base, class: 'runtime', rule: 'server-default', note: 'set by the API server (no field manager owns it)' };
      }
      if (allSets.length === 0) {
        return { ...base, class: 'guarded', note: 'only in live: an API default or a hand-made addition (dump with --show-managed-fields to tell)' };
      }
    }
    return { ...base, class: c.class };
  });
  return { ref: refOf(live), status: 'compared', ...(owner ? { owner: owner.display } : {}), differences };
}

/** `secretHashKey`: the installation's, when Secret values must compare with recorded tasks (scan); default: this process's own. */
export function compareManifests(desired: readonly SourcedObject[], live: readonly SourcedObject[], policy: Policy, secretHashKey?: SecretHashKey): Comparison {
  const liveByKey = new Map<string, KubeObject>();
  for (const { object } of live) liveByKey.set(objectKey(object), object);
  const namespaces = new Set(live.map((l) => l.object.metadata?.namespace ?? ''));
  const matched = new Set<string>();
  const objects: ObjectComparison[] = [];
  for (const { object: git } of desired) {
    // Rendered manifests often omit the namespace; match against the live namespaces then.
    let key = objectKey(git);
    if (!liveByKey.has(key) && !git.metadata?.namespace) {
      key = [...namespaces].map((ns) => objectKey(git, ns)).find((k) => liveByKey.has(k)) ?? key;
    }
    const l = liveByKey.get(key);
    if (!l) {
      objects.push({ ref: refOf(git), status: 'missing-live', differences: [{ path: '(object)', class: 'guarded', note: 'in Git but not live' }] });
      continue;
    }
    matched.add(key);
    objects.push(compareOne(git, l, policy, secretHashKey));
  }
  for (const { object } of live) {
    if (matched.has(objectKey(object))) continue;
    objects.push({ ref: refOf(object), status: 'not-in-git', differences: [{ path: '(object)', class: 'guarded', note: 'live but not in Git (orphan)' }] });
  }
  const guarded = objects.reduce((n, o) => n + o.differences.filter((d) => d.class === 'guarded').length, 0);
  return { objects, guarded };
}
