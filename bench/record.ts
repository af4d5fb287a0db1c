/**
 * The bypass path's store cost (embedded journal): what recording one task costs driftgate itself.
 *
 *   node bench/record.ts [--n 40000]
 *
 * cpu: CPU time per recorded task with datasync stubbed out (the code's own work: JSON, the keyed
 * chain, the write), 64 records in flight. durable: the real store on this machine's temp disk,
 * one record at a time (latency, fdatasync-bound) and 64 in flight (group commit). replay: opening the
 * journal written above. Nothing here is a test: no thresholds, only numbers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { KeyRing } from '../src/keys/key-ring.ts';
import { createLogger } from '../src/log.ts';
import { EmbeddedStore } from '../src/store/embedded-store.ts';
import type { OpenAppend } from '../src/store/journal.ts';
import type { TaskDraft } from '../src/tasks/task.ts';
import { percentile } from './stats.ts';

const { values: args } = parseArgs({ options: { n: { type: 'string', default: '40000' } } });
const N = Number(args.n);
const logger = createLogger('silent');

const draft = (uid: string): TaskDraft => ({
  grantId: 'g-1',
  incident: 'INC-1',
  writer: { username: 'alice', groups: ['oncall'] },
  operation: 'UPDATE',
  object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'prod', name: 'api', uid: 'u-1' },
  owner: 'argocd/payments',
  changes: [{ path: 'spec.template.spec.containers[name=api].resources.limits.memory', before: '512Mi', after: '2Gi', declaredInGit: true }],
  admissionUid: uid,
  recordedAt: new Date().toISOString(),
});

async function concurrently(store: EmbeddedStore, n: number, tag: string): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < n) await store.recordBypass(draft(`${tag}-${next++}`));
  }));
}

const noSync: OpenAppend = async (file) => {
  const fh = await open(file, 'r+');
  return { write: (b, o, l, p) => fh.write(b, o, l, p), datasync: async () => undefined, truncate: (l) => fh.truncate(l), close: () => fh.close() };
};

async function withStore<T>(openFile: OpenAppend | undefined, fn: (s: EmbeddedStore, dir: string, keys: KeyRing) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'driftgate-bench-record-'));
  try {
    const keys = await KeyRing.load(join(dir, 'keys'));
    const store = await EmbeddedStore.open(dir, keys, logger, () => new Date(), openFile ? { openFile } : {});
    return await fn(store, dir, keys);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cpu = await withStore(noSync, async (store) => {
  await concurrently(store, 5000, 'warm');
  const c0 = process.cpuUsage();
  await concurrently(store, N, 'm');
  const c = process.cpuUsage(c0);
  await store.close();
  return (c.user + c.system) / N;
});

const durable = await withStore(undefined, async (store, dir, keys) => {
  const lat: number[] = [];
  for (let i = 0; i < 1500; i += 1) {
    const t = performance.now();
    await store.recordBypass(draft(`s-${i}`));
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  const t0 = performance.now();
  await concurrently(store, N, 'c');
  const perSecond = N / ((performance.now() - t0) / 1000);
  await store.close();
  const r0 = performance.now();
  const again = await EmbeddedStore.open(dir, keys, logger);
  const replayMs = performance.now() - r0;
  await again.close();
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), perSecond, replayMs, records: N + 1500 };
});

console.log(`CPU per recorded task (datasync stubbed): ${cpu.toFixed(1)} µs`);
console.log(`one at a time (fdatasync each): p50 ${durable.p50.toFixed(2)} ms, p99 ${durable.p99.toFixed(2)} ms`);
console.log(`64 in flight (group commit): ${Math.round(durable.perSecond)} tasks/s`);
console.log(`replay of ${durable.records} records at start: ${Math.round(durable.replayMs)} ms`);
