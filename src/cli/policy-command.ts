/**
 * `driftgate policy import` (the delegations Argo CD / Flux configuration implies) and
 * `driftgate policy check` (validate the policy; report where it and the GitOps tools disagree).
 */
import { Command, Option } from 'commander';
import { importFiles, type FileImport } from '../gitops/import-files.ts';
import { renderImportYaml } from '../gitops/render.ts';
import { findConflicts } from '../gitops/conflicts.ts';
import { loadFromSource, resolvePolicySource } from '../policy/source.ts';
import { CliExit } from './exit.ts';

interface Out {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

interface SourceOptions {
  argocd?: string[];
  flux?: string[];
}

function sources(): Option[] {
  return [
    new Option('--argocd <files...>', 'Argo CD Applications and the argocd-cm ConfigMap (files or directories, YAML or JSON, e.g. `kubectl get applications -A -o yaml`)'),
    new Option('--flux <files...>', 'Flux HelmReleases (files or directories)'),
  ];
}

function load(o: SourceOptions, required: boolean): FileImport | undefined {
  const files = [...(o.argocd ?? []), ...(o.flux ?? [])];
  if (files.length === 0) {
    if (required) throw new CliExit(2, 'driftgate: name the GitOps configuration to read with --argocd FILE… and/or --flux FILE…');
    return undefined;
  }
  return importFiles(files);
}

export function policyCommand(out: Out): Command {
  const policy = new Command('policy').description('check the policy and align it with Argo CD and Flux');

  const imp = policy
    .command('import')
    .description("print the delegations implied by Argo CD ignoreDifferences and Flux driftDetection.ignore (fields the GitOps tool does not reconcile)")
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'));
  for (const opt of sources()) imp.addOption(opt);
  imp.action((o: SourceOptions & { output: string }) => {
    const r = load(o, true)!;
    if (o.output === 'json') out.stdout(JSON.stringify({ rules: r.rules, notImported: r.notImported }, null, 2));
    else out.stdout(renderImportYaml(r));
    if (r.owners.length === 0 && r.rules.length === 0) {
      out.stderr(`driftgate: read ${r.objectsRead} object(s), none of them an Argo CD Application, argocd-cm or Flux HelmRelease`);
    }
  });

  const check = policy
    .command('check')
    .description('validate the policy file; with --argocd/--flux, report fields driftgate and the GitOps tool disagree on (exit 1)')
    .addOption(new Option('--config <file>', 'policy file').env('DRIFTGATE_CONFIG'));
  for (const opt of sources()) check.addOption(opt);
  check.action((o: SourceOptions & { config?: string }) => {
    const src = resolvePolicySource(o.config);
    const p = loadFromSource(src); // an invalid file: ConfigError → exit 2 with every problem
    const where = src.file ?? 'the embedded example policy';
    const r = load(o, false);
    if (!r) {
      out.stdout(`${where}: valid (${p.delegations.length} delegation(s), ${p.ignore.length} ignore rule(s), ${p.allowances.length} allowance(s))`);
      return;
    }
    const conflicts = findConflicts(p, r, r.owners);
    if (conflicts.length === 0) {
      out.stdout(`${where}: valid; agrees with ${r.owners.length} GitOps application(s) (${r.rules.length} imported delegation(s))`);
      return;
    }
    out.stdout(`${where}: valid, but ${conflicts.length} disagreement(s) with the GitOps tools:`);
    for (const c of conflicts) out.stdout(`  - [${c.kind}] ${c.message}`);
    throw new CliExit(1);
  });
  return policy;
}
