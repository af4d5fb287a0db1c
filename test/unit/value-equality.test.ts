/**
 * deepEqual and ownKeyCount (src/lib/value.ts) read map keys with for…in and an own-property check, not
 * through an array of keys: the answers must be those of a plain structural comparison by Object.keys,
 * for prototype-named keys, integer-like keys (which objects list first) and any key order.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { deepEqual, ownKeyCount } from '../../src/lib/value.ts';

/** The reference: Object.keys on both sides, as deepEqual read them before. */
function reference(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => reference(x, (b as unknown[])[i]));
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && reference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const KEYS = ['a', 'b', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '0', '1', '10', '-1', ''];

/** A small deterministic generator (mulberry32), so a failure names a seed that reproduces it. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** JSON text of a random value: maps with the keys above in random order, lists, text, numbers, null, booleans. */
function text(r: () => number, depth: number): string {
  const pick = r();
  if (depth > 3 || pick < 0.3) return [`"x"`, `"y"`, '1', '2', 'null', 'true', '{}', '[]'][Math.floor(r() * 8)]!;
  if (pick < 0.5) return `[${Array.from({ length: Math.floor(r() * 3) }, () => text(r, depth + 1)).join(',')}]`;
  const keys = KEYS.filter(() => r() < 0.35).sort(() => r() - 0.5);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${text(r, depth + 1)}`).join(',')}}`;
}

/**
 * JSON text of the same value, its maps' keys in another order, and now and then a key dropped or a value
 * replaced (built as text: assigning a `__proto__` key to an object would set its prototype instead).
 */
function mutatedText(r: () => number, v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => mutatedText(r, x)).join(',')}]`;
  if (typeof v !== 'object' || v === null) return JSON.stringify(v);
  let keys = Object.keys(v);
  if (keys.length > 0 && r() < 0.15) keys = keys.slice(1);
  keys.sort(() => r() - 0.5);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${r() < 0.1 ? '"changed"' : mutatedText(r, (v as Record<string, unknown>)[k])}`).join(',')}}`;
}

describe('deepEqual', () => {
  it('agrees with a comparison by Object.keys on 3,000 generated pairs (prototype-named and integer-like keys, any order)', () => {
    const r = rng(17);
    let equal = 0;
    for (let i = 0; i < 3000; i += 1) {
      const t = text(r, 0);
      const u = mutatedText(r, JSON.parse(t));
      const a = JSON.parse(t) as unknown;
      const b = JSON.parse(u) as unknown;
      const expected = reference(a, b);
      if (expected) equal += 1;
      assert.equal(deepEqual(a, b), expected, `pair ${i}: ${t} vs ${u}`);
      assert.equal(deepEqual(b, a), expected, `pair ${i} reversed`);
    }
    // both answers occur often enough for the comparison to mean something
    assert.ok(equal > 300 && equal < 2700, `${equal} of 3000 pairs equal`);
  });

  it('treats an own __proto__ key as data: equal only to the same key and value', () => {
    const a = JSON.parse('{"__proto__":{"x":1}}');
    assert.equal(deepEqual(a, JSON.parse('{"__proto__":{"x":1}}')), true);
    assert.equal(deepEqual(a, JSON.parse('{"__proto__":{"x":2}}')), false);
    assert.equal(deepEqual(a, {}), false);
    assert.equal(deepEqual({}, a), false);
  });
});

describe('ownKeyCount', () => {
  it('counts own keys only, as Object.keys does', () => {
    for (const t of ['{}', '{"a":1}', '{"__proto__":1,"constructor":2}', '{"1":1,"0":0,"b":2}']) {
      const o = JSON.parse(t) as Record<string, unknown>;
      assert.equal(ownKeyCount(o), Object.keys(o).length, t);
    }
    const inherited = Object.create({ inheritedKey: 1 }) as Record<string, unknown>;
    inherited.own = 2;
    assert.equal(ownKeyCount(inherited), 1);
  });
});
