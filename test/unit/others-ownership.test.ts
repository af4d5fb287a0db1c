import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { othersThan } from '../../src/admission/ownership-loss.ts';
import { fieldOwnership, segmentOfRaw } from '../../src/admission/managed-fields.ts';
import type { Segment } from '../../src/lib/field-path.ts';
import type { JsonObject, ManagedFieldsEntry } from '../../src/admission/types.ts';

/** What the other managers own, as it was asked before d147e8b: one union of every other entry's fields. */
function reference(entries: readonly ManagedFieldsEntry[], manager: string) {
  return fieldOwnership(entries.filter((e) => e.manager !== manager && typeof e.fieldsV1 === 'object' && e.fieldsV1 !== null).map((e) => e.fieldsV1 as JsonObject));
}

describe('what the other managers own: asked part by part, the same answers as one union of theirs', () => {
  it('agrees with the union on generated managedFields, for every manager and every path they name', () => {
    let seed = 11;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const names = ['f:spec', 'f:data', 'f:a', 'f:b', 'k:{"name":"x"}', 'k:{"name":"y"}', 'k:{"port":80,"protocol":"TCP"}', '.'];
    const tree = (depth: number): JsonObject => {
      const node: Record<string, unknown> = {};
      if (depth > 3) return node;
      for (let i = rand(4); i > 0; i -= 1) node[names[rand(names.length)]!] = rand(3) === 0 ? {} : tree(depth + 1);
      return node;
    };
    const managers = ['argocd-controller', 'kustomize-controller', 'helm-controller', 'kubectl', 'hpa', 'tool'];
    const gitops = new Set(managers.slice(0, 3));
    for (let round = 0; round < 300; round += 1) {
      const entries: ManagedFieldsEntry[] = Array.from({ length: 1 + rand(7) }, () => ({ manager: managers[rand(managers.length)]!, operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: tree(0) }));
      const present = new Set(entries.map((e) => e.manager!).filter((m) => gitops.has(m)));
      const parts = othersThan(entries, present);
      // every path the generated trees can name, up to 4 deep
      const paths: Segment[][] = [[]];
      for (let i = 0; i < 60; i += 1) {
        const path: Segment[] = [];
        for (let d = rand(5); d > 0; d -= 1) {
          const seg = segmentOfRaw(names[rand(names.length - 1)]!);
          if (seg) path.push(seg);
        }
        paths.push(path);
      }
      for (const manager of present) {
        const got = parts(manager);
        const want = reference(entries, manager);
        for (const path of paths) assert.equal(got?.owns(path) ?? false, want?.owns(path) ?? false, `${manager} ${JSON.stringify(path)} ${JSON.stringify(entries)}`);
      }
    }
  });
});
