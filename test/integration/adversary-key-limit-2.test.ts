/**
 * An adversary against the fixes of a26fba0 (the findings of adversary-key-limit.test.ts), from the docs
 * and the code only:
 * (1) a managedFields `k:{…}` key of more than 4 KiB or 16 fields gives no merge keys and no item segment
 *     (src/admission/managed-fields.ts parseItemKey): can it get a guarded change through, hide an
 *     ownership loss, or hand a delegated manager a field?
 * (2) label and annotation values are checked as text at rule 5 (assertTextMaps), not while decoding: can a
 *     value that is not text crash the decision, or decide it before the check?
 * (3) what one decision still reads more than once: the ownership walks turn raw FieldsV1 keys into a field
 *     path per lost or claimed leaf.
 *
 * The kube-apiserver in /work/shared/kube (v1.32) stores what these requests assume: an env var named by
 * 4,201 characters is accepted, its managedFields key `k:{"name":"EXX…"}` (4,212 characters) is kept as
 * written, and a PUT whose body moves that item from argocd-controller's entry to another manager's entry
 * is stored as sent. Reads are counted, never timed (JSON.parse's input while one review is decided). A
 * hole is a failing test marked todo with the finding; the six findings of this round are fixed, each test asserted.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { reviewBody, type ReviewResult } from '../../src/admission/review.ts';
import { policyFrom, reviewDeps } from '../helpers/deps.ts';

type Obj = Record<string, unknown>;

const POLICY = 'protectedNamespaces: [prod]\ndelegations:\n  - name: vpa\n    managers: [vpa-updater]\n';
const TRACKED = { 'argocd.argoproj.io/tracking-id': 'payments:/ConfigMap:prod/x' };

interface Kind {
  readonly group: string;
  readonly kind: string;
  readonly resource: string;
}
const DEPLOYMENT: Kind = { group: 'apps', kind: 'Deployment', resource: 'deployments' };
const HELMRELEASE: Kind = { group: 'helm.toolkit.fluxcd.io', kind: 'HelmRelease', resource: 'helmreleases' };
const CONFIGMAP: Kind = { group: '', kind: 'ConfigMap', resource: 'configmaps' };

interface Write {
  readonly object: Obj | null;
  readonly oldObject: Obj | null;
  readonly operation?: string;
  readonly user?: string;
  readonly namespace?: string;
  readonly subResource?: string;
}

function reviewOf(k: Kind, w: Write): string {
  const v = { group: k.group, version: 'v1' };
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'u-adv2',
      kind: { ...v, kind: k.kind },
      resource: { ...v, resource: k.resource },
      ...(w.subResource ? { subResource: w.subResource } : {}),
      name: 'x',
      namespace: w.namespace ?? 'prod',
      operation: w.operation ?? 'UPDATE',
      userInfo: { username: w.user ?? 'alice', groups: ['oncall'] },
      object: w.object,
      oldObject: w.oldObject,
    },
  });
}

async function decideText(text: string, policy = POLICY): Promise<ReviewResult> {
  return reviewBody(text, reviewDeps({ policy: () => policyFrom(policy) }));
}

const entry = (manager: string, fieldsV1: unknown) => ({ manager, operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1 });
/** A managedFields item key as the API server writes it (compact JSON). */
const itemKey = (keys: Obj) => `k:${JSON.stringify(keys)}`;
/** 4,201 characters: the key `k:{"name":"EXX…"}` is 4,212, over MAX_ITEM_KEY_TEXT (4,096). */
const LONG_NAME = `E${'X'.repeat(4200)}`;
const guardedPaths = (res: ReviewResult) => (res.verdict?.guarded ?? []).map((g) => g.printed);

describe('the item-key bound (4 KiB, 16 fields) gets no guarded change through and hides no ownership loss', () => {
  /**
   * A GitOps-owned HelmRelease whose spec.rules is a list keyed by `id` (managedFields `k:{"id":…}`, items
   * without `name`); vpa-updater (delegated by manager) owns rules[id=a].weight; alice changes rules[id=b].target.
   */
  const rulesWrite = (a: string, b: string): string => {
    const mf = [
      entry('helm-controller', { 'f:spec': { 'f:rules': { [itemKey({ id: a })]: { '.': {}, 'f:id': {}, 'f:target': {} }, [itemKey({ id: b })]: { '.': {}, 'f:id': {}, 'f:target': {}, 'f:weight': {} } } } }),
      entry('vpa-updater', { 'f:spec': { 'f:rules': { [itemKey({ id: a })]: { 'f:weight': {} } } } }),
    ];
    const hr = (target: string) => ({
      apiVersion: 'helm.toolkit.fluxcd.io/v2',
      kind: 'HelmRelease',
      metadata: { name: 'x', namespace: 'prod', managedFields: mf },
      spec: { rules: [{ id: a, weight: 1, target: 't' }, { id: b, weight: 1, target }] },
    });
    return reviewOf(HELMRELEASE, { object: hr('evil'), oldObject: hr('t') });
  };

  it('denies a change to an item of a list keyed by short ids when a delegated manager owns a field of another item (control)', async () => {
    const res = await decideText(rulesWrite('a', 'b'));
    assert.equal(res.verdict?.rule, 'guarded-change');
    assert.deepEqual(guardedPaths(res), ['spec.rules[id=b].target']);
  });

  it(
    'denies a change to an item of a list keyed by ids over 4 KiB when a delegated manager owns a field of another item',
    {
      // fixed finding (was todo): since a26fba0 such a list is compared whole, and the one change at spec.rules is
      // "delegated" because vpa-updater owns spec.rules[id=a].weight (fieldSetOwns counts a path that merely exists in
      // the set, an interior node, as owned): alice rewrites every item, allowed as no-guarded-change (a26fba0^ denied
      // at spec.rules[id=b…].target)
    },
    async () => {
      const res = await decideText(rulesWrite(`a${'y'.repeat(4200)}`, `b${'y'.repeat(4200)}`));
      assert.equal(res.verdict?.rule, 'guarded-change');
      assert.equal(res.review.response.allowed, false);
    },
  );

  /**
   * A Deployment GitOps owns by managedFields only: argocd-controller owns the env vars `name` and B. The
   * write moves the item `name` to `taker`'s entry, as a PUT with managedFields in the body does (the
   * kube-apiserver stores it so), with no value changed. `prior`: the taker already owned another env var,
   * C (a leftover kubectl-client-side-apply entry of an object adopted by Argo CD looks like this).
   */
  const takeover = (name: string, taker: string, prior = false): string => {
    const env = (names: string[]) => Object.fromEntries(names.map((n) => [itemKey({ name: n }), { '.': {}, 'f:name': {}, 'f:value': {} }]));
    const app = itemKey({ name: 'app' });
    const fields = (names: string[], whole: boolean) => ({
      'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { [app]: { ...(whole ? { '.': {}, 'f:image': {}, 'f:name': {} } : {}), 'f:env': env(names) } } } } },
    });
    const dep = (mf: unknown[]) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x', namespace: 'prod', managedFields: mf },
      spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:1', env: [{ name, value: 'v1' }, { name: 'B', value: 'b' }, ...(prior ? [{ name: 'C', value: 'c' }] : [])] }] } } },
    });
    const had = prior ? ['C'] : [];
    return reviewOf(DEPLOYMENT, {
      oldObject: dep([entry('argocd-controller', fields([name, 'B'], true)), ...(prior ? [entry(taker, fields(had, false))] : [])]),
      object: dep([entry('argocd-controller', fields(['B'], true)), entry(taker, fields([...had, name], false))]),
    });
  };

  for (const [what, name] of [
    ['a short name', 'SHORT'],
    ['a name of 4,201 characters (its key is over 4 KiB)', LONG_NAME],
  ] as const) {
    it(`denies taking argocd-controller's env var with ${what} into another manager's entry, value unchanged`, async () => {
      const res = await decideText(takeover(name, 'kubectl-edit'));
      assert.equal(res.verdict?.rule, 'guarded-change');
      // Held for the long key only because the taker's new set holds the list node `env` that the item's
      // `.` leaf shortens to (pathOf drops a segment it cannot read): the path shown is `…env`, not the item
      // (and see the todo below: it is lost when the taker owned any other item of that list before).
      assert.match(guardedPaths(res).join('\n'), /^metadata\.managedFields\[manager=argocd-controller\]$/m);
      assert.match(String(res.verdict?.guarded[0]?.after), /no longer spec\.template\.spec\.containers\[name=app\]\.env/);
    });

    it(`denies handing the delegated manager vpa-updater argocd-controller's env var with ${what}, value unchanged`, async () => {
      const res = await decideText(takeover(name, 'vpa-updater'));
      assert.equal(res.verdict?.rule, 'guarded-change');
      assert.ok(guardedPaths(res).includes('metadata.managedFields[manager=vpa-updater]'), guardedPaths(res).join(', '));
    });
  }

  for (const [what, name] of [
    ['a short name (control)', 'SHORT', undefined],
    [
      'a name of 4,201 characters',
      LONG_NAME,
      'fixed finding (was todo): since a26fba0 takenLeaves cannot read the item key (over 4 KiB), so pathOf drops it and asks whether other managers ' +
        'owned `…containers[name=app].env` (the `.` leaf) or `…env.value` before: the taker already held env var C, so the list node ' +
        'exists in its old set and the field counts as "released, not taken": allowed as no-guarded-change (a26fba0^ denied it)',
    ],
  ] as const) {
    it(`denies taking argocd-controller's env var with ${what} into the entry of a manager that already owned another env var`, async () => {
      const res = await decideText(takeover(name, 'kubectl-client-side-apply', true));
      assert.equal(res.verdict?.rule, 'guarded-change');
      assert.deepEqual(guardedPaths(res), ['metadata.managedFields[manager=argocd-controller]']);
    });
  }

  it("keeps the stored object's merge keys when the writer's own entry adds an oversized k:{…} key to the same list", async () => {
    const seventeen = Object.fromEntries([['id', 'b'], ...Array.from({ length: 16 }, (_, i) => [`z${i}`, 0])]);
    const git = entry('helm-controller', { 'f:spec': { 'f:rules': { [itemKey({ id: 'a' })]: { '.': {}, 'f:target': {} }, [itemKey({ id: 'b' })]: { '.': {}, 'f:target': {} } } } });
    const mine = entry('alice', { 'f:spec': { 'f:rules': { [itemKey(seventeen)]: { 'f:target': {} }, [itemKey({ id: `b${'q'.repeat(4200)}` })]: {} } } });
    const hr = (target: string, mf: unknown[]) => ({
      apiVersion: 'helm.toolkit.fluxcd.io/v2',
      kind: 'HelmRelease',
      metadata: { name: 'x', namespace: 'prod', managedFields: mf },
      spec: { rules: [{ id: 'a', target: 't' }, { id: 'b', target }] },
    });
    const res = await decideText(reviewOf(HELMRELEASE, { object: hr('evil', [mine, git]), oldObject: hr('t', [git]) }));
    assert.equal(res.verdict?.rule, 'guarded-change');
    assert.deepEqual(guardedPaths(res), ['spec.rules[id=b].target']);
  });
});

describe('labels and annotations that are not text (checked at rule 5 since a26fba0)', () => {
  const cm = (metadata: Obj, data: Obj) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'prod', ...metadata }, data });
  const owned = (extra: Obj) => ({ annotations: { ...TRACKED, ...extra } });
  const values: readonly [string, unknown][] = [
    ['a number', 5],
    ['a map', { a: 'b' }],
    ['a list', ['a']],
    ['null', null],
    ['true', true],
  ];
  for (const [what, value] of values) {
    for (const side of ['object', 'oldObject'] as const) {
      for (const map of ['labels', 'annotations'] as const) {
        it(`answers 400 for ${what} as ${map === 'labels' ? 'a label' : 'an annotation'} value in request.${side} of a GitOps-owned object`, async () => {
          const bad = map === 'labels' ? { ...owned({}), labels: { team: value } } : owned({ note: value });
          const w = side === 'object' ? { object: cm(bad, { a: '2' }), oldObject: cm(owned({}), { a: '1' }) } : { object: cm(owned({}), { a: '2' }), oldObject: cm(bad, { a: '1' }) };
          const res = await decideText(reviewOf(CONFIGMAP, w));
          assert.equal(res.httpStatus, 400);
          assert.equal(res.review.response.allowed, false);
          assert.match(res.review.response.status?.message ?? '', new RegExp(`request\\.${side}\\.metadata\\.${map} must map strings to strings`));
        });
      }
    }
  }

  it('answers 400 for an integer beyond 2^53 and for a `__proto__` key holding a number', async () => {
    const base = reviewOf(CONFIGMAP, { object: cm({ ...owned({}), labels: { team: 'PLACEHOLDER' } }, { a: '2' }), oldObject: cm(owned({}), { a: '1' }) });
    for (const text of [base.replace('"PLACEHOLDER"', '9007199254740993'), base.replace('"team":"PLACEHOLDER"', '"__proto__":7')]) {
      const res = await decideText(text);
      assert.equal(res.httpStatus, 400);
      assert.match(res.review.response.status?.message ?? '', /must map strings to strings/);
    }
  });

  // Paths that read label or annotation values before rule 5: ownerOf (tracking annotations and labels,
  // the Flux namespace label), touchesLever (lever keys on an object nothing marks), the scale write.
  const early: { name: string; k: Kind; w: Write; rule?: string }[] = [
    {
      name: 'a tracking annotation that is a map on the stored object',
      k: CONFIGMAP,
      w: { object: cm({ annotations: { 'argocd.argoproj.io/tracking-id': { a: 1 } } }, { a: '2' }), oldObject: cm({ annotations: { 'argocd.argoproj.io/tracking-id': { a: 1 } } }, { a: '1' }) },
    },
    {
      name: "a Flux Kustomization's namespace label that is a number",
      k: CONFIGMAP,
      w: { object: cm({ labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 3 } }, { a: '2' }), oldObject: cm({ labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 3 } }, { a: '1' }) },
    },
    {
      name: 'a lever annotation that is a map on an object nothing marks',
      k: CONFIGMAP,
      w: { object: cm({ annotations: { 'argocd.argoproj.io/skip-reconcile': { on: true } } }, {}), oldObject: cm({}, {}) },
    },
    {
      name: 'a lever label that is a list, the same list on both sides',
      k: CONFIGMAP,
      w: { object: cm({ labels: { 'kustomize.toolkit.fluxcd.io/reconcile': ['disabled'] } }, {}), oldObject: cm({ labels: { 'kustomize.toolkit.fluxcd.io/reconcile': ['disabled'] } }, {}) },
    },
    {
      name: 'a scale write whose Scale carries a label that is a number',
      k: { group: 'autoscaling', kind: 'Scale', resource: 'deployments' },
      w: {
        subResource: 'scale',
        object: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'x', namespace: 'prod', labels: { a: 1 } }, spec: { replicas: 3 } },
        oldObject: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'x', namespace: 'prod', labels: { a: 1 } }, spec: { replicas: 1 } },
      },
    },
  ];
  for (const row of early) {
    it(`never crashes or errors internally on ${row.name}: a 400 or a decision`, async () => {
      const res = await decideText(reviewOf(row.k, row.w));
      assert.ok(res.httpStatus === 200 || res.httpStatus === 400, `status ${res.httpStatus}`);
      assert.ok(res.outcome !== 'errored' || res.httpStatus === 400, res.review.response.status?.message);
      if (res.outcome === 'errored') assert.match(res.review.response.status?.message ?? '', /must map strings to strings/);
    });
  }

  it(
    'answers 400 (docs/policy.md rule 1, SPEC §2 rule 1) for a review whose tracking annotation is not text',
    {
      // fixed finding (was todo): decided before rule 5, so never checked: a stored tracking-id that is a map makes
      // ownerOf skip it and the write is allowed as not-gitops-owned (200; 400 before a26fba0). Likewise a non-text
      // label in a review for an unprotected namespace, a GitOps controller, a system writer or an operator child. Only
      // a direct POST can send it (the API server stores text)
    },
    async () => {
      const res = await decideText(reviewOf(early[0]!.k, early[0]!.w));
      assert.equal(res.httpStatus, 400);
    },
  );
});

describe('the ownership walks read each managedFields key once, however many leaves lie below it', () => {
  /** Characters handed to JSON.parse while one review is parsed and decided (the body itself included). */
  async function parsedChars(text: string): Promise<{ res: ReviewResult; chars: number }> {
    const saved = JSON.parse;
    let chars = 0;
    JSON.parse = ((t: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => {
      chars += t.length;
      return saved(t, reviver);
    }) as typeof JSON.parse;
    let pending: ReviewResult | Promise<ReviewResult>;
    try {
      pending = reviewBody(text, reviewDeps({ policy: () => policyFrom(POLICY) }));
    } finally {
      JSON.parse = saved;
    }
    return { res: await pending, chars };
  }

  /** A field set of `leaves` fields below `depth` nested `k:{…}` keys of ~`size` characters. */
  const chain = (depth: number, size: number, leaves: number): Obj => {
    let node: Obj = Object.fromEntries(Array.from({ length: leaves }, (_, i) => [`f:a${i}`, {}]));
    for (let d = 0; d < depth; d += 1) node = { [itemKey({ id: String(d).padEnd(size, 'y') })]: node };
    return { 'f:spec': node };
  };
  const cm = (mf: unknown[]) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'prod', annotations: TRACKED, managedFields: mf }, data: { keep: '1' } });
  const keep = { 'f:data': { 'f:keep': {} } };
  /** argocd-controller's entry loses the chain (released to nobody: no loss, but every leaf is walked). */
  const loss = (set: Obj) => reviewOf(CONFIGMAP, { oldObject: cm([entry('argocd-controller', { ...keep, ...set })]), object: cm([entry('argocd-controller', keep)]) });
  /** vpa-updater gains the chain with no value changed (a delegation claim). */
  const claim = (set: Obj) => reviewOf(CONFIGMAP, { oldObject: cm([entry('argocd-controller', keep)]), object: cm([entry('argocd-controller', keep), entry('vpa-updater', set)]) });

  const rows: { name: string; text: string; rule: string; todo?: string }[] = [
    { name: 'a loss of 300 leaves below f: keys only (control)', text: loss(chain(0, 0, 300)), rule: 'no-guarded-change' },
    {
      name: 'a loss of 300 leaves below 60 nested k:{…} keys of 1,000 characters',
      text: loss(chain(60, 1000, 300)),
      rule: 'no-guarded-change',
      // fixed finding (was todo): takenLeaves calls pathOf(raw) for every leaf that is gone, and pathOf JSON.parses
      // every k:{…} key on the path again (leaves x depth x key text): 12,000 leaves below 60 keys of 4,000 characters,
      // a 0.38 MiB review, decide in ~1.04 s
    },
    {
      name: 'a claim of 300 leaves below 60 nested k:{…} keys of 1,000 characters by a delegated manager',
      text: claim(chain(60, 1000, 300)),
      rule: 'guarded-change',
      // fixed finding (was todo): claimedLeaves calls pathOf(raw) for every leaf of the claimed set, as takenLeaves
      // does (70,000 leaves below one 4,080-character key: ~160 ms)
    },
  ];
  for (const row of rows) {
    it(`parses no more than four times the review's text (the body once, each key a few times): ${row.name}`, row.todo ? { todo: row.todo } : {}, async () => {
      const { res, chars } = await parsedChars(row.text);
      assert.equal(res.verdict?.rule, row.rule);
      assert.ok(chars <= 4 * row.text.length, `${chars} characters parsed for a review of ${row.text.length}`);
    });
  }
});

describe('oversized k:{…} keys are not kept after their request', () => {
  it(
    'keeps no more heap after ten reviews with one 2 MiB k:{…} key each than after ten with the same text as an f: key',
    {
      // fixed finding (was todo): itemKeyNames caches every k:{…} key it is asked about by its whole text (KEY_NAMES,
      // up to 10,000 entries), the ones parseItemKey refuses too (a heap snapshot shows each key held by that Map): 40
      // direct POSTs, each with one 4 MiB key in a HelmRelease list that needs managedFields keys, keep 168 MiB of heap
      // after a full GC (RSS 274 MiB; the image limits memory to 384 MiB). Check the length before the cache
    },
    async () => {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const deps = reviewDeps({ policy: () => policyFrom(POLICY) });
      const hr = (field: string, v: number) => ({
        apiVersion: 'helm.toolkit.fluxcd.io/v2',
        kind: 'HelmRelease',
        metadata: { name: 'x', namespace: 'prod', annotations: TRACKED, managedFields: [entry('helm-controller', { 'f:spec': { 'f:foo': { [field]: {} } } })] },
        spec: { foo: [{ id: 'a', v }] },
      });
      /** Heap kept by ten reviews (after three not measured: compiled code, caches), each with its own 2 MiB field key. */
      const retainedBy = async (field: (i: number) => string): Promise<number> => {
        const decideOne = async (i: number) => {
          const res = await reviewBody(reviewOf(HELMRELEASE, { object: hr(field(i), 2), oldObject: hr(field(i), 1) }), deps);
          assert.equal(res.verdict?.rule, 'guarded-change');
        };
        for (let i = 0; i < 3; i += 1) await decideOne(i);
        gc();
        const before = process.memoryUsage().heapUsed;
        for (let i = 3; i < 13; i += 1) await decideOne(i);
        gc();
        return (process.memoryUsage().heapUsed - before) / 1048576;
      };
      const text = (i: number) => JSON.stringify({ id: `${i}-${'z'.repeat(3 * 1048576)}` });
      const control = await retainedBy((i) => `f:${text(i + 100)}`);
      const items = await retainedBy((i) => `k:${text(i)}`);
      assert.ok(items - control < 6, `${items.toFixed(1)} MiB kept after the k:{…} keys, ${control.toFixed(1)} MiB after the f: keys`);
    },
  );
});
