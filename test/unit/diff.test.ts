import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffObjects, NO_MERGE_KEYS } from '../../src/admission/diff.ts';
import { formatPath } from '../../src/admission/field-path.ts';
import { lazyMergeKeyTree, mergeKeyTree } from '../../src/admission/managed-fields.ts';
import { redactSecret } from '../../src/admission/redact.ts';

const opts = { mergeKeys: NO_MERGE_KEYS, skipRuntime: true };
const paths = (a: unknown, b: unknown, o = opts) => diffObjects(a, b, o).map((c) => formatPath(c.path));

const pod = (containers: unknown[]) => ({ spec: { template: { spec: { containers } } } });

describe('normalized diff', () => {
  it('addresses containers by name, not index, and ignores reordering', () => {
    const a = pod([{ name: 'api', image: 'a:1' }, { name: 'sidecar', image: 's:1' }]);
    const b = pod([{ name: 'sidecar', image: 's:1' }, { name: 'api', image: 'a:2' }]);
    assert.deepEqual(paths(a, b), ['spec.template.spec.containers[name=api].image']);
  });

  it('addresses env vars by name and ports by containerPort+protocol (protocol defaults to TCP)', () => {
    const a = pod([{ name: 'api', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80 }] }]);
    const b = pod([{ name: 'api', env: [{ name: 'A', value: '2' }, { name: 'B', value: '1' }], ports: [{ containerPort: 80, protocol: 'TCP', name: 'http' }] }]);
    assert.deepEqual(paths(a, b), [
      'spec.template.spec.containers[name=api].env[name=A].value',
      'spec.template.spec.containers[name=api].env[name=B].name',
      'spec.template.spec.containers[name=api].env[name=B].value',
      'spec.template.spec.containers[name=api].ports[containerPort=80,protocol=TCP].name',
    ]);
  });

  for (const [name, tree] of [['built', mergeKeyTree], ['built on first use', lazyMergeKeyTree]] as const) {
    it(`takes merge keys from managedFields k:{…} keys when present (tree ${name})`, () => {
      const mf = [
        { manager: 'm', fieldsV1: { 'f:spec': { 'f:rules': { 'k:{"host":"a"}': { '.': {}, 'f:backends': { 'k:{"port":1}': {} } } } } } },
      ];
      const o = { mergeKeys: tree(mf), skipRuntime: true };
      const a = { spec: { rules: [{ host: 'a', path: '/', backends: [{ port: 1, w: 1 }, { port: 2, w: 1 }] }, { host: 'b', path: '/' }] } };
      const b = { spec: { rules: [{ host: 'b', path: '/' }, { host: 'a', path: '/x', backends: [{ port: 2, w: 1 }, { port: 1, w: 5 }] }] } };
      assert.deepEqual(paths(a, b, o), ['spec.rules[host=a].path', 'spec.rules[host=a].backends[port=1].w']);
    });
  }

  it('treats lists without merge keys as atomic values', () => {
    const a = pod([{ name: 'api', args: ['--a', '--b'] }]);
    const b = pod([{ name: 'api', args: ['--b', '--a'] }]);
    const changes = diffObjects(a, b, opts);
    assert.equal(changes.length, 1);
    assert.deepEqual(changes[0]!.after, ['--b', '--a']);
  });

  it('walks added maps down to their leaves (one new annotation is one change)', () => {
    assert.deepEqual(paths({ metadata: {} }, { metadata: { annotations: { 'example.com/a': 'x' } } }), ['metadata.annotations[example.com/a]']);
  });

  it('treats null as absent, and {} and [] as values', () => {
    assert.deepEqual(paths({ a: null, e: 'x' }, { e: 'x', f: null }), []);
    assert.deepEqual(paths({ b: {}, c: [] }, { d: {}, e: null }).sort(), ['b', 'c', 'd']);
    assert.deepEqual(paths({ b: {}, c: [] }, { b: {}, c: [] }), []);
  });

  it('skips runtime fields (status, resourceVersion, managedFields, last-applied) when asked', () => {
    const a = { metadata: { resourceVersion: '1', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }, status: { x: 1 } };
    const b = { metadata: { resourceVersion: '2', annotations: {} }, status: { x: 2 } };
    assert.deepEqual(paths(a, b), []);
    assert.equal(paths(a, b, { ...opts, skipRuntime: false }).length, 3);
  });

  it('reports a type change at the field itself', () => {
    assert.deepEqual(paths({ spec: { x: { a: 1 } } }, { spec: { x: 'text' } }), ['spec.x']);
  });

  it('keeps own __proto__ keys as plain data', () => {
    const a = JSON.parse('{"metadata":{"labels":{"__proto__":"x"}}}');
    const b = JSON.parse('{"metadata":{"labels":{"__proto__":"y"}}}');
    assert.deepEqual(paths(a, b), ['metadata.labels.__proto__']);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  it('diffs a 1.5 MiB ConfigMap correctly', () => {
    const data: Record<string, string> = {};
    for (let i = 0; i < 1500; i += 1) data[`key-${i}`] = 'x'.repeat(1000);
    const after = { ...data, 'key-7': 'changed', 'key-new': 'v' };
    delete (after as Record<string, string>)['key-9'];
    assert.deepEqual(paths({ data }, { data: after }).sort(), ['data.key-7', 'data.key-9', 'data.key-new']);
  });

  it('hashes Secret values so they never leave the diff', () => {
    const s = (v: string) => redactSecret({ kind: 'Secret', data: { password: v }, stringData: { token: v } });
    const changes = diffObjects(s('c2VjcmV0'), s('b3RoZXI='), opts);
    assert.equal(changes.length, 2);
    for (const c of changes) {
      assert.match(String(c.before), /^<secret hmac-sha256:[0-9a-f]{16}>$/);
      assert.notEqual(c.before, c.after);
    }
  });
});

describe('normalized diff: comparisons that skip what is equal', () => {
  const nested = (depth: number, leaf: unknown): unknown => {
    let v = leaf;
    for (let i = 0; i < depth; i += 1) v = [v];
    return v;
  };
  const chain = (levels: number, last: number) => {
    const bulk: unknown[] = Array.from({ length: 50 }, () => ({}));
    bulk[49] = last;
    let inner: unknown = bulk;
    for (let i = 0; i < levels; i += 1) inner = [{ name: 'x', a: inner }];
    return { spec: { a: inner } };
  };

  it('reports the list that differs at the bottom of one-item named lists 10 deep, once, with its values', () => {
    const changes = diffObjects(chain(10, 1), chain(10, 2), opts);
    assert.equal(changes.length, 1);
    assert.equal(formatPath(changes[0]!.path), `spec${'.a[name=x]'.repeat(10)}.a`);
    assert.equal((changes[0]!.before as unknown[])[49], 1);
    assert.equal((changes[0]!.after as unknown[])[49], 2);
  });

  it('reports only the changed items of a reversed named list, in the after list order', () => {
    const env = Array.from({ length: 6 }, (_, i) => ({ name: `V${i}`, value: `${i}` }));
    const after = [...env].reverse().map((e) => (e.name === 'V2' || e.name === 'V4' ? { ...e, value: 'new' } : e));
    assert.deepEqual(paths(pod([{ name: 'api', env }]), pod([{ name: 'api', env: after }])), [
      'spec.template.spec.containers[name=api].env[name=V4].value',
      'spec.template.spec.containers[name=api].env[name=V2].value',
    ]);
  });

  it('keys items by the type of their merge key: the string "1" and the number 1 are two items', () => {
    const a = { spec: { items: [{ name: 'a', port: 1 }] } };
    const b = { spec: { items: [{ name: 'b', port: '1' }] } };
    const o = { ...opts, mergeKeys: mergeKeyTree([{ manager: 'm', fieldsV1: { 'f:spec': { 'f:items': { 'k:{"port":1}': {} } } } }]) };
    assert.deepEqual(paths(a, b, o), ['spec.items[port=1].name', 'spec.items[port=1].port', 'spec.items[port=1].name', 'spec.items[port=1].port']);
  });

  it('pairs items keyed by numbers across a reorder and reports only the changed one', () => {
    const o = { ...opts, mergeKeys: mergeKeyTree([{ manager: 'm', fieldsV1: { 'f:spec': { 'f:items': { 'k:{"port":1}': {} } } } }]) };
    const items = Array.from({ length: 5 }, (_, i) => ({ port: i * 65536, v: 'x' }));
    const after = [...items].reverse().map((it) => (it.port === 131072 ? { ...it, v: 'y' } : it));
    assert.deepEqual(paths({ spec: { items } }, { spec: { items: after } }, o), ['spec.items[port=131072].v']);
  });

  it('still refuses hostile nesting inside an equal item of a named list and inside an equal list under a map', () => {
    const item = { name: 'x', deep: nested(120, 'a') };
    assert.throws(() => diffObjects({ spec: { list: [item] } }, { spec: { list: [structuredClone(item), { name: 'y' }] } }, opts), { code: 'REVIEW_TOO_DEEP' });
    assert.throws(() => diffObjects({ spec: { x: { l: nested(120, 'a') } } }, { spec: { x: { l: nested(120, 'a') }, y: 1 } }, opts), { code: 'REVIEW_TOO_DEEP' });
  });

  it('reads no runtime field of an equal list it skips (hostile nesting under status stays unread)', () => {
    const deep = nested(120, 'a');
    assert.deepEqual(paths({ status: { l: deep }, spec: { a: 1 } }, { status: { l: structuredClone(deep) }, spec: { a: 2 } }), ['spec.a']);
  });
});
