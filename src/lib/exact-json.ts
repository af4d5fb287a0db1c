/**
 * JSON parsing that keeps integers exact. JSON.parse turns 9007199254740993 into ...992, so two
 * different user ids would compare equal. A body with no run of 16 digits (the shortest integer that
 * can exceed 2^53) parses as usual — found by a strided scan that reads about one character in 16;
 * otherwise a reviver keeps every unsafe integer as its source text (JSON.rawJSON, which
 * JSON.stringify writes back digit for digit).
 */
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
const INTEGER = /^-?[0-9]+$/;

function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number' || Number.isSafeInteger(value)) return value;
  const source = context?.source;
  return source !== undefined && INTEGER.test(source) ? rawJson(source) : value;
}

export function parseJsonExact(text: string): unknown {
  if (!hasLongDigitRun(text)) return JSON.parse(text);
  return JSON.parse(text, exactIntegers as (key: string, value: unknown) => unknown);
}
