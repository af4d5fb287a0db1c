/**
 * The scan at scale (issue 14): 10,000 objects (Deployments with real managedFields, ConfigMaps,
 * Secrets) in the API test double, 1 % of them drifted, scanned with paged lists. The scan runs in its
 * own process so its peak RSS is its own; the double (holding every object) stays in this one. Run at
 * two sizes: if memory follows pages and drift, not the cluster, the peaks stay close.
 *
 *   node bench/scan.ts [--objects 10000] [--page-size 500]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import type { KubeObject } from '../src/admission/types.ts';
import { fixtureJson } from '../test/helpers/reviews.ts';
import { FakeApiServer } from '../test/k8s/fake-apiserver.ts';

const NAMESPACES = 10;
const POLICY = `protectedNamespaces: [${Array.from({ length: NAMESPACES }, (_, i) => `bench-${i}`).join(', ')}]`;

export interface ScanFigures {
  readonly objects: number;
  readonly pageSize: number;
  readonly seconds: number;
  readonly objectsPerSecond: number;
  readonly peakRssMiB: number;
  /** RSS once the scan's modules are loaded, before it lists anything */
  readonly baseRssMiB: number;
  /** live heap after a full GC: before the first list, and the most seen every 10 pages during the scan */
  readonly heapBeforeMiB: number;
  readonly heapMaxMiB: number;
  readonly unrecorded: number;
  readonly orphans: number;
  readonly drifted: number;
}

/** The captured Argo CD Deployment alice edited by hand (10 hand-written fields), and its clean twin. */
function deployments(): { drifted: KubeObject; clean: KubeObject } {
  const drifted = fixtureJson('23-alice-delete-deployment.json').request.oldObject as KubeObject;
  const md = drifted.metadata!;
  const clean = {
    ...structuredClone(drifted),
    metadata: { ...structuredClone(md), managedFields: md.managedFields!.filter((e) => e.manager === 'argocd-controller' || e.subresource === 'status').map((e) => (e.subresource === 'status' ? { ...e, manager: 'kube-controller-manager' } : e)) },
  };
  return { drifted, clean };
}

function named(o: KubeObject, ns: string, name: string, uid: number): KubeObject {
  return { ...o, metadata: { ...o.metadata, namespace: ns, name, uid: `00000000-0000-4000-8000-${String(uid).padStart(12, '0')}` } } as KubeObject;
}

const tracked = (ns: string, kind: string, name: string) => ({ 'argocd.argoproj.io/tracking-id': `bench:/${kind}:${ns}/${name}` });
const argoEntry = (fieldsV1: object) => ({ manager: 'argocd-controller', operation: 'Apply', apiVersion: 'v1', time: '2026-11-24T21:32:32Z', fieldsType: 'FieldsV1', fieldsV1 });
const editEntry = (fieldsV1: object) => ({ manager: 'kubectl-edit', operation: 'Update', apiVersion: 'v1', time: '2026-11-24T22:00:00Z', fieldsType: 'FieldsV1', fieldsV1 });

/** 40 % Deployments, 30 % ConfigMaps, 30 % Secrets; every 100th object drifted (a hand edit, or made by hand). */
export function seedCluster(api: FakeApiServer, total: number): number {
  const { drifted, clean } = deployments();
  const payload = 'x'.repeat(512);
  let drift = 0;
  for (let i = 0; i < total; i += 1) {
    const ns = `bench-${i % NAMESPACES}`;
    const bad = (i * 7919) % 1000 < 10; // 1 %, spread over every kind
    if (bad) drift += 1;
    const slot = i % 10;
    if (slot < 4) {
      api.put('deployments', named(bad ? drifted : clean, ns, `api-${i}`, i) as never);
    } else if (slot < 7) {
      const name = `cfg-${i}`;
      const md = bad
        ? { managedFields: [{ manager: 'kubectl-create', operation: 'Update', apiVersion: 'v1', time: '2026-11-24T22:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:LOG_LEVEL': {} } } }] }
        : { annotations: tracked(ns, 'ConfigMap', name), managedFields: [argoEntry({ 'f:data': { 'f:LOG_LEVEL': {}, 'f:payload': {} }, 'f:metadata': { 'f:annotations': { 'f:argocd.argoproj.io/tracking-id': {} } } })] };
      api.put('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, uid: `cfg-${i}`, ...md }, data: { LOG_LEVEL: 'info', payload } });
    } else {
      const name = `sec-${i}`;
      const entries = [argoEntry({ 'f:type': {}, 'f:metadata': { 'f:annotations': { 'f:argocd.argoproj.io/tracking-id': {} } }, ...(bad ? {} : { 'f:data': { 'f:password': {} } }) }), ...(bad ? [editEntry({ 'f:data': { '.': {}, 'f:password': {} } })] : [])];
      api.put('secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns, uid: `sec-${i}`, annotations: tracked(ns, 'Secret', name), managedFields: entries }, type: 'Opaque', data: { password: Buffer.from(`pw-${i}`).toString('base64'), payload: Buffer.from(payload).toString('base64') } });
    }
  }
  return drift;
}

/** In the child: one scan of the double at `server`, timed; prints its figures as JSON. */
async function child(server: string, pageSize: number): Promise<void> {
  const [{ runScan }, { livePages }, { DEFAULT_KINDS, DEFAULT_CONTROLLER_MANAGERS }, { parsePolicy }, { KubeConfig }] = await Promise.all([
    import('../src/scan/run.ts'),
    import('../src/scan/live-source.ts'),
    import('../src/scan/kinds.ts'),
    import('../src/policy/load.ts'),
    import('@kubernetes/client-node'),
  ]);
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'b', server, skipTLSVerify: true }], users: [{ name: 'b', token: 't' }], contexts: [{ name: 'b', cluster: 'b', user: 'b' }], currentContext: 'b' });
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `bench-${i}`);
  const gc = globalThis.gc!; // the child runs with --expose-gc
  const liveHeap = () => {
    gc();
    return process.memoryUsage().heapUsed / 2 ** 20;
  };
  const heapBeforeMiB = liveHeap();
  const baseRssMiB = process.memoryUsage().rss / 2 ** 20;
  let heapMaxMiB = heapBeforeMiB;
  let pages = 0;
  let gcMs = 0;
  const sample = () => {
    if (++pages % 10 !== 0) return;
    const g = performance.now();
    heapMaxMiB = Math.max(heapMaxMiB, liveHeap());
    gcMs += performance.now() - g;
  };
  const t = performance.now();
  const r = await runScan({ pages: livePages(kc, DEFAULT_KINDS, namespaces, pageSize), source: 'bench', policy: parsePolicy(POLICY, 'bench'), controllerManagers: new Set(DEFAULT_CONTROLLER_MANAGERS), namespaces: new Set(namespaces), now: new Date(), progress: sample });
  const seconds = (performance.now() - t - gcMs) / 1000; // the sampling GCs are the bench's, not the scan's
  heapMaxMiB = Math.max(heapMaxMiB, liveHeap());
  process.stdout.write(JSON.stringify({ seconds, scanned: r.summary.objectsScanned, unrecorded: r.summary.findings.unrecorded, orphans: r.summary.objects.orphan, drifted: r.objects.length, peakRssMiB: process.resourceUsage().maxRSS / 1024, baseRssMiB, heapBeforeMiB, heapMaxMiB }));
}

export async function runScanBench(total: number, pageSize = 500, nodeFlags: readonly string[] = []): Promise<ScanFigures> {
  const api = new FakeApiServer();
  const server = await api.start();
  try {
    seedCluster(api, total);
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, ['--expose-gc', ...nodeFlags, fileURLToPath(import.meta.url), '--child', server, '--page-size', String(pageSize)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      p.stdout.on('data', (d: Buffer) => (text += d.toString()));
      p.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`scan child exited ${code}`))));
    });
    const r = JSON.parse(out) as { seconds: number; scanned: number; unrecorded: number; orphans: number; drifted: number; peakRssMiB: number; baseRssMiB: number; heapBeforeMiB: number; heapMaxMiB: number };
    return { objects: r.scanned, pageSize, seconds: r.seconds, objectsPerSecond: r.scanned / r.seconds, peakRssMiB: r.peakRssMiB, baseRssMiB: r.baseRssMiB, heapBeforeMiB: r.heapBeforeMiB, heapMaxMiB: r.heapMaxMiB, unrecorded: r.unrecorded, orphans: r.orphans, drifted: r.drifted };
  } finally {
    await api.stop();
  }
}

export function scanLine(f: ScanFigures): string {
  return `${String(f.objects).padStart(6)} objects, pages of ${f.pageSize}: ${f.seconds.toFixed(2)} s (${Math.round(f.objectsPerSecond)} objects/s), live heap ${f.heapBeforeMiB.toFixed(0)} → max ${f.heapMaxMiB.toFixed(0)} MiB, peak RSS ${f.peakRssMiB.toFixed(0)} MiB (${f.baseRssMiB.toFixed(0)} before the first list); ${f.drifted} drifted objects, ${f.unrecorded} unrecorded findings, ${f.orphans} orphans`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { child: { type: 'string' }, objects: { type: 'string', default: '10000' }, 'page-size': { type: 'string', default: '500' } } });
  if (values.child) {
    await child(values.child, Number(values['page-size']));
  } else {
    const total = Number(values.objects);
    console.log('driftgate scan against the API double (scan in its own process):');
    for (const n of [Math.round(total / 5), total]) console.log(`  ${scanLine(await runScanBench(n, Number(values['page-size'])))}`);
  }
}
