import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectionProblem, serverUrl } from '../../src/cli/client.ts';
import { CliExit } from '../../src/cli/exit.ts';

describe('the CLI\'s --server', () => {
  for (const ok of ['https://localhost:8443', 'https://driftgate.example.com', 'http://127.0.0.1:8080/']) {
    it(`accepts ${ok}`, () => assert.equal(serverUrl(ok).href, new URL(ok).href));
  }
  const refused: [string, RegExp][] = [
    ['localhost:8443', /needs the scheme: use https:\/\/localhost:8443$/],
    ['driftgate.example.com', /needs the scheme: use https:\/\/driftgate\.example\.com$/],
    ['ftp://x', /needs the scheme, e\.g\. https:\/\/driftgate\.example\.com:8443$/],
    ['not a url', /needs the scheme, e\.g\./],
  ];
  for (const [server, message] of refused) {
    it(`refuses ${server} with a usage error (exit 2) saying a URL is needed`, () => {
      assert.throws(() => serverUrl(server), (err: unknown) => err instanceof CliExit && err.exitCode === 2 && message.test(err.message));
    });
  }
});

describe('connection failures say what to do next', () => {
  const c = { server: new URL('https://driftgate.example.com:8443'), caFrom: 'certs/ca.crt' };
  const cases: [string, RegExp][] = [
    ['ECONNREFUSED', /cannot reach https:\/\/driftgate\.example\.com:8443 \(ECONNREFUSED\): is driftgate running there\? Point the CLI at it with --server URL/],
    ['ENOTFOUND', /\(ENOTFOUND\): is driftgate running there\?/],
    ['SELF_SIGNED_CERT_IN_CHAIN', /not signed by a CA this command trusts \(certs\/ca\.crt; SELF_SIGNED_CERT_IN_CHAIN\): pass the CA that signed it with --ca FILE/],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', /pass the CA that signed it with --ca FILE or DRIFTGATE_CA/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', /is not issued for "driftgate\.example\.com": use a name it lists in --server \(driftgate certs show prints them\)/],
    ['CERT_HAS_EXPIRED', /certificate has expired: renew it/],
    ['ERR_SSL_WRONG_VERSION_NUMBER', /does not speak TLS: is --server the driftgate HTTPS port/],
  ];
  for (const [code, message] of cases) {
    it(code, () => {
      const err = Object.assign(new Error(`Node's own words for ${code}; try --use-system-ca`), { code });
      const line = connectionProblem(c, err);
      assert.match(line, message);
      assert.doesNotMatch(line, /use-system-ca/);
    });
  }
});
