/**
 * `scan --desired`: Git's rendered manifests, held in memory (they are the small side), against each
 * live object as it streams past. Each pair is compared by `driftgate diff`'s own comparison, so a
 * difference is classified exactly as there; guarded differences are then attributed to the
 * managedFields entry that owns the live field. Objects Git has and the scan never saw are `missing`.
 */
import type { FieldPath } from '../lib/field-path.ts';
import { ownerOf } from '../admission/ownership.ts';
import type { SecretHashKey } from '../admission/redact.ts';
import type { KubeObject } from '../admission/types.ts';
import { compareManifests } from '../drift/compare.ts';
import { groupOf, objectKey, type SourcedObject } from '../manifests/read.ts';
import { parsePathPattern } from '../policy/path-pattern.ts';
import type { Policy } from '../policy/policy.ts';
import { writersOf } from './attribution.ts';
import type { Finding } from './types.ts';

/** The key of a manifest without a namespace (objectKey's form with the namespace left empty). */
function namelessKey(o: KubeObject): string {
  return [groupOf(o.apiVersion ?? ''), o.kind ?? '', '', o.metadata?.name ?? ''].join('|');
}

export class DesiredIndex {
  readonly #byKey = new Map<string, SourcedObject>();
  /** rendered manifests often omit the namespace: those match a live object of any scanned namespace */
  readonly #anyNamespace = new Map<string, SourcedObject>();
  readonly #matched = new Set<SourcedObject>();

  constructor(objects: readonly SourcedObject[]) {
    for (const o of objects) {
      if (o.object.metadata?.namespace) this.#byKey.set(objectKey(o.object), o);
      else this.#anyNamespace.set(objectKey(o.object), o);
    }
  }

  /** Git's object for a live one (marked as seen), or undefined. */
  take(live: KubeObject): SourcedObject | undefined {
    const found = this.#byKey.get(objectKey(live)) ?? this.#anyNamespace.get(namelessKey(live));
    if (found) this.#matched.add(found);
    return found;
  }

  /** Git's objects of the scanned kinds and namespaces that no live object matched. */
  missing(scanned: (o: KubeObject) => boolean): KubeObject[] {
    const out: KubeObject[] = [];
    for (const o of [...this.#byKey.values(), ...this.#anyNamespace.values()]) if (!this.#matched.has(o) && scanned(o.object)) out.push(o.object);
    return out;
  }
}

function fieldPath(printed: string): FieldPath | undefined {
  try {
    const segs = parsePathPattern(printed).segments;
    return segs.every((s) => s.k === 'key' || s.k === 'item') ? (segs as FieldPath) : undefined;
  } catch {
    return undefined;
  }
}

/** Every difference between Git's object and the live one, as findings, guarded ones attributed. */
export function desiredFindings(git: SourcedObject, live: KubeObject, policy: Policy, secretHashKey?: SecretHashKey): Finding[] {
  const [cmp] = compareManifests([git], [{ object: live, source: 'live' }], policy, secretHashKey).objects;
  const gitops = policy.gitops.fieldManagers;
  return (cmp?.differences ?? []).map((d): Finding => {
    const base = {
      category: d.class,
      path: d.path,
      ...(d.rule ? { rule: d.rule } : {}),
      ...(d.git !== undefined ? { git: d.git } : {}),
      ...(d.live !== undefined ? { live: d.live } : {}),
      ...(d.declaredInGit !== undefined ? { declaredInGit: d.declaredInGit } : {}),
      ...(d.note ? { note: d.note } : {}),
    };
    if (d.class !== 'guarded') return base;
    const path = fieldPath(d.path);
    const [writer] = path ? writersOf(live.metadata?.managedFields, path) : [];
    if (writer && gitops.has(writer.manager)) {
      // Git's own manager wrote the live value: Git changed and the sync has not happened yet.
      return { ...base, writer, note: `${writer.manager} wrote the live value: Git changed since, not synced yet (a delivery failure, not a hand edit)` };
    }
    return { ...base, ...(writer ? { writer } : {}), recorded: false };
  });
}

/** An object Git has and the cluster lacks. */
export function missingFinding(git: KubeObject, policy: Policy): { finding: Finding; owner: string | undefined } {
  return {
    finding: { category: 'missing', path: '(object)', note: 'in Git but not live: deleted by hand, or never delivered' },
    owner: ownerOf(git, policy)?.display,
  };
}
