import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import type { KubeObject } from '../../src/admission/types.ts';
import type { Authenticator } from '../../src/auth/authenticator.ts';
import { DriftgateError } from '../../src/errors.ts';
import { argoHealth, fluxHealth, syncedSince } from '../../src/gitops/health.ts';
import { ownerStatuses, renderOwnerStatuses } from '../../src/gitops/owner-status.ts';
import { ownersApi } from '../../src/http/api/owners-api.ts';
import { errorHandler } from '../../src/http/errors.ts';

const argo = (status: Record<string, unknown>, annotations: Record<string, string> = {}, namespace = 'argocd'): KubeObject =>
  ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'api', namespace, annotations }, status }) as KubeObject;
const flux = (kind: string, ready: string | undefined, suspend = false): KubeObject =>
  ({
    apiVersion: 'x/v1',
    kind,
    metadata: { name: 'apps', namespace: 'flux-system' },
    spec: { suspend },
    status: { lastAppliedRevision: 'main@sha1:abc', conditions: ready ? [{ type: 'Ready', status: ready, reason: 'BuildFailed', message: 'kustomize build failed', lastTransitionTime: '2026-11-24T10:00:00Z' }] : [] },
  }) as KubeObject;

describe('GitOps delivery health', () => {
  const table: [string, KubeObject, { ready: boolean; reason?: RegExp; owner?: string }][] = [
    ['an Argo CD app synced and healthy is reconciling', argo({ sync: { status: 'Synced' }, health: { status: 'Healthy' }, operationState: { phase: 'Succeeded', finishedAt: '2026-11-24T11:00:00Z' } }), { ready: true, owner: 'argocd/api' }],
    ['an Argo CD app out of sync is not', argo({ sync: { status: 'OutOfSync' }, health: { status: 'Healthy' } }), { ready: false, reason: /sync status OutOfSync/ }],
    ['an Argo CD app whose last sync failed is not', argo({ sync: { status: 'Synced' }, health: { status: 'Healthy' }, operationState: { phase: 'Failed', message: 'ComparisonError' } }), { ready: false, reason: /last sync Failed: ComparisonError/ }],
    ['an Argo CD app degraded is not', argo({ sync: { status: 'Synced' }, health: { status: 'Degraded' } }), { ready: false, reason: /health Degraded/ }],
    ['an Argo CD app with skip-reconcile is suspended', argo({ sync: { status: 'Synced' }, health: { status: 'Healthy' } }, { 'argocd.argoproj.io/skip-reconcile': 'true' }), { ready: false, reason: /skip-reconcile/ }],
    ['an Argo CD app with no status yet is not known to reconcile', argo({}), { ready: false, reason: /no sync status/ }],
    ['an app in another namespace is named as Argo CD tracks it', argo({ sync: { status: 'Synced' }, health: { status: 'Healthy' } }, {}, 'team-a'), { ready: true, owner: 'argocd/team-a/api' }],
    ['a Flux Kustomization Ready=True is reconciling', flux('Kustomization', 'True'), { ready: true, owner: 'flux-kustomization/flux-system/apps' }],
    ['a Flux Kustomization Ready=False is not, with the reason', flux('Kustomization', 'False'), { ready: false, reason: /BuildFailed kustomize build failed/ }],
    ['a suspended HelmRelease is not', flux('HelmRelease', 'True', true), { ready: false, reason: /suspended/, owner: 'flux-helmrelease/flux-system/apps' }],
  ];
  for (const [name, o, want] of table) {
    it(name, () => {
      const h = o.kind === 'Application' ? argoHealth(o) : fluxHealth(o);
      assert.equal(h?.ready, want.ready);
      if (want.reason) assert.match(h?.reason ?? '', want.reason);
      if (want.owner) assert.equal(h?.owner, want.owner);
    });
  }
  it('says whether the owner synced after a task was recorded', () => {
    const h = argoHealth(argo({ sync: { status: 'Synced' }, health: { status: 'Healthy' }, operationState: { phase: 'Succeeded', finishedAt: '2026-11-24T11:00:00Z' } }));
    assert.equal(syncedSince(h, '2026-11-24T10:59:00Z'), true);
    assert.equal(syncedSince(h, '2026-11-24T11:01:00Z'), false);
    assert.equal(syncedSince(undefined, '2026-11-24T11:01:00Z'), undefined);
  });
});

describe('owner status', () => {
  const health = [argoHealth(argo({ sync: { status: 'OutOfSync' }, health: { status: 'Healthy' } }))!];
  const rows = ownerStatuses(health, [
    { owner: 'argocd/api', grantId: 'g-1' },
    { owner: 'argocd/api', source: 'detected' },
    { owner: 'flux-kustomization/flux-system/apps', grantId: 'g-2' },
  ]);
  it('counts pending tasks and detected drift per owner, with owners that have only tasks', () => {
    assert.deepEqual(rows.map((r) => [r.owner, r.pendingTasks, r.unrecordedDrift, r.ready]), [
      ['argocd/api', 2, 1, false],
      ['flux-kustomization/flux-system/apps', 1, 0, undefined],
    ]);
  });
  it('renders a table with headers and says why an owner is not reconciling', () => {
    const text = renderOwnerStatuses(rows, true);
    assert.match(text.split('\n')[0]!, /^OWNER\s+KIND\s+SYNCED\s+HEALTHY/);
    assert.match(text, /argocd\/api\s+Application\s+no\s+yes.*not reconciling: sync status OutOfSync/);
    assert.match(text, /health unknown \(not watched\)/);
  });

  const auth: Authenticator = {
    dev: false,
    description: 'test',
    authenticate: async (h) => {
      if (h !== 'Bearer good') throw new DriftgateError('UNAUTHENTICATED', 'token rejected');
      return { username: 'auditor', groups: ['auditors'] };
    },
  } as Authenticator;
  const app = express().use(ownersApi({ authenticator: auth, pendingTasks: () => [{ owner: 'argocd/api', grantId: 'g' }], health: () => health })).use(errorHandler);
  it('serves GET /v1/owners to an authenticated caller, narrowed by ?owner=', async () => {
    const r = await request(app).get('/v1/owners?owner=argocd%2Fapi').set('authorization', 'Bearer good').expect(200);
    assert.equal(r.body.watching, true);
    assert.deepEqual(r.body.items.map((i: { owner: string }) => i.owner), ['argocd/api']);
  });
  it('refuses GET /v1/owners without a valid token', async () => {
    const r = await request(app).get('/v1/owners').set('authorization', 'Bearer bad').expect(401);
    assert.equal(r.body.error.code, 'UNAUTHENTICATED');
  });
});
