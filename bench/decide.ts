/**
 * Micro-benchmark of the pure decision path (decode + decide, no HTTP/TLS): how much of a review's
 * latency is driftgate's own work. Run: npm run bench:decide
 */
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { decide } from '../src/admission/decide.ts';
import { decodeReview, parseReviewJson } from '../src/admission/decode.ts';
import { moreJsonKeysThan } from '../src/lib/json-keys.ts';
import { diffObjects, NO_MERGE_KEYS } from '../src/admission/diff.ts';
import { loadExamplePolicy } from '../src/policy/load.ts';
import { percentile } from './stats.ts';

const FIXTURES = new URL('../test/fixtures/admission-reviews/', import.meta.url);
const policy = loadExamplePolicy();
const bodies = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json') && /deployment/.test(f))
  .map((f) => ({ name: f, text: readFileSync(new URL(f, FIXTURES), 'utf8') }));


function measure(label: string, iterations: number, fn: () => void): { label: string; meanUs: number; p50Us: number; p99Us: number } {
  for (let i = 0; i < Math.min(2000, iterations); i += 1) fn(); // warm up the JIT
  const samples: number[] = [];
  for (let i = 0; i < iterations; i += 1) {
    const t = performance.now();
    fn();
    samples.push((performance.now() - t) * 1000);
  }
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return { label, meanUs: mean, p50Us: percentile(samples, 50), p99Us: percentile(samples, 99) };
}

export function runDecisionBench(iterations = 20_000) {
  const now = new Date();
  let i = 0;
  const perReview = measure(`parse+decode+decide, ${bodies.length} Deployment reviews round-robin`, iterations, () => {
    const b = bodies[i++ % bodies.length]!;
    decide({ request: decodeReview(parseReviewJson(b.text)), policy, now, grantsFor: () => [], moreKeysThan: (limit) => moreJsonKeysThan(b.text, limit) });
  });
  let j = 0;
  const decideOnly = (() => {
    const requests = bodies.map((b) => decodeReview(parseReviewJson(b.text)));
    return measure('decide only (pre-decoded)', iterations, () => {
      decide({ request: requests[j++ % requests.length]!, policy, now, grantsFor: () => [] });
    });
  })();
  const data: Record<string, string> = {};
  for (let k = 0; k < 1536; k += 1) data[`key-${k}`] = 'v'.repeat(1000);
  const changed = { ...data, 'key-10': 'changed' };
  const cm = (d: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big', namespace: 'prod' }, data: d });
  const bigBody = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'big', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' },
      name: 'big', namespace: 'prod', operation: 'UPDATE', userInfo: { username: 'alice', groups: [] },
      object: { ...cm(changed), metadata: { name: 'big', namespace: 'prod', annotations: { 'argocd.argoproj.io/tracking-id': 'a:/ConfigMap:prod/big' } } },
      oldObject: { ...cm(data), metadata: { name: 'big', namespace: 'prod', annotations: { 'argocd.argoproj.io/tracking-id': 'a:/ConfigMap:prod/big' } } },
    },
  });
  const big = measure(`1.5 MiB ConfigMap update (${(bigBody.length / 1048576).toFixed(2)} MiB body): parse+decode+decide`, 200, () => {
    decide({ request: decodeReview(parseReviewJson(bigBody)), policy, now, grantsFor: () => [], moreKeysThan: (limit) => moreJsonKeysThan(bigBody, limit) });
  });
  const bigDiff = measure('1.5 MiB ConfigMap: diff alone', 200, () => {
    diffObjects(cm(data), cm(changed), { mergeKeys: NO_MERGE_KEYS, skipRuntime: true });
  });
  return [perReview, decideOnly, big, bigDiff];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const line = (r: ReturnType<typeof measure>) =>
    console.log(`${r.label.padEnd(80)} mean ${r.meanUs.toFixed(1).padStart(8)} µs  p50 ${r.p50Us.toFixed(1).padStart(8)} µs  p99 ${r.p99Us.toFixed(1).padStart(8)} µs`);
  for (const r of runDecisionBench()) line(r);
  console.log('hostile requests near the body limit: npm run bench:adversarial');
}
