/**
 * An adversary against this session's diff rewrite (3d00ee1, 9eb3d63, 19f0873: equal subtrees, lists
 * and items skipped before any path is built, unequal pairs remembered by object identity, lists
 * indexed by the merge key's value) and the bounded JSON prefix writer behind denial lines, written
 * from the docs and the code only. Every attack is a request through the real body parser
 * (parseReviewJson: duplicate keys, `__proto__`, integers beyond 2^53 as JSON.rawJSON) and decide();
 * each asserts the safe answer, so a hole is a failing test (marked todo while open).
 *
 * The differential part runs the diff as it was before the rewrite (40407eb, read from git) beside
 * today's on seeded random trees and small mutations, and checks a property that needs no history:
 * no change reported means the two values are the same JSON up to key order and list order.
 * Last: the notification Lease (src/cluster/leader-lease.ts) against a writer that is not driftgate.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decide, type Verdict } from '../../src/admission/decide.ts';
import { decodeReview, parseReviewJson } from '../../src/admission/decode.ts';
import { diffObjects, type DiffOptions, type FieldChange } from '../../src/admission/diff.ts';
import { lazyMergeKeyTree } from '../../src/admission/managed-fields.ts';
import { showValue } from '../../src/admission/redact.ts';
import { LeaderLease } from '../../src/cluster/leader-lease.ts';
import type { Grant } from '../../src/grants/grant.ts';
import { parseJsonExact } from '../../src/lib/exact-json.ts';
import { formatPath } from '../../src/lib/field-path.ts';
import { isRawJson, rawJson } from '../../src/lib/value.ts';
import { createLogger } from '../../src/log.ts';
import { examplePolicy, grant, NOW } from '../helpers/deps.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeApiServer } from '../k8s/fake-apiserver.ts';
import { kubeConfigFor } from '../k8s/kubeconfig.ts';

const policy = examplePolicy();
const KEY = new Uint8Array(32).fill(7);
const TRACKED = '"annotations":{"argocd.argoproj.io/tracking-id":"payments:apps/Deployment:prod/api"}';

const KINDS = {
  Deployment: { group: 'apps', version: 'v1', resource: 'deployments' },
  Secret: { group: '', version: 'v1', resource: 'secrets' },
  RoleBinding: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings' },
} as const;

/** An UPDATE of a GitOps-owned object by alice, its bodies spliced in as JSON text (kept byte for byte). */
function reviewText(kind: keyof typeof KINDS, beforeBody: string, afterBody: string, metadataExtra = ''): string {
  const { group, version, resource } = KINDS[kind];
  const gvk = JSON.stringify({ group, version, kind });
  const gvr = JSON.stringify({ group, version, resource });
  const obj = (body: string) =>
    `{"apiVersion":"${group ? `${group}/` : ''}${version}","kind":"${kind}","metadata":{"name":"api","namespace":"prod",${TRACKED}${metadataExtra}},${body}}`;
  return `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":${gvk},"resource":${gvr},"name":"api","namespace":"prod","operation":"UPDATE","userInfo":{"username":"alice","groups":["oncall"]},"object":${obj(afterBody)},"oldObject":${obj(beforeBody)}}}`;
}

function decideText(text: string, grants: readonly Grant[] = []): Verdict {
  return decide({ request: decodeReview(parseReviewJson(text)), policy, now: NOW, grantsFor: () => grants, secretHashKey: KEY });
}

const spec = (json: string) => `"spec":${json}`;
const guardedPaths = (v: Verdict) => v.guarded.map((c) => c.printed);

interface Attack {
  readonly name: string;
  readonly before: string;
  readonly after: string;
  /** the guarded paths the write must be denied for (in walk order) */
  readonly guarded: readonly string[];
  readonly todo?: string;
}

describe('values the rewritten equality must tell apart: the write is denied at the right path', () => {
  const attacks: Attack[] = [
    { name: 'the number 1 against the string "1"', before: '{"x":1}', after: '{"x":"1"}', guarded: ['spec.x'] },
    { name: 'true against "true"', before: '{"x":true}', after: '{"x":"true"}', guarded: ['spec.x'] },
    { name: '1 against "1" inside an atomic list', before: '{"args":[1,2]}', after: '{"args":["1",2]}', guarded: ['spec.args'] },
    { name: '9007199254740993 against 9007199254740992 (kept exact)', before: '{"uid":9007199254740993}', after: '{"uid":9007199254740992}', guarded: ['spec.uid'] },
    { name: 'a big integer against the same digits as a float', before: '{"n":12345678901234567890}', after: '{"n":12345678901234567890.0}', guarded: ['spec.n'] },
    { name: 'a big integer against a map spelling {"rawJSON": …}', before: '{"n":9007199254740993}', after: '{"n":{"rawJSON":"9007199254740993"}}', guarded: ['spec.n'] },
    { name: 'a big integer changed in a list compared whole', before: '{"a":[[9007199254740993]]}', after: '{"a":[[9007199254740995]]}', guarded: ['spec.a'] },
    { name: 'a big integer changed in an equal-looking keyed item', before: '{"template":{"spec":{"containers":[{"name":"api","n":9007199254740993}]}}}', after: '{"template":{"spec":{"containers":[{"name":"api","n":9007199254740994}]}}}', guarded: ['spec.template.spec.containers[name=api].n'] },
    { name: 'null made a value where the API server keeps it (nullIsValue)', before: '{"x":{"y":1}}', after: '{"x":{"y":null}}', guarded: ['spec.x.y'] },
    { name: 'null against a missing key', before: '{"x":{}}', after: '{"x":{"y":null}}', guarded: ['spec.x.y'] },
    { name: '{} added', before: '{"x":1}', after: '{"x":1,"sel":{}}', guarded: ['spec.sel'] },
    { name: '[] added', before: '{"x":1}', after: '{"x":1,"l":[]}', guarded: ['spec.l'] },
    { name: '[] against {}', before: '{"l":[]}', after: '{"l":{}}', guarded: ['spec.l'] },
    { name: 'a NUL inside a string', before: '{"s":"a\\u0000b"}', after: '{"s":"a\\u0000c"}', guarded: ['spec.s'] },
    { name: 'a trailing NUL', before: '{"s":"a"}', after: '{"s":"a\\u0000"}', guarded: ['spec.s'] },
    { name: 'composed against decomposed é', before: '{"s":"\\u00e9"}', after: '{"s":"e\\u0301"}', guarded: ['spec.s'] },
    { name: 'a key that differs only by a NUL', before: '{"k":1}', after: '{"k\\u0000":1}', guarded: ['spec.k', 'spec[k\u0000]'] },
    { name: 'a change below a __proto__ key', before: '{"__proto__":{"x":1}}', after: '{"__proto__":{"x":2}}', guarded: ['spec.__proto__.x'] },
    { name: 'a __proto__ key only the new object has', before: '{"a":1}', after: '{"a":1,"__proto__":{"x":1}}', guarded: ['spec.__proto__.x'] },
    { name: 'a __proto__ key only the old object has', before: '{"a":1,"__proto__":[1]}', after: '{"a":1}', guarded: ['spec.__proto__'] },
    { name: 'constructor and toString keys', before: '{"constructor":{"a":1},"toString":1}', after: '{"constructor":{"a":2},"toString":"1"}', guarded: ['spec.constructor.a', 'spec.toString'] },
    { name: 'a duplicate key whose last value changed', before: '{"a":1}', after: '{"a":1,"a":2}', guarded: ['spec.a'] },
    { name: 'a duplicate __proto__ key whose last value changed', before: '{"__proto__":1}', after: '{"__proto__":1,"__proto__":2}', guarded: ['spec.__proto__'] },
    { name: 'keys reordered and one value changed', before: '{"a":1,"b":{"c":1,"d":2}}', after: '{"b":{"d":2,"c":3},"a":1}', guarded: ['spec.b.c'] },
    { name: 'a port number turned into the string "80" (items of two types)', before: '{"ports":[{"port":80,"x":1}]}', after: '{"ports":[{"port":"80","x":1}]}', guarded: ['port', 'x', 'protocol', 'port', 'x', 'protocol'].map((f) => `spec.ports[port=80,protocol=TCP].${f}`) },
    // two items (the string and the number), printed alike: both sides reported, so nothing passes unseen
    { name: 'a container named "1" against one named 1', before: '{"template":{"spec":{"containers":[{"name":"1","image":"a"}]}}}', after: '{"template":{"spec":{"containers":[{"name":1,"image":"a"}]}}}', guarded: ['name', 'image', 'name', 'image'].map((f) => `spec.template.spec.containers[name=1].${f}`) },
    { name: 'a second container with the same name', before: '{"template":{"spec":{"containers":[{"name":"api","image":"a"}]}}}', after: '{"template":{"spec":{"containers":[{"name":"api","image":"a"},{"name":"api","image":"b"}]}}}', guarded: ['spec.template.spec.containers'] },
    { name: 'a container that loses its name (keyed → atomic)', before: '{"template":{"spec":{"containers":[{"name":"api","image":"a"}]}}}', after: '{"template":{"spec":{"containers":[{"image":"a"}]}}}', guarded: ['spec.template.spec.containers'] },
    { name: 'a keyed list reordered with one item changed', before: '{"env":[{"name":"A","value":"1"},{"name":"B","value":"2"},{"name":"C","value":"3"}]}', after: '{"env":[{"name":"C","value":"3"},{"name":"B","value":"X"},{"name":"A","value":"1"}]}', guarded: ['spec.env[name=B].value'] },
    { name: 'an item equal to another one of the list, the second copy changed', before: '{"env":[{"name":"A","v":{"x":1}},{"name":"B","v":{"x":1}}]}', after: '{"env":[{"name":"A","v":{"x":1}},{"name":"B","v":{"x":2}}]}', guarded: ['spec.env[name=B].v.x'] },
    { name: 'a subtree equal in two places, changed in the second', before: '{"a":{"l":[{"n":1}]},"b":{"l":[{"n":1}]}}', after: '{"a":{"l":[{"n":1}]},"b":{"l":[{"n":2}]}}', guarded: ['spec.b.l'] },
    { name: 'a list compared whole below a changed list', before: '{"a":[{"name":"x","l":[[1],[2]]}]}', after: '{"a":[{"name":"x","l":[[1],[3]]}]}', guarded: ['spec.a[name=x].l'] },
    { name: 'an item whose protocol default hides nothing else', before: '{"ports":[{"containerPort":80,"x":1}]}', after: '{"ports":[{"containerPort":80,"protocol":"TCP","x":2}]}', guarded: ['spec.ports[containerPort=80,protocol=TCP].x'] },
    { name: 'a UDP port added beside the TCP one', before: '{"ports":[{"containerPort":53}]}', after: '{"ports":[{"containerPort":53},{"containerPort":53,"protocol":"UDP"}]}', guarded: ['spec.ports[containerPort=53,protocol=UDP].containerPort', 'spec.ports[containerPort=53,protocol=UDP].protocol'] },
    { name: 'items keyed by nothing but a __proto__ key (the list stays atomic)', before: '{"l":[{"__proto__":"a","v":1}]}', after: '{"l":[{"__proto__":"a","v":2}]}', guarded: ['spec.l'] },
    { name: 'a list of one equal item and one changed one, 40 lists deep', before: `{"a":${'['.repeat(40)}{"name":"x"},{"name":"y","v":1}${']'.repeat(40)}}`, after: `{"a":${'['.repeat(40)}{"name":"x"},{"name":"y","v":2}${']'.repeat(40)}}`, guarded: ['spec.a'] },
  ];
  for (const a of attacks) {
    it(`denies ${a.name}`, a.todo ? { todo: a.todo } : {}, () => {
      const v = decideText(reviewText('Deployment', spec(a.before), spec(a.after)));
      assert.equal(v.outcome, 'denied', v.message);
      assert.deepEqual(guardedPaths(v), a.guarded);
    });
  }

  it('a grant for the paths the string/number twin prints covers only what the diff reports (both items)', () => {
    const text = reviewText('Deployment', spec('{"ports":[{"port":80,"x":1}]}'), spec('{"ports":[{"port":"80","x":1}]}'));
    const v = decideText(text, [grant({ paths: ['spec.ports[port=80,protocol=TCP].x'] })]);
    assert.equal(v.outcome, 'denied', 'a grant for .x alone does not cover the changed port');
  });

  it('decides the same parsed request twice alike: nothing remembered from one diff reaches the next', () => {
    const text = reviewText('Deployment', spec('{"a":[{"name":"x","v":[1]}],"b":{"c":[2]}}'), spec('{"a":[{"name":"x","v":[1]}],"b":{"c":[3]}}'));
    const request = decodeReview(parseReviewJson(text));
    const first = decide({ request, policy, now: NOW, grantsFor: () => [] });
    const second = decide({ request, policy, now: NOW, grantsFor: () => [] });
    assert.deepEqual([guardedPaths(first), guardedPaths(second)], [['spec.b.c'], ['spec.b.c']]);
  });

  it('allows an object compared with itself (the one aliasing JSON cannot make): no change', () => {
    const request = decodeReview(parseReviewJson(reviewText('Deployment', spec('{"a":[1]}'), spec('{"a":[1]}'))));
    const same = { ...request, object: request.oldObject };
    assert.equal(decide({ request: same, policy, now: NOW, grantsFor: () => [] }).rule, 'no-guarded-change');
  });

  // managedFields name the merge key of a list driftgate knows nothing of: indexed by that one key's value
  const keyedBy = (key: string) => `,"managedFields":[{"manager":"argocd-controller","operation":"Apply","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:items":{${JSON.stringify(`k:{"${key}":"a"}`)}:{}}}}}]`;
  const managedCases: [string, string, string, string, string[]][] = [
    ['an item whose managedFields key id turns from 1 into "1"', 'id', '{"items":[{"id":1,"v":"x"}]}', '{"items":[{"id":"1","v":"x"}]}', ['id', 'v', 'id', 'v'].map((f) => `spec.items[id=1].${f}`)],
    ['an item whose managedFields key is a big integer (atomic)', 'id', '{"items":[{"id":9007199254740993,"v":"x"}]}', '{"items":[{"id":9007199254740993,"v":"y"}]}', ['spec.items']],
    ['two items sharing a managedFields key (atomic)', 'id', '{"items":[{"id":"a","v":1}]}', '{"items":[{"id":"a","v":1},{"id":"a","v":2}]}', ['spec.items']],
    ['items keyed by a managedFields key named __proto__ (atomic)', '__proto__', '{"items":[{"__proto__":"a","v":1}]}', '{"items":[{"__proto__":"a","v":2}]}', ['spec.items']],
    ['items keyed by a managedFields key named protocol (the default is not invented)', 'protocol', '{"items":[{"protocol":"UDP","v":1}]}', '{"items":[{"protocol":"UDP","v":2}]}', ['spec.items[protocol=UDP].v']],
  ];
  for (const [name, key, b, a, want] of managedCases) {
    it(`denies ${name}`, () => {
      const v = decideText(reviewText('Deployment', spec(b), spec(a), keyedBy(key)));
      assert.equal(v.outcome, 'denied');
      assert.deepEqual(guardedPaths(v), want);
    });
  }

  const equalCases: [string, string, string][] = [
    ['keys reordered only', '{"a":1,"b":{"c":1,"d":[1,2]}}', '{"b":{"d":[1,2],"c":1},"a":1}'],
    ['a keyed list reordered only', '{"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]}', '{"env":[{"name":"B","value":"2"},{"name":"A","value":"1"}]}'],
    ['1, 1.0 and 1e0 (one number)', '{"a":1,"b":[1]}', '{"a":1.0,"b":[1e0]}'],
    ['a big integer spelled the same', '{"a":9007199254740993}', '{"a":9007199254740993}'],
    ['the protocol the API server defaults, written out', '{"ports":[{"containerPort":80}]}', '{"ports":[{"containerPort":80,"protocol":"TCP"}]}'],
    ['a duplicate key whose last value is the stored one', '{"a":2}', '{"a":1,"a":2}'],
  ];
  for (const [name, b, a] of equalCases) {
    it(`allows ${name}: no guarded change`, () => {
      const v = decideText(reviewText('Deployment', spec(b), spec(a)));
      assert.deepEqual([v.outcome, v.rule, guardedPaths(v)], ['allowed', 'no-guarded-change', []]);
    });
  }
});

describe('nesting near the limit: refused or denied, never allowed', () => {
  const chain = (depth: number, leaf: string) => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;
  const listChain = (depth: number, leaf: string) => `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
  const cases: [string, (d: number, l: string) => string][] = [['maps', chain], ['lists', listChain]];
  for (const [kind, make] of cases) {
    for (const depth of [97, 98, 99, 100, 101, 150]) {
      it(`a change at the bottom of ${depth} nested ${kind} below spec`, () => {
        let v: Verdict | undefined;
        try {
          v = decideText(reviewText('Deployment', spec(make(depth, '1')), spec(make(depth, '2'))));
        } catch (e) {
          assert.equal((e as { code?: string }).code, 'REVIEW_TOO_DEEP');
          return;
        }
        assert.equal(v.outcome, 'denied');
      });
      it(`${depth} nested ${kind} unchanged beside a change`, () => {
        let v: Verdict | undefined;
        try {
          v = decideText(reviewText('Deployment', spec(`{"deep":${make(depth, '1')},"x":1}`), spec(`{"deep":${make(depth, '1')},"x":2}`)));
        } catch (e) {
          assert.equal((e as { code?: string }).code, 'REVIEW_TOO_DEEP');
          return;
        }
        assert.equal(v.outcome, 'denied');
        assert.deepEqual(guardedPaths(v), ['spec.x']);
      });
    }
  }
});

describe('Secret values appear only as HMAC hashes, whatever their shape', () => {
  const SECRET = 'c3VwZXJzZWNyZXQtaHVudGVyMg==';
  const PLAIN = 'supersecret-hunter2';
  const cases: [string, string, string][] = [
    ['a data value changed', `"data":{"k":"${SECRET}"}`, `"data":{"k":"${SECRET}x"}`],
    ['a data value added next to an equal one', `"data":{"a":"${SECRET}"}`, `"data":{"a":"${SECRET}","b":"${SECRET}"}`],
    ['data from null to a map', '"data":null', `"data":{"k":"${SECRET}"}`],
    ['data from a map to a list (hashed whole before the diff)', `"data":{"k":"${SECRET}"}`, `"data":["${SECRET}"]`],
    ['data from text to a map', `"data":"${SECRET}"`, `"data":{"k":"${SECRET}"}`],
    ['a value under a __proto__ key', `"data":{"__proto__":"${SECRET}"}`, `"data":{"__proto__":"${SECRET}y"}`],
    ['a value that is a map', `"data":{"k":{"x":"${SECRET}"}}`, `"data":{"k":{"x":"${SECRET}z"}}`],
    ['a value that is a list', `"data":{"k":["${SECRET}"]}`, `"data":{"k":["${SECRET}","${SECRET}"]}`],
    ['stringData in plain text', `"stringData":{"p":"${PLAIN}"}`, `"stringData":{"p":"${PLAIN}!"}`],
    ['a value that is a rawJSON-looking map', `"data":{"k":{"rawJSON":"${SECRET}"}}`, `"data":{"k":"${SECRET}"}`],
    ['data as {} then a value', '"data":{}', `"data":{"k":"${SECRET}"}`],
    ['a long value whose secret part is past the 80 shown characters', `"data":{"k":"${'A'.repeat(70)}${SECRET}"}`, `"data":{"k":"${'A'.repeat(70)}${SECRET}!"}`],
  ];
  for (const [name, b, a] of cases) {
    it(`hashes ${name}`, () => {
      const v = decideText(reviewText('Secret', b, a));
      assert.equal(v.outcome, 'denied');
      const shown = JSON.stringify({ message: v.message, warnings: v.warnings, guarded: v.guarded, changes: v.changes });
      for (const s of [SECRET, SECRET.slice(0, 12), PLAIN, PLAIN.slice(0, 8)]) assert.ok(!shown.includes(s), `${s} leaked: ${shown}`);
      assert.match(v.message!, /<secret hmac-sha256:[0-9a-f]{16}>/);
    });
  }
});

describe('RoleBindings, guarded since 83e1e1e: a subject changed under the same name is reported', () => {
  const binding = (subjects: string) => `"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"},"subjects":${subjects}`;
  const cases: [string, string, string, string[]][] = [
    ['a subject added', '[{"kind":"User","name":"alice"}]', '[{"kind":"User","name":"alice"},{"kind":"User","name":"mallory"}]', ['subjects[name=mallory].kind', 'subjects[name=mallory].name']],
    ['a User made a Group of the same name', '[{"kind":"User","name":"admins"}]', '[{"kind":"Group","name":"admins"}]', ['subjects[name=admins].kind']],
    ['a second subject of the same name (the list is then atomic)', '[{"kind":"User","name":"alice"}]', '[{"kind":"User","name":"alice"},{"kind":"Group","name":"alice"}]', ['subjects']],
    ['a ServiceAccount moved to another namespace', '[{"kind":"ServiceAccount","name":"ci","namespace":"prod"}]', '[{"kind":"ServiceAccount","name":"ci","namespace":"kube-system"}]', ['subjects[name=ci].namespace']],
    ['an unchanged binding (no guarded change)', '[{"kind":"User","name":"alice"}]', '[{"name":"alice","kind":"User"}]', []],
  ];
  for (const [name, b, a, want] of cases) {
    it(`${want.length > 0 ? 'denies' : 'allows'} ${name}`, () => {
      const v = decideText(reviewText('RoleBinding', binding(b), binding(a)));
      assert.deepEqual([v.outcome, guardedPaths(v)], [want.length > 0 ? 'denied' : 'allowed', want]);
    });
  }

  it('a grant for one subject does not cover a Group slipped in under that name', () => {
    const text = reviewText('RoleBinding', binding('[{"kind":"User","name":"admins"}]'), binding('[{"kind":"Group","name":"admins"}]'));
    const g = grant({ resources: [{ group: 'rbac.authorization.k8s.io', kind: 'RoleBinding', name: 'api' }], paths: ['subjects[name=admins].name'] });
    assert.equal(decideText(text, [g]).outcome, 'denied');
  });
});

/** The line before the bounded writer: JSON.stringify, cut. */
function stringifiedLine(v: unknown, max: number): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

describe('denial lines: the bounded writer shows what JSON.stringify would, at every cut', () => {
  const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { a: '\u0000', rawJSON: '1' });
  const values: [string, unknown][] = [
    ['a lone high surrogate', 'ab\ud83d'],
    ['a lone low surrogate', '\ude00x'],
    ['surrogate pairs at every cut', '😀'.repeat(60)],
    ['line separators', '\u2028\u2029'.repeat(30)],
    ['NULs and escapes', '\u0000"\\\n\t'.repeat(20)],
    ['keys that need escapes', parseJsonExact('{"\\u0000\\ud83d":1,"a\\"b":[null,{}],"😀":"😀"}')],
    ['a __proto__ key', parseJsonExact('{"__proto__":{"__proto__":[1,{"constructor":2}]}}')],
    ['a toJSON key holding data', parseJsonExact('{"toJSON":"x","b":1}')],
    ['exact integers', parseJsonExact('[9007199254740993,-123456789012345678901234567890,{"n":99999999999999999999}]')],
    ['a long exact integer', rawJson(`1${'0'.repeat(200)}`)],
    ['a map spelling rawJSON', { rawJSON: '1' }],
    ['a prototype-less map', nullProto],
    ['numbers JSON writes its own way', [-0, 1e21, 1e-7, 0.1, 5e-324, 1.7976931348623157e308]],
    ['empty containers, nested', [[], {}, [[]], { a: {} }, [{}], '']],
    ['a key longer than the line', { ['k'.repeat(500)]: 'v' }],
    ['a list of 1,000 items', Array.from({ length: 1000 }, (_, i) => ({ name: `n${i}` }))],
  ];
  for (const [name, v] of values) {
    it(`writes ${name} as JSON.stringify does, cut at 1…120 characters`, () => {
      for (let max = 1; max <= 120; max += 1) assert.equal(showValue(v, max), stringifiedLine(v, max), `max ${max}`);
    });
  }

  it('shows the first 80 characters of a changed list of a million items', () => {
    const big = Array.from({ length: 1_000_000 }, () => 1);
    assert.equal(showValue(big), stringifiedLine(big.slice(0, 100), 80));
  });

  it('a denial never shows two different values as the same text unless both are cut', () => {
    const v = decideText(reviewText('Deployment', spec('{"s":"a\\u0000"}'), spec('{"s":"a\\u0000\\u0000"}')));
    assert.match(v.message!, /spec\.s: "a\\u0000" → "a\\u0000\\u0000"/);
  });
});

/**
 * V8's hash of a small integer (ComputeUnseededHash, the same in every process): a Map keyed by numbers
 * puts numbers whose hashes share their low bits in one bucket chain, so each lookup walks all of them.
 */
function v8IntegerHash(key: number): number {
  let hash = key >>> 0;
  hash = (~hash + (hash << 15)) >>> 0;
  hash = (hash ^ (hash >>> 12)) >>> 0;
  hash = (hash + (hash << 2)) >>> 0;
  hash = (hash ^ (hash >>> 4)) >>> 0;
  hash = Math.imul(hash, 2057) >>> 0;
  hash = (hash ^ (hash >>> 16)) >>> 0;
  return hash & 0x3fffffff;
}

/** `count` integers whose hashes end in 13 zero bits: one chain in a Map of up to 16,384 entries. */
function collidingIntegers(count: number): number[] {
  const out: number[] = [];
  for (let k = 1; out.length < count; k += 1) if ((v8IntegerHash(k) & 0x1fff) === 0) out.push(k);
  return out;
}

/**
 * An UPDATE of a GitOps-owned HelmRelease that sets `spec.values.env` (free-form values: the API server
 * passes any shape) from `before` (absent: no env) to `after`; `env` is keyed by name wherever it appears.
 */
function helmReleaseUpdate(after: readonly object[], before?: readonly object[]): string {
  const hr = (values: unknown) => ({ apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'api', namespace: 'prod', labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps' } }, spec: { interval: '5m', chart: { spec: { chart: 'api' } }, values } });
  const gv = { group: 'helm.toolkit.fluxcd.io', version: 'v2' };
  const request = { uid: 'u-flood', kind: { ...gv, kind: 'HelmRelease' }, resource: { ...gv, resource: 'helmreleases' }, name: 'api', namespace: 'prod', operation: 'UPDATE', userInfo: { username: 'alice', groups: ['oncall'] }, oldObject: hr({ replicas: 1, ...(before ? { env: before } : {}) }), object: hr({ replicas: 1, env: after }) };
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
}

/**
 * How many keys of each type (`number`, `string`, …) were stored in, read from or looked up in any Map
 * while `run` ran: Map.prototype's set, get and has are wrapped for that time and call through to the
 * originals. Counted in a plain object (a Map would count itself). A number as a Map key is hashed with
 * V8's unseeded integer hash, so a count of numbers is the flooding surface, whatever the machine's speed.
 */
function mapKeyTypes<T>(run: () => T): { result: T; keys: Record<string, number> } {
  const keys: Record<string, number> = Object.create(null) as Record<string, number>;
  const count = (k: unknown): void => {
    keys[typeof k] = (keys[typeof k] ?? 0) + 1;
  };
  const { set, get, has } = Map.prototype;
  Map.prototype.set = function <K, V>(this: Map<K, V>, k: K, v: V) {
    count(k);
    return set.call(this, k, v) as Map<K, V>;
  };
  Map.prototype.get = function <K>(this: Map<K, unknown>, k: K) {
    count(k);
    return get.call(this, k);
  };
  Map.prototype.has = function <K>(this: Map<K, unknown>, k: K) {
    count(k);
    return has.call(this, k);
  };
  try {
    return { result: run(), keys: { ...keys } };
  } finally {
    Object.assign(Map.prototype, { set, get, has });
  }
}

// Once a finding: since 3d00ee1/19f0873 a merge key that was a number was its own Map key, so chosen
// numbers shared one bucket chain: 65,000 such names under a GitOps-owned HelmRelease's spec.values.env
// (a 1.2 MB UPDATE the API server passes on) blocked the event loop ~7 s. 7224038 made the ids typed
// strings again; these tests count Map keys by type instead of timing the decision.
describe('merge-key values as Map keys: no hash flooding', () => {
  const items = (names: readonly unknown[]) => names.map((name) => ({ name }));
  const envPath = (name: unknown) => `spec.values.env[name=${String(name)}].name`;

  it('looks up no number in any Map while deciding a list of 12,000 items named by numbers that share a V8 hash bucket', () => {
    const colliding = collidingIntegers(12_000);
    const { result: v, keys } = mapKeyTypes(() => decideText(helmReleaseUpdate(items(colliding))));
    assert.equal(keys.number ?? 0, 0, 'numbers used as Map keys (hashed unseeded: a chosen set shares one chain)');
    assert.ok((keys.string ?? 0) >= 2 * colliding.length, `the items were indexed by string keys (${keys.string ?? 0} for ${colliding.length} items)`);
    assert.equal(v.outcome, 'denied');
  });

  it('denies the 12,000 colliding names exactly as it denies the names 1…12,000, at the first six added items', () => {
    const colliding = collidingIntegers(12_000);
    const plain = colliding.map((_, i) => i + 1);
    for (const names of [colliding, plain]) {
      const v = decideText(helmReleaseUpdate(items(names)));
      assert.deepEqual([v.outcome, v.partial, guardedPaths(v)], ['denied', true, names.slice(0, 6).map(envPath)]);
    }
  });

  it('keeps items named 1, "1", true and "true" apart (no number or boolean as a Map key): a reorder with one value changed is one change, at that item', () => {
    const named = (value: (name: unknown) => string) => [1, '1', true, 'true'].map((name) => ({ name, value: value(name) }));
    const before = named((name) => `${typeof name}`);
    const after = named((name) => (name === '1' ? 'changed' : `${typeof name}`)).reverse();
    const { result: v, keys } = mapKeyTypes(() => decideText(helmReleaseUpdate(after, before)));
    assert.deepEqual([keys.number ?? 0, keys.boolean ?? 0], [0, 0], 'numbers and booleans used as Map keys');
    assert.deepEqual(
      v.guarded.map((c) => [c.printed, c.path.at(-2), c.before, c.after]),
      [['spec.values.env[name=1].value', { k: 'item', keys: { name: '1' } }, 'string', 'changed']],
    );
  });
});

// ---- differential and property fuzz ----

type Rand = () => number;
function prng(seed: number): Rand {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
type Obj = Record<string, unknown>;

const KEYS = ['a', 'b', 'name', 'port', 'containerPort', 'protocol', 'value', '__proto__', 'constructor', 'a.b', '', '0', 'x\u0000y', 'containers', 'env', 'ports', 'items', 'rawJSON', 'ip', 'topologyKey', 'whenUnsatisfiable', 'labels', 'annotations', 'data', 'metadata', 'status'];
const NAMES: readonly unknown[] = ['a', 'b', 'c', '1', 1, 80, '80', true, '__proto__', ''];
const scalars = (): unknown[] => [0, -0, 1, '1', 1.5, true, 'true', false, null, '', 'x\u0000', '\ud83d\ude00', 'TCP', 80, '80', rawJson('9007199254740993'), rawJson('9007199254740992'), 9007199254740992, 'a', 'b'];

/** Removes a key (any name, `__proto__` included: an own property). */
function dropKey(o: Obj, k: string): void {
  Reflect.deleteProperty(o, k);
}

/** Sets a key as JSON.parse would (an own property, `__proto__` included). */
function setKey(o: Obj, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function tree(r: Rand, depth: number): unknown {
  const roll = r();
  if (depth <= 0 || roll < 0.35) return pick(r, scalars());
  if (roll < 0.45) return r() < 0.5 ? {} : [];
  if (roll < 0.75) {
    const o: Obj = {};
    for (let n = 1 + Math.floor(r() * 4); n > 0; n -= 1) setKey(o, pick(r, KEYS), tree(r, depth - 1));
    return o;
  }
  const kind = Math.floor(r() * 6); // named, containerPort, port, compound, scalars, anything
  const out: unknown[] = [];
  for (let n = Math.floor(r() * 4); n > 0; n -= 1) out.push(kind <= 3 ? item(r, depth, kind) : kind === 4 ? pick(r, scalars()) : tree(r, depth - 1));
  return out;
}

function item(r: Rand, depth: number, kind: number): Obj {
  const o: Obj = {};
  if (kind === 0) o.name = pick(r, NAMES);
  else if (kind === 1 || kind === 2) {
    o[kind === 1 ? 'containerPort' : 'port'] = pick(r, [80, '80', 8080]);
    if (r() < 0.6) o.protocol = pick(r, ['TCP', 'UDP']);
  } else {
    o.topologyKey = pick(r, ['zone', 'host']);
    if (r() < 0.7) o.whenUnsatisfiable = pick(r, ['DoNotSchedule', 'ScheduleAnyway']);
  }
  for (let n = Math.floor(r() * 3); n > 0; n -= 1) o[pick(r, ['value', 'image', 'x', 'protocol'])] = tree(r, depth - 1);
  return o;
}

/** A copy as the body parser makes one: no shared objects, exact integers kept. */
function reparse<T>(v: T): T {
  return v === undefined ? v : (parseJsonExact(JSON.stringify(v)) as T);
}

const isPlainObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !isRawJson(v);

function containersOf(v: unknown, out: (Obj | unknown[])[] = []): (Obj | unknown[])[] {
  if (Array.isArray(v)) {
    out.push(v);
    for (const x of v) containersOf(x, out);
  } else if (isPlainObj(v)) {
    out.push(v);
    for (const k of Object.keys(v)) containersOf(v[k], out);
  }
  return out;
}

/** A value one step from `v` that the equality must tell apart (or, for -0 and key order, need not). */
function twin(v: unknown): unknown {
  const twins: [unknown, unknown][] = [[1, '1'], [80, '80'], [true, 'true'], ['', null], [9007199254740992, rawJson('9007199254740993')]];
  for (const [x, y] of twins) {
    if (Object.is(v, x)) return y;
    if (Object.is(v, y)) return x;
  }
  if (Object.is(v, 0)) return -0;
  if (v === null) return undefined;
  if (isRawJson(v)) return rawJson('9007199254740992');
  if (Array.isArray(v) && v.length === 0) return {};
  if (isPlainObj(v) && Object.keys(v).length === 0) return [];
  return v;
}

function mutateList(r: Rand, c: unknown[]): void {
  const i = Math.floor(r() * c.length);
  const op = Math.floor(r() * 6);
  const it = c[i];
  if (c.length === 0) c.push(tree(r, 2));
  else if (op === 0) c.reverse();
  else if (op === 1) c.push(reparse(it));
  else if (op === 2) c.splice(i, 1);
  else if (op === 3 && isPlainObj(it)) {
    const k = pick(r, Object.keys(it).length > 0 ? Object.keys(it) : ['name']);
    const t = twin(it[k]);
    if (t === undefined) dropKey(it, k);
    else setKey(it, k, t);
  } else if (op === 4 && isPlainObj(it)) {
    if (it.protocol === undefined) it.protocol = 'TCP';
    else if (it.protocol === 'TCP') delete it.protocol;
    else it.name = pick(r, NAMES);
  } else c[i] = r() < 0.5 ? twin(it) ?? null : tree(r, 2);
}

function mutateMap(r: Rand, c: Obj): void {
  const keys = Object.keys(c);
  const op = Math.floor(r() * 8);
  if (op === 0 || keys.length === 0) setKey(c, pick(r, KEYS), tree(r, 2));
  else if (op === 1) dropKey(c, pick(r, keys));
  else if (op === 2) {
    // the same keys in another order
    const entries = keys.map((k) => [k, c[k]] as const).reverse();
    for (const k of keys) dropKey(c, k);
    for (const [k, x] of entries) setKey(c, k, x);
  } else {
    const k = pick(r, keys);
    const t = op < 6 ? twin(c[k]) : tree(r, 2);
    if (t === undefined) dropKey(c, k);
    else setKey(c, k, t);
  }
}

/** `v` after one to three small random edits, as a fresh parse. */
function mutate(r: Rand, v: unknown): unknown {
  const root = { v: reparse(v) };
  for (let m = 1 + Math.floor(r() * 3); m > 0; m -= 1) {
    const all = containersOf(root.v);
    if (all.length === 0) {
      root.v = tree(r, 2);
      continue;
    }
    const c = pick(r, all);
    if (Array.isArray(c)) mutateList(r, c);
    else mutateMap(r, c);
  }
  return reparse(root.v);
}

/**
 * The value with map keys sorted, lists sorted as multisets, a port item's defaulted protocol filled in
 * and numbers written by JSON: coarser than the diff's equality, so a diff that reports nothing must
 * leave the two canonical texts equal.
 */
function canonical(v: unknown, field = ''): string {
  if (Array.isArray(v)) {
    const items = v.map((x) => {
      const filled = field === 'ports' && isPlainObj(x) && x.protocol === undefined && (Object.hasOwn(x, 'port') || Object.hasOwn(x, 'containerPort')) ? { ...x, protocol: 'TCP' } : x;
      return canonical(filled);
    });
    return `[${items.sort().join(',')}]`;
  }
  if (isPlainObj(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k], k)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

type DiffFn = (before: unknown, after: unknown, opts: DiffOptions) => FieldChange[];

/** The diff as it was before the rewrite (40407eb), from git, wired to today's unchanged helpers; undefined without that history. */
async function diffBeforeRewrite(): Promise<DiffFn | undefined> {
  let text: string;
  try {
    text = execFileSync('git', ['show', '40407eb:src/admission/diff.ts'], { cwd: new URL('../..', import.meta.url), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  const at = (rel: string) => pathToFileURL(new URL(`../../src/${rel}`, import.meta.url).pathname).href;
  const wired = text
    .replace("'../lib/field-path.ts'", `'${at('lib/field-path.ts')}'`)
    .replace("'../lib/value.ts'", `'${at('lib/value.ts')}'`)
    .replace("'./runtime-fields.ts'", `'${at('admission/runtime-fields.ts')}'`);
  const file = join(tempDir('adversary-diff-'), 'diff-40407eb.ts');
  writeFileSync(file, wired);
  const mod = (await import(pathToFileURL(file).href)) as { diffObjects: DiffFn };
  return mod.diffObjects;
}

/** Changes as comparable text: printed path, segments, and both values (exact integers by their digits). */
function changesText(run: () => FieldChange[]): string {
  try {
    return JSON.stringify(run().map((c) => [formatPath(c.path), JSON.stringify(c.path), JSON.stringify(c.before) ?? '-', JSON.stringify(c.after) ?? '-']));
  } catch (e) {
    return `throws ${(e as Error).message}`;
  }
}

/** managedFields naming merge keys for a list somewhere below spec (sometimes hostile names). */
function managedFields(r: Rand): unknown[] {
  if (r() < 0.5) return [];
  const names = pick(r, [['name'], ['port'], ['containerPort', 'protocol'], ['value'], ['__proto__'], ['protocol']]);
  const k = `k:${JSON.stringify(Object.fromEntries(names.map((n) => [n, 'a'])))}`;
  return [{ manager: 'argocd-controller', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { [`f:${pick(r, ['a', 'b', 'items', 'value'])}`]: { [k]: {} } } } }];
}

const OPTION_SETS: readonly Omit<DiffOptions, 'mergeKeys'>[] = [
  { skipRuntime: false, nullIsValue: false },
  { skipRuntime: true, nullIsValue: true },
  { skipRuntime: true, nullIsValue: true, opaque: new Set(['data', 'stringData']) },
];

describe('differential: today\'s diff against the diff before the rewrite (seeded)', () => {
  const PAIRS = 400;
  let old: DiffFn | undefined;
  before(async () => {
    old = await diffBeforeRewrite();
  });

  it(`reports the same changes, in the same order, with the same depth errors, for ${PAIRS} random pairs × 3 option sets`, async (t) => {
    if (!old) return t.skip('commit 40407eb is not in this clone');
    const r = prng(20261125);
    const mismatches: string[] = [];
    for (let i = 0; i < PAIRS; i += 1) {
      const b = tree(r, 5);
      const a = r() < 0.1 ? reparse(b) : mutate(r, b);
      const mf = managedFields(r);
      const wrap = r() < 0.5;
      for (const o of OPTION_SETS) {
        const opts: DiffOptions = { ...o, mergeKeys: lazyMergeKeyTree(mf as never) };
        const [x, y] = wrap ? [{ spec: b }, { spec: a }] : [b, a];
        const was = changesText(() => old!(x, y, opts));
        const now = changesText(() => diffObjects(x, y, opts));
        if (was !== now) mismatches.push(`${JSON.stringify(x)} → ${JSON.stringify(y)} ${JSON.stringify(o)}\n  before the rewrite: ${was}\n  now: ${now}`);
      }
    }
    assert.deepEqual(mismatches.slice(0, 3), []);
  });

  it('reports the same for hostile shapes: deep chains at the limit, reversed and duplicated keyed lists, key order', async (t) => {
    if (!old) return t.skip('commit 40407eb is not in this clone');
    const nest = (d: number, leaf: unknown, list: boolean): unknown => {
      let v = leaf;
      for (let i = 0; i < d; i += 1) v = list ? [v] : { a: v };
      return v;
    };
    const env = (n: number, rev: boolean) => {
      const l = Array.from({ length: n }, (_, i) => ({ name: `E${i}`, value: `${i}` }));
      return rev ? l.reverse() : l;
    };
    const pairs: [unknown, unknown][] = [];
    for (const d of [98, 99, 100, 101, 102]) {
      for (const list of [false, true]) {
        pairs.push([{ spec: nest(d, 1, list) }, { spec: nest(d, 2, list) }], [{ spec: nest(d, 1, list) }, { spec: nest(d, 1, list) }]);
        pairs.push([{ spec: { x: 1, d: nest(d, 1, list) } }, { spec: { x: 2, d: nest(d, 1, list) } }]);
      }
    }
    pairs.push([{ spec: { env: env(50, false) } }, { spec: { env: env(50, true) } }]);
    pairs.push([{ spec: { env: env(5, false) } }, { spec: { env: [...env(5, true), { name: 'E1', value: 'dup' }] } }]);
    pairs.push([{ spec: { env: [{ name: 1 }, { name: '1' }] } }, { spec: { env: [{ name: '1' }, { name: 1 }] } }]);
    pairs.push([{ spec: { ports: [{ port: 80 }, { port: '80' }] } }, { spec: { ports: [{ port: '80', protocol: 'TCP' }, { port: 80, protocol: 'TCP' }] } }]);
    pairs.push([reparse({ spec: { a: 1, b: 2 } }), parseJsonExact('{"spec":{"b":2,"a":1,"__proto__":{}}}')]);
    const mismatches: string[] = [];
    for (const [x, y] of pairs) {
      for (const o of OPTION_SETS) {
        const opts: DiffOptions = { ...o, mergeKeys: lazyMergeKeyTree([]) };
        const was = changesText(() => old!(reparse(x), reparse(y), opts));
        const now = changesText(() => diffObjects(reparse(x), reparse(y), opts));
        if (was !== now) mismatches.push(`${JSON.stringify(x).slice(0, 200)} ${JSON.stringify(o)}: ${was.slice(0, 300)} / ${now.slice(0, 300)}`);
      }
    }
    assert.deepEqual(mismatches, []);
  });
});

describe('property: a diff that reports nothing leaves nothing changed (seeded, no history needed)', () => {
  it('for 600 random pairs, an empty diff means the same JSON up to key order, list order and the TCP default', () => {
    const r = prng(424242);
    const opts: DiffOptions = { skipRuntime: false, nullIsValue: true, mergeKeys: lazyMergeKeyTree([]) };
    const holes: string[] = [];
    let changed = 0;
    for (let i = 0; i < 600; i += 1) {
      const b = tree(r, 5);
      const a = mutate(r, b);
      let changes: FieldChange[];
      try {
        changes = diffObjects(b, a, opts);
      } catch {
        continue; // refused: never allowed
      }
      if (changes.length > 0) changed += 1;
      else if (canonical(b) !== canonical(a)) holes.push(`${JSON.stringify(b)} → ${JSON.stringify(a)}`);
    }
    assert.deepEqual(holes.slice(0, 3), []);
    assert.ok(changed > 300, `the mutations changed something in ${changed} of 600 pairs`);
  });

  it('for 300 random edits of a GitOps-owned Deployment\'s spec, an allowed write changed nothing but order', () => {
    const r = prng(77);
    const holes: string[] = [];
    for (let i = 0; i < 300; i += 1) {
      const b = tree(r, 4);
      const a = mutate(r, b);
      const text = reviewText('Deployment', `"spec":{"x":${JSON.stringify(b ?? null)}}`, `"spec":{"x":${JSON.stringify(a ?? null)}}`);
      let v: Verdict;
      try {
        v = decideText(text);
      } catch {
        continue;
      }
      if (v.allowed && canonical(b) !== canonical(a)) holes.push(`${JSON.stringify(b)} → ${JSON.stringify(a)}: ${v.rule}`);
    }
    assert.deepEqual(holes.slice(0, 3), []);
  });
});

// ---- the notification Lease ----

describe('the notification Lease against a writer that is not driftgate', () => {
  let api: FakeApiServer;
  let server: string;
  const T0 = Date.parse('2026-11-25T12:00:00Z');
  before(async () => {
    api = new FakeApiServer();
    server = await api.start();
  });
  after(() => api.stop());

  let n = 0;
  /** A replica's wall clock `t` (written into the Lease) and its monotonic clock `mono` (its deadlines). */
  interface Clocks {
    t: number;
    mono: number;
  }
  const advance = (c: Clocks, ms: number): void => {
    c.t += ms;
    c.mono += ms;
  };
  function replica(who: string, clock: Clocks, name: string): LeaderLease {
    return new LeaderLease({ kubeConfig: kubeConfigFor(server), namespace: 'driftgate', name, identity: who, logger: createLogger('silent'), now: () => new Date(clock.t), monotonic: () => clock.mono });
  }
  const forged = (name: string, spec: Record<string, unknown>) =>
    api.put('leases', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'driftgate' }, spec });

  it('takes over a Lease someone else created and never renews once its own lease duration has passed', async () => {
    const name = `forged-${(n += 1)}`;
    forged(name, { holderIdentity: 'mallory', leaseDurationSeconds: 2_147_483_647, renewTime: new Date(T0).toISOString() });
    const clock = { t: T0, mono: 0 };
    const a = replica('replica-a', clock, name);
    for (let i = 0; i < 60; i += 1) {
      await a.tryOnce();
      advance(clock, 2_000);
    }
    assert.ok(a.leadingSince(), 'after 2 minutes without a renewal by mallory, a replica sends the notifications');
  });

  // Once a finding (the renew deadline was measured on Date, so a holder whose clock stepped back 60 s
  // kept leading ~70 s after its last renewal while the other replica took over after 15 s): every
  // local deadline now runs on the monotonic clock.
  it('never has two replicas leading when the holder’s wall clock steps back while it cannot renew', async () => {
    const name = `clock-step-${(n += 1)}`;
    const clockA = { t: T0, mono: 0 };
    const clockB = { t: T0, mono: 0 };
    const a = replica('replica-a', clockA, name);
    const b = replica('replica-b', clockB, name);
    await a.tryOnce();
    await b.tryOnce();
    clockA.t -= 60_000; // an NTP step on a's machine: its monotonic clock does not move
    const bothLed: number[] = [];
    let aLastLed = 0;
    let bFirstLed = 0;
    for (let s = 2; s <= 30; s += 2) {
      advance(clockA, 2_000);
      advance(clockB, 2_000);
      api.unavailable = true; // a cannot reach the API server
      await a.tryOnce();
      api.unavailable = false;
      await b.tryOnce();
      if (a.leadingSince() && b.leadingSince()) bothLed.push(s);
      if (a.leadingSince()) aLastLed = s;
      if (b.leadingSince() && bFirstLed === 0) bFirstLed = s;
    }
    assert.deepEqual(bothLed, [], 'seconds after the last renewal at which both replicas led');
    assert.deepEqual({ aLastLed, bFirstLed }, { aLastLed: 10, bFirstLed: 16 }, 'a leads until its 10 s renew deadline, b from the end of its 15 s wait');
  });

  it('leaves one leader when a forged Lease says its duration is 0', async () => {
    const name = `zero-${(n += 1)}`;
    forged(name, { holderIdentity: 'mallory', leaseDurationSeconds: 0 });
    const clock = { t: T0, mono: 0 };
    const a = replica('replica-a', clock, name);
    const b = replica('replica-b', clock, name);
    for (let i = 0; i < 10; i += 1) {
      await a.tryOnce();
      await b.tryOnce();
      assert.ok(!(a.leadingSince() && b.leadingSince()), `both lead at round ${i}`);
      advance(clock, 2_000);
    }
    assert.equal([a, b].filter((x) => x.leadingSince()).length, 1);
  });

  it('takes over a released Lease (empty holder) at once, whatever duration it names', async () => {
    const name = `released-${(n += 1)}`;
    forged(name, { holderIdentity: '', leaseDurationSeconds: 2_147_483_647 });
    const clock = { t: T0, mono: 0 };
    const a = replica('replica-a', clock, name);
    await a.tryOnce();
    assert.deepEqual(a.leadingSince(), new Date(T0));
    assert.equal((api.get('leases', 'driftgate', name)?.spec as { leaseDurationSeconds?: number } | undefined)?.leaseDurationSeconds, 15);
  });
});
