import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reviewBody } from '../../src/admission/review.ts';
import { decide } from '../../src/admission/decide.ts';
import { grant, MemoryGrants, NOW, policyFrom, reviewDeps } from '../helpers/deps.ts';
import { ARGO_CONTROLLER, request, reviewJson, type RequestSpec } from '../helpers/reviews.ts';

const TRACKED = { 'argocd.argoproj.io/tracking-id': 'payments:/ConfigMap:prod/big' };
const cmKind = { kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' } };
const data = (n: number, value: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value]));
const configMap = (n: number, value: string, annotations: Record<string, string> = TRACKED) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'big', namespace: 'prod', annotations },
  data: data(n, value),
});
/** An UPDATE of a ConfigMap with n keys a side, every value changed. */
const update = (n: number, over: Partial<RequestSpec> = {}): RequestSpec => ({ ...cmKind, oldObject: configMap(n, 'a'), object: configMap(n, 'b'), ...over });

const POLICY = (extra = '') => () => policyFrom(`protectedNamespaces: [prod]\nlimits:\n  maxKeys: 1000\n${extra}`);
const body = (spec: RequestSpec) => JSON.stringify(reviewJson(spec));

describe('limits.maxKeys: a direct write too large to read in one decision', () => {
  const cases: { name: string; spec: RequestSpec; extra?: string; want: { allowed: boolean; rule: string; message?: RegExp; warning?: RegExp } }[] = [
    {
      name: 'denies unread a human UPDATE of a GitOps-owned ConfigMap holding more keys than the limit',
      spec: update(600),
      want: { allowed: false, rule: 'too-many-keys', message: /denied unread: it is managed by Argo CD application "payments" \(annotation argocd.argoproj.io\/tracking-id\), and this review holds more than 1000 map keys[\s\S]*limits\.maxKeys/ },
    },
    {
      name: 'decides as before a write just under the limit (997 keys with the envelope: its changes are read and listed)',
      spec: update(480),
      want: { allowed: false, rule: 'guarded-change', message: /data.k0: "a" → "b"/ },
    },
    { name: 'never limits the GitOps controller', spec: update(600, { user: ARGO_CONTROLLER }), want: { allowed: true, rule: 'gitops-controller' } },
    { name: 'never limits writes in an unprotected namespace', spec: { ...update(600), namespace: 'dev', oldObject: { ...configMap(600, 'a'), metadata: { name: 'big', namespace: 'dev', annotations: TRACKED } }, object: { ...configMap(600, 'b'), metadata: { name: 'big', namespace: 'dev', annotations: TRACKED } } }, want: { allowed: true, rule: 'namespace-unprotected' } },
    { name: 'never limits an object GitOps does not own', spec: { ...cmKind, oldObject: configMap(600, 'a', {}), object: configMap(600, 'b', {}) }, want: { allowed: true, rule: 'not-gitops-owned' } },
    {
      name: 'denies unread a hand-made CREATE too large to read (unmanagedCreates: deny)',
      spec: { ...cmKind, operation: 'CREATE', object: configMap(1200, 'a', {}) },
      extra: 'unmanagedCreates: deny\n',
      want: { allowed: false, rule: 'too-many-keys', message: /it is not managed by GitOps \(unmanagedCreates: deny\)/ },
    },
    {
      name: 'denies unread a DELETE of a GitOps-owned object too large to read',
      spec: { ...cmKind, operation: 'DELETE', oldObject: configMap(1200, 'a') },
      want: { allowed: false, rule: 'too-many-keys', message: /deleting ConfigMap prod\/big is denied unread/ },
    },
    {
      name: 'in audit mode allows it with a warning that says it was not read',
      spec: update(600),
      extra: 'mode: audit\n',
      want: { allowed: true, rule: 'too-many-keys', warning: /would deny in enforce mode: .*more than 1000 map keys \(.*limits\.maxKeys\), so it was not read/ },
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const res = await reviewBody(body(c.spec), reviewDeps({ policy: POLICY(c.extra) }));
      assert.equal(res.review.response.allowed, c.want.allowed);
      assert.equal(res.verdict?.rule, c.want.rule);
      if (c.want.message) assert.match(res.review.response.status?.message ?? '', c.want.message);
      if (c.want.warning) assert.match((res.review.response.warnings ?? []).join('\n'), c.want.warning);
    });
  }

  it('lets no grant through a write too large to read (a grant needs the changes read)', async () => {
    const g = grant({ resources: [{ group: '', kind: 'ConfigMap', name: 'big' }] });
    const under = await reviewBody(body(update(480)), reviewDeps({ policy: POLICY(), grants: new MemoryGrants([g]) }));
    assert.equal(under.outcome, 'bypassed');
    const over = await reviewBody(body(update(600)), reviewDeps({ policy: POLICY(), grants: new MemoryGrants([g]) }));
    assert.equal(over.outcome, 'denied');
    assert.equal(over.verdict?.rule, 'too-many-keys');
  });

  it('counts the review text, not what the parse kept: a key sent twice counts twice', async () => {
    // 450 keys a side written twice each: JSON.parse keeps 450, the text holds 1,800 + the envelope
    const text = body(update(450)).replaceAll(/"(k\d+)":"([ab])"/g, '"$1":"$2","$1":"$2"');
    const res = await reviewBody(text, reviewDeps({ policy: POLICY() }));
    assert.equal(res.verdict?.rule, 'too-many-keys');
  });

  it('is not asked by callers that give no text (offline tools): the decision reads everything', () => {
    const v = decide({ request: request(update(600)), policy: POLICY()(), now: NOW, grantsFor: () => [] });
    assert.equal(v.rule, 'guarded-change');
  });

  it('denies unread a write whose stored object lists more than 256 managedFields entries, and never the GitOps controller', async () => {
    const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ manager: `tool-${i}`, operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {} }));
    const withEntries = (n: number, value: string) => ({ ...configMap(3, value), metadata: { name: 'big', namespace: 'prod', annotations: TRACKED, managedFields: entries(n) } });
    const spec = (n: number, user?: string): RequestSpec => ({ ...cmKind, oldObject: withEntries(n, 'a'), object: withEntries(n, 'b'), ...(user ? { user } : {}) });
    const policy = () => policyFrom('protectedNamespaces: [prod]\n'); // the default limits.maxKeys: the entries decide
    const over = await reviewBody(body(spec(257)), reviewDeps({ policy }));
    assert.equal(over.verdict?.rule, 'too-many-keys');
    assert.match(over.review.response.status?.message ?? '', /denied unread: .*its managedFields list more than 256 field managers/);
    const at = await reviewBody(body(spec(256)), reviewDeps({ policy }));
    assert.equal(at.verdict?.rule, 'guarded-change');
    const controller = await reviewBody(body(spec(257, ARGO_CONTROLLER)), reviewDeps({ policy }));
    assert.equal(controller.verdict?.rule, 'gitops-controller');
  });

  it('refuses a limit below 1,000 or above 10,000,000 with the setting named', () => {
    assert.throws(() => policyFrom('protectedNamespaces: [prod]\nlimits:\n  maxKeys: 10\n'), /limits\.maxKeys/);
    assert.throws(() => policyFrom('protectedNamespaces: [prod]\nlimits:\n  maxKeys: 20000000\n'), /limits\.maxKeys/);
    assert.equal(policyFrom('protectedNamespaces: [prod]\n').limits.maxKeys, 150_000);
  });
});
