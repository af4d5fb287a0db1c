/**
 * Rule 6: does a grant cover every guarded change of this request? A grant applies to the write
 * (grantApplies) and covers each guarded path (grantCoversPath, asked as the decision reads changes).
 * The narrowest covering grant wins (explicit paths over all paths, exact names over globs, fewer
 * resources), then the soonest-expiring.
 */
import type { Grant } from '../grants/grant.ts';
import { globMatcher } from '../policy/glob.ts';
import { matchesPath, parsePathPattern, type PathPattern } from '../policy/path-pattern.ts';
import type { FieldPath } from '../lib/field-path.ts';
import type { Operation, UserInfo } from './types.ts';

export interface GrantTarget {
  readonly namespace: string;
  readonly group: string;
  readonly kind: string;
  readonly name: string;
  readonly operation: Operation;
  readonly writer: UserInfo;
}

const patternCache = new WeakMap<Grant, readonly PathPattern[] | null>();

function grantPatterns(grant: Grant): readonly PathPattern[] | null {
  let p = patternCache.get(grant);
  if (p === undefined) {
    try {
      p = grant.paths && grant.paths.length > 0 ? grant.paths.map((s) => parsePathPattern(s)) : null;
    } catch {
      p = [] as PathPattern[]; // an unparsable path covers nothing
    }
    patternCache.set(grant, p);
  }
  return p;
}

function globMatch(glob: string, value: string): boolean {
  if (glob === '*') return true;
  if (!glob.includes('*')) return glob === value;
  return globMatcher(glob).test(value);
}

export function isWithinWindow(grant: Grant, now: Date): boolean {
  const t = now.getTime();
  return t >= Date.parse(grant.notBefore) && t < Date.parse(grant.expiresAt);
}

/** Everything but the paths: the grant is active now, for this writer, operation and object. */
export function grantApplies(grant: Grant, target: GrantTarget, now: Date): boolean {
  if (grant.state !== 'active' || !isWithinWindow(grant, now)) return false;
  if (grant.namespace !== target.namespace) return false;
  const { users, groups } = grant.subjects;
  if (!users.includes(target.writer.username) && !target.writer.groups.some((g) => groups.includes(g))) return false;
  if (!grant.operations.includes(target.operation)) return false;
  const inScope = grant.resources.some(
    (r) => r.group === target.group && r.kind.toLowerCase() === target.kind.toLowerCase() && globMatch(r.name, target.name),
  );
  return inScope;
}

/** The grant's paths cover `path` (a grant without paths covers every path). */
export function grantCoversPath(grant: Grant, path: FieldPath): boolean {
  const patterns = grantPatterns(grant);
  return patterns === null || patterns.some((p) => matchesPath(p, path));
}

function breadth(g: Grant): number[] {
  return [
    g.paths && g.paths.length > 0 ? 0 : 1,
    g.resources.some((r) => r.name.includes('*')) ? 1 : 0,
    g.resources.length,
    Date.parse(g.expiresAt),
  ];
}

function narrower(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

/** Of grants that all cover the request, the narrowest, then the soonest-expiring. */
export function narrowestGrant(covering: readonly Grant[]): Grant | undefined {
  let best: { grant: Grant; key: number[] } | undefined;
  for (const grant of covering) {
    const key = breadth(grant);
    if (!best || narrower(key, best.key)) best = { grant, key };
  }
  return best?.grant;
}
