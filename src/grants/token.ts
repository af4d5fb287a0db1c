/**
 * A grant's token: a compact JWS (EdDSA, `kid` header) over the grant's claims. The webhook honours a
 * grant only if its token verifies against driftgate's keys and its claims equal the stored grant, so
 * a record written or edited by hand never allows anything.
 */
import { compactVerify, decodeProtectedHeader, SignJWT, type JWTPayload } from 'jose';
import { deepEqual } from '../admission/diff.ts';
import { errorMessage } from '../errors.ts';
import { SIGNING_ALG, type KeyRing } from '../keys/key-ring.ts';
import type { Grant } from './grant.ts';

export const TOKEN_ISSUER = 'driftgate';
export const TOKEN_AUDIENCE = 'driftgate-webhook';
export const TOKEN_TYPE = 'driftgate-grant+jwt';

const seconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

/** Everything a grant permits, as signed claims. Revocation is a later journal record, never a claim. */
export function claimsOf(g: Omit<Grant, 'token' | 'state'>): JWTPayload {
  return {
    iss: TOKEN_ISSUER,
    aud: TOKEN_AUDIENCE,
    sub: g.requester,
    jti: g.id,
    iat: seconds(g.createdAt),
    nbf: seconds(g.notBefore),
    exp: seconds(g.expiresAt),
    scope: {
      namespace: g.namespace,
      resources: g.resources.map((r) => ({ group: r.group, kind: r.kind, name: r.name })),
      ...(g.paths ? { paths: [...g.paths] } : {}),
      operations: [...g.operations],
      subjects: { users: [...g.subjects.users], groups: [...g.subjects.groups] },
    },
    reason: g.reason,
    ...(g.incident ? { incident: g.incident } : {}),
    approvals: g.approvals.map((a) => ({ by: a.by, at: a.at })),
  };
}

export async function signGrant(g: Omit<Grant, 'token' | 'state'>, keys: KeyRing): Promise<string> {
  const { kid, key } = keys.signing;
  const { iat, nbf, exp, ...rest } = claimsOf(g);
  return new SignJWT(rest)
    .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: TOKEN_TYPE })
    .setIssuedAt(iat!)
    .setNotBefore(nbf!)
    .setExpirationTime(exp!)
    .sign(key);
}

/** undefined when the token is genuine and matches the grant; otherwise why it must be ignored. */
export async function tokenProblem(g: Grant, keys: KeyRing): Promise<string | undefined> {
  let kid: string | undefined;
  try {
    const header = decodeProtectedHeader(g.token);
    if (header.alg !== SIGNING_ALG) return `token algorithm ${String(header.alg)} is not ${SIGNING_ALG}`;
    kid = header.kid;
  } catch (err) {
    return `token is not a JWS: ${errorMessage(err)}`;
  }
  const key = keys.verificationKey(kid);
  if (!key) return `token signed with unknown key ${kid ?? '(no kid)'}`;
  let payload: JWTPayload;
  try {
    const { payload: bytes } = await compactVerify(g.token, key, { algorithms: [SIGNING_ALG] });
    payload = JSON.parse(new TextDecoder().decode(bytes)) as JWTPayload;
  } catch (err) {
    return `token signature invalid: ${errorMessage(err)}`;
  }
  return deepEqual(payload, claimsOf(g)) ? undefined : 'token claims do not match the stored grant (edited record)';
}
