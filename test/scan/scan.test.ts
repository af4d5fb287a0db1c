import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../src/log.ts';
import { KeyRing } from '../../src/keys/key-ring.ts';
import { EmbeddedStore } from '../../src/store/embedded-store.ts';
import { formatPath } from '../../src/admission/field-path.ts';
import { leafPaths } from '../../src/scan/attribution.ts';
import { DesiredIndex } from '../../src/scan/desired.ts';
import { DEFAULT_CONTROLLER_MANAGERS } from '../../src/scan/kinds.ts';
import { renderScan } from '../../src/scan/render.ts';
import { scanCommand, type ScanOptions } from '../../src/scan/command.ts';
import { runScan } from '../../src/scan/run.ts';
import type { Finding, ScanResult } from '../../src/scan/types.ts';
import type { KubeObject } from '../../src/admission/types.ts';
import type { Policy } from '../../src/policy/policy.ts';
import type { TaskDraft } from '../../src/tasks/task.ts';
import { verifyTasks } from '../../src/drift/verify.ts';
import { renderTask, taskTable } from '../../src/cli/render.ts';
import { secretHash } from '../../src/admission/redact.ts';
import { examplePolicy, NOW, policyFrom } from '../helpers/deps.ts';
import { tempDir } from '../helpers/tmp.ts';
import {
  argoDeploymentEditedByHand,
  argoSecretEditedByHand,
  fluxDeploymentWithHpaAndHotfix,
  handMadeConfigMap,
  handMadeSecret,
  rootCaConfigMap,
  SECRET_BASE64,
  SECRET_PLAIN,
  list,
} from './objects.ts';

type Store = Awaited<ReturnType<typeof EmbeddedStore.open>>;
const CONTROLLERS = new Set(DEFAULT_CONTROLLER_MANAGERS);

function scan(objects: KubeObject[], o: { policy?: Policy; desired?: KubeObject[]; store?: Store; record?: boolean; key?: Uint8Array } = {}): Promise<ScanResult> {
  return runScan({
    pages: [{ items: objects }],
    source: 'test',
    policy: o.policy ?? examplePolicy(),
    controllerManagers: CONTROLLERS,
    ...(o.desired ? { desired: new DesiredIndex(o.desired.map((object) => ({ object, source: 'git' }))) } : {}),
    ...(o.store ? { tasks: o.store } : {}),
    ...(o.store && o.record ? { record: o.store } : {}),
    ...(o.key ? { secretHashKey: o.key } : {}),
    now: NOW,
  });
}

const findings = (r: ScanResult, name: string): readonly Finding[] => r.objects.find((x) => x.object.name === name)?.findings ?? [];
const byPath = (fs: readonly Finding[]) => Object.fromEntries(fs.map((f) => [f.path, f]));

async function openStore(dir = tempDir()): Promise<Store> {
  return EmbeddedStore.open(dir, await KeyRing.load(join(dir, 'keys'), NOW), createLogger('silent'), () => NOW);
}

describe('managedFields attribution', () => {
  it('turns a FieldsV1 set into leaf paths, list items by merge key', () => {
    const set = argoDeploymentEditedByHand().metadata!.managedFields!.find((e) => e.manager === 'kubectl-set')!.fieldsV1!;
    assert.deepEqual(leafPaths(set).map(formatPath), [
      'spec.template.spec.containers[name=api].image',
      'spec.template.spec.containers[name=api].resources.limits.cpu',
      'spec.template.spec.containers[name=api].resources.limits.memory',
      'spec.template.spec.containers[name=api].resources.requests.cpu',
      'spec.template.spec.containers[name=api].resources.requests.memory',
    ]);
  });

  it('keeps prototype-named keys as data: a field and a merge key called __proto__', () => {
    const set = JSON.parse('{"f:metadata":{"f:labels":{"f:__proto__":{}}},"f:spec":{"f:ports":{"k:{\\"__proto__\\":\\"x\\"}":{".":{}}}}}') as Record<string, unknown>;
    assert.deepEqual(leafPaths(set).map(formatPath), ['metadata.labels.__proto__', 'spec.ports[__proto__=x]']);
  });

  it('treats an atomic field, a set (v:) and an indexed list (i:) as one leaf', () => {
    const set = { 'f:spec': { 'f:selector': {}, 'f:finalizers': { 'v:"a"': {} }, 'f:args': { 'i:0': {} } } };
    assert.deepEqual(leafPaths(set).map(formatPath), ['spec.selector', 'spec.finalizers', 'spec.args']);
  });
});

describe('unrecorded drift from managedFields', () => {
  it('reports every hand-written field of an Argo CD object with its manager, operation and time', async () => {
    const r = await scan([argoDeploymentEditedByHand()]);
    const fs = byPath(findings(r, 'api'));
    const cases: [string, string, string, string | undefined][] = [
      ['spec.replicas', 'kubectl', 'scale', undefined], // kubectl scale: a scale-subresource entry without a time
      ['spec.revisionHistoryLimit', 'kubectl-edit', '', '2026-11-24T21:32:34Z'],
      ['spec.template.metadata.annotations[oncall/reason]', 'kubectl-patch', '', '2026-11-24T21:32:34Z'],
      ['metadata.annotations[oncall/ticket]', 'kubectl-annotate', '', '2026-11-24T21:32:36Z'],
      ['spec.template.spec.containers[name=api].image', 'kubectl-set', '', '2026-11-24T21:32:36Z'],
      ['metadata.labels.tier', 'kubectl-label', '', '2026-11-24T21:32:37Z'],
    ];
    for (const [path, manager, subresource, time] of cases) {
      const f = fs[path];
      assert.ok(f, `${path} reported`);
      assert.equal(f.category, 'guarded', path);
      assert.equal(f.recorded, false, path);
      assert.equal(f.writer?.manager, manager, path);
      assert.equal(f.writer?.operation, 'Update', path);
      assert.equal(f.writer?.subresource ?? '', subresource, path);
      assert.equal(f.writer?.time, time, path);
    }
    assert.equal(fs['spec.template.spec.containers[name=api].image']!.live, 'registry.example.com/api:1.3.0');
  });

  it('leaves out Git\'s fields, status (a status-subresource entry) and the rollout-restart allowance', async () => {
    const r = await scan([argoDeploymentEditedByHand()]);
    const fs = byPath(findings(r, 'api'));
    assert.equal(fs['spec.template.metadata.annotations[kubectl.kubernetes.io/restartedAt]']?.category, 'allowance');
    for (const p of Object.keys(fs)) assert.ok(!p.startsWith('status') && p !== 'metadata.labels.app' && !p.startsWith('spec.selector'), p);
    assert.equal(r.summary.findings.unrecorded, 10);
  });

  it('delegates the HPA\'s scale entry and keeps Flux\'s Apply fields, but reports a client-side apply over them', async () => {
    const r = await scan([fluxDeploymentWithHpaAndHotfix()]);
    const fs = byPath(findings(r, 'web'));
    assert.equal(fs['spec.replicas']?.category, 'delegated');
    assert.equal(fs['spec.replicas']?.rule, 'hpa-replicas');
    assert.equal(fs['spec.template.spec.containers[name=api].image']?.category, 'guarded');
    assert.equal(fs['spec.template.spec.containers[name=api].image']?.writer?.manager, 'kubectl-client-side-apply');
    assert.deepEqual(Object.keys(fs).sort(), ['spec.replicas', 'spec.template.spec.containers[name=api].image']);
    assert.match(r.objects[0]!.owner!, /Flux Kustomization flux-system\/apps/);
  });

  it('reports a hand scale (kubectl, /scale) as drift even where the HPA is delegated', async () => {
    const r = await scan([argoDeploymentEditedByHand()]);
    assert.equal(byPath(findings(r, 'api'))['spec.replicas']?.category, 'guarded');
  });

  it('calls a field only a cluster controller owns controller-managed, not drift', async () => {
    const policy = policyFrom('protectedNamespaces: [prod]\ndelegations: []');
    const r = await scan([fluxDeploymentWithHpaAndHotfix()], { policy });
    const f = byPath(findings(r, 'web'))['spec.replicas'];
    assert.equal(f?.category, 'runtime');
    assert.equal(f?.rule, 'controller kube-controller-manager');
  });

  it('reports a hand-written label named __proto__ like any other', async () => {
    const o = JSON.parse(JSON.stringify(argoDeploymentEditedByHand()).replace('"tier":"backend"', '"__proto__":"backend"').replace('"f:tier":{}', '"f:__proto__":{}')) as KubeObject;
    const f = byPath(findings(await scan([o]), 'api'))['metadata.labels.__proto__'];
    assert.deepEqual([f?.category, f?.live, f?.writer?.manager], ['guarded', 'backend', 'kubectl-label']);
  });

  it('hashes Secret values: the password never appears in text, Markdown or JSON', async () => {
    const r = await scan([argoSecretEditedByHand(), handMadeSecret()]);
    const f = byPath(findings(r, 'db'))['data.password'];
    assert.equal(f?.category, 'guarded');
    assert.match(String(f?.live), /^<secret [a-z0-9-]+:[0-9a-f]+>$/);
    for (const format of ['text', 'markdown', 'json'] as const) {
      const out = renderScan(r, format, true);
      assert.ok(!out.includes(SECRET_PLAIN) && !out.includes(SECRET_BASE64), `${format} shows the secret`);
    }
  });
});

describe('orphans', () => {
  const cases: [string, KubeObject, boolean][] = [
    ['a ConfigMap made with kubectl create', handMadeConfigMap(), true],
    ['a Secret made with kubectl create', handMadeSecret(), true],
    ['the namespace controller\'s kube-root-ca.crt', rootCaConfigMap(), false],
    ['an object with a controller ownerReference', { ...handMadeConfigMap(), metadata: { ...handMadeConfigMap().metadata, ownerReferences: [{ controller: true, kind: 'X', name: 'x' }] } }, false],
    ['an object in an unprotected namespace', rootCaConfigMap('dev'), false],
  ];
  for (const [name, obj, orphan] of cases) {
    it(`${orphan ? 'reports' : 'does not report'} ${name}`, async () => {
      const r = await scan([obj]);
      assert.equal(r.summary.objects.orphan, orphan ? 1 : 0);
      if (orphan) assert.deepEqual([r.objects[0]!.findings[0]!.writer?.manager, r.objects[0]!.findings[0]!.writer?.time?.slice(0, 18)], ['kubectl-create', '2026-11-24T21:32:4']);
    });
  }

  it('has no orphans where the policy allows unmanaged creates', async () => {
    const r = await scan([handMadeConfigMap()], { policy: policyFrom('protectedNamespaces: [prod]\nunmanagedCreates: allow') });
    assert.equal(r.summary.objects.orphan, 0);
  });
});

describe('scan --desired: every difference from Git, in diff\'s vocabulary', () => {
  const git = () => {
    const o = structuredClone(argoDeploymentEditedByHand()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    o.spec.revisionHistoryLimit = 10;
    o.spec.template.spec.containers[0].image = 'registry.example.com/api:1.3.0';
    o.spec.template.spec.containers[0].env = [{ name: 'MODE', value: 'new-in-git' }];
    delete o.metadata.labels.tier;
    delete o.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'];
    delete o.metadata.managedFields;
    delete o.status;
    return o as KubeObject;
  };

  it('classifies and attributes each difference, and names missing and orphan objects', async () => {
    const missing: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'worker', namespace: 'prod' }, spec: {} };
    const r = await scan([argoDeploymentEditedByHand(), handMadeConfigMap()], { desired: [git(), missing] });
    const fs = byPath(findings(r, 'api'));
    assert.deepEqual([fs['spec.revisionHistoryLimit']?.category, fs['spec.revisionHistoryLimit']?.git, fs['spec.revisionHistoryLimit']?.live, fs['spec.revisionHistoryLimit']?.writer?.manager], ['guarded', 10, 7, 'kubectl-edit']);
    assert.equal(fs['metadata.labels.tier']?.writer?.manager, 'kubectl-label');
    assert.equal(fs['spec.template.spec.containers[name=api].image'], undefined, 'equal to Git: no difference');
    assert.equal(fs['spec.template.metadata.annotations[kubectl.kubernetes.io/restartedAt]']?.category, 'allowance');
    assert.ok(Object.values(fs).some((f) => f.path.startsWith('status.') && f.category === 'runtime'));
    assert.equal(findings(r, 'worker')[0]?.category, 'missing');
    assert.equal(findings(r, 'api-config')[0]?.category, 'orphan');
  });

  it('marks a difference Git\'s own manager wrote as not synced (a delivery failure), not a hand edit', async () => {
    const g = git() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    g.metadata.labels.team = 'payments';
    const r = await scan([argoDeploymentEditedByHand()], { desired: [g as KubeObject] });
    const f = byPath(findings(r, 'api'))['metadata.labels.team'];
    assert.equal(f?.writer?.manager, 'argocd-controller');
    assert.equal(f?.recorded, undefined);
    assert.match(f!.note!, /not synced yet/);
  });
});

describe('into the loop: recorded and unrecorded drift, scan --record', () => {
  const bypass = (path: string, after: unknown): TaskDraft => ({
    grantId: 'g-1',
    writer: { username: 'alice', groups: ['oncall'] },
    operation: 'UPDATE',
    object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'prod', name: 'api' },
    owner: 'manager/argocd-controller',
    changes: [{ path, before: 3, after }],
    admissionUid: 'adm-1',
    recordedAt: NOW.toISOString(),
  });

  it('calls drift a bypass task recorded "recorded", with the task id', async () => {
    const store = await openStore();
    const { id } = await store.recordBypass(bypass('spec.revisionHistoryLimit', 7));
    const fs = byPath(findings(await scan([argoDeploymentEditedByHand()], { store }), 'api'));
    assert.deepEqual([fs['spec.revisionHistoryLimit']?.recorded, fs['spec.revisionHistoryLimit']?.taskId], [true, id]);
    assert.equal(fs['metadata.labels.tier']?.recorded, false);
    await store.close();
  });

  it('does not count a task whose value differs from live', async () => {
    const store = await openStore();
    await store.recordBypass(bypass('spec.revisionHistoryLimit', 6));
    assert.equal(byPath(findings(await scan([argoDeploymentEditedByHand()], { store }), 'api'))['spec.revisionHistoryLimit']?.recorded, false);
    await store.close();
  });

  it('records each write once: detected tasks with the manager as evidence, the same ids across runs and restarts', async () => {
    const dir = tempDir();
    let store = await openStore(dir);
    const objects = () => [argoDeploymentEditedByHand(), argoSecretEditedByHand(), handMadeConfigMap()];
    const first = await scan(objects(), { store, record: true });
    const ids = [...first.recordedTasks!].sort();
    // one task per managedFields entry with unrecorded fields (6 on api, 1 on db) plus the orphan
    assert.equal(ids.length, 8);
    const tasks = store.listTasks({});
    assert.equal(tasks.length, 8);
    assert.ok(tasks.every((t) => t.source === 'detected' && t.grantId === ''));
    const set = tasks.map((t) => store.getTask(t.id)!).find((t) => t.detectedWrite?.manager === 'kubectl-set')!;
    assert.deepEqual(set.detectedWrite, { manager: 'kubectl-set', operation: 'Update', time: '2026-11-24T21:32:36Z' });
    assert.equal(set.writer.username, 'field-manager:kubectl-set');
    assert.equal(set.changes.length, 5);
    assert.equal(store.listTasks({}).find((t) => t.kind === 'ConfigMap') && store.getTask(store.listTasks({}).find((t) => t.kind === 'ConfigMap')!.id)!.operation, 'CREATE');

    const again = await scan(objects(), { store, record: true });
    assert.deepEqual(again.recordedTasks, [], 'nothing new the second time');
    assert.equal(again.summary.findings.unrecorded, 0);
    await store.close();
    store = await openStore(dir);
    const third = await scan(objects(), { store, record: true });
    assert.equal(third.summary.findings.recorded, first.summary.findings.unrecorded);
    assert.equal(store.listTasks({}).length, 8);
    await store.close();
  });

  it('shows a detected task with its evidence instead of a grant (tasks show, tasks list)', async () => {
    const store = await openStore();
    await scan([argoDeploymentEditedByHand()], { store, record: true });
    const summary = store.listTasks({}).find((t) => t.writer === 'field-manager:kubectl-edit')!;
    const shown = renderTask(store.getTask(summary.id)!);
    assert.match(shown, /detected: {2}drift found by driftgate scan, written by field manager kubectl-edit \(Update\) at 2026-11-24T21:32:34Z; no grant/);
    assert.match(shown, /spec\.revisionHistoryLimit {2}\[not declared in Git\]\n {6}- \(not known: found after the write\)\n {6}\+ 7/);
    assert.match(taskTable([summary]), /field-manager:kubectl-edit\s+\(detected\)/);
    await store.close();
  });

  it('matches Secret drift found with --desired across runs under the installation key, never showing the value', async () => {
    const store = await openStore();
    const key = new Uint8Array(32).fill(7);
    const git = { ...argoSecretEditedByHand(), data: { password: Buffer.from('from-git').toString('base64') } } as KubeObject;
    const first = await scan([argoSecretEditedByHand()], { desired: [git], store, record: true, key });
    const f = byPath(findings(first, 'db'))['data.password']!;
    assert.deepEqual([f.category, f.recorded, f.live], ['guarded', false, secretHash(SECRET_BASE64, key)]);
    assert.equal(f.git, secretHash(Buffer.from('from-git').toString('base64'), key));
    const again = await scan([argoSecretEditedByHand()], { desired: [git], store, record: true, key });
    assert.deepEqual([again.summary.findings.unrecorded, again.summary.findings.recorded, store.listTasks({}).length], [0, 1, 1]);
    assert.ok(!JSON.stringify(store.getTask(store.listTasks({})[0]!.id)).includes(SECRET_BASE64));
    await store.close();
  });

  it('lets tasks verify close a detected task once Git has the value (backported)', async () => {
    const store = await openStore();
    await scan([argoDeploymentEditedByHand()], { store, record: true });
    const edit = store.listTasks({}).map((t) => store.getTask(t.id)!).find((t) => t.detectedWrite?.manager === 'kubectl-edit')!;
    const git = structuredClone(argoDeploymentEditedByHand());
    const [before] = verifyTasks([edit], { desired: [{ object: { ...git, spec: { ...(git.spec as object), revisionHistoryLimit: 10 } }, source: 'git' }] });
    const [after] = verifyTasks([edit], { desired: [{ object: git, source: 'git' }] });
    assert.deepEqual([before!.verdict, after!.verdict], ['pending', 'backported']);
    await store.close();
  });
});

describe('driftgate scan (the command, in process)', () => {
  const tracked = (i: number): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `cfg-${i}`, namespace: 'prod', annotations: { 'argocd.argoproj.io/tracking-id': `payments:/ConfigMap:prod/cfg-${i}` }, managedFields: [{ manager: 'argocd-controller', operation: 'Apply', fieldsV1: { 'f:data': { 'f:k': {} } } }] },
    data: { k: String(i) },
  });
  const run = async (files: string[], extra: Partial<ScanOptions> = {}) => {
    const out = { stdout: [] as string[], stderr: [] as string[] };
    const code = await scanCommand(files, { output: 'text', pageSize: 500, storeNamespace: 'driftgate', ...extra }, { stdout: (s) => out.stdout.push(s), stderr: (s) => out.stderr.push(s) });
    return { code, ...out };
  };

  it('exit 0 on a clean dump, with progress on stderr past 1,000 objects (none with -q)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.json'), JSON.stringify(list(...Array.from({ length: 1200 }, (_, i) => tracked(i)))));
    writeFileSync(join(dir, 'b.json'), JSON.stringify(list(...Array.from({ length: 900 }, (_, i) => tracked(2000 + i)))));
    const loud = await run([join(dir, 'a.json'), join(dir, 'b.json')]);
    assert.equal(loud.code, 0);
    assert.deepEqual(loud.stderr, [`driftgate: scanned 1200 objects (now: ${join(dir, 'a.json')})`, `driftgate: scanned 2100 objects (now: ${join(dir, 'b.json')})`]);
    assert.match(loud.stdout.join('\n'), /no drift: 2100 object\(s\) scanned in 1 namespace\(s\)/);
    assert.deepEqual((await run([join(dir, 'a.json')], { quiet: true })).stderr, []);
  });

  it('exit 1 on drift, Markdown for a ticket', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'd.json'), JSON.stringify(list(argoDeploymentEditedByHand())));
    const r = await run([join(dir, 'd.json')], { output: 'markdown' });
    assert.equal(r.code, 1);
    assert.match(r.stdout.join('\n'), /^# driftgate scan: 10 unrecorded drift finding\(s\) on 1 object\(s\)/);
    assert.match(r.stdout.join('\n'), /\| UNRECORDED \| `spec\.revisionHistoryLimit` \| {2}\| `7` \| kubectl-edit \(Update\) at 2026-11-24T21:32:34Z \| {2}\|/);
  });
});
