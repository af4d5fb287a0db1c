import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { globMatcher, globProblem, MAX_GLOB_LENGTH, MAX_GLOB_STARS } from '../../src/policy/glob.ts';
import { keySeg } from '../../src/admission/field-path.ts';
import { matchesPath, parsePathPattern } from '../../src/policy/path-pattern.ts';
import { policyFrom } from '../helpers/deps.ts';

/** The textbook dynamic-programming glob matcher: obviously right, used as the reference. */
function reference(glob: string, text: string): boolean {
  let row = new Array<boolean>(text.length + 1).fill(false);
  row[0] = true;
  for (const g of glob) {
    const next = new Array<boolean>(text.length + 1).fill(false);
    if (g === '*') {
      next[0] = row[0]!;
      for (let j = 1; j <= text.length; j += 1) next[j] = row[j]! || next[j - 1]!;
    } else {
      for (let j = 1; j <= text.length; j += 1) next[j] = row[j - 1]! && text[j - 1] === g;
    }
    row = next;
  }
  return row[text.length]!;
}

describe('glob matching', () => {
  for (const [glob, text, want] of [
    ['api-*', 'api-server', true],
    ['api-*', 'api-', true],
    ['api-*', 'ap', false],
    ['*-canary', 'web-canary', true],
    ['*-canary', 'web-canary-2', false],
    ['web-*-v2', 'web-blue-v2', true],
    ['web-*-v2', 'web-v2', false],
    ['a*a', 'a', false],
    ['a*a', 'aa', true],
    ['*', '', true],
    ['**', 'x', true],
    ['a**b', 'ab', true],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    ['example.com/injected-*', 'example.com/injected-sidecar', true],
    ['example.com/injected-*', 'exampleXcom/injected-sidecar', false], // `.` is not a wildcard
    ['a+b(c)*', 'a+b(c)d', true], // nor are the other RegExp metacharacters
    ['line*end', 'line\nend', true], // `*` spans any character, newlines included
  ] as const) {
    it(`${want ? 'matches' : 'does not match'} ${JSON.stringify(text)} against ${glob}`, () => {
      assert.equal(globMatcher(glob).test(text), want);
      assert.equal(reference(glob, text), want);
    });
  }

  it('agrees with the reference matcher on every glob and text over {a, b, *} up to 6 characters', () => {
    const words = (alphabet: string, max: number): string[] => {
      const out = [''];
      for (let i = 0, from = 0; i < max; i += 1) {
        const to = out.length;
        for (let w = from; w < to; w += 1) for (const c of alphabet) out.push(out[w] + c);
        from = to;
      }
      return out;
    };
    const texts = words('ab', 6);
    let checked = 0;
    for (const glob of words('ab*', 6)) {
      const g = globMatcher(glob);
      for (const text of texts) {
        assert.equal(g.test(text), reference(glob, text), `${glob} vs ${text}`);
        checked += 1;
      }
    }
    assert.ok(checked > 100_000);
  });

  // Each of these took seconds or never finished with the RegExp the globs used to compile to.
  for (const [glob, text] of [
    ['a*a*a*a*a*a*b', 'a'.repeat(250)],
    ['*a*a*a*a*a*a*a*a*b', 'a'.repeat(10_000)],
    ['a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c', `${'ab'.repeat(5_000)}`],
    [`*${'a'.repeat(200)}*b`, 'a'.repeat(100_000)],
    ['*x*y*z*', `${'x'.repeat(50_000)}${'y'.repeat(50_000)}`],
  ] as const) {
    it(`answers no for ${glob.length > 30 ? `${glob.slice(0, 30)}…` : glob} against ${text.length} hostile characters`, () => {
      assert.equal(globMatcher(glob).test(text), false);
    });
  }

  it('still matches a many-star glob when the text does fit it', () => {
    assert.equal(globMatcher('a*a*a*a*a*a*b').test(`${'a'.repeat(250)}b`), true);
  });
});

describe('glob acceptance caps', () => {
  for (const [glob, why] of [
    ['a*a*a*a*a*a*b', /has 6 "\*": a glob may have at most 4/],
    ['*a*a*a*a*', /has 5 "\*"/],
    [`${'x'.repeat(MAX_GLOB_LENGTH)}*`, /characters long: a glob may have at most 256/],
  ] as const) {
    it(`refuses ${glob.slice(0, 20)} (${glob.length} chars)`, () => {
      assert.match(globProblem(glob) ?? '', why);
    });
  }
  for (const glob of ['api-*', '*-canary', 'web-*-v2-*', '*', `${'*'.repeat(MAX_GLOB_STARS)}`, 'x'.repeat(MAX_GLOB_LENGTH)]) {
    it(`accepts ${glob.slice(0, 20)}`, () => {
      assert.equal(globProblem(glob), undefined);
    });
  }

  for (const path of [
    'metadata.annotations[*a*a*a*a*a*a*a*a*b]',
    '/metadata/annotations/*a*a*a*a*a*a*a*a*b',
    `metadata.labels[${'k'.repeat(300)}*]`,
    'spec.*a*b*c*d*e.x',
  ]) {
    it(`a policy or grant path with a key glob over the caps is refused: ${path.slice(0, 40)}`, () => {
      assert.throws(() => parsePathPattern(path), /key glob .* (has \d+ "\*"|characters long)/);
    });
  }

  for (const [where, yaml, problem] of [
    ['an ignore path', 'ignore:\n  - paths: ["metadata.annotations[*a*a*a*a*a*a*a*a*b]"]', /ignore\[0\]\.paths\[0\]: bad path .*has 9 "\*": a glob may have at most 4/],
    ['an allowance path', 'allowances:\n  - name: x\n    paths: ["spec.template.metadata.annotations[*x*x*x*x*x*]"]', /allowances\[0\]\.paths\[0\]: .*has 6 "\*"/],
    ['a delegation path', `delegations:\n  - name: x\n    kinds: [apps/Deployment]\n    paths: ["metadata.labels[${'k'.repeat(260)}*]"]`, /delegations\[0\]\.paths\[0\]: .*characters long/],
  ] as const) {
    it(`refuses a policy file with a glob over the caps in ${where}, naming where`, () => {
      assert.throws(() => policyFrom(`protectedNamespaces: [prod]\n${yaml}\n`), problem);
    });
  }

  it('a policy path glob at the caps decides a 100,000-character hostile key', () => {
    const p = parsePathPattern('metadata.annotations[*a*a*a*b]');
    assert.equal(matchesPath(p, [keySeg('metadata'), keySeg('annotations'), keySeg('a'.repeat(100_000))]), false);
    assert.equal(matchesPath(p, [keySeg('metadata'), keySeg('annotations'), keySeg(`${'a'.repeat(100_000)}b`)]), true);
  });
});
