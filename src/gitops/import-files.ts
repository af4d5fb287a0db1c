/** Reading the GitOps tools' objects from files (`kubectl get -o yaml` dumps, Git) and importing them. */
import { readManifests } from '../manifests/read.ts';
import { argoOwnerId, fromApplication, fromArgoCdConfigMap } from './argocd.ts';
import type { KnownOwner } from './conflicts.ts';
import { fromHelmRelease } from './flux.ts';
import { emptyResult, fluxOwnerId, mergeResults, type ImportResult } from './imported.ts';
import type { KubeObject } from '../admission/types.ts';

const group = (o: KubeObject): string => (o.apiVersion ?? '').split('/', 1)[0] ?? '';

/** One GitOps-tool object → its rules; any other object → nothing (and `false`). */
export function importObject(o: KubeObject): ImportResult | undefined {
  if (o.kind === 'Application' && group(o) === 'argoproj.io') return fromApplication(o);
  if (o.kind === 'ConfigMap' && o.metadata?.name === 'argocd-cm') return fromArgoCdConfigMap(o);
  if (o.kind === 'HelmRelease' && group(o) === 'helm.toolkit.fluxcd.io') return fromHelmRelease(o);
  return undefined;
}

export interface FileImport extends ImportResult {
  /** objects that were read but are not Argo CD / Flux configuration */
  readonly skippedObjects: string[];
  readonly objectsRead: number;
  /** the applications (Argo CD Applications, Flux HelmReleases) the files describe */
  readonly owners: KnownOwner[];
}

function ownerOfTool(o: KubeObject): KnownOwner | undefined {
  const name = o.metadata?.name;
  if (typeof name !== 'string') return undefined;
  const ns = o.metadata?.namespace;
  if (o.kind === 'Application') return { id: argoOwnerId(ns, name), tool: 'Argo CD', source: `Argo CD Application ${ns ?? 'argocd'}/${name}` };
  if (o.kind === 'HelmRelease') {
    return { id: fluxOwnerId('HelmRelease', ns ?? 'default', name), tool: 'Flux', source: `Flux HelmRelease ${ns ?? 'default'}/${name}` };
  }
  return undefined;
}

export function importFiles(files: readonly string[]): FileImport {
  const parts: ImportResult[] = [emptyResult()];
  const skippedObjects: string[] = [];
  const owners: KnownOwner[] = [];
  let objectsRead = 0;
  for (const f of files) {
    for (const { object, source } of readManifests(f)) {
      objectsRead += 1;
      const r = importObject(object);
      if (r) parts.push(r);
      const owner = r ? ownerOfTool(object) : undefined;
      if (owner) owners.push(owner);
      else skippedObjects.push(`${source}: ${object.kind ?? '?'} ${object.metadata?.name ?? '?'}`);
    }
  }
  return { ...mergeResults(parts), skippedObjects, objectsRead, owners };
}
