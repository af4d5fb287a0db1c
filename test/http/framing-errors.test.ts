import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { framingErrorHandler } from '../../src/http/validate-handler.ts';

/** A connection with nothing in flight: what framingErrorHandler writes to it before closing. */
function answerOn(code: string): { status: string; message: string } {
  let written = '';
  const socket = {
    writable: true,
    _httpMessage: null,
    end: (data: string) => {
      written = data;
    },
    destroy: () => assert.fail('destroyed instead of answered'),
    once: () => undefined,
  };
  framingErrorHandler(undefined, 10_000)(Object.assign(new Error('parse'), { code }), socket);
  const [head, body] = written.split('\r\n\r\n');
  const review = JSON.parse(body!) as { response: { status: { message: string } } };
  return { status: head!.split('\r\n')[0]!, message: review.response.status.message };
}

describe('HTTP framing errors are answered with what to do', () => {
  for (const [code, advice] of [
    ['HPE_INVALID_CONTENT_LENGTH', /malformed \(HPE_INVALID_CONTENT_LENGTH\): send one Content-Length or chunked body/],
    ['HPE_PAUSED', /too many requests pipelined on one connection: wait for the answers before sending more/],
    ['ERR_HTTP_REQUEST_TIMEOUT', /did not arrive within 10000 ms/],
    ['ERR_HTTP_HEADERS_TIMEOUT', /did not arrive within 10000 ms/],
    ['not a code <script>', /malformed \(parse error\)/],
  ] as const) {
    it(`answers ${code} with a 400 that says ${advice.source.slice(0, 40)}…`, () => {
      const { status, message } = answerOn(code);
      assert.equal(status, 'HTTP/1.1 400 Bad Request');
      assert.match(message, advice);
    });
  }
});
