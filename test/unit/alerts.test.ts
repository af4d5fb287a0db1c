import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Metrics } from '../../src/metrics.ts';
import { registerGitOpsMetrics } from '../../src/gitops/health-metrics.ts';
import { examplePolicy, NOW } from '../helpers/deps.ts';

/** The metrics a server exports: the base set, the embedded journal's, and the GitOps owner gauges of cluster mode. */
function metricsWithGitOps(): Metrics {
  const m = new Metrics({ store: undefined, policy: examplePolicy, now: () => NOW, journal: () => ({ count: 0, head: '0'.repeat(64) }) }, false);
  registerGitOpsMetrics(m.registry, () => [], () => NOW);
  return m;
}

interface Rule {
  alert: string;
  expr: string;
  annotations: { runbook_url: string; summary: string };
}

describe('deploy/monitoring/prometheusrule.yaml', () => {
  const doc = parse(readFileSync(new URL('../../deploy/monitoring/prometheusrule.yaml', import.meta.url), 'utf8')) as { kind: string; spec: { groups: { rules: Rule[] }[] } };
  const rules = doc.spec.groups.flatMap((g) => g.rules);
  const runbook = readFileSync(new URL('../../docs/runbook.md', import.meta.url), 'utf8');

  it('is a PrometheusRule with the alerts the runbook describes', () => {
    assert.equal(doc.kind, 'PrometheusRule');
    assert.deepEqual(rules.map((r) => r.alert), ['DriftgateTasksOverdue', 'DriftgateBypassWithoutIncident', 'DriftgateWebhookErrors', 'DriftgateStoreErrors', 'DriftgateJournalShrank', 'DriftgateStoreTampered', 'DriftgateWebhookSlow', 'DriftgateConnectionsDropped', 'DriftgateGitOpsNotReconciling', 'DriftgateUnrecordedDrift']);
  });

  it('uses only metrics driftgate exports', async () => {
    const exported = new Set(
      (await metricsWithGitOps().registry.getMetricsAsJSON()).map((m) => m.name),
    );
    for (const r of rules) {
      for (const name of r.expr.match(/driftgate_[a-z_]+/g) ?? []) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        assert.ok(exported.has(base), `${r.alert} uses ${name}, which driftgate does not export`);
      }
    }
  });

  it('links every alert to a section of the runbook', () => {
    for (const r of rules) {
      const anchor = /^docs\/runbook\.md#([a-z-]+)$/.exec(r.annotations.runbook_url)?.[1];
      assert.ok(anchor, `${r.alert}: runbook_url ${r.annotations.runbook_url}`);
      assert.match(runbook, new RegExp(`^### ${anchor}$`, 'm'), `${r.alert}: no "### ${anchor}" in docs/runbook.md`);
    }
  });
});
