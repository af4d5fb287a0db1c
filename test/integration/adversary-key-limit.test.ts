/**
 * An adversary against limits.maxKeys (ebd7d09, e42478d): before a direct write is compared, the review's
 * text is scanned for object keys (src/lib/json-keys.ts) and a review holding more than the limit is
 * denied unread, or warned in audit mode. Written from the docs and the code only. The claims attacked:
 * the bound is known before the first map is listed; the count sees every key the decision lists; the
 * rule only ever denies or warns; who is never limited; the text counted is the text parsed, over HTTPS
 * too. Every request goes through reviewBody (parse, decode, count, decide) or the real TLS front.
 *
 * What the decision lists is observed, not timed: Object.keys/values/entries are wrapped while one review
 * is decided (the largest map listed is recorded), and Object.hasOwn calls are counted (the reads of
 * merge keys). A hole is a failing test marked todo with the finding.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { reviewBody, type ReviewResult } from '../../src/admission/review.ts';
import { grant, MemoryGrants, MemoryTasks, policyFrom, reviewDeps } from '../helpers/deps.ts';
import { Conn, front, type Front, type Reply } from '../helpers/http-front.ts';
import { deployment, reviewJson } from '../helpers/reviews.ts';

const LIMIT = 1000;
const POLICY = `protectedNamespaces: [prod]\nlimits:\n  maxKeys: ${LIMIT}\n`;
/** the default limit (150,000) */
const DEFAULT_LIMIT = 'protectedNamespaces: [prod]\n';
const TRACKED = '"annotations":{"argocd.argoproj.io/tracking-id":"payments:/ConfigMap:prod/x"}';

interface Kind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly resource: string;
}
const CONFIGMAP: Kind = { group: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps' };
const SECRET: Kind = { group: '', version: 'v1', kind: 'Secret', resource: 'secrets' };
const HELMRELEASE: Kind = { group: 'helm.toolkit.fluxcd.io', version: 'v2', kind: 'HelmRelease', resource: 'helmreleases' };
const APPLICATION: Kind = { group: 'argoproj.io', version: 'v1alpha1', kind: 'Application', resource: 'applications' };
const DEPLOYMENT: Kind = { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments' };

interface Shape {
  readonly operation?: string;
  readonly user?: string;
  readonly namespace?: string;
  readonly subResource?: string;
  /** the objects' metadata after name and namespace (JSON text, starting with a comma when not empty) */
  readonly meta?: string;
  readonly oldMeta?: string;
  /** the objects' bodies after metadata (JSON text, starting with a comma when not empty); null: no such object */
  readonly old?: string | null;
  readonly neu?: string | null;
}

/** An AdmissionReview as text, the objects spliced in byte for byte (escapes, spacing, duplicates kept). */
function reviewText(k: Kind, s: Shape): string {
  const ns = s.namespace ?? 'prod';
  const apiVersion = k.group ? `${k.group}/${k.version}` : k.version;
  const obj = (meta: string, body: string | null | undefined) =>
    body === null ? 'null' : `{"apiVersion":"${apiVersion}","kind":"${k.kind}","metadata":{"name":"x","namespace":"${ns}"${meta}}${body ?? ''}}`;
  const gvk = JSON.stringify({ group: k.group, version: k.version, kind: k.kind });
  const gvr = JSON.stringify({ group: k.group, version: k.version, resource: k.resource });
  const sub = s.subResource ? `,"subResource":"${s.subResource}"` : '';
  return `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-keys","kind":${gvk},"resource":${gvr}${sub},"name":"x","namespace":"${ns}","operation":"${s.operation ?? 'UPDATE'}","userInfo":{"username":"${s.user ?? 'alice'}","groups":["oncall"]},"object":${obj(s.meta ?? '', s.neu)},"oldObject":${obj(s.oldMeta ?? s.meta ?? '', s.old)}}}`;
}

/** `n` map entries as JSON text, each written by `entry(i)`. */
const entries = (n: number, entry: (i: number) => string) => Array.from({ length: n }, (_, i) => entry(i)).join(',');
/** A map of `n` keys `k<i>` whose values are `value`. */
const mapOf = (n: number, value: string) => `{${entries(n, (i) => `"k${i}":"${value}"`)}}`;
const owned = `,${TRACKED}`;

interface Reads {
  /** keys of the largest map Object.keys/values/entries listed */
  largestListed: number;
  hasOwnCalls: number;
}

type Fn = (...args: unknown[]) => unknown;
const OBJECT = Object as unknown as Record<'keys' | 'values' | 'entries' | 'hasOwn', Fn>;

/** Decides `text` through reviewBody while counting what the decision lists and looks up. */
async function decideCounting(text: string, policy: string = POLICY, over: Parameters<typeof reviewDeps>[0] = {}): Promise<{ res: ReviewResult; reads: Reads }> {
  const deps = reviewDeps({ policy: () => policyFrom(policy), ...over });
  const reads: Reads = { largestListed: 0, hasOwnCalls: 0 };
  const saved = { keys: OBJECT.keys, values: OBJECT.values, entries: OBJECT.entries, hasOwn: OBJECT.hasOwn };
  const listing = (fn: Fn): Fn => (...args) => {
    const out = fn(...args) as unknown[];
    if (out.length > reads.largestListed) reads.largestListed = out.length;
    return out;
  };
  OBJECT.keys = listing(saved.keys);
  OBJECT.values = listing(saved.values);
  OBJECT.entries = listing(saved.entries);
  OBJECT.hasOwn = (...args) => {
    reads.hasOwnCalls += 1;
    return saved.hasOwn(...args);
  };
  let pending: ReviewResult | Promise<ReviewResult>;
  try {
    pending = reviewBody(text, deps);
  } finally {
    Object.assign(OBJECT, saved);
  }
  return { res: await pending, reads };
}

/** managedFields of one entry whose FieldsV1 is `fields` (JSON text). */
const managedFields = (manager: string, fields: string) =>
  `,"managedFields":[{"manager":"${manager}","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":${fields}}]`;

/** A `k:{…}` FieldsV1 key whose JSON names `n` merge-key fields, as the API server stores it (sorted, escaped). */
function mergeKeyOfFields(n: number): string {
  const names = Object.fromEntries([['n0', 0], ...Array.from({ length: n - 1 }, (_, i) => [`z${i.toString(36)}`, 0])]);
  return JSON.stringify(`k:${JSON.stringify(names)}`);
}

/**
 * A GitOps-owned HelmRelease whose stored managedFields hold one `k:` key of `names` fields for spec.foo, and
 * an UPDATE that adds `items` items to spec.foo (each has the first field, distinct values).
 */
function mergeKeyAttack(names: number, items: number): string {
  const fields = `{"f:spec":{"f:foo":{${mergeKeyOfFields(names)}:{}}}}`;
  return reviewText(HELMRELEASE, {
    meta: owned,
    oldMeta: `${owned}${managedFields('helm-controller', fields)}`,
    old: ',"spec":{}',
    neu: `,"spec":{"foo":[${entries(items, (i) => `{"n0":${i}}`)}]}`,
  });
}

describe('limits.maxKeys: the count sees every key the decision lists (no map above the limit is listed)', () => {
  const rows: { name: string; text: string; rule: string | readonly string[]; todo?: string }[] = [
    {
      name: 'keys spelled with \\u0022 escapes and ending in backslashes (600 a side): counted, denied unread',
      text: reviewText(CONFIGMAP, { meta: owned, old: `,"data":{${entries(600, (i) => `"k\\u0022${i}\\\\":"a"`)}}`, neu: `,"data":{${entries(600, (i) => `"k\\u0022${i}\\\\":"b"`)}}` }),
      rule: 'too-many-keys',
    },
    {
      name: 'whitespace, tabs and CRLF between each key and its colon (600 a side): counted, denied unread',
      text: reviewText(CONFIGMAP, { meta: owned, old: `,"data":{${entries(600, (i) => `"k${i}" \r\n\t :\n"a"`)}}`, neu: `,"data":{${entries(600, (i) => `"k${i}"\t\t: "b"`)}}` }),
      rule: 'too-many-keys',
    },
    {
      name: 'an integer beyond 2^53 (the exact-integer parse rewrites the text it parses): the same keys are counted',
      text: reviewText(CONFIGMAP, { meta: owned, old: `,"big":9007199254740993,"data":${mapOf(600, 'a')}`, neu: `,"big":9007199254740995,"data":${mapOf(600, 'b')}` }),
      rule: 'too-many-keys',
    },
    {
      name: 'a Secret whose data maps are hashed after the diff (600 keys a side): counted, denied unread',
      text: reviewText(SECRET, { meta: owned, old: `,"data":${mapOf(600, 'YQ==')}`, neu: `,"data":${mapOf(600, 'Yg==')}` }),
      rule: 'too-many-keys',
    },
    {
      name: 'a Secret whose data is a list of maps (hashed whole before the diff): the keys in the list are counted',
      text: reviewText(SECRET, { meta: owned, old: `,"data":[${entries(600, (i) => `{"k${i}":"YQ=="}`)}]`, neu: `,"data":[${entries(600, (i) => `{"k${i}":"Yg=="}`)}]` }),
      rule: 'too-many-keys',
    },
    {
      name: 'FieldsV1 `f:` keys in managedFields (600 a side, data small): counted, denied unread',
      text: reviewText(CONFIGMAP, {
        meta: `${owned}${managedFields('kubectl', `{"f:data":${mapOf(600, '').replaceAll('""', '{}').replaceAll('"k', '"f:k')}}`)}`,
        old: ',"data":{"a":"1"}',
        neu: ',"data":{"a":"2"}',
      }),
      rule: 'too-many-keys',
    },
    {
      name: 'JSON text of 3,000 keys inside an annotation value is never parsed: read as one string',
      text: reviewText(CONFIGMAP, { meta: `,"annotations":{"argocd.argoproj.io/tracking-id":"payments:/ConfigMap:prod/x","note":${JSON.stringify(mapOf(3000, 'v'))}}`, oldMeta: owned, old: '', neu: '' }),
      rule: 'guarded-change',
    },
    {
      name: 'one managedFields `k:{…}` key naming 3,000 merge-key fields (the text holds ~20 keys) is not parsed into a 3,000-key map',
      text: mergeKeyAttack(3000, 3),
      rule: ['too-many-keys', 'guarded-change'], // counted, or the key's fields never listed
    },
    {
      name: 'an UPDATE of an Application GitOps does not own (a lever-only read) with 1,200 keys a side under spec.syncPolicy.automated is limited',
      text: reviewText(APPLICATION, { old: `,"spec":{"syncPolicy":{"automated":${mapOf(1200, 'a')}}}`, neu: `,"spec":{"syncPolicy":{"automated":${mapOf(1199, 'a').slice(0, -1)},"k1199":"b"}}}` }),
      rule: 'too-many-keys',
    },
    {
      name: 'labels of 1,200 keys a side are denied unread before any map is listed',
      text: reviewText(CONFIGMAP, { meta: `${owned},"labels":${mapOf(1200, 'a')}`, old: '', neu: ',"data":{"a":"b"}' }),
      rule: 'too-many-keys',
    },
  ];
  // Since the findings were fixed every write the decision compares is counted, scale and lever-only
  // writes too: a hand-made review can make either as large as any other.
  const big = (value: string) => `,"data":${mapOf(600, value)}`;
  rows.push(
    {
      name: 'a scale write whose hand-made Scale carries 1,200 labels is limited (only spec.replicas would be read, but labels are checked as text)',
      text: reviewText({ group: 'autoscaling', version: 'v1', kind: 'Scale', resource: 'deployments' }, { subResource: 'scale', meta: big('a').replace(',"data"', ',"labels"'), old: ',"spec":{"replicas":1}', neu: ',"spec":{"replicas":2}' }),
      rule: 'too-many-keys',
    },
    {
      name: 'an unowned ConfigMap of 600 keys a side whose lever annotation changes is limited',
      text: reviewText(CONFIGMAP, { meta: ',"annotations":{"argocd.argoproj.io/skip-reconcile":"true"}', oldMeta: '', old: big('a'), neu: big('b') }),
      rule: 'too-many-keys',
    },
  );
  for (const row of rows) {
    it(row.name, row.todo ? { todo: row.todo } : {}, async () => {
      const { res, reads } = await decideCounting(row.text);
      assert.ok([row.rule].flat().includes(res.verdict?.rule ?? ''), `decided by ${res.verdict?.rule}`);
      assert.ok(reads.largestListed <= LIMIT, `a map of ${reads.largestListed} keys was listed (limits.maxKeys ${LIMIT})`);
    });
  }

  it('refuses a body that starts with a byte order mark (JSON text has none): nothing is counted or decided', async () => {
    const text = `\uFEFF${reviewText(CONFIGMAP, { meta: owned, old: `,"data":${mapOf(600, 'a')}`, neu: `,"data":${mapOf(600, 'b')}` })}`;
    const { res } = await decideCounting(text);
    assert.equal(res.outcome, 'errored');
    assert.equal(res.httpStatus, 400);
  });
});

describe('limits.maxKeys: the reads of one decision grow with the request, not with its square', () => {
  /** Object.hasOwn calls per character of the review: a handful per key, and a key takes at least 4 characters. */
  const PER_CHAR = 4;
  const envList = (n: number, rev: boolean) => {
    const env = Array.from({ length: n }, (_, i) => `{"name":"V${i}","value":"v${i}"}`);
    return `,"spec":{"template":{"spec":{"containers":[{"name":"app","env":[${(rev ? env.reverse() : env).join(',')}]}]}}}`;
  };
  const rows: { name: string; text: string; grant?: boolean; todo?: string }[] = [
    { name: 'reversing an env list of 450 vars (merge key name)', text: reviewText(DEPLOYMENT, { meta: owned, old: envList(450, false), neu: envList(450, true) }) },
    { name: 'a ConfigMap of 450 keys, every value changed, read whole under a grant', text: reviewText(CONFIGMAP, { meta: owned, old: `,"data":${mapOf(450, 'a')}`, neu: `,"data":${mapOf(450, 'b')}` }), grant: true },
    { name: 'a list keyed by a 2-field merge key from managedFields, 450 items added', text: mergeKeyAttack(2, 450) },
    {
      name: 'a list of 3,000 items keyed by a managedFields `k:{…}` key naming 3,000 fields (~68 KB, ~3,000 keys in the text)',
      text: mergeKeyAttack(3000, 3000),
    },
  ];
  for (const row of rows) {
    it(`${row.todo ? 'stays linear' : 'stays linear (control)'}: ${row.name}`, row.todo ? { todo: row.todo } : {}, async () => {
      const g = grant({ resources: [{ group: '', kind: 'ConfigMap', name: 'x' }] });
      const { res, reads } = await decideCounting(row.text, DEFAULT_LIMIT, row.grant ? { grants: new MemoryGrants([g]) } : {});
      assert.notEqual(res.outcome, 'errored');
      assert.notEqual(res.verdict?.rule, 'too-many-keys');
      assert.ok(reads.hasOwnCalls <= PER_CHAR * row.text.length, `${reads.hasOwnCalls} Object.hasOwn calls for ${row.text.length} characters`);
    });
  }
});

describe('limits.maxKeys only ever denies, or warns in audit mode: no write gets through it, no grant, no task', () => {
  const update = reviewText(CONFIGMAP, { meta: owned, old: `,"data":${mapOf(600, 'a')}`, neu: `,"data":${mapOf(600, 'b')}` });
  const rows: { name: string; text: string; policy?: string; dryRun?: boolean }[] = [
    { name: 'an UPDATE under a grant that covers the ConfigMap', text: update },
    { name: 'a dry-run UPDATE under the same grant', text: update.replace('"operation":"UPDATE"', '"operation":"UPDATE","dryRun":true') },
    { name: 'a CREATE of a hand-made object (unmanagedCreates: deny)', text: reviewText(CONFIGMAP, { operation: 'CREATE', neu: `,"data":${mapOf(1200, 'a')}`, old: null }) },
    { name: 'a DELETE of a GitOps-owned object', text: reviewText(CONFIGMAP, { operation: 'DELETE', meta: owned, old: `,"data":${mapOf(1200, 'a')}`, neu: null }) },
    { name: 'a DELETE of a Kustomization GitOps does not own (a reconcile lever)', text: reviewText({ group: 'kustomize.toolkit.fluxcd.io', version: 'v1', kind: 'Kustomization', resource: 'kustomizations' }, { operation: 'DELETE', old: `,"spec":${mapOf(1200, 'a')}`, neu: null }) },
    { name: 'a write that also drops the GitOps manager from managedFields (an ownership loss)', text: reviewText(CONFIGMAP, { meta: owned, oldMeta: `${owned}${managedFields('argocd-controller', '{"f:data":{}}')}`, old: `,"data":${mapOf(600, 'a')}`, neu: `,"data":${mapOf(600, 'b')}` }) },
  ];
  for (const mode of ['enforce', 'audit'] as const) {
    for (const row of rows) {
      it(`${mode === 'audit' ? 'warns, recording nothing,' : 'denies'} ${row.name}`, async () => {
        const tasks = new MemoryTasks();
        const g = grant({ resources: [{ group: '', kind: 'ConfigMap', name: 'x' }], operations: ['UPDATE', 'CREATE', 'DELETE'] });
        const { res } = await decideCounting(row.text, `${POLICY}mode: ${mode}\n`, { grants: new MemoryGrants([g]), tasks });
        assert.equal(res.verdict?.rule, 'too-many-keys');
        assert.equal(res.verdict?.grant, undefined);
        assert.equal(tasks.tasks.size, 0);
        if (mode === 'enforce') {
          assert.equal(res.review.response.allowed, false);
          assert.equal(res.review.response.status?.code, 403);
        } else {
          assert.equal(res.outcome, 'warned');
          assert.equal(res.verdict?.audited, true);
          assert.match((res.review.response.warnings ?? []).join('\n'), /would deny in enforce mode: .*so it was not read/);
        }
      });
    }
  }
});

describe('limits.maxKeys never limits who the docs say is never limited', () => {
  const big = (value: string) => `,"data":${mapOf(600, value)}`;
  const rows: { name: string; text: string; rule: string; policy?: string }[] = [
    { name: 'a system writer', text: reviewText(CONFIGMAP, { user: 'system:kube-controller-manager', meta: owned, old: big('a'), neu: big('b') }), rule: 'system-writer' },
    { name: 'the Flux kustomize-controller', text: reviewText(CONFIGMAP, { user: 'system:serviceaccount:flux-system:kustomize-controller', meta: owned, old: big('a'), neu: big('b') }), rule: 'gitops-controller' },
    { name: 'a CONNECT', text: reviewText(CONFIGMAP, { operation: 'CONNECT', meta: owned, old: big('a'), neu: big('b') }), rule: 'connect' },
    {
      name: 'a child an operator reconciles (stored controller ownerReference to a custom resource)',
      text: reviewText(CONFIGMAP, { meta: `${owned},"ownerReferences":[{"apiVersion":"example.com/v1","kind":"Thing","name":"t","uid":"1","controller":true}]`, old: big('a'), neu: big('b') }),
      rule: 'operator-owned',
    },
    { name: 'a cluster-scoped object with clusterScoped: ignore', text: reviewText(CONFIGMAP, { namespace: '', meta: owned, old: big('a'), neu: big('b') }), rule: 'cluster-scoped-ignored', policy: `${POLICY}clusterScoped: ignore\n` },
    { name: 'a CREATE with unmanagedCreates: allow', text: reviewText(CONFIGMAP, { operation: 'CREATE', neu: `,"data":${mapOf(1200, 'a')}`, old: null }), rule: 'not-gitops-owned', policy: `${POLICY}unmanagedCreates: allow\n` },
  ];
  for (const row of rows) {
    it(`decides as without the limit: ${row.name}`, async () => {
      const { res } = await decideCounting(row.text, row.policy ?? POLICY);
      assert.equal(res.verdict?.rule, row.rule);
    });
  }

  it('counts the managedFields of both sides too: a ConfigMap of 300 keys a side whose managedFields list them is over 1,000', async () => {
    const fields = managedFields('kubectl', `{"f:data":{${entries(300, (i) => `"f:k${i}":{}`)}}}`);
    const text = reviewText(CONFIGMAP, { meta: `${owned}${fields}`, old: `,"data":${mapOf(300, 'a')}`, neu: `,"data":${mapOf(300, 'b')}` });
    const { res } = await decideCounting(text);
    assert.equal(res.verdict?.rule, 'too-many-keys');
  });
});

describe('limits.maxKeys over HTTPS: the text counted is the text the front decoded and parsed', () => {
  let f: Front;
  before(async () => (f = await front()));
  after(() => f.close());

  /** An UPDATE of the example's GitOps-owned Deployment with `n` keys a side under spec.x, keys in `key(i)`. */
  const body = (n: number, key: (i: number) => string) => {
    const x = (v: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [key(i), v]));
    const d = (v: string) => ({ ...deployment(), spec: { ...(deployment().spec as object), x: x(v) } });
    return JSON.stringify(reviewJson({ uid: 'u-https', oldObject: d('a'), object: d('b') }));
  };
  const JSON_TYPE = 'Content-Type: application/json\r\n';
  const send = async (bytes: Buffer, headers = JSON_TYPE): Promise<Reply> => {
    const conn = await Conn.open(f.port);
    await conn.write(Buffer.concat([Buffer.from(`POST /validate HTTP/1.1\r\nHost: localhost\r\n${headers}Content-Length: ${bytes.length}\r\n\r\n`), bytes]));
    const [reply] = await conn.waitReplies(1);
    conn.socket.destroy();
    return reply!;
  };

  it('denies unread a body of 76,000 multi-byte keys a side (152,000 in UTF-8 text over the default 150,000)', async () => {
    const reply = await send(Buffer.from(body(76_000, (i) => `ключ-${i}`)));
    assert.equal(reply.status, 200);
    assert.equal(reply.body?.response?.allowed, false);
    assert.match(reply.body?.response?.status?.message ?? '', /denied unread: .*more than 150000 map keys/);
  });

  for (const [name, bytes, headers, status] of [
    ['a gzip body (Content-Encoding: gzip)', gzipSync(body(76_000, (i) => `k${i}`)), `${JSON_TYPE}Content-Encoding: gzip\r\n`, 415],
    ['a UTF-16 body (charset=utf-16)', Buffer.from(body(10, (i) => `k${i}`), 'utf16le'), 'Content-Type: application/json; charset=utf-16\r\n', 415],
    ['a body starting with a UTF-8 byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body(76_000, (i) => `k${i}`))]), JSON_TYPE, 400],
  ] as const) {
    it(`refuses ${name} (status ${status}): no text but the UTF-8 body is counted or parsed`, async () => {
      const reply = await send(bytes, headers);
      assert.equal(reply.status, status);
      assert.equal(reply.body?.response?.allowed, false);
    });
  }
});
