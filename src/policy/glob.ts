/**
 * Globs for policy path keys (`metadata.annotations[example.com/injected-*]`) and grant resource names
 * (`api-*`): `*` matches any run of characters, every other character matches itself.
 *
 * No regular expression: a glob is split at its stars into literal parts once, and a text matches when
 * it starts with the first part, ends with the last, and holds the middle parts in order, each found
 * at its leftmost place after the one before (leftmost is always right: a later place only leaves less
 * text for the parts that follow). Nothing is retried, so a match costs at most
 * `text length × longest literal part` character comparisons, whatever the number of stars; with the
 * acceptance caps below that is ≤ 256 comparisons per character of text (in practice one indexOf per
 * part: microseconds on a 250-character name against `a*a*a*a*a*a*b`).
 *
 * Caps, checked where a glob is accepted (policy load, grant request): at most MAX_GLOB_LENGTH
 * characters and MAX_GLOB_STARS stars. Matching itself does not depend on them to stay linear.
 */

export const MAX_GLOB_LENGTH = 256;
export const MAX_GLOB_STARS = 4;

export interface Glob {
  readonly source: string;
  /** true when the whole text matches the glob */
  test(text: string): boolean;
}

function compile(source: string): Glob {
  const parts = source.split('*');
  if (parts.length === 1) return { source, test: (text) => text === source };
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  const middle = parts.slice(1, -1).filter((p) => p !== '');
  const fixed = first.length + last.length;
  return {
    source,
    test(text: string): boolean {
      if (text.length < fixed || !text.startsWith(first) || !text.endsWith(last)) return false;
      let at = first.length;
      const end = text.length - last.length;
      for (const part of middle) {
        const found = text.indexOf(part, at);
        if (found < 0 || found + part.length > end) return false;
        at = found + part.length;
      }
      return true;
    },
  };
}

const GLOBS = new Map<string, Glob>();

/** The matcher for a glob, built once per distinct glob (the cache is bounded). */
export function globMatcher(source: string): Glob {
  let g = GLOBS.get(source);
  if (!g) {
    g = compile(source);
    if (GLOBS.size >= 10_000) GLOBS.clear();
    GLOBS.set(source, g);
  }
  return g;
}

/** Why a glob is refused where it is accepted (policy file, grant request); undefined when it is fine. */
export function globProblem(source: string): string | undefined {
  if (source.length > MAX_GLOB_LENGTH) {
    return `is ${source.length} characters long: a glob may have at most ${MAX_GLOB_LENGTH}`;
  }
  let stars = 0;
  for (const ch of source) if (ch === '*') stars += 1;
  if (stars > MAX_GLOB_STARS) {
    return `has ${stars} "*": a glob may have at most ${MAX_GLOB_STARS} (name a prefix or suffix, e.g. api-* or *-canary)`;
  }
  return undefined;
}
