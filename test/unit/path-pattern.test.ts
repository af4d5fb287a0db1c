import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { itemSeg, keySeg, type FieldPath } from '../../src/admission/field-path.ts';
import { matchesPath, parsePathPattern } from '../../src/policy/path-pattern.ts';

const image: FieldPath = [keySeg('spec'), keySeg('template'), keySeg('spec'), keySeg('containers'), itemSeg({ name: 'app' }), keySeg('image')];
const restartedAt: FieldPath = [keySeg('spec'), keySeg('template'), keySeg('metadata'), keySeg('annotations'), keySeg('kubectl.kubernetes.io/restartedAt')];

const cases: [string, FieldPath, boolean][] = [
  ['/spec/replicas', [keySeg('spec'), keySeg('replicas')], true],
  ['spec.replicas', [keySeg('spec'), keySeg('replicas')], true],
  ['spec', [keySeg('spec'), keySeg('replicas')], true],
  ['spec.replicas', [keySeg('spec')], false],
  ['spec.template.spec.containers[name=app].image', image, true],
  ['spec.template.spec.containers[name=other].image', image, false],
  ['spec.template.spec.containers[*].image', image, true],
  ['/spec/template/spec/containers/*/image', image, true],
  ['spec.template.*', image, true],
  ['spec.template.metadata.annotations[kubectl.kubernetes.io/restartedAt]', restartedAt, true],
  ['/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt', restartedAt, true],
  ['spec.template.metadata.annotations[kubectl.kubernetes.io/*]', restartedAt, true],
  ['spec.template.metadata.annotations[example.com/*]', restartedAt, false],
];

describe('policy path patterns', () => {
  for (const [pattern, path, want] of cases) {
    it(`${want ? 'matches' : 'does not match'} ${pattern}`, () => {
      assert.equal(matchesPath(parsePathPattern(pattern), path), want);
    });
  }

  for (const [bad, why] of [
    ['', /empty path/],
    ['spec..replicas', /empty segment/],
    ['spec.containers[0].image', /list index \[0\]/],
    ['/spec/containers/0/image', /list index "0"/],
    ['spec.[x', /unclosed/],
    ['spec.*.image', /may only end a path/],
    ['spec.containers[name=]', /bad list item selector/],
  ] as const) {
    it(`rejects "${bad}" with a clear reason`, () => {
      assert.throws(() => parsePathPattern(bad), why);
    });
  }
});
