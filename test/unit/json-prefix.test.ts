import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jsonPrefix } from '../../src/lib/json-prefix.ts';
import { showValue } from '../../src/admission/redact.ts';
import { rawJson } from '../../src/lib/value.ts';

const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { b: 1, a: [true, null] });

const VALUES: readonly [string, unknown][] = [
  ['a string with quotes, escapes and a surrogate pair', 'x"\\\n\u0001 é 😀 end'],
  ['a lone surrogate', 'a\ud800b'],
  ['numbers', [0, -0, 1.5, -2e-7, 1e21, 9007199254740991]],
  ['an exact integer beyond 2^53', { uid: rawJson('9007199254740993'), n: [rawJson('-12345678901234567890')] }],
  ['nested maps and lists', { spec: { containers: [{ name: 'api', env: [{ name: 'A', value: '1' }] }], empty: {}, none: [] } }],
  ['integer-like keys (enumerated first)', { b: 1, 10: 'ten', 2: 'two', a: { 1: [] } }],
  ['a prototype-less map', nullProto],
  ['keys named like the prototype', JSON.parse('{"__proto__":{"x":1},"constructor":"c","toString":2}') as unknown],
  ['a map whose toJSON is data, not a method', { toJSON: 'text', v: 1 }],
  ['unicode keys', { 'ключ😀': 'значение', '\u2028': '\u2029' }],
  ['a long list', Array.from({ length: 500 }, (_, i) => ({ name: `VAR_${i}`, value: `v${i}` }))],
  ['a long string', 'é😀'.repeat(300)],
  ['booleans and null', [true, false, null]],
];

describe('jsonPrefix: the start of JSON.stringify without writing the rest', () => {
  for (const [name, v] of VALUES) {
    it(`matches JSON.stringify at every cut for ${name}`, () => {
      const full = JSON.stringify(v);
      for (let limit = 1; limit <= full.length + 2; limit += limit < 40 ? 1 : 37) {
        const text = jsonPrefix(v, limit)!;
        if (full.length <= limit) assert.equal(text, full, `limit ${limit}`);
        else {
          assert.ok(text.length >= limit, `limit ${limit}: ${text.length} characters`);
          assert.equal(text.slice(0, limit), full.slice(0, limit), `limit ${limit}`);
        }
      }
    });
  }

  it('writes only about what shows of a list of a million items', () => {
    const big = Array.from({ length: 1_000_000 }, () => ({}));
    assert.ok(jsonPrefix(big, 81)!.length < 200);
  });

  it('leaves values that are not plain JSON data to JSON.stringify', () => {
    const withMethod = { a: 1, toJSON: () => 'custom' };
    assert.equal(jsonPrefix(withMethod, 5), JSON.stringify(withMethod));
    assert.equal(jsonPrefix([1, () => 1, undefined], 100), JSON.stringify([1, () => 1, undefined]));
    assert.equal(jsonPrefix({ a: undefined, b: 1 }, 100), JSON.stringify({ a: undefined, b: 1 }));
    assert.equal(jsonPrefix(undefined, 10), undefined);
    assert.equal(jsonPrefix(new Date(0), 100), JSON.stringify(new Date(0)));
  });

  it('gives showValue the same line as before for short and long values', () => {
    for (const [, v] of VALUES) {
      const text = JSON.stringify(v);
      assert.equal(showValue(v), text.length > 80 ? `${text.slice(0, 79)}…` : text);
      assert.equal(showValue(v, 200), text.length > 200 ? `${text.slice(0, 199)}…` : text);
    }
  });
});
