/**
 * User access tokens (the `access_token` of a token response), minted and
 * checked without KMS: an HS256 JWT under the user-token keyring, a
 * versioned service secret of its own (docs/deploy.md, "Rotating the
 * user-token key").
 *
 * Only Twofold ever checks this token (the routes marked "user token"), and
 * every check reads its session anyway (core/user-tokens.ts), so a public-key
 * signature would buy nothing but a KMS `Sign` per token response. An HMAC
 * tag of 256 bits under a key of at least 256 bits is as unforgeable, and
 * costs microseconds. Its header keeps it apart from every other token:
 * `alg: HS256` (ID tokens and client tokens are ES256, and their verifier
 * pins ES256 and our published EC keys) and `typ: USER_ACCESS_TOKEN_TYP`
 * (client tokens are `at+jwt`, ID tokens `JWT`); `kid` names the key version.
 */
import { hkdfSync } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { UnauthorizedError } from '../errors.js';
import type { SealKeyring } from './crypto.js';
import type { Deps } from './deps.js';
import { randomId } from './crypto.js';

/** The `typ` of a user access token: no other token Twofold issues carries it. */
export const USER_ACCESS_TOKEN_TYP = 'twofold-uat+jwt';
const ALG = 'HS256';

/** One MAC key per key version, derived for this purpose only (HKDF-SHA-256), so the secret could serve no other. */
const derived = new WeakMap<SealKeyring, Map<string, Uint8Array>>();
function macKey(keyring: SealKeyring, version: string): Uint8Array | undefined {
  const material = Object.prototype.hasOwnProperty.call(keyring.keys, version) ? keyring.keys[version] : undefined;
  if (!material) return undefined;
  let byVersion = derived.get(keyring);
  if (!byVersion) derived.set(keyring, (byVersion = new Map()));
  let key = byVersion.get(version);
  if (!key) byVersion.set(version, (key = new Uint8Array(hkdfSync('sha256', material, new Uint8Array(0), 'twofold:user-access-token', 32))));
  return key;
}

export interface UserAccessTokenClaims {
  clientId: string;
  userId: string;
  sessionId: string;
}

/** Mints a user access token for a session under the keyring's current version. */
export async function mintUserAccessToken(
  deps: Pick<Deps, 'userTokenKeys' | 'settings'>,
  claims: UserAccessTokenClaims,
  times: { iat: number; exp: number },
): Promise<string> {
  const keyring = deps.userTokenKeys;
  const key = macKey(keyring, keyring.current);
  if (!key) throw new Error(`the current user-token key ${keyring.current} is not in the keyring`);
  return new SignJWT({ client_id: claims.clientId, sid: claims.sessionId, jti: randomId() })
    .setProtectedHeader({ alg: ALG, kid: keyring.current, typ: USER_ACCESS_TOKEN_TYP })
    .setIssuer(deps.settings.issuer)
    .setSubject(claims.userId)
    .setAudience(claims.clientId)
    .setIssuedAt(times.iat)
    .setExpirationTime(times.exp)
    .sign(key);
}

/**
 * Checks a user access token's MAC, header and times (no KMS call, no
 * request) and returns what it names. Whether its session still works is the
 * caller's check (core/user-tokens.ts).
 */
export async function verifyUserAccessToken(deps: Pick<Deps, 'userTokenKeys' | 'settings' | 'clock'>, token: string): Promise<UserAccessTokenClaims> {
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new UnauthorizedError('The user access token is malformed');
  }
  if (header.alg !== ALG || header.typ !== USER_ACCESS_TOKEN_TYP || typeof header.kid !== 'string') {
    throw new UnauthorizedError('The bearer token is not a user access token');
  }
  const key = macKey(deps.userTokenKeys, header.kid);
  if (!key) throw new UnauthorizedError('The user access token is not signed by this service');
  let payload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [ALG],
      typ: USER_ACCESS_TOKEN_TYP,
      issuer: deps.settings.issuer,
      currentDate: new Date(deps.clock.now()),
      requiredClaims: ['exp', 'iat', 'sub', 'sid', 'client_id'],
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new UnauthorizedError('The user access token has expired; refresh it');
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) throw new UnauthorizedError('The user access token is not signed by this service');
    if (error instanceof joseErrors.JOSEError) throw new UnauthorizedError('The user access token is not valid for this API');
    throw error;
  }
  const { client_id: clientId, sid, sub, aud } = payload;
  if (typeof clientId !== 'string' || typeof sid !== 'string' || typeof sub !== 'string' || aud !== clientId) {
    throw new UnauthorizedError('The bearer token is not a user access token');
  }
  return { clientId, userId: sub, sessionId: sid };
}
