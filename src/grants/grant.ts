/** A break-glass grant (SPEC §4): an expiring permission for named subjects to make guarded changes. */
import type { Operation } from '../lib/operation.ts';

export type GrantState = 'pending-approval' | 'active' | 'expired' | 'revoked';

export interface ResourceRef {
  /** API group, '' for the core group */
  readonly group: string;
  readonly kind: string;
  /** object name; `*` and globs like `api-*` allowed */
  readonly name: string;
}

export interface Approval {
  readonly by: string;
  readonly at: string;
  readonly reason?: string;
}

export interface Grant {
  readonly id: string;
  readonly requester: string;
  readonly subjects: { readonly users: readonly string[]; readonly groups: readonly string[] };
  readonly namespace: string;
  readonly resources: readonly ResourceRef[];
  /** path prefixes the grant covers; absent: every path */
  readonly paths?: readonly string[];
  readonly operations: readonly Operation[];
  readonly reason: string;
  readonly incident?: string;
  readonly createdAt: string;
  readonly notBefore: string;
  readonly expiresAt: string;
  readonly approvals: readonly Approval[];
  readonly state: GrantState;
  readonly revokedBy?: string;
  readonly revokedAt?: string;
  /** why it was revoked (or denied), as the revoker said */
  readonly revokeReason?: string;
  readonly token: string;
}

/**
 * Grants the decision may consider. Implementations return only grants whose token verified and
 * whose stored claims match it; the decision still checks state, time window, subject and scope.
 */
export interface GrantSource {
  /** grants naming this object (exactly or by glob) that are active at `now`; the decision checks the rest */
  activeGrants(namespace: string, group: string, kind: string, name: string, now: Date): readonly Grant[];
}

export const NO_GRANTS: GrantSource = { activeGrants: () => [] };
