import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bodyText, parseReviewJson, uidOfBytes } from '../../src/admission/decode.ts';

const SECRET = 'c2VjcmV0LXBhc3N3b3JkLTQy';

describe('JSON syntax errors name the problem and position, never the input', () => {
  for (const [name, body, message] of [
    ['an unexpected token', `{"password":${SECRET}}`, /invalid JSON: a character that cannot start or continue a JSON value/],
    ['a trailing comma in a list', `["${SECRET}",]`, /invalid JSON: a character that cannot/],
    ['a cut string', `{"password":"${SECRET}`, /invalid JSON: Unterminated string at position 37 \(line 1 column 38\)/],
    ['a control character', `{"password":"${SECRET}\u0007"}`, /invalid JSON: Bad control character in string literal at position \d+/],
    ['a missing colon', `{"${SECRET}" 1}`, /invalid JSON: Expected ':' after property name at position/],
    ['trailing text', `{}${SECRET}`, /invalid JSON: Unexpected non-whitespace character after JSON at position 2/],
    ['a cut document', `{"data":{"k":"${SECRET}"`, /invalid JSON: Expected ',' or '}' after property value at position/],
    ['a cut literal', 'nul', /invalid JSON: the body ends inside a JSON value \(truncated\?\)/],
    ['a bad escape', `{"a":"\\${SECRET}"}`, /invalid JSON: Bad escaped character at position/],
  ] as const) {
    it(`reports ${name}`, () => {
      assert.throws(() => parseReviewJson(body), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'REVIEW_MALFORMED');
        assert.match(err.message, message);
        assert.doesNotMatch(err.message, /c2Vj|password|"/);
        return true;
      });
    });
  }
});

describe('bodies that are not UTF-8', () => {
  for (const [name, bytes] of [
    ['a lone continuation byte', [0x80]],
    ['an overlong slash', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a cut four-byte sequence', [0xf0, 0x9f, 0x98]],
    ['a byte that never occurs in UTF-8', [0xff]],
  ] as const) {
    it(`refuses ${name} instead of replacing it`, () => {
      const body = Buffer.concat([Buffer.from('{"request":{"uid":"u-1","name":"'), Buffer.from(bytes), Buffer.from('"}}')]);
      assert.throws(() => bodyText(body), { code: 'REVIEW_MALFORMED', message: /not valid UTF-8/ });
      assert.equal(uidOfBytes(body), 'u-1');
    });
  }

  it('reads multi-byte UTF-8 as text', () => {
    assert.equal(bodyText(Buffer.from('{"name":"größe-😀"}')), '{"name":"größe-😀"}');
  });

  it('has no uid to echo for bytes that are not JSON', () => {
    assert.equal(uidOfBytes(Buffer.from([0xff, 0xfe])), '');
  });
});
