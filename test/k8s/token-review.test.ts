import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import { tokenReviewAuthenticator } from '../../src/auth/token-review.ts';
import { FakeApiServer } from './fake-apiserver.ts';
import { kubeConfigFor } from './kubeconfig.ts';

describe('TokenReview authentication', () => {
  let api: FakeApiServer;
  let kc: KubeConfig;
  before(async () => {
    api = new FakeApiServer();
    const server = await api.start();
    kc = kubeConfigFor(server);
    api.tokens.set('alice-token', { username: 'alice', groups: ['oncall', 'system:authenticated'] });
  });
  after(async () => api.stop());

  it('takes identity from the API server', async () => {
    assert.deepEqual(await tokenReviewAuthenticator(kc).authenticate('Bearer alice-token'), { username: 'alice', groups: ['oncall', 'system:authenticated'] });
    assert.ok(api.requests.includes('POST /apis/authentication.k8s.io/v1/tokenreviews'));
  });

  it('answers 401 for a token the API server does not accept, and for no token', async () => {
    await assert.rejects(tokenReviewAuthenticator(kc).authenticate('Bearer stolen'), { code: 'UNAUTHENTICATED', message: /did not accept the token: token not recognised/ });
    await assert.rejects(tokenReviewAuthenticator(kc).authenticate(undefined), { code: 'UNAUTHENTICATED' });
  });

  it('reports an unreachable API server as its own failure (500), not the caller\'s', async () => {
    api.unavailable = true;
    await assert.rejects(tokenReviewAuthenticator(kc).authenticate('Bearer alice-token'), { code: 'STORE_UNAVAILABLE' });
    api.unavailable = false;
  });
});
