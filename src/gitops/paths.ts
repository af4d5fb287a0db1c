/**
 * Turning the GitOps tools' field expressions into driftgate paths.
 *
 * JSON pointers (Argo CD `jsonPointers`, Flux `paths`) map key by key. A list index (`/containers/0`)
 * cannot be kept: driftgate addresses list items by merge key so a path stays true when a list is
 * reordered, and an index would silently point at another item after a reorder; such pointers are
 * reported as not imported, with the fix.
 *
 * jq path expressions (Argo CD `jqPathExpressions`) are a language; the subset whose result is a fixed
 * path is imported: `.a.b`, `.a["k"]`, `.a."k"`, `.list[]` (any item), and
 * `.list[] | select(.key == "value")` (the item with that merge key). Anything else is reported.
 * The parser is a single left-to-right pass: linear in the expression's length.
 */

export type PathResult = { readonly path: string } | { readonly error: string };

type Seg = { k: 'key'; key: string } | { k: 'item'; key: string; value: string } | { k: 'any' };

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

function keyProblem(key: string): string | undefined {
  if (key === '') return 'an empty key';
  if (key.includes('*')) return `the key "${key}" contains "*", which a driftgate path reads as a wildcard`;
  if (key.includes(']') || key.includes('[') || key.includes('=')) return `the key "${key}" contains [ ] or =, which a driftgate path cannot name`;
  return undefined;
}

function render(segs: readonly Seg[]): PathResult {
  if (segs.length === 0) return { error: 'it selects the whole object' };
  let out = '';
  for (const s of segs) {
    if (s.k === 'any') out += '[*]';
    else if (s.k === 'item') {
      const problem = keyProblem(s.key) ?? keyProblem(s.value);
      if (problem) return { error: problem };
      out += `[${s.key}=${s.value}]`;
    } else {
      const problem = keyProblem(s.key);
      if (problem) return { error: problem };
      if (IDENT.test(s.key)) out += out === '' ? s.key : `.${s.key}`;
      else out += `[${s.key}]`;
    }
  }
  return { path: out };
}

export function pointerToPath(pointer: string): PathResult {
  if (!pointer.startsWith('/')) return { error: 'a JSON pointer starts with "/"' };
  const segs: Seg[] = [];
  for (const raw of pointer.slice(1).split('/')) {
    const tok = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^(\d+|-)$/.test(tok)) {
      return {
        error: `list index "${tok}": driftgate addresses list items by merge key (containers[name=app]), and an index points at another item after a reorder; in Argo CD, write a jqPathExpression such as '.spec.template.spec.containers[] | select(.name == "app") | .image'`,
      };
    }
    segs.push({ k: 'key', key: tok });
  }
  return render(segs);
}

/** A small cursor over the jq text. */
class Cursor {
  i = 0;
  readonly s: string;
  constructor(s: string) {
    this.s = s;
  }
  ws(): void {
    while (this.i < this.s.length && (this.s[this.i] === ' ' || this.s[this.i] === '\t')) this.i += 1;
  }
  eat(t: string): boolean {
    this.ws();
    if (this.s.startsWith(t, this.i)) {
      this.i += t.length;
      return true;
    }
    return false;
  }
  done(): boolean {
    this.ws();
    return this.i >= this.s.length;
  }
  ident(): string | undefined {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i, this.i + 256));
    if (!m) return undefined;
    this.i += m[0].length;
    return m[0];
  }
  /** a JSON-style double-quoted string (escapes \" and \\ only) */
  str(): string | undefined {
    this.ws();
    if (this.s[this.i] !== '"') return undefined;
    let out = '';
    for (let j = this.i + 1; j < this.s.length; j += 1) {
      const ch = this.s[j]!;
      if (ch === '\\') {
        const next = this.s[j + 1];
        if (next !== '"' && next !== '\\') return undefined;
        out += next;
        j += 1;
      } else if (ch === '"') {
        this.i = j + 1;
        return out;
      } else out += ch;
    }
    return undefined;
  }
}

const UNSUPPORTED = 'only fixed paths are imported: .a.b, .a["k"], .list[], .list[] | select(.key == "value")';

/** `.a.b["c"][]` — one path term; appends to segs; false on anything else */
function term(c: Cursor, segs: Seg[]): boolean {
  c.ws();
  if (c.s[c.i] !== '.') return false;
  c.i += 1;
  let afterDot = true;
  let leading = true;
  while (c.i < c.s.length) {
    const ch = c.s[c.i];
    if (ch === '[') {
      c.i += 1;
      if (c.s[c.i] === ']') {
        c.i += 1;
        if (c.s[c.i] === '?') c.i += 1; // `[]?`: iterate if present; the same path
        segs.push({ k: 'any' });
      } else {
        const key = c.str();
        if (key === undefined || c.s[c.i] !== ']') return false;
        c.i += 1;
        segs.push({ k: 'key', key });
      }
    } else if (afterDot) {
      const key = ch === '"' ? c.str() : c.ident();
      if (key === undefined) return leading && (ch === ' ' || ch === '|');
      if (c.s[c.i] === '?') c.i += 1; // `.a?`: optional access; the same path
      segs.push({ k: 'key', key });
    } else if (ch === '.') {
      c.i += 1;
      afterDot = true;
      continue;
    } else return ch === ' ' || ch === '|';
    afterDot = false;
    leading = false;
  }
  return !afterDot || leading;
}

/** `select(.key == "value")` right after `[]`: turns the last any-item into an item. */
function select(c: Cursor, segs: Seg[]): boolean {
  const last = segs[segs.length - 1];
  if (last?.k !== 'any' || !c.eat('select(') || !c.eat('.')) return false;
  const key = c.ident();
  if (key === undefined || !c.eat('==')) return false;
  const value = c.str();
  if (value === undefined || !c.eat(')')) return false;
  segs[segs.length - 1] = { k: 'item', key, value };
  return true;
}

export function jqToPath(expr: string): PathResult {
  if (expr.length > 1024) return { error: 'longer than 1024 characters' };
  const c = new Cursor(expr.trim());
  const segs: Seg[] = [];
  for (let stage = 0; ; stage += 1) {
    c.ws();
    const ok = c.s.startsWith('select(', c.i) ? stage > 0 && select(c, segs) : term(c, segs);
    if (!ok) return { error: UNSUPPORTED };
    if (c.done()) break;
    if (!c.eat('|')) return { error: UNSUPPORTED };
  }
  return render(segs);
}
