/**
 * JSON parsing that keeps integers exact. JSON.parse turns 9007199254740993 into ...992, so two
 * different user ids would compare equal. A body with no run of 16 digits (the shortest integer that
 * can exceed 2^53) parses as usual — found by a strided scan that reads about one character in 16.
 * Otherwise one linear pass finds the integer *tokens* (outside strings) beyond 2^53; a run of digits
 * inside a string (a name, an annotation, a Secret's base64) is no reason to pay more. Each such token
 * is swapped for a string that names it under a per-parse random nonce, the text is parsed as usual,
 * and a walk puts each back as its source text (JSON.rawJSON, which JSON.stringify writes back digit for
 * digit). No reviver: a reviver is called for every value and made an 8 MiB body 40 times slower to parse.
 */
import { randomBytes } from 'node:crypto';
import { rawJson } from './value.ts';

const RUN = 16;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * True when `text` holds 16 digits in a row. Every such run covers one index i with i % 16 === 15,
 * so only those are read, and a digit there is measured both ways (at most 15 steps, or a hit).
 */
export function hasLongDigitRun(text: string): boolean {
  for (let i = RUN - 1; i < text.length; i += RUN) {
    if (!isDigit(text.charCodeAt(i))) continue;
    let start = i;
    while (start > 0 && i - start < RUN && isDigit(text.charCodeAt(start - 1))) start -= 1;
    let end = i + 1;
    while (end < text.length && end - start < RUN && isDigit(text.charCodeAt(end))) end += 1;
    if (end - start >= RUN) return true;
  }
  return false;
}

const QUOTE = 34;
const BACKSLASH = 92;
const MINUS = 45;

/** Where an integer token beyond 2^53 sits in JSON text (outside strings): [start, end) pairs. */
export function unsafeIntegerTokens(text: string): number[] {
  const out: number[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // skip the string, escapes included
      i += 1;
      while (i < n) {
        const s = text.charCodeAt(i);
        if (s === BACKSLASH) i += 2;
        else if (s === QUOTE) break;
        else i += 1;
      }
      i += 1;
    } else if (c === MINUS || isDigit(c)) {
      const start = i;
      if (c === MINUS) i += 1;
      const digits = i;
      while (i < n && isDigit(text.charCodeAt(i))) i += 1;
      const d = i - digits;
      let integer = true;
      while (i < n) {
        const t = text.charCodeAt(i); // fraction or exponent: not an integer token
        if (t === 46 || t === 101 || t === 69 || t === 43 || t === MINUS || isDigit(t)) {
          integer = false;
          i += 1;
        } else break;
      }
      // a leading zero is not JSON: leave the token for JSON.parse to refuse
      if (integer && d >= RUN && text.charCodeAt(digits) !== 48 && !Number.isSafeInteger(Number(text.slice(start, i)))) out.push(start, i);
    } else {
      i += 1;
    }
  }
  return out;
}

type Container = Record<string, unknown> | unknown[];

/** Replaces every string `<marker><digits>` in `root` by the exact number; iterative, so depth costs no stack. */
function restore(root: unknown, marker: string): unknown {
  const exact = (v: unknown): unknown => (typeof v === 'string' && v.startsWith(marker) ? rawJson(v.slice(marker.length)) : v);
  if (typeof root !== 'object' || root === null) return exact(root);
  const stack: Container[] = [root as Container];
  while (stack.length > 0) {
    const o = stack.pop()!;
    if (Array.isArray(o)) {
      for (let i = 0; i < o.length; i += 1) {
        const v = o[i];
        if (typeof v === 'string') o[i] = exact(v);
        else if (typeof v === 'object' && v !== null) stack.push(v as Container);
      }
    } else {
      for (const k in o) {
        if (!Object.hasOwn(o, k)) continue;
        const v = o[k];
        if (typeof v === 'string') o[k] = exact(v);
        else if (typeof v === 'object' && v !== null) stack.push(v as Container);
      }
    }
  }
  return root;
}

export function parseJsonExact(text: string): unknown {
  if (!hasLongDigitRun(text)) return JSON.parse(text);
  const tokens = unsafeIntegerTokens(text);
  if (tokens.length === 0) return JSON.parse(text);
  // A NUL (escaped, so the text stays valid) and a nonce nobody can predict: no string in the request
  // can pass for a placeholder.
  const marker = `\u0000${randomBytes(16).toString('hex')}:`;
  const quoted = `"\\u0000${marker.slice(1)}`;
  let out = '';
  let at = 0;
  for (let t = 0; t < tokens.length; t += 2) {
    out += `${text.slice(at, tokens[t])}${quoted}${text.slice(tokens[t], tokens[t + 1])}"`;
    at = tokens[t + 1]!;
  }
  out += text.slice(at);
  let parsed: unknown;
  try {
    parsed = JSON.parse(out);
  } catch (err) {
    JSON.parse(text); // the error, with positions in the text as sent
    throw err;
  }
  return restore(parsed, marker);
}
