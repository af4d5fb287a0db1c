/**
 * Honoured grants indexed by the object they name, so a decision only looks at grants for its own
 * object: `namespace|group|kind|name` for exact names, `namespace|group|kind|*` for name globs.
 * Shared by every store; built from the grants a store honours (token verified, active, not revoked).
 */
import type { Grant } from './grant.ts';
import { stateAt } from './rules.ts';

export class GrantIndex {
  readonly #by = new Map<string, Grant[]>();

  constructor(honoured: Iterable<Grant> = []) {
    for (const g of honoured) {
      for (const r of g.resources) {
        // join makes one flat string: a template literal keeps a rope plus its flattened copy alive as a Map key
        const key = [g.namespace, r.group, r.kind.toLowerCase(), r.name.includes('*') ? '*' : r.name].join('|');
        const list = this.#by.get(key);
        if (!list) this.#by.set(key, [g]);
        else if (!list.includes(g)) list.push(g);
      }
    }
  }

  /** Grants naming this object, exactly or by glob, that are active at `now`. */
  lookup(namespace: string, group: string, kind: string, name: string, now: Date): Grant[] {
    const scope = `${namespace}|${group}|${kind.toLowerCase()}|`;
    const exact = this.#by.get(scope + name);
    const globs = this.#by.get(`${scope}*`);
    if (!exact && !globs) return [];
    return [...(exact ?? []), ...(globs ?? [])].filter((g) => stateAt(g, now) === 'active');
  }
}
