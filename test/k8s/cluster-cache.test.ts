import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { reviewBody } from '../../src/admission/review.ts';
import { ClusterCache } from '../../src/cluster/cluster-cache.ts';
import { createLogger } from '../../src/log.ts';
import { policyFrom, reviewDeps } from '../helpers/deps.ts';
import { fixtureJson, HPA } from '../helpers/reviews.ts';
import { FakeApiServer } from './fake-apiserver.ts';
import { kubeConfigFor } from './kubeconfig.ts';

const deployment = (name: string, tracked: boolean) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'prod', ...(tracked ? { annotations: { 'argocd.argoproj.io/tracking-id': `payments:apps/Deployment:prod/${name}` } } : {}) },
  spec: { replicas: 3 },
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- editing a captured review in place
type Loose = Record<string, any>;

function scale(name: string, user = 'alice', namespace = 'prod'): string {
  const r = fixtureJson('08-alice-scale-deployment.json');
  const req = r.request as Loose;
  req.name = name;
  req.namespace = namespace;
  req.object.metadata.name = name;
  req.oldObject.metadata.name = name;
  req.userInfo = { username: user, groups: [] };
  return JSON.stringify(r);
}

describe('cluster cache: scale writes decided from the parent object', () => {
  let api: FakeApiServer;
  let cache: ClusterCache;

  before(async () => {
    api = new FakeApiServer();
    const server = await api.start();
    api.put('deployments', deployment('api', true));
    api.put('deployments', deployment('scratch', false));
    api.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod', labels: { 'driftgate.io/protected': 'true' } } });
    api.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dev', labels: {} } });
    const kc = kubeConfigFor(server);
    cache = await ClusterCache.open({ kubeConfig: kc, logger: createLogger('silent'), delay: (ms) => sleep(Math.min(ms, 50)) });
  });
  after(async () => {
    await cache.close();
    await api.stop();
  });

  const decide = async (body: string, policy = 'protectedNamespaces: [prod]') => (await reviewBody(body, reviewDeps({ policy: () => policyFrom(policy), cluster: cache }))).verdict!;

  it('denies kubectl scale on a GitOps-owned Deployment, naming the real owner', async () => {
    const v = await decide(scale('api'));
    assert.equal(v.outcome, 'denied');
    assert.match(v.message!, /Argo CD application "payments"/);
  });

  it('allows kubectl scale on a Deployment Git does not own', async () => {
    assert.equal((await decide(scale('scratch'))).rule, 'not-gitops-owned');
  });

  it('allows the HPA to scale a GitOps-owned Deployment (delegated spec.replicas)', async () => {
    const v = await decide(scale('api', HPA), 'protectedNamespaces: [prod]\ndelegations: [{name: hpa, kinds: [apps/Deployment], paths: [/spec/replicas], writers: ["' + HPA + '"]}]');
    assert.equal(v.outcome, 'allowed');
  });

  it('falls back (treats the write as GitOps-owned) for a parent it has not seen', async () => {
    const v = await decide(scale('brand-new'));
    assert.equal(v.outcome, 'denied');
    assert.match(v.message!, /assumed/);
  });

  it('evaluates a namespace selector with the cached namespace labels', async () => {
    const selector = 'protectedNamespaces: {selector: {matchLabels: {driftgate.io/protected: "true"}}}';
    assert.equal((await decide(scale('api'), selector)).outcome, 'denied');
    assert.equal((await decide(scale('api', 'alice', 'dev'), selector)).rule, 'namespace-unprotected');
    assert.equal((await decide(scale('api', 'alice', 'unseen'), selector)).outcome, 'denied'); // unknown namespace: fail closed
  });

  it('shows live objects of watched kinds, and says unknown for others', () => {
    const live = cache.liveObject('apps', 'Deployment', 'prod', 'api');
    assert.ok(live !== 'unknown' && live?.metadata?.name === 'api');
    assert.equal(cache.liveObject('apps', 'Deployment', 'prod', 'missing'), undefined);
    assert.equal(cache.liveObject('', 'ConfigMap', 'prod', 'x'), 'unknown');
  });

  it('sees a parent created after it started (watch)', async () => {
    api.put('deployments', deployment('late', false));
    for (let i = 0; i < 100 && cache.scaleParent('apps', 'deployments', 'prod', 'late').state !== 'found'; i += 1) await sleep(20);
    assert.equal((await decide(scale('late'))).rule, 'not-gitops-owned');
  });
});
