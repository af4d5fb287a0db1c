/**
 * A grant's token: a compact JWS (EdDSA, `kid` header) over the grant's claims, including the state
 * it was signed in (pending-approval or active) and its approvals. Every approval re-signs it. The
 * webhook honours a grant only if its token verifies against driftgate's keys and its claims equal
 * the stored grant, so a record written or edited by hand (a widened scope, a later expiry, a
 * pending grant marked active) never allows anything.
 *
 * A revocation is a second JWS (typ driftgate-revocation+jwt) naming the grant: stores keep it where
 * rolling back the grant's state does not remove it (see docs/storage.md).
 *
 * With the Kubernetes store both are bound to the object's metadata.uid, so a grant deleted and
 * recreated from a copy (a new uid) is not the grant that was signed.
 */
import { compactVerify, decodeProtectedHeader, SignJWT, type JWTPayload } from 'jose';
import { deepEqual } from '../lib/value.ts';
import { errorMessage } from '../errors.ts';
import { SIGNING_ALG, type KeyRing } from '../keys/key-ring.ts';
import type { Grant } from './grant.ts';

export const TOKEN_ISSUER = 'driftgate';
export const TOKEN_AUDIENCE = 'driftgate-webhook';
export const TOKEN_TYPE = 'driftgate-grant+jwt';
export const REVOCATION_TYPE = 'driftgate-revocation+jwt';

const seconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

/** Where a signature is bound besides the grant's own fields (the Kubernetes object's uid). */
export interface Binding {
  readonly uid?: string;
}

/** Everything a grant permits, as signed claims: scope, window, approvals and the state they give. */
export function claimsOf(g: Omit<Grant, 'token'>, bind: Binding = {}): JWTPayload {
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
    state: g.state === 'active' ? 'active' : 'pending-approval',
    ...(bind.uid ? { uid: bind.uid } : {}),
  };
}

export async function signGrant(g: Omit<Grant, 'token'>, keys: KeyRing, bind: Binding = {}): Promise<string> {
  const { kid, key } = keys.signing;
  const { iat, nbf, exp, ...rest } = claimsOf(g, bind);
  return new SignJWT(rest)
    .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: TOKEN_TYPE })
    .setIssuedAt(iat!)
    .setNotBefore(nbf!)
    .setExpirationTime(exp!)
    .sign(key);
}

/** The payload of a JWS signed by one of driftgate's keys with the given typ, or why it is not. */
async function verified(jws: string, keys: KeyRing, typ: string): Promise<{ payload: JWTPayload } | { problem: string }> {
  let kid: string | undefined;
  try {
    const header = decodeProtectedHeader(jws);
    if (header.alg !== SIGNING_ALG) return { problem: `token algorithm ${String(header.alg)} is not ${SIGNING_ALG}` };
    if (header.typ !== undefined && header.typ !== typ) return { problem: `token type ${String(header.typ)} is not ${typ}` };
    kid = header.kid;
  } catch (err) {
    return { problem: `token is not a JWS: ${errorMessage(err)}` };
  }
  const key = keys.verificationKey(kid);
  if (!key) return { problem: `token signed with unknown key ${kid ?? '(no kid)'}` };
  try {
    const { payload: bytes, protectedHeader } = await compactVerify(jws, key, { algorithms: [SIGNING_ALG] });
    if (protectedHeader.typ !== typ) return { problem: `token type ${String(protectedHeader.typ)} is not ${typ}` };
    return { payload: JSON.parse(new TextDecoder().decode(bytes)) as JWTPayload };
  } catch (err) {
    return { problem: `token signature invalid: ${errorMessage(err)}` };
  }
}

/** undefined when the token is genuine and matches the grant (and binding); otherwise why it must be ignored. */
export async function tokenProblem(g: Grant, keys: KeyRing, bind: Binding = {}): Promise<string | undefined> {
  const v = await verified(g.token, keys, TOKEN_TYPE);
  if ('problem' in v) return v.problem;
  // A revoked grant keeps the token of its last signed state; revocation is never honoured-making.
  const signed = g.state === 'revoked' || g.state === 'expired' ? { ...g, state: v.payload.state === 'active' ? 'active' : 'pending-approval' } as const : g;
  const expected = claimsOf(signed, bind);
  if (deepEqual(v.payload, expected)) return undefined;
  if (v.payload.state !== expected.state) return `token says ${String(v.payload.state ?? 'no state')}, the stored grant says ${g.state} (edited state, or a token from an older driftgate)`;
  if (bind.uid && v.payload.uid !== bind.uid) return 'token was signed for another object (deleted and recreated?)';
  return 'token claims do not match the stored grant (edited record)';
}

export interface Revocation {
  readonly grantId: string;
  readonly by: string;
  readonly at: string;
  readonly reason?: string;
}

export async function signRevocation(r: Revocation, keys: KeyRing, bind: Binding = {}): Promise<string> {
  const { kid, key } = keys.signing;
  return new SignJWT({ jti: r.grantId, by: r.by, ...(r.reason ? { reason: r.reason } : {}), ...(bind.uid ? { uid: bind.uid } : {}) })
    .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: REVOCATION_TYPE })
    .setIssuer(TOKEN_ISSUER)
    .setIssuedAt(seconds(r.at))
    .sign(key);
}

/** A genuine revocation of grant `grantId` (bound to `bind`), or why the proof is not one. */
export async function checkRevocation(jws: string, grantId: string, keys: KeyRing, bind: Binding = {}): Promise<{ revocation: Revocation } | { problem: string }> {
  const v = await verified(jws, keys, REVOCATION_TYPE);
  if ('problem' in v) return v;
  const p = v.payload as JWTPayload & { by?: unknown; reason?: unknown; uid?: unknown };
  if (p.jti !== grantId) return { problem: `revocation names grant ${String(p.jti)}, not ${grantId}` };
  if (bind.uid && p.uid !== bind.uid) return { problem: 'revocation was signed for another object' };
  if (typeof p.by !== 'string' || typeof p.iat !== 'number') return { problem: 'revocation lacks by/iat' };
  return { revocation: { grantId, by: p.by, at: new Date(p.iat * 1000).toISOString(), ...(typeof p.reason === 'string' ? { reason: p.reason } : {}) } };
}
