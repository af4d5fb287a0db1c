/**
 * Adversarial review of the streaming decision (commit 30bd153): hostile requests that must still be
 * answered as the threat model promises. Every case here FAILED on 30bd153 (see each table's note,
 * which describes the failure as found) and passes since the fixes that followed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/admission/decide.ts';
import { decodeReview, parseReviewJson } from '../../src/admission/decode.ts';
import { diffObjects, type MergeKeyNode } from '../../src/admission/diff.ts';
import { DriftgateError } from '../../src/errors.ts';
import { examplePolicy, NOW } from '../helpers/deps.ts';

const TRACKED = '{"argocd.argoproj.io/tracking-id":"payments:/Secret:prod/s"}';
const secret = (fields: string): string => `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"prod","annotations":${TRACKED}}${fields}}`;

function secretReview(operation: 'CREATE' | 'UPDATE' | 'DELETE', oldObject: string, object: string): string {
  return `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":{"group":"","version":"v1","kind":"Secret"},"resource":{"group":"","version":"v1","resource":"secrets"},"name":"s","namespace":"prod","operation":"${operation}","userInfo":{"username":"alice","groups":["oncall"]},"object":${object},"oldObject":${oldObject}}}`;
}

const nested = (depth: number): string => `${'['.repeat(depth)}"YQ=="${']'.repeat(depth)}`;
const STORED = secret(',"data":{"password":"YQ=="}');

/**
 * FAILS on 30bd153: a Secret whose data or stringData is not a map is hashed whole before the diff
 * (redactSecret → secretHash → JSON.stringify), where no depth bound applies, so 200,000 nested lists
 * overflow the stack: "internal error: Maximum call stack size exceeded" (HTTP 500, logged as an
 * internal error) instead of the 400 every other object gets for nesting deeper than MAX_DEPTH.
 */
describe('a Secret whose data is not a map is bounded like any other object', () => {
  const cases: { name: string; body: string }[] = [
    { name: 'answers 400 (too deep) for an UPDATE turning data into 200,000 nested lists', body: secretReview('UPDATE', STORED, secret(`,"data":${nested(200_000)}`)) },
    { name: 'answers 400 (too deep) for a CREATE whose stringData is 200,000 nested lists', body: secretReview('CREATE', 'null', secret(`,"stringData":${nested(200_000)}`)) },
    { name: 'answers 400 (too deep) for a DELETE of a Secret whose data is 200,000 nested lists', body: secretReview('DELETE', secret(`,"data":${nested(200_000)}`), 'null') },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.throws(
        () => decide({ request: decodeReview(parseReviewJson(c.body)), policy: examplePolicy(), now: NOW, grantsFor: () => [] }),
        (e: unknown) => e instanceof DriftgateError && e.code === 'REVIEW_TOO_DEEP',
      );
    });
  }
});

/**
 * FAILS on 30bd153 (denial of service, no grant needed): for every non-empty list that is not a
 * well-known list, indexLists asks the merge-key source about the list's abstract path, a string
 * built afresh from every key above it (abstractOf) and hashed by the Map lookup. One map key of
 * 16,300 characters (V8 hashes up to 16,383) above N small unchanged lists (`"k":[1]`, 8 bytes each)
 * makes the walk hash N × 16,300 characters: a 1.2 MiB review (0.6 MiB object, within what the API
 * server stores) took 2.4 s to decide, a 7.7 MiB one 8.5 s (the adversarial bench's worst: 0.29 s).
 * Unchanged lists produce no change, so the early stop never fires. Counted here through the
 * merge-key port the diff takes: the characters it is asked about must stay proportional to the
 * request, not to its size times the length of a key. (Fixed by a merge-key tree the walk descends one
 * field name at a time; the probe counts the characters of every name it is asked about.)
 */
describe('the diff asks about merge keys in time proportional to the request', () => {
  const cases = [
    { name: 'one 16,300-character key above 2,000 unchanged one-item lists', keyLength: 16_300, lists: 2_000 },
    { name: 'a 40-level chain of 400-character keys above 2,000 unchanged one-item lists', keyLength: 400, lists: 2_000, levels: 40 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      let spec: Record<string, unknown> = Object.fromEntries(Array.from({ length: c.lists }, (_, i) => [i.toString(36), [1]]));
      for (let l = 0; l < (c.levels ?? 1); l += 1) spec = { [`${'k'.repeat(c.keyLength - 3)}${String(l).padStart(3, '0')}`]: spec };
      const object = { apiVersion: 'v1', kind: 'Thing', metadata: { name: 'x' }, spec };
      let asked = 0;
      // a tree that has every name (the worst case: the walk descends everywhere), counting each name asked
      const mergeKeys: MergeKeyNode = {
        keys: undefined,
        child: (segment) => {
          asked += segment.length;
          return mergeKeys;
        },
      };
      const changes = diffObjects(structuredClone(object), structuredClone(object), { mergeKeys, skipRuntime: true });
      assert.equal(changes.length, 0);
      const size = JSON.stringify(object).length;
      assert.ok(asked <= 8 * size, `asked about ${asked} characters of paths for a ${size}-character object`);
    });
  }
});

function updateReview(group: string, kind: string, resource: string, name: string, oldObject: unknown, object: unknown): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u-2', kind: { group, version: group === '' ? 'v1' : 'v2', kind }, resource: { group, version: group === '' ? 'v1' : 'v2', resource }, name, namespace: 'prod', operation: 'UPDATE', userInfo: { username: 'bob', groups: ['dev'] }, object, oldObject },
  });
}

const tracked = { 'argocd.argoproj.io/tracking-id': 'payments:/Thing:prod/x' };
const secretObj = (data: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'prod', annotations: tracked }, data });
const configMapObj = (binaryData: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'prod', annotations: tracked }, data: { a: 'x' }, binaryData });
const helmReleaseObj = (values: Record<string, unknown>) => ({ apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'web', namespace: 'prod', labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps' } }, spec: { interval: '5m', values } });

/**
 * FAILS: a key added with the value null is a write the API server keeps, yet the diff counts null as
 * absent, so the write is "no guarded change" and admitted without a grant. Checked against the real
 * kube-apiserver 1.32: `kubectl replace` of a Secret with `data: {a: …, k: null}` reaches the webhook
 * as `"k": null` and is stored as `k: ""` (a new key: a new file in every mount, a new variable for
 * envFrom); the same for ConfigMap binaryData; under `x-kubernetes-preserve-unknown-fields` (a
 * HelmRelease's spec.values) the null is stored as sent, and Helm reads a null value as "delete
 * this chart default" (e.g. the chart's securityContext). The Secret row is a regression of 30bd153
 * (before it, a null made data non-text and the whole map was hashed first, so the key showed as a
 * change); the other two fail before 30bd153 too. Nulls that reach a webhook are ones the API server
 * stores: typed fields it drops are already gone from the object it sends.
 */
describe('a key added with the value null is a guarded change (the API server stores it)', () => {
  const cases = [
    { name: 'denies adding a Secret data key whose value is null (stored as an empty value)', body: updateReview('', 'Secret', 'secrets', 's', secretObj({ a: 'YQ==' }), secretObj({ a: 'YQ==', k: null })), guarded: 'data.k' },
    { name: 'denies adding a ConfigMap binaryData key whose value is null (stored as an empty value)', body: updateReview('', 'ConfigMap', 'configmaps', 'c', configMapObj({}), configMapObj({ b: null })), guarded: 'binaryData.b' },
    {
      name: "denies a HelmRelease values key set to null (Helm deletes the chart's default)",
      body: updateReview('helm.toolkit.fluxcd.io', 'HelmRelease', 'helmreleases', 'web', helmReleaseObj({ replicaCount: 2 }), helmReleaseObj({ replicaCount: 2, securityContext: null })),
      guarded: 'spec.values.securityContext',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const v = decide({ request: decodeReview(parseReviewJson(c.body)), policy: examplePolicy(), now: NOW, grantsFor: () => [] });
      assert.equal(v.outcome, 'denied', v.rule);
      assert.ok(v.guarded.some((g) => g.printed === c.guarded), v.guarded.map((g) => g.printed).join(', '));
    });
  }
});

/**
 * FAILS (before 30bd153 too): integers beyond 2^53 arrive as JSON.rawJSON objects, and deepEqual
 * compares any two objects key by key, so the exact number 9007199254740993 equals the map
 * `{"rawJSON": "9007199254740993"}`. Where the API server keeps any shape (preserve-unknown-fields,
 * e.g. a HelmRelease's values), turning a number into that map is admitted as no change.
 */
describe('an exact integer never equals a map that spells it', () => {
  const hr = (values: string) =>
    `{"apiVersion":"helm.toolkit.fluxcd.io/v2","kind":"HelmRelease","metadata":{"name":"web","namespace":"prod","labels":{"kustomize.toolkit.fluxcd.io/name":"apps"}},"spec":{"interval":"5m","values":${values}}}`;
  const review = (oldValues: string, values: string) =>
    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-3","kind":{"group":"helm.toolkit.fluxcd.io","version":"v2","kind":"HelmRelease"},"resource":{"group":"helm.toolkit.fluxcd.io","version":"v2","resource":"helmreleases"},"name":"web","namespace":"prod","operation":"UPDATE","userInfo":{"username":"bob","groups":["dev"]},"object":${hr(values)},"oldObject":${hr(oldValues)}}}`;
  const cases = [
    { name: 'denies replacing a value of 9007199254740993 with {"rawJSON": "9007199254740993"}', body: review('{"uid":9007199254740993}', '{"uid":{"rawJSON":"9007199254740993"}}') },
    { name: 'denies the same swap inside an atomic list', body: review('{"uids":[9007199254740993]}', '{"uids":[{"rawJSON":"9007199254740993"}]}') },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const v = decide({ request: decodeReview(parseReviewJson(c.body)), policy: examplePolicy(), now: NOW, grantsFor: () => [] });
      assert.equal(v.outcome, 'denied', v.rule);
    });
  }
});
