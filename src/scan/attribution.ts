/**
 * Who last wrote which field, from metadata.managedFields (FieldsV1): each entry's set of owned
 * fields, walked to its leaves and turned into field paths (`k:{"name":"api"}` becomes the item
 * segment `[name=api]`, as the diff prints it). A field set that names list items by index (`i:`) or
 * set values (`v:`) owns the list as a whole. The walk is linear in the size of managedFields and
 * bounded in depth.
 */
import { MAX_DEPTH } from '../admission/diff.ts';
import { itemSeg, keySeg, type FieldPath, type Segment } from '../lib/field-path.ts';
import { fieldSetOwns } from '../admission/managed-fields.ts';
import type { JsonObject, ManagedFieldsEntry } from '../admission/types.ts';
import type { WriteEvidence } from './types.ts';

export interface OwnedField {
  readonly path: FieldPath;
  readonly writer: WriteEvidence;
}

type ItemKeys = Record<string, string | number | boolean>;

function isObj(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function itemKeys(key: string): ItemKeys | undefined {
  let v: unknown;
  try {
    v = JSON.parse(key.slice(2));
  } catch {
    return undefined;
  }
  if (!isObj(v)) return undefined;
  // Keys come from the object (client-written): `__proto__` must stay a data key.
  const out = Object.create(null) as ItemKeys;
  for (const k of Object.keys(v)) {
    const x = v[k];
    if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') return undefined;
    out[k] = x;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export function evidenceOf(e: ManagedFieldsEntry & { time?: unknown }): WriteEvidence {
  return {
    manager: typeof e.manager === 'string' ? e.manager : '(no manager)',
    operation: typeof e.operation === 'string' ? e.operation : 'Update',
    ...(typeof e.time === 'string' ? { time: e.time } : {}),
    ...(typeof e.subresource === 'string' && e.subresource !== '' ? { subresource: e.subresource } : {}),
  };
}

/** The leaf paths a field set owns, in document order. */
export function leafPaths(set: JsonObject): FieldPath[] {
  const out: FieldPath[] = [];
  const walk = (node: JsonObject, path: Segment[]): void => {
    if (path.length > MAX_DEPTH) return;
    let children = 0;
    let wholeList = false;
    for (const key of Object.keys(node)) {
      const child = node[key];
      if (key === '.' || !isObj(child)) continue;
      if (key.startsWith('f:')) {
        children += 1;
        path.push(keySeg(key.slice(2)));
        walk(child, path);
        path.pop();
      } else if (key.startsWith('k:')) {
        const keys = itemKeys(key);
        if (!keys) {
          wholeList = true;
          continue;
        }
        children += 1;
        path.push(itemSeg(keys));
        walk(child, path);
        path.pop();
      } else {
        wholeList = true; // `v:` set members and `i:` indexes: the list is owned as one value
      }
    }
    if ((children === 0 || wholeList) && path.length > 0) out.push(path.slice());
  };
  walk(set, []);
  return out;
}

/** Every leaf field of every entry, with the entry that owns it (a field co-owned by Apply callers appears once per owner). */
export function ownedFields(entries: readonly ManagedFieldsEntry[] | undefined): OwnedField[] {
  if (!Array.isArray(entries)) return [];
  const out: OwnedField[] = [];
  for (const e of entries) {
    if (!isObj(e) || !isObj(e.fieldsV1)) continue;
    const writer = evidenceOf(e);
    for (const path of leafPaths(e.fieldsV1)) out.push({ path, writer });
  }
  return out;
}

/** The entries that own `path` (or an ancestor of it as an atomic leaf), most recent write first. */
export function writersOf(entries: readonly ManagedFieldsEntry[] | undefined, path: FieldPath): WriteEvidence[] {
  if (!Array.isArray(entries)) return [];
  const out: WriteEvidence[] = [];
  for (const e of entries) if (isObj(e) && isObj(e.fieldsV1) && fieldSetOwns(e.fieldsV1, path)) out.push(evidenceOf(e));
  return out.sort((a, b) => (b.time ?? '').localeCompare(a.time ?? ''));
}
