import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { unrecordedDrift } from '../../src/notify/drift.ts';
import type { ScanResult } from '../../src/scan/types.ts';

const ref = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'prod', name });

describe('notifications: drift from a scan', () => {
  it('announces each object with unrecorded guarded drift: paths, owner and writers, never values', () => {
    const result = {
      scannedAt: '2026-11-24T12:00:00Z',
      source: 'live',
      summary: {} as ScanResult['summary'],
      objects: [
        {
          object: ref('api'),
          owner: 'argocd/payments',
          findings: [
            { category: 'guarded', path: 'spec.replicas', live: 5, recorded: false, writer: { manager: 'kubectl-scale', operation: 'Update' } },
            { category: 'guarded', path: 'spec.template.spec.containers[name=api].image', live: 'evil:1', recorded: false, writer: { manager: 'kubectl-set', operation: 'Update' } },
            { category: 'guarded', path: 'metadata.labels.tier', recorded: true, taskId: 't-1' },
            { category: 'delegated', path: 'spec.paused' },
          ],
        },
        { object: ref('web'), findings: [{ category: 'guarded', path: 'spec.replicas', recorded: true }] },
        { object: ref('orphan'), findings: [{ category: 'orphan', path: '(object)' }] },
      ],
    } as unknown as ScanResult;
    const found = unrecordedDrift(result);
    assert.deepEqual(found, [
      {
        namespace: 'prod',
        kind: 'Deployment',
        name: 'api',
        owner: 'argocd/payments',
        paths: ['spec.replicas', 'spec.template.spec.containers[name=api].image'],
        writers: ['kubectl-scale', 'kubectl-set'],
      },
    ]);
    assert.ok(!JSON.stringify(found).includes('evil:1'));
  });
});
