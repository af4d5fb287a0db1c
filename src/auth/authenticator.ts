/**
 * Who is calling the grant API: a Bearer token verified as an OIDC/JWT ID token (jose) against a
 * configured issuer and its JWKS. Identity = username + groups, from configurable claims.
 *
 * With no `auth.oidc` in the policy, driftgate runs a local development issuer: a key in the data
 * directory signs tokens that `driftgate dev token` prints. It is for trying driftgate out, never for
 * production, and the server says so loudly at start.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { DriftgateError, errorMessage } from '../errors.ts';
import type { Identity } from '../grants/rules.ts';
import type { OidcSettings } from '../policy/policy.ts';

export interface Authenticator {
  readonly description: string;
  readonly dev: boolean;
  authenticate(authorization: string | undefined): Promise<Identity>;
}

const unauthenticated = (message: string) => new DriftgateError('UNAUTHENTICATED', message);

/** The token of an `Authorization: Bearer <token>` header; `hint` says where callers get one. */
export function bearer(authorization: string | undefined, hint = 'driftgate dev token, or your OIDC ID token'): string {
  if (!authorization) throw unauthenticated(`missing Authorization header: send "Authorization: Bearer <token>" (${hint})`);
  const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!m) throw unauthenticated('Authorization header must be "Bearer <token>"');
  return m[1]!;
}

function explain(err: unknown): DriftgateError {
  if (err instanceof joseErrors.JWTExpired) return unauthenticated('token expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) return unauthenticated(`token rejected: ${err.message}`);
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return unauthenticated('token signature invalid');
  if (err instanceof joseErrors.JWKSNoMatchingKey) return unauthenticated('token signed by a key the issuer does not publish');
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return unauthenticated(`token algorithm not allowed: ${err.message}`);
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return unauthenticated(`token malformed: ${err.message}`);
  if (err instanceof joseErrors.JOSEError) return unauthenticated(`token rejected: ${err.message}`);
  return unauthenticated(`token rejected: ${errorMessage(err)}`);
}

function identityFrom(payload: JWTPayload, usernameClaim: string, groupsClaim: string): Identity {
  const username = payload[usernameClaim];
  if (typeof username !== 'string' || username === '') throw unauthenticated(`token has no "${usernameClaim}" claim to name the user`);
  const groups = payload[groupsClaim] ?? [];
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) throw unauthenticated(`token claim "${groupsClaim}" must be a list of strings`);
  return { username, groups: groups as string[] };
}

type Now = () => Date;

function verifier(getKey: JWTVerifyGetKey, issuer: string, audience: string, usernameClaim: string, groupsClaim: string, now: Now) {
  return async (authorization: string | undefined): Promise<Identity> => {
    const token = bearer(authorization);
    try {
      const { payload } = await jwtVerify(token, getKey, { issuer, audience, clockTolerance: 30, currentDate: now() });
      return identityFrom(payload, usernameClaim, groupsClaim);
    } catch (err) {
      if (err instanceof DriftgateError) throw err;
      throw explain(err);
    }
  };
}

export function oidcAuthenticator(s: OidcSettings, now: Now = () => new Date()): Authenticator {
  let getKey: JWTVerifyGetKey;
  if (s.jwksFile) {
    let jwks: { keys: JWK[] };
    try {
      jwks = JSON.parse(readFileSync(s.jwksFile, 'utf8')) as { keys: JWK[] };
    } catch (err) {
      throw new DriftgateError('CONFIG_INVALID', `auth.oidc.jwksFile ${s.jwksFile}: ${errorMessage(err)}`);
    }
    getKey = createLocalJWKSet(jwks);
  } else {
    getKey = createRemoteJWKSet(new URL(s.jwksUri!));
  }
  return {
    description: `OIDC issuer ${s.issuer}`,
    dev: false,
    authenticate: verifier(getKey, s.issuer, s.audience, s.usernameClaim, s.groupsClaim, now),
  };
}

// ---- the development issuer ----

export const DEV_ISSUER = 'https://driftgate.invalid/dev-issuer';
export const DEV_AUDIENCE = 'driftgate';
export const DEV_KEY_FILE = 'dev-issuer.jwk.json';

async function devKey(dataDir: string): Promise<JWK> {
  const file = join(dataDir, DEV_KEY_FILE);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as JWK;
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'dev', alg: 'EdDSA' };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
  chmodSync(file, 0o600);
  return jwk;
}

export async function devAuthenticator(dataDir: string, now: Now = () => new Date()): Promise<Authenticator> {
  const jwk = await devKey(dataDir);
  const pub: JWK = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid: 'dev', alg: 'EdDSA' };
  return {
    description: `DEVELOPMENT issuer (${join(dataDir, DEV_KEY_FILE)}): anyone who can read that file can be anyone; configure auth.oidc for real use`,
    dev: true,
    authenticate: verifier(createLocalJWKSet({ keys: [pub] }), DEV_ISSUER, DEV_AUDIENCE, 'sub', 'groups', now),
  };
}

/** `driftgate dev token`: a token the local server accepts. */
export async function issueDevToken(dataDir: string, username: string, groups: readonly string[], ttlSeconds: number, now = new Date()): Promise<string> {
  const jwk = await devKey(dataDir);
  const key = await importJWK(jwk, 'EdDSA');
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ groups: [...groups] })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'dev', typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setSubject(username)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .sign(key);
}
