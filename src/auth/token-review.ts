/**
 * Grant-API authentication through the Kubernetes API (SPEC §4 b): the Bearer token is whatever the
 * responder's kubectl uses, and the API server says who it belongs to (TokenReview). Needs RBAC
 * `create` on tokenreviews.authentication.k8s.io for driftgate's service account.
 */
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { DriftgateError, errorMessage } from '../errors.ts';
import type { Identity } from '../grants/rules.ts';
import { bearer, type Authenticator } from './authenticator.ts';

export function tokenReviewAuthenticator(kc: KubeConfig, audiences: readonly string[] = []): Authenticator {
  const api = kc.makeApiClient(AuthenticationV1Api);
  return {
    description: `Kubernetes TokenReview at ${kc.getCurrentCluster()?.server ?? '(unknown cluster)'}`,
    dev: false,
    async authenticate(authorization: string | undefined): Promise<Identity> {
      const token = bearer(authorization, 'your Kubernetes token: the driftgate CLI takes it from your kubeconfig');
      let review;
      try {
        review = await api.createTokenReview({
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences.length > 0 ? { audiences: [...audiences] } : {}) } },
        });
      } catch (err) {
        // The API server could not be asked: that is our failure, not the caller's.
        throw new DriftgateError('STORE_UNAVAILABLE', `cannot check the token with the Kubernetes API: ${errorMessage(err)}`);
      }
      const status = review.status;
      if (!status?.authenticated || !status.user?.username) {
        throw new DriftgateError('UNAUTHENTICATED', `the Kubernetes API did not accept the token${status?.error ? `: ${status.error}` : ''}`);
      }
      return { username: status.user.username, groups: status.user.groups ?? [] };
    },
  };
}
