/**
 * Reading manifests the way people have them: `kubectl get -o yaml|json` dumps, `kustomize build` or
 * `helm template` output (multi-document YAML), files or directories, and `List` objects.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DriftgateError, errorMessage } from '../errors.ts';
import type { KubeObject } from '../admission/types.ts';

export interface SourcedObject {
  readonly object: KubeObject;
  readonly source: string;
}

function isObj(v: unknown): v is KubeObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function flatten(v: unknown, source: string, out: SourcedObject[]): void {
  if (v === null || v === undefined) return;
  if (!isObj(v)) throw new DriftgateError('INPUT_INVALID', `${source}: expected Kubernetes objects, found ${Array.isArray(v) ? 'a list' : typeof v}`);
  if (typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items)) {
    for (const item of v.items as unknown[]) flatten(item, source, out);
    return;
  }
  if (typeof v.kind !== 'string' || typeof v.apiVersion !== 'string') {
    throw new DriftgateError('INPUT_INVALID', `${source}: an object without apiVersion and kind`);
  }
  out.push({ object: v, source });
}

export function parseManifests(text: string, source: string): SourcedObject[] {
  const out: SourcedObject[] = [];
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (err) {
      throw new DriftgateError('INPUT_INVALID', `${source}: invalid JSON: ${errorMessage(err)}`);
    }
    for (const item of Array.isArray(v) ? v : [v]) flatten(item, source, out);
    return out;
  }
  for (const doc of parseAllDocuments(text, { uniqueKeys: false })) {
    if ('errors' in doc && doc.errors.length > 0) {
      throw new DriftgateError('INPUT_INVALID', `${source}: invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    }
    flatten(doc.toJS({ maxAliasCount: 100 }), source, out);
  }
  return out;
}

const MANIFEST_EXT = new Set(['.yaml', '.yml', '.json']);

/** A file, `-` for standard input, or a directory walked recursively for .yaml/.yml/.json files. */
export function readManifests(path: string, stdin: () => string = () => readFileSync(0, 'utf8')): SourcedObject[] {
  if (path === '-') return parseManifests(stdin(), '(stdin)');
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new DriftgateError('INPUT_INVALID', `cannot read ${path}: ${errorMessage(err)}`);
  }
  if (!st.isDirectory()) return parseManifests(readFileSync(path, 'utf8'), path);
  const out: SourcedObject[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...readManifests(full, stdin));
    else if (MANIFEST_EXT.has(extname(entry.name))) out.push(...parseManifests(readFileSync(full, 'utf8'), full));
  }
  return out;
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** Identity for matching Git's object with the live one: group, kind, namespace, name. */
export function objectKey(o: KubeObject, defaultNamespace = ''): string {
  return [groupOf(o.apiVersion ?? ''), o.kind ?? '', o.metadata?.namespace ?? defaultNamespace, o.metadata?.name ?? ''].join('|');
}
