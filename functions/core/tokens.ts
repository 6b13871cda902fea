/**
 * ID tokens and client access tokens: JWTs signed through the Signer port
 * (jose cannot sign with a KMS key), and verified with jose against the
 * published public keys. User access tokens are core/user-access-tokens.ts.
 */
import { createLocalJWKSet, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import type { Signer } from '../ports.js';
import { base64url, randomId } from './crypto.js';
import { apiAudience, type Deps } from './deps.js';
import type { ClientRecord, SessionRecord, UserRecord } from './model.js';
import { toEpochSeconds } from './model.js';
import { UnauthorizedError } from '../errors.js';
import { amrClaimsOf } from './mfa.js';
import { mintUserAccessToken } from './user-access-tokens.js';

export type TokenType = 'JWT' | 'at+jwt';

/** Builds `header.payload`, has the signer sign it, and returns the compact JWS. */
export async function signJwt(signer: Signer, typ: TokenType, payload: Record<string, unknown>): Promise<string> {
  const kid = await signer.currentKeyId();
  const header = { alg: 'ES256', kid, typ };
  const encode = (value: unknown) => base64url(Buffer.from(JSON.stringify(value), 'utf8'));
  const signingInput = `${encode(header)}.${encode(payload)}`;
  const signature = await signer.sign(Buffer.from(signingInput, 'ascii'));
  if (signature.length !== 64) throw new Error(`signer returned ${signature.length} bytes, expected 64`);
  return `${signingInput}.${base64url(signature)}`;
}

export interface ClientTokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

export const CLIENT_SCOPE = 'cis';

export async function issueClientToken(deps: Deps, client: ClientRecord): Promise<ClientTokenResponse> {
  const iat = toEpochSeconds(deps.clock.now());
  const ttl = deps.settings.tokenTtlSeconds;
  const access_token = await signJwt(deps.signer, 'at+jwt', {
    iss: deps.settings.issuer,
    sub: client.client_id,
    aud: apiAudience(deps.settings),
    client_id: client.client_id,
    scope: CLIENT_SCOPE,
    jti: randomId(),
    iat,
    exp: iat + ttl,
  });
  return { access_token, token_type: 'Bearer', expires_in: ttl, scope: CLIENT_SCOPE };
}

/**
 * The key set that verifies our tokens, built once per published key list:
 * jose caches each imported public key inside the set, so a set per request
 * would re-import the key on every call.
 */
const keySets = new WeakMap<Signer, { kids: string; set: ReturnType<typeof createLocalJWKSet> }>();
async function verificationKeys(signer: Signer) {
  const published = await signer.publicKeys();
  // kids are RFC 7638 thumbprints: the same list of kids is the same list of keys.
  const kids = published.map((key) => key.kid).join(',');
  const cached = keySets.get(signer);
  if (cached?.kids === kids) return cached.set;
  const set = createLocalJWKSet({ keys: published });
  keySets.set(signer, { kids, set });
  return set;
}

/**
 * Verifies a client access token locally (no KMS call) and returns its
 * client_id: our key, issuer, audience, ES256 and `typ: at+jwt`. A user
 * access token (HS256, its own typ) or an ID token (typ JWT) never passes.
 */
export async function verifyClientToken(deps: Deps, token: string): Promise<string> {
  const keys = await verificationKeys(deps.signer);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      algorithms: ['ES256'],
      issuer: deps.settings.issuer,
      audience: apiAudience(deps.settings),
      typ: 'at+jwt',
      currentDate: new Date(deps.clock.now()),
      requiredClaims: ['exp', 'iat', 'sub', 'client_id'],
    }));
  } catch (error) {
    if (error instanceof joseErrors.JOSEError) throw new UnauthorizedError(describeJoseFailure(error));
    throw error;
  }
  if (payload.sid !== undefined || typeof payload.client_id !== 'string' || payload.sub !== payload.client_id) {
    throw new UnauthorizedError('The bearer token is not a client access token');
  }
  return payload.client_id;
}

function describeJoseFailure(error: InstanceType<typeof joseErrors.JOSEError>): string {
  const what = 'client access token';
  if (error instanceof joseErrors.JWTExpired) return 'The client access token has expired; request a new one from /oidc/token';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWKSNoMatchingKey) {
    return `The ${what} is not signed by this service`;
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `The ${what} is not valid for this API`;
  return `The ${what} is malformed`;
}

export interface TokenResponse {
  access_token: string;
  id_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
  session_id: string;
}

export interface SessionTokenOptions {
  /** Leave authentications older than this many seconds out of `amr`, `amr_at` and `mfa` (OIDC `max_age`). */
  maxAge?: number | undefined;
  /** The instant of this call (ms), default the clock: `iat`, and what `max_age` is judged against. */
  now?: number;
  /** The caller's OIDC claims request: requested user claims go into the ID token. */
  claims?: ClaimsRequest | undefined;
}

/** An OIDC claims request (`claims` of an authenticate call): `{id_token: {<claim>: null | {...}}}`. */
export interface ClaimsRequest {
  id_token?: Record<string, unknown>;
  access_token?: Record<string, unknown>;
}

/** The name parts joined as OIDC's `name` string (title first middle last). */
function fullName(name: NonNullable<UserRecord['name']>): string | undefined {
  const joined = [name.title, name.first_name, name.middle_name, name.last_name]
    .map((part) => part?.trim())
    .filter((part) => part)
    .join(' ');
  return joined || undefined;
}

/**
 * The user claims named under `claims.id_token` that we hold. The contact
 * claims are in every ID token anyway; asking for one we do not hold (no
 * username, say) adds nothing, and unknown claims (`roles`) are ignored.
 */
export function requestedUserClaims(user: UserRecord, claims: ClaimsRequest | undefined): Record<string, unknown> {
  const wanted = claims?.id_token ?? {};
  const out: Record<string, unknown> = {};
  const has = (claim: string) => Object.prototype.hasOwnProperty.call(wanted, claim);
  if (has('username') && user.username !== undefined) out.username = user.username;
  if (has('name') && user.name !== undefined) {
    const name = fullName(user.name);
    if (name !== undefined) out.name = name;
  }
  return out;
}

/**
 * KMS `Sign` calls per token response, and per client token: the ID token's
 * (or the client token's) one. The user access token is minted without KMS
 * (core/user-access-tokens.ts). The stack's throttles and the bench's
 * capacity model are computed from it.
 */
export const KMS_SIGNS_PER_TOKEN_RESPONSE = 1;

/**
 * Signs the ID token of a session (one KMS call in AWS) and mints its user
 * access token under the user-token key (no KMS call). `options.claims` adds
 * the requested user claims to the ID token.
 */
export async function signSessionTokens(
  deps: Deps,
  client: ClientRecord,
  user: UserRecord,
  session: SessionRecord,
  options: SessionTokenOptions = {},
): Promise<{ access_token: string; id_token: string; expires_in: number }> {
  const now = options.now ?? deps.clock.now();
  const iat = toEpochSeconds(now);
  const exp = iat + deps.settings.tokenTtlSeconds;
  const authTime = Math.max(...session.authentications.map((a) => a.at));
  const contactClaims: Record<string, unknown> = {};
  if (user.email !== undefined) {
    contactClaims.email = user.email;
    contactClaims.email_verified = user.email_verified;
  }
  if (user.phone_number !== undefined) {
    contactClaims.phone_number = user.phone_number;
    contactClaims.phone_number_verified = user.phone_number_verified;
  }
  const access_token = await mintUserAccessToken(deps, { clientId: client.client_id, userId: user.user_id, sessionId: session.session_id }, { iat, exp });
  const id_token = await signJwt(deps.signer, 'JWT', {
    iss: deps.settings.issuer,
    sub: user.user_id,
    aud: client.client_id,
    iat,
    exp,
    auth_time: toEpochSeconds(authTime),
    sid: session.session_id,
    ...amrClaimsOf(session, client.mfa_policy, { now, maxAge: options.maxAge }),
    ...contactClaims,
    ...requestedUserClaims(user, options.claims),
  });
  return { access_token, id_token, expires_in: deps.settings.tokenTtlSeconds };
}
