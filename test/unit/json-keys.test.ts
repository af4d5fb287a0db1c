import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { moreJsonKeysThan } from '../../src/lib/json-keys.ts';

/** Keys in a parsed value, counted the slow, obvious way (every map key at every depth). */
function keysIn(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + keysIn(x), 0);
  if (typeof v === 'object' && v !== null) return Object.entries(v).reduce((n, [, x]) => n + 1 + keysIn(x), 0);
  return 0;
}

/** The exact count as the function sees it: the largest limit it says is exceeded, plus one. */
function counted(text: string): number {
  let lo = 0; // moreJsonKeysThan(text, lo - 1) is true for lo = 0 trivially
  let hi = text.length; // no text holds more keys than characters
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (moreJsonKeysThan(text, mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

describe('counting JSON keys in text (limits.maxKeys)', () => {
  const cases: { name: string; text: string; keys: number }[] = [
    { name: 'nested maps and lists', text: '{"a":{"b":[{"c":1},{"d":[2,{"e":null}]}]},"f":"g"}', keys: 6 },
    { name: 'a value holding `":` (an escaped quote before a colon) is no key', text: '{"a":"x\\":y","b":"\\":\\":"}', keys: 2 },
    { name: 'a key ending in an escaped quote', text: '{"a\\"":1,"b\\\\\\"":2}', keys: 2 },
    { name: 'a key ending in backslashes (an even run: the quote closes it)', text: '{"a\\\\":1,"b\\\\\\\\":{"c":3}}', keys: 3 },
    { name: 'whitespace between a key and its colon', text: '{"a" :1, "b"\n:\t{"c"\r\n  :  []}}', keys: 3 },
    { name: 'strings in lists are no keys', text: '["a","b",":",{"k":"v"},"\\"",":"]', keys: 1 },
    { name: 'empty and unicode keys', text: '{"":{"":0},"ü\\u0022":1,"\\ud83d\\ude00":2}', keys: 4 },
    { name: 'text with no strings', text: '[1,2,3,{},[],true,null]', keys: 0 },
    { name: 'a JSON document that is one string', text: '"a:b\\":c"', keys: 0 },
    { name: 'the same key twice counts twice (JSON.parse keeps one)', text: '{"a":1,"a":2}', keys: 2 },
  ];
  for (const c of cases) {
    it(`counts ${c.keys} key(s): ${c.name}`, () => {
      JSON.parse(c.text); // every case is valid JSON, as the webhook only counts what it has parsed
      assert.equal(counted(c.text), c.keys);
    });
  }

  it('agrees with a walk of the parsed value on generated documents with hostile keys and spacing', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pieces = ['a', '"', '\\', ':', ',', '{', '}', '[', ']', ' ', 'é', '\n'];
    const text = () => Array.from({ length: rand(6) }, () => pieces[rand(pieces.length)]).join('');
    const space = () => [' ', '', '\n', '\t', '\r\n'][rand(5)]!;
    const value = (depth: number): string => {
      const pick = depth > 3 ? rand(3) : rand(5);
      if (pick === 0) return JSON.stringify(text());
      if (pick === 1) return String(rand(1000));
      if (pick === 2) return 'null';
      if (pick === 3) return `[${space()}${Array.from({ length: rand(4) }, () => value(depth + 1)).join(`${space()},${space()}`)}${space()}]`;
      const keys = new Set(Array.from({ length: rand(5) }, text));
      return `{${space()}${[...keys].map((k) => `${JSON.stringify(k)}${space()}:${space()}${value(depth + 1)}`).join(`${space()},${space()}`)}${space()}}`;
    };
    for (let i = 0; i < 500; i += 1) {
      const doc = value(0);
      assert.equal(counted(doc), keysIn(JSON.parse(doc)), doc);
    }
  });

  it('answers false for text too short to hold more keys than the limit, without reading it', () => {
    // 4 characters per key at least: "": plus a value
    assert.equal(moreJsonKeysThan('{"":0,"":0}', 2), false);
    assert.equal(moreJsonKeysThan('{"":0,"":0}', 1), true);
  });

  it('stops at the limit: a body of a million keys answers as soon as the count passes it', () => {
    const body = `{${Array.from({ length: 1_000_000 }, (_, i) => `"${i}":0`).join(',')}}`;
    assert.equal(moreJsonKeysThan(body, 150_000), true);
    assert.equal(moreJsonKeysThan(body, 1_000_000), false);
  });
});
