/**
 * Grant tokens stay in the journal. A token (a compact JWS, ~700 bytes) is needed to prove a grant
 * once (when it is read back or written: the store verifies it then and keeps the verdict) and to
 * show it (GET /v1/grants/{id}, the console); the decision only needs the verified claims. So the
 * embedded store keeps, per grant, where the record carrying its current token sits in the journal,
 * and the grant objects it hands out read `token` from there when it is accessed (an enumerable
 * accessor: spreading or serializing a grant reads it, nothing else does). The names a grant
 * repeats (requester, namespace, subjects, groups and kinds) are held once, empty lists are shared.
 */
import type { Grant } from '../grants/grant.ts';
import type { JournalEntry } from './journal.ts';

/** Where a record sits in the journal. */
export interface RecordAt {
  readonly offset: number;
  readonly length: number;
}

/** A grant's fields as they are held: `token` is read from the journal on access. */
type Fields = { -readonly [K in keyof Grant]?: Grant[K] };

/** The token a grant.requested (`{grant}`) or grant.approved (`{token}`) record carries. */
function tokenIn(e: JournalEntry): string {
  const data = e.data as { grant?: { token?: unknown }; token?: unknown };
  const token = data.grant?.token ?? data.token;
  return typeof token === 'string' ? token : '';
}

const EMPTY: readonly never[] = Object.freeze([]);

/** One copy of each repeated name (JSON.parse makes a new copy for every record); bounded. */
class Names {
  readonly #table = new Map<string, string>();

  of(s: string): string {
    const known = this.#table.get(s);
    if (known !== undefined) return known;
    if (this.#table.size >= 50_000) this.#table.clear();
    this.#table.set(s, s);
    return s;
  }

  list<T extends string>(xs: readonly T[]): readonly T[] {
    return xs.length === 0 ? EMPTY : xs.map((x) => this.of(x) as T);
  }
}

export class GrantTokens {
  readonly #at = new Map<string, RecordAt>();
  readonly #names = new Names();
  readonly #read: (at: RecordAt) => JournalEntry;
  /** one getter for every grant of the store: grants keep sharing their hidden class */
  readonly #getter: (this: { readonly id: string }) => string;

  /** `read`: the journal record at a place (the store's read-only descriptor) */
  constructor(read: (at: RecordAt) => JournalEntry) {
    this.#read = read;
    const token = (id: string) => this.token(id);
    this.#getter = function (this: { readonly id: string }) {
      return token(this.id);
    };
  }

  /** Grant `id`'s current token is in the record at `at` (a grant.requested or grant.approved). */
  at(id: string, at: RecordAt): void {
    this.#at.set(id, at);
  }

  /** The current token of grant `id`, read from the journal ('' when none is known). */
  token(id: string): string {
    const at = this.#at.get(id);
    return at ? tokenIn(this.#read(at)) : '';
  }

  /**
   * A copy of `g` without the token string: every other field as it is, in the same order, and
   * `token` read from the journal when accessed. `g`'s own token (a string or an accessor) is not read.
   */
  keep(g: Fields): Grant {
    const out: Fields = {};
    let token = false;
    for (const k of Object.keys(g) as (keyof Grant)[]) {
      if (k === 'token') {
        Object.defineProperty(out, 'token', { get: this.#getter, enumerable: true, configurable: true });
        token = true;
      } else if (k === 'notBefore' && g[k] === out.createdAt) {
        out.notBefore = out.createdAt; // a grant that starts when it is created: one string for both
      } else {
        (out as Record<string, unknown>)[k] = this.#compact(k, g[k]);
      }
    }
    if (!token) Object.defineProperty(out, 'token', { get: this.#getter, enumerable: true, configurable: true });
    return out as Grant;
  }

  #compact(k: keyof Grant, v: unknown): unknown {
    const n = this.#names;
    switch (k) {
      case 'requester':
      case 'namespace':
        return n.of(v as string);
      case 'subjects': {
        const s = v as Grant['subjects'];
        return { users: n.list(s.users), groups: n.list(s.groups) };
      }
      case 'resources':
        return (v as Grant['resources']).map((r) => ({ ...r, group: n.of(r.group), kind: n.of(r.kind) }));
      case 'operations':
        return n.list(v as Grant['operations']);
      case 'approvals':
      case 'paths':
        return (v as readonly unknown[]).length === 0 ? EMPTY : v;
      default:
        return v;
    }
  }

  /** `g`'s fields for building the next version of it, without reading its token. */
  static fields(g: Grant): Omit<Grant, 'token'> {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(g) as (keyof Grant)[]) out[k] = k === 'token' ? undefined : g[k];
    return out as unknown as Omit<Grant, 'token'>;
  }
}
