/** Printing imported rules as policy `delegations:` entries a platform engineer can review or paste. */
import { stringify } from 'yaml';
import { IMPORTED_WRITERS, type ImportResult, type ImportedRule } from './imported.ts';

export function ruleToDelegation(r: ImportedRule): Record<string, unknown> {
  const scope: Record<string, unknown> = { owners: [...r.scope.owners] };
  if (r.scope.names.length > 0) scope.names = [...r.scope.names];
  if (r.scope.namespaces.length > 0) scope.namespaces = [...r.scope.namespaces];
  return {
    name: r.name,
    source: r.source,
    ...(r.kinds.length > 0 ? { kinds: [...r.kinds] } : {}),
    ...(r.paths.length > 0 ? { paths: [...r.paths] } : {}),
    ...(r.managers.length > 0 ? { managers: [...r.managers] } : {}),
    writers: [...IMPORTED_WRITERS],
    scope,
  };
}

export function renderImportYaml(result: ImportResult): string {
  const lines: string[] = [];
  lines.push(`# ${result.rules.length} delegation(s) derived from the GitOps tools' ignore rules`);
  const body = stringify({ delegations: result.rules.map(ruleToDelegation) }, { lineWidth: 0, flowCollectionPadding: false }).trimEnd();
  lines.push(result.rules.length > 0 ? body : 'delegations: []');
  if (result.notImported.length > 0) {
    lines.push(`# ${result.notImported.length} expression(s) NOT imported: driftgate still guards these fields, which the GitOps tool ignores`);
    for (const n of result.notImported) lines.push(`#   ${n.source}: ${JSON.stringify(n.expression)}: ${n.reason}`);
  }
  return lines.join('\n');
}
