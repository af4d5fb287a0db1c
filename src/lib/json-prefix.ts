/**
 * The start of a value's JSON text without writing the rest: a one-line view of a changed list of a
 * million items (a denial message shows 80 characters of it) costs what the line shows, not what the
 * value weighs. The text is JSON.stringify's, character for character, up to where it stops.
 */
import { isRawJson } from './value.ts';

type Obj = Record<string, unknown>;

/** Plain JSON data this writer spells as JSON.stringify would; anything else is left to JSON.stringify. */
function plain(v: object): boolean {
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return Array.isArray(v) ? proto === Array.prototype : proto === Object.prototype || proto === null;
}

class Prefix {
  private readonly parts: string[] = [];
  private length = 0;
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  get full(): boolean {
    return this.length >= this.limit;
  }

  text(): string {
    return this.parts.join('');
  }

  emit(s: string): void {
    this.parts.push(s);
    this.length += s.length;
  }

  /**
   * A string as JSON.stringify quotes it, cut first to what can still show: each character takes at
   * least one place after the opening quote, so the cut (even one through a surrogate pair) changes
   * nothing before the limit.
   */
  quote(s: string): void {
    const room = this.limit - this.length;
    this.emit(JSON.stringify(s.length > room ? s.slice(0, room) : s));
  }

  /** Writes `v`; false when something not plain was met (the caller then asks JSON.stringify). */
  value(v: unknown): boolean {
    if (typeof v === 'string') this.quote(v);
    else if (typeof v === 'number' || typeof v === 'boolean' || v === null) this.emit(JSON.stringify(v));
    else if (typeof v !== 'object' || !plain(v)) return false;
    else if (isRawJson(v)) this.emit((v as { rawJSON: string }).rawJSON.slice(0, this.limit - this.length));
    else if (Array.isArray(v)) return this.list(v);
    else return this.map(v as Obj);
    return true;
  }

  private list(v: readonly unknown[]): boolean {
    this.emit('[');
    for (let i = 0; i < v.length && !this.full; i += 1) {
      if (i > 0) this.emit(',');
      const item = v[i];
      if (item === undefined) this.emit('null');
      else if (!this.value(item)) return false;
    }
    if (!this.full) this.emit(']');
    return true;
  }

  private map(v: Obj): boolean {
    this.emit('{');
    let first = true;
    for (const k in v) {
      if (this.full) break;
      if (!Object.hasOwn(v, k) || v[k] === undefined) continue;
      if (!first) this.emit(',');
      first = false;
      this.quote(k);
      this.emit(':');
      if (!this.full && !this.value(v[k])) return false;
    }
    if (!this.full) this.emit('}');
    return true;
  }
}

/**
 * JSON.stringify(v), or its first `limit` characters or more when it is longer (the caller cuts).
 * undefined for what JSON.stringify gives undefined for.
 */
export function jsonPrefix(v: unknown, limit: number): string | undefined {
  const out = new Prefix(limit);
  return out.value(v) ? out.text() : JSON.stringify(v);
}
