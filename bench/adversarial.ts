/**
 * Adversarial case set (issue 10): hostile AdmissionReviews built up to just under the 8 MiB body
 * limit, each decided in-process (one core) and over HTTPS (the validate handler behind a real TLS
 * server in this process), reporting every case and the worst. In-process, the parse (JSON.parse with
 * exact integers: what any webhook in this runtime pays to read the body) and the decision (decode +
 * decide: driftgate's own work, with the count of the text's keys the server makes before it compares
 * a direct write, limits.maxKeys) are timed apart. Target: no request under the body limit takes more
 * than 100 ms to decide. Numbers only, no thresholds.
 *
 *   npm run bench:adversarial            (also part of npm run bench)
 */
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { decide } from '../src/admission/decide.ts';
import { decodeReview, parseReviewJson } from '../src/admission/decode.ts';
import { moreJsonKeysThan } from '../src/lib/json-keys.ts';
import { buildApp } from '../src/app.ts';
import type { Grant } from '../src/grants/grant.ts';
import { createLogger } from '../src/log.ts';
import { parsePolicy } from '../src/policy/load.ts';
import { generateCertificates } from '../src/tls/certs.ts';
import { DEFAULT_BODY_LIMIT } from '../src/http/request-body.ts';
import { bigManagedFields } from '../test/helpers/attacks.ts';

type Obj = Record<string, unknown>;

/** The example policy's protection, plus policy path globs at the acceptance caps (4 stars). */
const POLICY = parsePolicy(
  `protectedNamespaces: [prod]
ignore:
  - paths: ["metadata.annotations[*a*a*a*b]", "metadata.labels[*a*a*a*b]", "data[*a*a*a*b]", "spec.template.metadata.annotations[*x*y*z*q]"]
`,
  'bench/adversarial.ts',
);
const TRACKED = { 'argocd.argoproj.io/tracking-id': 'payments:apps/Deployment:prod/x' };
const LIMIT = DEFAULT_BODY_LIMIT - 64 * 1024; // just under the limit, with room for the envelope

function review(operation: string, kind: string, resource: string, group: string, oldObject: unknown, object: unknown, name = 'x'): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'adversarial', kind: { group, version: 'v1', kind }, resource: { group, version: 'v1', resource }, name, namespace: 'prod', operation,
      userInfo: { username: 'alice', groups: ['oncall', 'system:authenticated'] }, object, oldObject,
    },
  });
}

/** The largest n (found by doubling, then bisection) whose body stays under the limit. */
function fill(build: (n: number) => string, fits: (body: string) => boolean = (body) => body.length < LIMIT): { body: string; n: number } {
  let lo = 1;
  let hi = 2;
  while (fits(build(hi))) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > Math.max(1, lo / 200)) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(build(mid))) lo = mid;
    else hi = mid;
  }
  return { body: build(lo), n: lo };
}

const configMap = (data: Obj, metadata: Obj = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'prod', annotations: TRACKED, ...metadata }, data });
const keys = (n: number, key: (i: number) => string, value: (i: number) => string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [key(i), value(i)]));
const deploymentNamed = (name: string, image: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'prod', annotations: TRACKED },
  spec: { template: { spec: { containers: [{ name: 'app', image }] } } },
});

function grant(id: number, name: string, group = 'apps', kind = 'Deployment'): Grant {
  return {
    id: `g-${id}`, requester: 'alice', subjects: { users: ['alice'], groups: [] }, namespace: 'prod',
    resources: [{ group, kind, name }], operations: ['UPDATE'], reason: 'bench', createdAt: '2020-01-01T00:00:00Z',
    notBefore: '2020-01-01T00:00:00Z', expiresAt: '2999-01-01T00:00:00Z', approvals: [], state: 'active', token: '',
  };
}

export interface AdversarialCase {
  readonly label: string;
  readonly body: string;
  readonly grants: readonly Grant[];
}

export function adversarialCases(): AdversarialCase[] {
  const none: readonly Grant[] = [];
  const cases: AdversarialCase[] = [];
  const add = (label: string, body: string, grants = none) => cases.push({ label, body, grants });

  const created = fill((n) => bigManagedFields(n, 'CREATE'));
  add(`CREATE, own argocd-controller managedFields listing ${created.n} env vars`, created.body);
  const deleted = fill((n) => bigManagedFields(n, 'DELETE'));
  add(`DELETE of an object whose managedFields list ${deleted.n} env vars`, deleted.body);

  // SSA --force-conflicts takeover of every field the GitOps manager owned: the ownership-loss walk
  const takeoverOf = (n: number): string => {
    const stored = (JSON.parse(bigManagedFields(n, 'CREATE')) as { request: { object: { metadata: { managedFields: { manager: string }[] } } } }).request.object;
    const taken = structuredClone(stored);
    taken.metadata.managedFields[0]!.manager = 'kubectl';
    return review('UPDATE', 'Deployment', 'deployments', 'apps', stored, taken, 'api');
  };
  const takeover = fill(takeoverOf);
  add(`UPDATE: SSA takeover of the GitOps manager's ${takeover.n} env vars (ownership-loss walk)`, takeover.body);

  const envSwapOf = (n: number): string => {
    const env = Array.from({ length: n }, (_, i) => ({ name: `VAR_${i}`, value: `v${i}` }));
    const d = (list: unknown[]) => ({ ...deploymentNamed('x', 'app:1'), spec: { template: { spec: { containers: [{ name: 'app', image: 'app:1', env: list }] } } } });
    return review('UPDATE', 'Deployment', 'deployments', 'apps', d(env), d([...env].reverse()));
  };
  const envSwap = fill(envSwapOf);
  add(`UPDATE reversing an associative list of ${envSwap.n} env vars (merge key name)`, envSwap.body);

  const mapOf = (n: number): string => review('UPDATE', 'ConfigMap', 'configmaps', '', configMap(keys(n, (i) => `key-${i}`, () => 'a')), configMap(keys(n, (i) => `key-${i}`, () => 'b')));
  const map = fill(mapOf);
  add(`UPDATE of a ConfigMap with ${map.n} keys, every value changed`, map.body);

  const secretOf = (n: number): string => review('UPDATE', 'Secret', 'secrets', '', { ...configMap(keys(n, (i) => `k${i}`, () => 'YQ==')), kind: 'Secret' }, { ...configMap(keys(n, (i) => `k${i}`, () => 'Yg==')), kind: 'Secret' });
  const secret = fill(secretOf);
  add(`UPDATE of a Secret with ${secret.n} keys, every value changed`, secret.body);

  // 16 digits in one string used to send the whole body through a JSON.parse reviver (exact integers);
  // with a real integer beyond 2^53 the body still takes the exact path (placeholders, one walk)
  const digitsOf = (n: number): string => review('UPDATE', 'ConfigMap', 'configmaps', '', configMap({ ...keys(n, (i) => `k${i}`, () => 'a'), id: '1234567890123456' }), configMap({ ...keys(n, (i) => `k${i}`, () => 'a'), id: '1234567890123457' }));
  const digits = fill(digitsOf);
  add(`a ConfigMap with ${digits.n} keys, one value 16 digits long`, digits.body);
  const bigInt = fill((n) => {
    const env = Array.from({ length: n }, (_, i) => ({ name: `VAR_${i}`, value: `v${i}` }));
    const d = (uid: number) => ({ ...deploymentNamed('x', 'app:1'), spec: { template: { spec: { securityContext: { runAsUser: uid }, containers: [{ name: 'app', image: 'app:1', env }] } } } });
    return review('UPDATE', 'Deployment', 'deployments', 'apps', d(1), d(2)).replace('"runAsUser":2', '"runAsUser":9007199254740993');
  });
  add(`runAsUser 9007199254740993 beside ${bigInt.n} env vars`, bigInt.body);

  const manyInts = fill((n) => {
    const ints = Array.from({ length: n }, (_, i) => `@${9007199254740993n + BigInt(i) * 1000n}@`);
    const cm = (list: string[]) => ({ ...configMap({}), spec: { n: list } });
    return review('UPDATE', 'ConfigMap', 'configmaps', '', cm(ints), cm([...ints].reverse())).replace(/"@([0-9]+)@"/g, '$1');
  });
  add(`${manyInts.n * 2} integers beyond 2^53 (the exact parse), a list reversed`, manyInts.body);

  // One long key above many small unchanged lists that are no well-known list: each asks managedFields for
  // merge keys (a path string per list once made this 8.5 s; the tree descends each name once)
  const listsOf = (n: number): string => {
    const spec = { [`${'k'.repeat(16_300)}`]: Object.fromEntries(Array.from({ length: n }, (_, i) => [i.toString(36), [1]])) };
    const thing = { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'x', namespace: 'prod', annotations: TRACKED }, spec };
    return review('UPDATE', 'HelmRelease', 'helmreleases', 'helm.toolkit.fluxcd.io', thing, thing);
  };
  const lists = fill(listsOf);
  add(`${lists.n} unchanged one-item lists below one 16,300-character key (merge-key lookups)`, lists.body);

  // One-item named lists 47 deep above a long list that differs only in its last item: a list compare at
  // every level once read the whole bulk again at each of them (depth × size)
  const chain = fill((n) => {
    const at = (last: unknown) => {
      const bulk: unknown[] = Array.from({ length: n }, () => ({}));
      bulk[n - 1] = last;
      let inner: unknown = bulk;
      for (let i = 0; i < 47; i += 1) inner = [{ name: 'x', a: inner }];
      return { ...deploymentNamed('x', 'app:1'), spec: { a: inner } };
    };
    return review('UPDATE', 'Deployment', 'deployments', 'apps', at(1), at(2));
  });
  add(`one-item named lists 47 deep above ${chain.n} items, the last one changed`, chain.body);

  const hostileKey = (i: number) => `${'a'.repeat(60)}${i}`;
  const annotations = fill((n) => review('UPDATE', 'ConfigMap', 'configmaps', '', configMap({}), configMap({}, { annotations: { ...TRACKED, ...keys(n, hostileKey, () => 'x') } })));
  add(`${annotations.n} new 60-character annotation keys against path globs *a*a*a*b`, annotations.body);

  const longKey = fill((n) => review('UPDATE', 'ConfigMap', 'configmaps', '', configMap({}), configMap({}, { annotations: { ...TRACKED, ['a'.repeat(n)]: 'x' } })));
  add(`one ${longKey.n}-character annotation key against path globs *a*a*a*b`, longKey.body);

  const deep = fill((n) => {
    const nest = (leaf: string) => {
      let v: unknown = leaf;
      for (let d = 0; d < 90; d += 1) v = [v];
      return v;
    };
    const spec = (leaf: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, nest(leaf)]));
    return review('UPDATE', 'ConfigMap', 'configmaps', '', { ...configMap({}), spec: spec('a') }, { ...configMap({}), spec: spec('b') });
  });
  add(`${deep.n} lists nested 90 deep, every leaf changed`, deep.body);

  // Grant name globs: every grant names the Deployment by a glob and none matches (worst case: all are tried).
  const name = 'a'.repeat(253);
  const write = review('UPDATE', 'Deployment', 'deployments', 'apps', deploymentNamed(name, 'app:1'), deploymentNamed(name, 'app:2'), name);
  add('253-character name vs 10,000 grants with 4-star globs (*a*a*a*b)', write, Array.from({ length: 10_000 }, (_, i) => grant(i, '*a*a*a*b')));
  add('253-character name vs 10,000 stored 12-star globs (accepted before the caps)', write, Array.from({ length: 10_000 }, (_, i) => grant(i, 'a*a*a*a*a*a*a*a*a*a*a*a*b')));
  // A grant that covers the whole object: the decision can only be sure after reading every change
  // (a denial stops early; a bypass cannot). The requester is authenticated, approved and on the record.
  add(`UPDATE of a ConfigMap with ${map.n} keys, every value changed, under a grant for the ConfigMap`, map.body, [grant(1, 'x', '', 'ConfigMap')]);
  add(`UPDATE of a Secret with ${secret.n} keys, every value changed, under a grant for the Secret`, secret.body, [grant(1, 'x', '', 'Secret')]);

  // The same shapes grown to the most keys a direct write may hold (limits.maxKeys, counted in the text):
  // the heaviest requests the gate still reads and compares. Above it they are denied unread (the cases above).
  const atKeys = (build: (n: number) => string) => fill(build, (body) => !moreJsonKeysThan(body, POLICY.limits.maxKeys));
  const at = `at limits.maxKeys (${POLICY.limits.maxKeys.toLocaleString('en-US')} keys)`;
  const keyedLists = atKeys(listsOf);
  add(`${keyedLists.n} unchanged one-item lists below one 16,300-character key, ${at}`, keyedLists.body);
  const keyedDigits = atKeys(digitsOf);
  add(`a ConfigMap with ${keyedDigits.n} keys, one value 16 digits long, ${at}`, keyedDigits.body);
  const keyedEnv = atKeys(envSwapOf);
  add(`UPDATE reversing ${keyedEnv.n} env vars, ${at}`, keyedEnv.body);
  const keyedTakeover = atKeys(takeoverOf);
  add(`SSA takeover of ${keyedTakeover.n} env vars, ${at}`, keyedTakeover.body);
  const keyedMap = atKeys(mapOf);
  add(`UPDATE of a ConfigMap with ${keyedMap.n} keys, every value changed, under a grant, ${at}`, keyedMap.body, [grant(1, 'x', '', 'ConfigMap')]);
  const keyedSecret = atKeys(secretOf);
  add(`UPDATE of a Secret with ${keyedSecret.n} keys, every value changed, under a grant, ${at}`, keyedSecret.body, [grant(1, 'x', '', 'Secret')]);

  // The adversary's shapes against limits.maxKeys (test/integration/adversary-key-limit.test.ts):
  // a managedFields `k:{…}` key naming many fields, above a list of as many items (names × items reads
  // before such keys gave no merge keys); a map of labels (listed by decodeReview before the count); and
  // the count's own worst text, one annotation value of escaped quotes (a hop per quote, few keys).
  const helmRelease = (metadata: Obj, spec: Obj) => ({ apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'x', namespace: 'prod', annotations: TRACKED, ...metadata }, spec });
  const fieldsKey = (n: number) => `k:${JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`n${i}`, 0])))}`;
  const mergeKeys = 30_000;
  const itemKeyed = review('UPDATE', 'HelmRelease', 'helmreleases', 'helm.toolkit.fluxcd.io',
    helmRelease({ managedFields: [{ manager: 'helm-controller', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:foo': { [fieldsKey(mergeKeys)]: {} } } } }] }, {}),
    helmRelease({}, { foo: Array.from({ length: mergeKeys }, (_, i) => ({ n0: i })) }));
  add(`a managedFields k:{…} key naming ${mergeKeys} fields above a list of ${mergeKeys} items`, itemKeyed);
  const labels = fill((n) => review('UPDATE', 'ConfigMap', 'configmaps', '', configMap({}, { labels: keys(n, (i) => `l${i}`, () => 'a') }), configMap({ a: 'b' }, { labels: keys(n, (i) => `l${i}`, () => 'a') })));
  add(`${labels.n} labels a side on a GitOps-owned ConfigMap`, labels.body);
  const quotes = fill((n) => review('UPDATE', 'ConfigMap', 'configmaps', '', configMap({}), configMap({}, { annotations: { ...TRACKED, note: '"'.repeat(n) } })));
  add(`one annotation value of ${quotes.n} escaped quotes (the key count's worst text)`, quotes.body);
  // Every GitOps manager of the default policy loses a field beside 250 other entries of 280 fields (under
  // limits.maxKeys and the 256-entry bound): the ownership check unions the others' fields per manager.
  const entry = (manager: string, fieldsV1: unknown) => ({ manager, operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1 });
  const gitopsManagers = ['argocd-controller', 'kustomize-controller', 'helm-controller'];
  const others = Array.from({ length: 250 }, (_, i) => entry(`tool-${i}`, { 'f:data': Object.fromEntries(Array.from({ length: 280 }, (_, j) => [`f:k${i}_${j}`, {}])) }));
  const owned = (m: string, lose: boolean) => entry(m, { 'f:data': { [`f:${m}`]: {}, ...(lose ? {} : { [`f:${m}-2`]: {} }) } });
  const lossCm = (managedFields: unknown[]) => configMap({ keep: '1' }, { managedFields });
  const losses = review('UPDATE', 'ConfigMap', 'configmaps', '',
    lossCm([...gitopsManagers.map((m) => owned(m, false)), ...others]),
    lossCm([...gitopsManagers.map((m) => owned(m, true)), ...others, entry('alice', { 'f:data': Object.fromEntries(gitopsManagers.map((m) => [`f:${m}-2`, {}])) })]));
  add('3 GitOps managers each losing a field beside 250 managedFields entries of 280 fields (~140,000 keys)', losses);
  const huge = 'a'.repeat(LIMIT - 2 * 1024 * 1024);
  add(`${huge.length}-character name (a hand-made review) vs 1,000 grants with 12-star globs`, review('DELETE', 'Deployment', 'deployments', 'apps', deploymentNamed('x', 'app:1'), null, huge), Array.from({ length: 1000 }, (_, i) => grant(i, 'a*a*a*a*a*a*a*a*a*a*a*a*b')));
  return cases;
}

export interface Timing {
  readonly label: string;
  readonly mib: number;
  /** in-process: the decision (decode + decide); over HTTPS: the whole request */
  readonly meanMs: number;
  readonly maxMs: number;
  /** in-process only: parsing the body (JSON.parse, exact integers), the floor any webhook pays */
  readonly parseMs?: number;
  /** in-process only: the slowest parse + decision */
  readonly totalMaxMs?: number;
  /** in-process only: the rule that decided (400: refused as malformed) */
  readonly rule?: string;
}

/** parse, then decode + decide, in this process (what the webhook does per request, minus HTTP). */
export function decideInProcess(cases: readonly AdversarialCase[], runs = 2, onTiming: (t: Timing) => void = () => {}): Timing[] {
  const now = new Date();
  return cases.map((c) => {
    let rule = '400';
    const decideOnce = (): void => {
      try {
        rule = decide({ request: decodeReview(parseReviewJson(c.body)), policy: POLICY, now, grantsFor: () => c.grants, moreKeysThan: (limit) => moreJsonKeysThan(c.body, limit) }).rule;
      } catch {
        // an answered 400 (e.g. nesting too deep) is a decision too
      }
    };
    decideOnce(); // warm-up
    let parseTotal = 0;
    let decideTotal = 0;
    let decideMax = 0;
    let totalMax = 0;
    for (let i = 0; i < runs; i += 1) {
      let t = performance.now();
      let parsed: unknown;
      try {
        parsed = parseReviewJson(c.body);
      } catch {
        parsed = undefined;
      }
      const parseMs = performance.now() - t;
      t = performance.now();
      try {
        if (parsed !== undefined) decide({ request: decodeReview(parsed), policy: POLICY, now, grantsFor: () => c.grants, moreKeysThan: (limit) => moreJsonKeysThan(c.body, limit) });
      } catch {
        // an answered 400 is a decision too
      }
      const decideMs = performance.now() - t;
      parseTotal += parseMs;
      decideTotal += decideMs;
      decideMax = Math.max(decideMax, decideMs);
      totalMax = Math.max(totalMax, parseMs + decideMs);
    }
    const t: Timing = { label: c.label, rule, mib: c.body.length / 1048576, parseMs: parseTotal / runs, meanMs: decideTotal / runs, maxMs: decideMax, totalMaxMs: totalMax };
    onTiming(t);
    return t;
  });
}

function post(port: number, ca: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const req = request({ host: '127.0.0.1', port, path: '/validate', method: 'POST', ca, servername: 'localhost', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The same requests over HTTPS to the validate handler (TLS, body read, decide, encode). */
export async function decideOverHttps(cases: readonly AdversarialCase[], runs = 2, onTiming: (t: Timing) => void = () => {}): Promise<Timing[]> {
  const certs = generateCertificates({ service: 'driftgate', namespace: 'driftgate', days: 1 });
  let current: readonly Grant[] = [];
  const app = buildApp({
    review: { policy: () => POLICY, clock: { now: () => new Date() }, grants: { activeGrants: () => current }, tasks: undefined, cluster: undefined, logger: createLogger('silent') },
    readiness: { notReady: () => [] },
  });
  const server: Server = createServer({ cert: certs.cert, key: certs.key }, app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const out: Timing[] = [];
    for (const c of cases) {
      current = c.grants;
      let total = 0;
      let max = 0;
      for (let i = 0; i < runs; i += 1) {
        const ms = await post(port, certs.caCert, c.body);
        total += ms;
        max = Math.max(max, ms);
      }
      out.push({ label: c.label, mib: c.body.length / 1048576, meanMs: total / runs, maxMs: max });
      onTiming(out[out.length - 1]!);
    }
    return out;
  } finally {
    server.close();
  }
}

export function worst(timings: readonly Timing[]): Timing {
  return timings.reduce((a, b) => (b.maxMs > a.maxMs ? b : a));
}

export const timingLine = (t: Timing): string =>
  t.parseMs === undefined
    ? `  ${t.label.padEnd(100)} ${t.mib.toFixed(2).padStart(5)} MiB  mean ${t.meanMs.toFixed(1).padStart(7)} ms  max ${t.maxMs.toFixed(1).padStart(7)} ms`
    : `  ${t.label.padEnd(100)} ${t.mib.toFixed(2).padStart(5)} MiB  ${(t.rule ?? '').padEnd(19)} decide mean ${t.meanMs.toFixed(1).padStart(6)} ms  max ${t.maxMs.toFixed(1).padStart(6)} ms` +
      `  | parse ${t.parseMs.toFixed(1).padStart(6)} ms  parse + decide max ${(t.totalMaxMs ?? 0).toFixed(1).padStart(6)} ms`;
export const worstLine = (timings: readonly Timing[]): string => {
  const w = worst(timings);
  if (w.parseMs === undefined) return `  worst: ${w.maxMs.toFixed(1)} ms (${w.label})`;
  const total = timings.reduce((a, b) => ((b.totalMaxMs ?? 0) > (a.totalMaxMs ?? 0) ? b : a));
  return `  worst decision: ${w.maxMs.toFixed(1)} ms (${w.label})   target: ≤ 100 ms\n  worst parse + decision: ${(total.totalMaxMs ?? 0).toFixed(1)} ms (${total.label}; parse ${(total.parseMs ?? 0).toFixed(1)} ms)`;
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const cases = adversarialCases();
  const print = (t: Timing) => console.log(timingLine(t));
  console.log('adversarial requests near the 8 MiB body limit, in-process (decide = decode + decide, after the parse; a warm-up, then 2 runs):');
  console.log(worstLine(decideInProcess(cases, 2, print)));
  console.log('the same over HTTPS (TLS + body read + decide + encode; client in the same process):');
  console.log(worstLine(await decideOverHttps(cases, 1, print)));
}
