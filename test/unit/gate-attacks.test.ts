import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decide } from '../../src/admission/decide.ts';
import { decodeReview, parseReviewJson } from '../../src/admission/decode.ts';
import { diffObjects, NO_MERGE_KEYS } from '../../src/admission/diff.ts';
import { redactSecret, redactSecretChanges, secretHash } from '../../src/admission/redact.ts';
import { verifyTasks } from '../../src/drift/verify.ts';
import { hasLongDigitRun, parseJsonExact, unsafeIntegerTokens } from '../../src/lib/exact-json.ts';
import { present, sameValue } from '../../src/lib/value.ts';
import type { Task } from '../../src/tasks/task.ts';
import { ATTACKS, bigManagedFields, body } from '../helpers/attacks.ts';
import { examplePolicy, grant, LogSink, NOW, policyFrom, reviewDeps } from '../helpers/deps.ts';
import { reviewBody } from '../../src/admission/review.ts';
import type { Grant } from '../../src/grants/grant.ts';

const decideBody = (text: string, policy = examplePolicy(), secretHashKey?: Uint8Array, grants: readonly Grant[] = []) =>
  decide({ request: decodeReview(parseReviewJson(text)), policy, now: NOW, grantsFor: () => grants, ...(secretHashKey ? { secretHashKey } : {}) });

for (const [cls, cases] of Object.entries(ATTACKS)) {
  describe(`the gate against ${cls}`, () => {
    for (const c of cases) {
      it(c.name, () => {
        const v = decideBody(c.body, c.policy ? policyFrom(c.policy) : examplePolicy());
        assert.equal(v.outcome, c.want, v.message ?? v.rule);
        if (c.rule) assert.equal(v.rule, c.rule);
        if (c.guarded) assert.ok(v.guarded.some((g) => g.printed === c.guarded), `${c.guarded} not in ${v.guarded.map((g) => g.printed).join(', ')}`);
      });
    }
  });
}

describe('the gate against large managedFields (item 6: decided, in linear time, see npm run bench:decide)', () => {
  for (const op of ['CREATE', 'DELETE'] as const) {
    it(`denies a ${op} whose argocd-controller entry lists 8,000 env vars, reading no more than the denial needs`, () => {
      const v = decideBody(bigManagedFields(8000, op));
      assert.equal(v.outcome, 'denied');
      assert.equal(v.partial, true);
      assert.equal(v.guarded.length, 6); // five listed, and proof of more
    });
    it(`admits a ${op} of 8,000 env vars under a grant, reading every change and naming them declared in Git`, () => {
      const g = grant({ operations: [op], expiresAt: '2999-01-01T00:00:00Z' });
      const v = decideBody(bigManagedFields(8000, op), examplePolicy(), undefined, [g]);
      assert.equal(v.outcome, 'bypassed');
      assert.equal(v.partial, false);
      const env = v.guarded.filter((c) => c.printed.includes('.env[name=VAR_'));
      assert.equal(env.length, 16000);
      assert.ok(env.every((c) => c.declaredInGit === true));
    });
  }
});

describe('exact JSON numbers (item 5)', () => {
  const runs: [string, boolean][] = [
    ['', false],
    ['123456789012345', false],
    ['1234567890123456', true],
    ['x1234567890123456y', true],
    ['a'.repeat(15) + '1'.repeat(16), true],
    ['1'.repeat(15) + ',' + '1'.repeat(15), false],
    ['{"a":"' + '9'.repeat(40) + '"}', true],
  ];
  for (const [text, want] of runs) {
    it(`finds a run of 16 digits: ${JSON.stringify(text.slice(0, 40))} → ${want}`, () => assert.equal(hasLongDigitRun(text), want));
  }

  it('keeps integers beyond 2^53 digit for digit, and writes them back unchanged', () => {
    const v = parseJsonExact('{"a":9007199254740993,"b":[-9223372036854775807],"c":1.5,"d":42}') as Record<string, unknown>;
    assert.equal(JSON.stringify(v), '{"a":9007199254740993,"b":[-9223372036854775807],"c":1.5,"d":42}');
    assert.equal(sameValue(v.a, (parseJsonExact('9007199254740992') as unknown)), false);
    assert.equal(sameValue(v.a, parseJsonExact('[9007199254740993]') && (parseJsonExact('{"x":9007199254740993}') as Record<string, unknown>).x), true);
  });

  // Only integer tokens outside strings are exact-parsed: 16 digits in a name, an annotation or base64 are text
  // (a reviver over an 8 MiB body for one such string took 40 times a plain parse; see npm run bench:adversarial).
  const tokens: [string, string[]][] = [
    ['{"a":"9007199254740993"}', []],
    ['{"9007199254740993":1}', []],
    ['{"a":"x\\"9007199254740993\\""}', []],
    ['{"a":"\\\\","b":9007199254740993}', ['9007199254740993']],
    ['[9007199254740993,-9223372036854775807]', ['9007199254740993', '-9223372036854775807']],
    ['[9007199254740991,1234567890123456]', []],
    ['[9007199254740993.5,9007199254740993e0,1e400]', []],
  ];
  for (const [text, want] of tokens) {
    it(`finds the integer tokens beyond 2^53 outside strings in ${text}: ${want.join(', ') || 'none'}`, () => {
      const at = unsafeIntegerTokens(text);
      assert.deepEqual(Array.from({ length: at.length / 2 }, (_, i) => text.slice(at[2 * i], at[2 * i + 1])), want);
    });
  }

  const roundTrips = [
    '{"a":9007199254740993,"s":"9007199254740993","k":{"9007199254740993":[9007199254740993]}}',
    '{"e":"quote \\" 9007199254740993 \\\\","n":-9223372036854775807,"f":1.5}',
    '[[[[9007199254740993]]],"\\u0000x:9007199254740993"]',
    '9007199254740993',
  ];
  for (const text of roundTrips) {
    it(`parses ${text} exactly: strings stay strings, big integers stay digit for digit`, () => {
      assert.equal(JSON.stringify(parseJsonExact(text)), JSON.stringify(JSON.parse(text, (_k, v, c?: { source?: string }) => (typeof v === 'number' && !Number.isSafeInteger(v) && c?.source && /^-?[0-9]+$/.test(c.source) ? (JSON as unknown as { rawJSON(t: string): unknown }).rawJSON(c.source) : v))));
    });
  }

  for (const bad of ['{"a":09007199254740993}', '{"a":9007199254740993 x}', '[9007199254740993,']) {
    it(`refuses ${bad} as JSON.parse does, with its position in the text as sent`, () => {
      assert.throws(() => parseJsonExact(bad), (err: Error) => {
        assert.throws(() => JSON.parse(bad), { message: err.message });
        return true;
      });
    });
  }

  it('reports a big integer change at the field, not inside the number', () => {
    const a = parseJsonExact('{"spec":{"n":9007199254740993}}');
    const b = parseJsonExact('{"spec":{"n":9007199254740992}}');
    const changes = diffObjects(a, b, { mergeKeys: NO_MERGE_KEYS, skipRuntime: true });
    assert.deepEqual(changes.map((c) => JSON.stringify(c.path)), ['[{"k":"key","key":"spec"},{"k":"key","key":"n"}]']);
    assert.equal(JSON.stringify(changes[0]!.before), '9007199254740993');
  });
});

describe('one definition of absent (item 2)', () => {
  const values: [unknown, unknown][] = [
    [null, undefined],
    [{}, {}],
    [[], []],
  ];
  for (const [v, want] of values) it(`present(${JSON.stringify(v)}) is ${JSON.stringify(want)}`, () => assert.deepEqual(present(v), want));
  it('compares {} and [] with absent as different, null with absent as equal', () => {
    assert.equal(sameValue({}, undefined), false);
    assert.equal(sameValue([], undefined), false);
    assert.equal(sameValue(null, undefined), true);
  });
});

const KEY_A = new Uint8Array(32).fill(1);
const KEY_B = new Uint8Array(32).fill(2);
const secretObj = (password: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'prod' }, data: { password } });
/** An UPDATE of a GitOps-tracked Secret from `before` to `after` (their metadata made tracked). */
const trackedSecretUpdate = (before: Record<string, unknown>, after: Record<string, unknown>): string => {
  const tracked = { name: 's', namespace: 'prod', annotations: { 'argocd.argoproj.io/tracking-id': 'a:/Secret:prod/s' } };
  const kinds = { kind: { group: '', version: 'v1', kind: 'Secret' }, resource: { group: '', version: 'v1', resource: 'secrets' } };
  return body({ ...kinds, oldObject: { ...before, metadata: tracked }, object: { ...after, metadata: tracked } });
};

describe('Secret values as a keyed hash (issue 11 item 3)', () => {
  it('hashes the same value alike under one key, and differently under another', () => {
    assert.equal(secretHash('czNjcmV0', KEY_A), secretHash('czNjcmV0', KEY_A));
    assert.notEqual(secretHash('czNjcmV0', KEY_A), secretHash('czNjcmV0', KEY_B));
    assert.notEqual(secretHash('czNjcmV0', KEY_A), secretHash('b3RoZXI=', KEY_A));
  });

  it('never hashes a non-text value like the text of its JSON (null and "null", 1 and "1", [] and "[]")', () => {
    for (const [value, text] of [[null, 'null'], [1, '1'], [[], '[]'], [{}, '{}']] as const) {
      assert.notEqual(secretHash(value, KEY_A), secretHash(text, KEY_A));
    }
  });

  it('cannot be confirmed with an unkeyed SHA-256 of a guessed value', () => {
    const guess = createHash('sha256').update('czNjcmV0').digest('hex');
    const shown = secretHash('czNjcmV0', KEY_A);
    assert.ok(!shown.includes(guess.slice(0, 12)));
    assert.match(shown, /^<secret hmac-sha256:[0-9a-f]{16}>$/);
  });

  it('hashes data, stringData and the last-applied annotation, keeping __proto__ as a data key', () => {
    const obj = JSON.parse('{"kind":"Secret","data":{"__proto__":"YQ==","constructor":"Yg=="},"stringData":{"t":"x"},"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\\"data\\":{\\"p\\":\\"YQ==\\"}}"}}}');
    const r = redactSecret(obj, KEY_A) as unknown as { data: Record<string, string>; stringData: Record<string, string>; metadata: { annotations: Record<string, string> } };
    assert.deepEqual(Object.keys(r.data).sort(), ['__proto__', 'constructor']);
    assert.equal(r.data['__proto__'], secretHash('YQ==', KEY_A));
    assert.equal(r.stringData.t, secretHash('x', KEY_A));
    assert.doesNotMatch(JSON.stringify(r), /YQ==|Yg==/);
  });

  it('a denial shows the hash made with the installation key, never the value', () => {
    const text = trackedSecretUpdate(secretObj('b2xk'), secretObj('bmV3'));
    const v = decideBody(text, examplePolicy(), KEY_A);
    assert.ok(v.message!.includes(secretHash('b2xk', KEY_A)));
    assert.ok(v.message!.includes(secretHash('bmV3', KEY_A)));
    assert.doesNotMatch(v.message!, /b2xk|bmV3/);
  });

  const task = (before: string, after: string): Task =>
    ({
      id: 't-1', grantId: 'g', writer: { username: 'alice', groups: [] }, operation: 'UPDATE',
      object: { apiVersion: 'v1', kind: 'Secret', namespace: 'prod', name: 's' }, owner: 'argocd/a',
      changes: [{ path: 'data.password', before: secretHash(before, KEY_A), after: secretHash(after, KEY_A) }],
      admissionUid: 'u', recordedAt: NOW.toISOString(), state: 'pending',
    }) as unknown as Task;
  const desired = (password: string) => [{ source: 'git.yaml', object: secretObj(password) }];

  it('tasks verify compares Git\'s Secret values by hashing them with the same key', () => {
    const [r] = verifyTasks([task('b2xk', 'bmV3')], { desired: desired('bmV3'), secretHashKey: KEY_A });
    assert.equal(r!.verdict, 'backported');
  });

  it('tasks verify keeps a Secret task pending, and says why, without the key', () => {
    const [r] = verifyTasks([task('b2xk', 'bmV3')], { desired: desired('bmV3') });
    assert.equal(r!.verdict, 'pending');
    assert.match(r!.explanation.join('\n'), /--secret-hash-key/);
  });

  it('tasks verify does not match under another key', () => {
    const [r] = verifyTasks([task('b2xk', 'bmV3')], { desired: desired('bmV3'), secretHashKey: KEY_B });
    assert.equal(r!.verdict, 'pending');
  });
});

describe('tasks verify with empty values (item 2)', () => {
  const app = (syncPolicy: unknown) => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'payments', namespace: 'prod' }, spec: { syncPolicy } });
  const task = {
    id: 't-2', grantId: 'g', writer: { username: 'alice', groups: [] }, operation: 'UPDATE',
    object: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'prod', name: 'payments' }, owner: 'reconciler',
    changes: [{ path: 'spec.syncPolicy.automated', before: {} }],
    admissionUid: 'u2', recordedAt: NOW.toISOString(), state: 'pending',
  } as unknown as Task;
  it('backported when Git dropped automated: {} too', () => {
    assert.equal(verifyTasks([task], { desired: [{ source: 'g', object: app({}) }] })[0]!.verdict, 'backported');
  });
  it('not backported while Git still holds automated: {}', () => {
    assert.notEqual(verifyTasks([task], { desired: [{ source: 'g', object: app({ automated: {} }) }] })[0]!.verdict, 'backported');
  });
});

describe('the keyed hash is HMAC-SHA256', () => {
  for (const key of [new Uint8Array(0).fill(0), new Uint8Array(16).fill(7), new Uint8Array(32).fill(1), new Uint8Array(64).fill(9), new Uint8Array(100).fill(3)]) {
    it(`matches node:crypto's HMAC for a ${key.length}-byte key`, () => {
      for (const v of ['', 'czNjcmV0', 'x'.repeat(1000)]) {
        assert.equal(secretHash(v, key), `<secret hmac-sha256:${createHmac('sha256', key).update(v).digest('hex').slice(0, 16)}>`);
      }
    });
  }
});

describe('Secret changes hashed after the diff equal the diff of hashed Secrets', () => {
  const s = (over: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'prod', annotations: { a: 'b' } }, ...over });
  const pairs: [string, unknown, unknown][] = [
    ['one key changed', s({ data: { a: 'YQ==', b: 'Yg==' } }), s({ data: { a: 'YQ==', b: 'Yw==' } })],
    ['a key added and one removed', s({ data: { a: 'YQ==' } }), s({ data: { b: 'Yg==' } })],
    ['data removed whole', s({ data: { a: 'YQ==' } }), s({})],
    ['data emptied to {}', s({ data: { a: 'YQ==' } }), s({ data: {} })],
    ['stringData added', s({}), s({ stringData: { token: 'plain' } })],
    ['a __proto__ key', JSON.parse('{"kind":"Secret","data":{"__proto__":"YQ=="}}'), JSON.parse('{"kind":"Secret","data":{"__proto__":"Yg=="}}')],
    ['metadata replaced whole', s({ data: { a: 'YQ==' } }), { ...s({ data: { a: 'YQ==' } }), metadata: 'x' }],
  ];
  const opts = { mergeKeys: NO_MERGE_KEYS, skipRuntime: true };
  for (const [name, before, after] of pairs) {
    it(name, () => {
      const hashedFirst = diffObjects(redactSecret(before as never, KEY_A), redactSecret(after as never, KEY_A), opts);
      const hashedAfter = redactSecretChanges(diffObjects(before, after, opts), KEY_A);
      assert.deepEqual(JSON.parse(JSON.stringify(hashedAfter)), JSON.parse(JSON.stringify(hashedFirst)));
      assert.doesNotMatch(JSON.stringify(hashedAfter), /YQ==|Yg==|Yw==|plain/);
    });
  }

  it('hashes a Secret whose data is not text before the diff, so no value shapes a path', () => {
    const text = trackedSecretUpdate(secretObj('b2xk'), { ...secretObj('b2xk'), data: [{ name: 'hunter2' }] });
    const v = decideBody(text, examplePolicy(), KEY_A);
    assert.equal(v.outcome, 'denied');
    assert.doesNotMatch(v.message! + JSON.stringify(v.guarded), /hunter2|b2xk/);
  });
});

const CONFIG_MAPS = { kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' } };

describe('request text reflected into answers and logs', () => {
  const TRACKED = { 'argocd.argoproj.io/tracking-id': 'payments:/ConfigMap:prod/x' };
  const cm = (annotations: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'prod', annotations: { ...TRACKED, ...annotations } }, data: {} });
  const withKey = (key: string) => body({ ...CONFIG_MAPS, oldObject: cm({}), object: cm({ [key]: 'x' }) });
  for (const length of [600, 100_000]) {
    it(`cuts a ${length}-character annotation key in the denial and the log line, and suggests no grant path for it`, async () => {
      const sink = new LogSink();
      const r = await reviewBody(withKey('k'.repeat(length)), reviewDeps({ sink }));
      await new Promise((resolve) => setTimeout(resolve, 300)); // the logger flushes in batches
      const message = r.review.response.status?.message ?? '';
      assert.equal(r.outcome, 'denied');
      assert.ok(message.length < 2000, `message is ${message.length} characters`);
      assert.match(message, /metadata\.annotations\.k+…/);
      assert.doesNotMatch(message, /--path/);
      assert.ok(sink.text.length < 4000, `log is ${sink.text.length} characters`);
    });
  }
  it('cuts a 100,000-character object name and user name in the denial and the log line', async () => {
    const long = 'n'.repeat(100_000);
    const body = JSON.parse(withKey('k')) as { request: Record<string, unknown> & { object: { metadata: Record<string, unknown> }; oldObject: { metadata: Record<string, unknown> } } };
    body.request.name = long;
    body.request.userInfo = { username: `u${long}`, groups: [] };
    body.request.object.metadata.name = long;
    body.request.oldObject.metadata.name = long;
    const sink = new LogSink();
    const r = await reviewBody(JSON.stringify(body), reviewDeps({ sink }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(r.outcome, 'denied');
    assert.ok(r.review.response.status!.message.length < 4000, `message is ${r.review.response.status!.message.length} characters`);
    assert.ok(sink.text.length < 4000, `log is ${sink.text.length} characters`);
  });

  for (const key of ["x'$(touch PWNED)'", 'x`touch PWNED`', "a'b;touch PWNED", 'x"$(touch PWNED)"']) {
    it(`suggests a grant command that a shell reads back verbatim for the key ${key}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'dg-shell-'));
      const r = await reviewBody(withKey(key), reviewDeps());
      const command = /`(driftgate grant request .*)`$/m.exec(r.review.response.status!.message)?.[1]; // to the line's last backtick
      assert.ok(command, r.review.response.status!.message);
      // the suggested words, as bash splits and expands them, one per line
      const words = execFileSync('bash', ['-c', command.replace('driftgate grant request', "printf '%s\\n'")], { cwd: dir, encoding: 'utf8' }).split('\n');
      assert.ok(words.includes(`metadata.annotations[${key}]`), words.join(' | '));
      assert.ok(!existsSync(join(dir, 'PWNED')), 'the command ran request text');
      rmSync(dir, { recursive: true, force: true });
    });
  }

  it('shows a Kubernetes-sized key (317 characters) whole, with its grant path', async () => {
    const key = `${'p'.repeat(253)}/${'n'.repeat(63)}`;
    const r = await reviewBody(withKey(key), reviewDeps());
    assert.ok(r.review.response.status!.message.includes(`--path 'metadata.annotations[${key}]'`));
  });
});

describe('a write to an object nothing marks as GitOps-owned reads only its levers', () => {
  const hr = (spec: Record<string, unknown>, annotations: Record<string, string> = {}) => ({
    apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'web', namespace: 'prod', annotations }, spec,
  });
  const kinds = { kind: { group: 'helm.toolkit.fluxcd.io', version: 'v2', kind: 'HelmRelease' }, resource: { group: 'helm.toolkit.fluxcd.io', version: 'v2', resource: 'helmreleases' } };
  const write = (before: Record<string, unknown>, after: Record<string, unknown>) => body({ ...kinds, oldObject: before, object: after });
  const values = (v: string) => ({ interval: '5m', values: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, v])) });
  const cases = [
    { name: 'allows a change of 20,000 values (no lever)', before: hr(values('a')), after: hr(values('b')), want: 'allowed', rule: 'not-gitops-owned' },
    { name: 'denies suspending it beside the same values change', before: hr(values('a')), after: hr({ ...values('b'), suspend: true }), want: 'denied', guarded: 'spec.suspend' },
    { name: 'denies suspend: null where it was absent (a null that arrives is stored)', before: hr({ interval: '5m' }), after: hr({ interval: '5m', suspend: null }), want: 'denied', guarded: 'spec.suspend' },
    { name: 'denies adding the driftDetection lever annotation', before: hr({ interval: '5m' }), after: hr({ interval: '5m' }, { 'helm.toolkit.fluxcd.io/driftDetection': 'disabled' }), want: 'denied', guarded: 'metadata.annotations[helm.toolkit.fluxcd.io/driftDetection]' },
    { name: 'allows another annotation', before: hr({ interval: '5m' }), after: hr({ interval: '5m' }, { note: 'x' }), want: 'allowed', rule: 'not-gitops-owned' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const v = decideBody(write(c.before, c.after));
      assert.equal(v.outcome, c.want, v.message ?? v.rule);
      if (c.rule) assert.equal(v.rule, c.rule);
      if (c.guarded) assert.deepEqual(v.guarded.map((g) => g.printed), [c.guarded]);
    });
  }
});
