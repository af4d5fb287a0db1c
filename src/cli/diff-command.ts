/** `driftgate diff DESIRED LIVE`: classify every difference between Git's objects and the live ones. */
import { compareManifests, type Comparison, type Difference } from '../drift/compare.ts';
import { readManifests } from '../manifests/read.ts';
import { loadFromSource, resolvePolicySource } from '../policy/source.ts';
import { showValue } from '../admission/redact.ts';

export interface DiffOptions {
  readonly config?: string;
  readonly output?: string;
  readonly showRuntime?: boolean;
}

function line(d: Difference): string {
  const values = d.path === '(object)' ? '' : `: ${showValue(d.git, 60)} → ${showValue(d.live, 60)}`;
  const why = [d.rule, d.note, d.declaredInGit === true ? 'declared in Git' : undefined].filter(Boolean).join('; ');
  return `  ${d.class.padEnd(9)}  ${d.path}${values}${why ? `  (${why})` : ''}`;
}

export function renderComparison(c: Comparison, showRuntime: boolean): string {
  const out: string[] = [];
  for (const o of c.objects) {
    out.push(`${o.ref}${o.owner ? `  [owner: ${o.owner}]` : ''}`);
    const shown = o.differences.filter((d) => showRuntime || d.class !== 'runtime');
    const hidden = o.differences.length - shown.length;
    if (shown.length === 0) out.push('  no differences');
    for (const d of shown) out.push(line(d));
    if (hidden > 0) out.push(`  (${hidden} runtime difference(s) hidden; --show-runtime lists them)`);
  }
  out.push(c.guarded > 0 ? `${c.guarded} guarded difference(s): drift from Git` : 'no guarded differences');
  return out.join('\n');
}

/** Returns the exit code: 1 when any difference is guarded. */
export function diffCommand(desired: string, live: string, opts: DiffOptions, print: (s: string) => void): number {
  const policy = loadFromSource(resolvePolicySource(opts.config));
  const comparison = compareManifests(readManifests(desired), readManifests(live), policy);
  if (opts.output === 'json') print(JSON.stringify(comparison, null, 2));
  else print(renderComparison(comparison, opts.showRuntime ?? false));
  return comparison.guarded > 0 ? 1 : 0;
}
