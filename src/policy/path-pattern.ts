/**
 * Path patterns from the policy file. Two accepted spellings:
 *   JSON pointer:  /spec/replicas, /spec/template/spec/containers/*\/image
 *   dotted:        spec.template.spec.containers[name=app].image,
 *                  metadata.annotations[platform.example.com/injected-*], status.*
 * A pattern matches a change at its own path or anywhere below it (a prefix matches a subtree);
 * `*` inside a key is a glob, a trailing `*` segment is "the whole subtree", `[*]` is any list item.
 */
import type { FieldPath, Segment } from '../lib/field-path.ts';
import { globMatcher, globProblem, type Glob } from './glob.ts';

export type PatternSegment =
  | { readonly k: 'key'; readonly key: string; readonly glob?: Glob }
  | { readonly k: 'item'; readonly keys: Readonly<Record<string, string>> }
  | { readonly k: 'any-item' }
  | { readonly k: 'subtree' };

export interface PathPattern {
  readonly source: string;
  readonly segments: readonly PatternSegment[];
}

function keyPattern(key: string): PatternSegment {
  if (key === '*') return { k: 'subtree' };
  if (!key.includes('*')) return { k: 'key', key };
  const problem = globProblem(key);
  if (problem) throw new Error(`key glob "${key.length > 40 ? `${key.slice(0, 40)}…` : key}" ${problem}`);
  return { k: 'key', key, glob: globMatcher(key) };
}

function parsePointer(src: string): PatternSegment[] {
  if (src === '/') return [];
  return src
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((tok, i, all) => {
      if (tok === '') throw new Error(`empty segment ${i + 1} in JSON pointer`);
      if (tok === '*' && i < all.length - 1) return { k: 'any-item' } as const;
      if (/^\d+$/.test(tok)) {
        throw new Error(
          `list index "${tok}": list items are addressed by merge key, write the dotted form (e.g. containers[name=app]) or /*/`,
        );
      }
      return keyPattern(tok);
    });
}

function parseBracket(inner: string): PatternSegment {
  if (inner === '*') return { k: 'any-item' };
  if (/^\d+$/.test(inner)) {
    throw new Error(`list index [${inner}]: list items are addressed by merge key, e.g. [name=app]`);
  }
  // `[name=app]` / `[containerPort=8080,protocol=TCP]` select a list item; anything else is a map key
  // (annotation and label keys cannot contain '=').
  if (inner.includes('=')) {
    const keys: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const pair of inner.split(',')) {
      const eq = pair.indexOf('=');
      const k = pair.slice(0, eq).trim();
      const v = pair.slice(eq + 1).trim();
      if (eq <= 0 || k === '' || v === '') throw new Error(`bad list item selector [${inner}]: want [key=value,...]`);
      keys[k] = v;
    }
    return { k: 'item', keys };
  }
  if (inner === '') throw new Error('empty brackets []');
  return keyPattern(inner);
}

function parseDotted(src: string): PatternSegment[] {
  const out: PatternSegment[] = [];
  let i = 0;
  let expectKey = true;
  while (i < src.length) {
    const ch = src[i];
    if (ch === '[') {
      const close = src.indexOf(']', i);
      if (close < 0) throw new Error(`unclosed "[" at column ${i + 1}`);
      out.push(parseBracket(src.slice(i + 1, close)));
      i = close + 1;
      expectKey = false;
    } else if (ch === '.') {
      if (expectKey) throw new Error(`empty segment at column ${i + 1}`);
      i += 1;
      expectKey = true;
    } else {
      let j = i;
      while (j < src.length && src[j] !== '.' && src[j] !== '[') j += 1;
      if (!expectKey) throw new Error(`missing "." before "${src.slice(i, j)}" at column ${i + 1}`);
      out.push(keyPattern(src.slice(i, j)));
      i = j;
      expectKey = false;
    }
  }
  if (expectKey && out.length > 0) throw new Error('path ends with "."');
  return out;
}

/** Parses a policy path; throws an Error with a human message on bad syntax. */
export function parsePathPattern(source: string): PathPattern {
  const src = source.trim();
  if (src === '') throw new Error('empty path');
  const segments = src.startsWith('/') ? parsePointer(src) : parseDotted(src);
  const subtreeAt = segments.findIndex((s) => s.k === 'subtree');
  if (subtreeAt >= 0 && subtreeAt !== segments.length - 1) {
    throw new Error('a "*" segment may only end a path (use [*] for any list item)');
  }
  if (segments.length === 0) throw new Error('path selects the whole object; name a field');
  return { source, segments };
}

function segmentMatches(p: PatternSegment, s: Segment): boolean {
  switch (p.k) {
    case 'key':
      return s.k === 'key' && (p.glob ? p.glob.test(s.key) : p.key === s.key);
    case 'any-item':
      return s.k === 'item';
    case 'item':
      if (s.k !== 'item') return false;
      for (const [k, v] of Object.entries(p.keys)) {
        const actual = s.keys[k];
        if (actual === undefined || String(actual) !== v) return false;
      }
      return true;
    case 'subtree':
      return true;
  }
}

/** True when `path` is the pattern's field or lies below it. */
export function matchesPath(pattern: PathPattern, path: FieldPath): boolean {
  const segs = pattern.segments;
  for (let i = 0; i < segs.length; i += 1) {
    const p = segs[i]!;
    if (p.k === 'subtree') return true;
    const s = path[i];
    if (s === undefined || !segmentMatches(p, s)) return false;
  }
  return true;
}

export function matchesAny(patterns: readonly PathPattern[], path: FieldPath): PathPattern | undefined {
  for (const p of patterns) if (matchesPath(p, path)) return p;
  return undefined;
}
