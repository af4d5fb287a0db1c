/**
 * Console sessions. Logging in proves an identity once, with the same authenticator as the API (an
 * OIDC ID token, a Kubernetes token via TokenReview, or a dev-issuer token); the session is then a
 * short-lived JWT signed with driftgate's grant-signing key (so every replica accepts it), in an
 * HttpOnly, Secure, SameSite=Strict `__Host-` cookie. It carries the identity and the session's CSRF
 * token; its `typ` and audience keep it from ever being mistaken for a grant token.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeJwt, jwtVerify, SignJWT, type JWTHeaderParameters } from 'jose';
import { DriftgateError } from '../errors.ts';
import type { Identity } from '../grants/rules.ts';
import { SIGNING_ALG, type Key } from '../keys/key-ring.ts';

export const SESSION_COOKIE = '__Host-driftgate-session';
export const LOGIN_COOKIE = '__Host-driftgate-login';
const TYPE = 'driftgate-console+jwt';
const AUDIENCE = 'driftgate-console';
const ISSUER = 'driftgate';
/** the longest a session lives; never longer than the token it was made from */
export const SESSION_TTL_S = 3600;

export interface SessionKeys {
  readonly signing: { readonly kid: string; readonly key: Key };
  verificationKey(kid: string | undefined): Key | undefined;
}

export interface Session extends Identity {
  readonly csrf: string;
  readonly expiresAt: Date;
}

export function randomToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The end of a login token's life, when it says (a JWT's `exp`); opaque tokens say nothing. */
function tokenExpiry(token: string): number | undefined {
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined;
  }
}

export async function issueSession(keys: SessionKeys, who: Identity, loginToken: string, now: Date): Promise<{ cookie: string; session: Session }> {
  const iat = Math.floor(now.getTime() / 1000);
  const exp = Math.min(iat + SESSION_TTL_S, tokenExpiry(loginToken) ?? Infinity);
  const csrf = randomToken();
  const cookie = await new SignJWT({ groups: [...who.groups], csrf })
    .setProtectedHeader({ alg: SIGNING_ALG, kid: keys.signing.kid, typ: TYPE })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(who.username)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(keys.signing.key);
  return { cookie, session: { username: who.username, groups: [...who.groups], csrf, expiresAt: new Date(exp * 1000) } };
}

/** The session a cookie proves, or undefined (absent, expired, forged, or not a session). */
export async function readSession(keys: SessionKeys, cookie: string | undefined, now: Date): Promise<Session | undefined> {
  if (!cookie) return undefined;
  try {
    const { payload } = await jwtVerify(
      cookie,
      (header: JWTHeaderParameters) => {
        const key = keys.verificationKey(header.kid);
        if (!key) throw new Error('unknown key');
        return key;
      },
      { issuer: ISSUER, audience: AUDIENCE, typ: TYPE, algorithms: [SIGNING_ALG], currentDate: now },
    );
    const { sub, groups, csrf, exp } = payload as { sub?: unknown; groups?: unknown; csrf?: unknown; exp?: number };
    if (typeof sub !== 'string' || typeof csrf !== 'string' || !Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) return undefined;
    return { username: sub, groups: groups as string[], csrf, expiresAt: new Date((exp ?? 0) * 1000) };
  } catch {
    return undefined;
  }
}

export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length === 0) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A form's CSRF token must be the session's. */
export function checkCsrf(session: Session, sent: unknown): void {
  if (!sameToken(session.csrf, typeof sent === 'string' ? sent : undefined)) {
    throw new DriftgateError('FORBIDDEN', 'the form is stale or came from another site (CSRF token mismatch): reload the page and try again');
  }
}

/** `Set-Cookie` for a session (or its removal): HttpOnly, Secure, SameSite=Strict, host-only. */
export function cookieHeader(name: string, value: string, maxAgeS: number): string {
  return `${name}=${value}; Path=/; Max-Age=${Math.max(0, Math.floor(maxAgeS))}; HttpOnly; Secure; SameSite=Strict`;
}

/** The value of one cookie in a `Cookie` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
