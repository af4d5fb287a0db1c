/**
 * Argo CD's own "do not reconcile this" configuration, as driftgate delegations:
 * - `Application.spec.ignoreDifferences[]` (group, kind, name, namespace; jsonPointers,
 *   jqPathExpressions, managedFieldsManagers), scoped to that application's objects;
 * - `argocd-cm` `resource.customizations.ignoreDifferences.<group_kind>` and `.all`, and the older
 *   `resource.customizations` block, scoped to every Argo CD-owned object.
 */
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../admission/types.ts';
import { emptyResult, kindSelector, nonEmpty, type ImportResult, type ImportedScope } from './imported.ts';
import { jqToPath, pointerToPath, type PathResult } from './paths.ts';

/** The namespace Argo CD runs in: applications there are tracked by bare name. */
export const ARGO_CONTROL_NAMESPACE = 'argocd';

/** Every Argo CD-owned object: tracked by an application, or written by Argo CD's field manager. */
export const ALL_ARGO_OWNERS = ['argocd/*', 'manager/argocd-controller'] as const;

interface IgnoreEntry {
  readonly group?: unknown;
  readonly kind?: unknown;
  readonly name?: unknown;
  readonly namespace?: unknown;
  readonly jsonPointers?: unknown;
  readonly jqPathExpressions?: unknown;
  readonly managedFieldsManagers?: unknown;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : []);

/** The owner id driftgate computes for objects of an application (see ownership). */
export function argoOwnerId(appNamespace: string | undefined, appName: string): string {
  return !appNamespace || appNamespace === ARGO_CONTROL_NAMESPACE ? `argocd/${appName}` : `argocd/${appNamespace}/${appName}`;
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '');
}

function addEntry(out: ImportResult, entry: IgnoreEntry, base: { name: string; source: string; scope: ImportedScope; kinds: string[] }): void {
  const paths: string[] = [];
  const take = (expr: string, r: PathResult): void => {
    if ('path' in r) paths.push(r.path);
    else out.notImported.push({ source: base.source, expression: expr, reason: r.error });
  };
  for (const p of strings(entry.jsonPointers)) take(p, pointerToPath(p));
  for (const e of strings(entry.jqPathExpressions)) take(e, jqToPath(e));
  const managers = strings(entry.managedFieldsManagers);
  if (paths.length === 0 && managers.length === 0) return;
  out.rules.push({ name: base.name, tool: 'Argo CD', source: base.source, kinds: base.kinds, paths, managers, scope: base.scope });
}

export function fromApplication(app: KubeObject): ImportResult {
  const out = emptyResult();
  const name = nonEmpty(app.metadata?.name);
  if (!name) return out;
  const ns = nonEmpty(app.metadata?.namespace);
  const spec = (app as { spec?: { ignoreDifferences?: unknown } }).spec;
  const entries = Array.isArray(spec?.ignoreDifferences) ? (spec.ignoreDifferences as unknown[]) : [];
  const owner = argoOwnerId(ns, name);
  entries.forEach((raw, i) => {
    if (typeof raw !== 'object' || raw === null) return;
    const e = raw as IgnoreEntry;
    const objName = nonEmpty(e.name);
    const objNs = nonEmpty(e.namespace);
    addEntry(out, e, {
      name: `argocd-${slug(owner.slice('argocd/'.length))}-ignore-${i}`,
      source: `Argo CD Application ${ns ?? ARGO_CONTROL_NAMESPACE}/${name} spec.ignoreDifferences[${i}]`,
      kinds: kindSelector(nonEmpty(e.group) ?? '', nonEmpty(e.kind)),
      scope: { owners: [owner], names: objName ? [objName] : [], namespaces: objNs ? [objNs] : [] },
    });
  });
  return out;
}

const CM_PREFIX = 'resource.customizations.ignoreDifferences.';

/** `apps_Deployment` → [apps, Deployment]; `Service` / `_Service` → core; `all` → any kind */
function groupKindOf(key: string): { group: string; kind: string } | undefined {
  if (key === 'all') return { group: '*', kind: '*' };
  const cut = key.lastIndexOf('_');
  const group = cut < 0 ? '' : key.slice(0, cut);
  const kind = cut < 0 ? key : key.slice(cut + 1);
  return /^[A-Z][A-Za-z0-9]*$/.test(kind) ? { group, kind } : undefined;
}

function yamlEntry(text: unknown, source: string, out: ImportResult): IgnoreEntry | undefined {
  if (typeof text === 'object' && text !== null) return text as IgnoreEntry;
  if (typeof text !== 'string') return undefined;
  try {
    const v: unknown = parseYaml(text, { maxAliasCount: 10 });
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as IgnoreEntry;
  } catch {
    // reported below
  }
  out.notImported.push({ source, expression: text.slice(0, 80), reason: 'not a YAML mapping of jsonPointers / jqPathExpressions / managedFieldsManagers' });
  return undefined;
}

export function fromArgoCdConfigMap(cm: KubeObject): ImportResult {
  const out = emptyResult();
  const data = (cm as { data?: unknown }).data;
  if (typeof data !== 'object' || data === null) return out;
  const scope: ImportedScope = { owners: [...ALL_ARGO_OWNERS], names: [], namespaces: [] };
  const cmName = `${nonEmpty(cm.metadata?.namespace) ?? ARGO_CONTROL_NAMESPACE}/${nonEmpty(cm.metadata?.name) ?? 'argocd-cm'}`;
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (key.startsWith(CM_PREFIX)) {
      const source = `Argo CD ConfigMap ${cmName} ${key}`;
      const gk = groupKindOf(key.slice(CM_PREFIX.length));
      if (!gk) {
        out.notImported.push({ source, expression: key, reason: 'the key does not end in <group>_<Kind> or "all"' });
        continue;
      }
      const entry = yamlEntry(value, source, out);
      if (entry) addEntry(out, entry, { name: `argocd-cm-${slug(key.slice(CM_PREFIX.length))}`, source, scope, kinds: kindSelector(gk.group, gk.kind) });
    } else if (key === 'resource.customizations' && typeof value === 'string') {
      // older form: a YAML map of `group/Kind: {ignoreDifferences: "<yaml>"}`
      let legacy: unknown;
      try {
        legacy = parseYaml(value, { maxAliasCount: 10 });
      } catch {
        out.notImported.push({ source: `Argo CD ConfigMap ${cmName} resource.customizations`, expression: value.slice(0, 80), reason: 'invalid YAML' });
        continue;
      }
      if (typeof legacy !== 'object' || legacy === null) continue;
      for (const [gkText, custom] of Object.entries(legacy as Record<string, unknown>)) {
        const ignore = (custom as { ignoreDifferences?: unknown } | null)?.ignoreDifferences;
        if (ignore === undefined) continue;
        const source = `Argo CD ConfigMap ${cmName} resource.customizations["${gkText}"].ignoreDifferences`;
        const slash = gkText.lastIndexOf('/');
        const entry = yamlEntry(ignore, source, out);
        if (entry) {
          addEntry(out, entry, {
            name: `argocd-cm-${slug(gkText)}`,
            source,
            scope,
            kinds: kindSelector(slash < 0 ? '' : gkText.slice(0, slash), slash < 0 ? gkText : gkText.slice(slash + 1)),
          });
        }
      }
    }
  }
  return out;
}
