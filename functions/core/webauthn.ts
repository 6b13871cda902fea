/**
 * What both passkey ceremonies share: the client's relying-party settings,
 * stored challenges, decoding `webauthn_encoded_result`, and the checks around
 * @passwordless-id/webauthn. The library parses and verifies (client data,
 * authenticator data, signatures); we never parse CBOR, COSE or signatures
 * ourselves. It leaves some checks to its caller, made here on its parsed
 * output: user presence at registration, the algorithms we offered, a key
 * that imports, a counter that goes backwards when the stored one is 0 (it
 * skips the check then; the spec only exempts 0 → 0), cross-origin iframes.
 *
 * Challenges: 256 random bits, stored under the hash of the challenge (the
 * browser hands the challenge back inside clientDataJSON, so the finish calls
 * need no other handle), valid 5 minutes, bound to the client and the
 * ceremony, and for registration to the user and session. One conditional
 * delete consumes a challenge: however many results arrive with it in
 * parallel, one wins.
 */
import { parsers, server } from '@passwordless-id/webauthn';
import { derToJose } from './der.js';
import type { AuthenticationJSON, RegistrationJSON } from '@passwordless-id/webauthn/dist/esm/types.js';
import '../zod-english.js';
import * as z from 'zod/mini';
import { ConflictError, ForbiddenError, InvalidCredentialsError } from '../errors.js';
import type { StoredRecord } from '../ports.js';
import { randomId, randomToken, sha256 } from './crypto.js';
import type { Deps } from './deps.js';
import { keys, toEpochSeconds, type ClientRecord, type WebAuthnCredentialRecord } from './model.js';

export const CHALLENGE_TTL_MS = 5 * 60 * 1000;
/** COSE algorithms offered at registration: ES256 and RS256, the two every platform supports. */
export const PUBLIC_KEY_ALGORITHMS = [-7, -257] as const;
export const MAX_PASSKEYS_PER_USER = 20;

export type Ceremony = 'register' | 'authenticate';

export interface ChallengeRecord {
  webauthn_session_id: string;
  ceremony: Ceremony;
  challenge: string;
  client_id: string;
  /** Registration: the user and session the challenge was issued to. Authentication: the user named, if the name matched one. */
  user_id?: string;
  session_id?: string;
  /** Authentication started with a username: the passkey must be `user_id`'s (none is, when the name matched nobody). */
  named_user?: boolean;
  display_name?: string;
  expires_at: number;
}

export interface RelyingParty {
  id: string;
  name: string;
  origins: string[];
  userVerification: 'required' | 'preferred';
}

/** The client's passkey settings, or 403 when it has none. */
export function relyingPartyOf(client: ClientRecord): RelyingParty {
  if (!client.webauthn_rp_id || !client.webauthn_origins?.length) {
    throw new ForbiddenError('Passkeys are not configured for this client (webauthn_rp_id and webauthn_origins)');
  }
  return {
    id: client.webauthn_rp_id,
    name: client.webauthn_rp_name ?? client.name,
    origins: client.webauthn_origins,
    userVerification: client.webauthn_user_verification ?? 'required',
  };
}

// ---- challenges ----------------------------------------------------------------

export async function issueChallenge(
  deps: Deps,
  fields: Omit<ChallengeRecord, 'webauthn_session_id' | 'challenge' | 'expires_at'>,
): Promise<ChallengeRecord> {
  const record: ChallengeRecord = {
    ...fields,
    webauthn_session_id: randomId(),
    challenge: randomToken(32),
    expires_at: deps.clock.now() + CHALLENGE_TTL_MS,
  };
  await deps.store.put(keys.webauthnChallenge(sha256(record.challenge)), record, {
    expectVersion: null,
    expiresAt: toEpochSeconds(record.expires_at) + 3600,
  });
  return record;
}

/** The live challenge of this client and ceremony, or `auth_invalid_credentials`. */
export async function loadChallenge(deps: Deps, client: ClientRecord, ceremony: Ceremony, challenge: string): Promise<StoredRecord<ChallengeRecord>> {
  const stored = await deps.store.get<ChallengeRecord>(keys.webauthnChallenge(sha256(challenge)));
  const live =
    stored !== undefined &&
    stored.value.client_id === client.client_id &&
    stored.value.ceremony === ceremony &&
    stored.value.challenge === challenge &&
    deps.clock.now() < stored.value.expires_at;
  if (!live) throw new InvalidCredentialsError('Unknown, expired or already used passkey challenge');
  return stored;
}

/** Uses the challenge up: one conditional delete; whoever loses the race gets `auth_invalid_credentials`. */
export async function consumeChallenge(deps: Deps, stored: StoredRecord<ChallengeRecord>): Promise<void> {
  try {
    await deps.store.delete(keys.webauthnChallenge(sha256(stored.value.challenge)), { expectVersion: stored.version });
  } catch (error) {
    if (error instanceof ConflictError) throw new InvalidCredentialsError('The passkey challenge was already used');
    throw error;
  }
}

// ---- decoding webauthn_encoded_result --------------------------------------------

const b64url = (max: number) => z.string().check(z.minLength(1), z.maxLength(max), z.regex(/^[A-Za-z0-9_-]+$/));
const B64URL_MAX = 8192;

/** `PublicKeyCredential.toJSON()`: the fields both ceremonies share, around the ceremony's own `response`. */
function publicKeyCredentialJson<R extends z.core.$ZodShape>(response: R) {
  return z.object({
    id: b64url(B64URL_MAX).check(z.maxLength(1400)),
    rawId: b64url(B64URL_MAX).check(z.maxLength(1400)),
    type: z.literal('public-key'),
    authenticatorAttachment: z.nullish(z.string().check(z.maxLength(32))),
    clientExtensionResults: z._default(z.optional(z.record(z.string(), z.unknown())), {}),
    response: z.object(response),
  });
}

/** `PublicKeyCredential.toJSON()` of navigator.credentials.create(). */
const registrationResult = () =>
  publicKeyCredentialJson({
    clientDataJSON: b64url(B64URL_MAX),
    attestationObject: b64url(B64URL_MAX),
    authenticatorData: b64url(B64URL_MAX),
    publicKey: b64url(B64URL_MAX),
    publicKeyAlgorithm: z.number().check(z.int()),
    transports: z._default(z.optional(z.array(z.string().check(z.maxLength(32))).check(z.maxLength(10))), []),
  });

/** `PublicKeyCredential.toJSON()` of navigator.credentials.get(). */
const authenticationResult = () =>
  publicKeyCredentialJson({
    clientDataJSON: b64url(B64URL_MAX),
    authenticatorData: b64url(B64URL_MAX),
    signature: b64url(B64URL_MAX),
    userHandle: z.nullish(z.string().check(z.maxLength(128))),
  });

// Built on first use, not at every cold start of the functions that import this module.
let RegistrationResult: ReturnType<typeof registrationResult> | undefined;
let AuthenticationResult: ReturnType<typeof authenticationResult> | undefined;

export type RegistrationResultJson = z.output<ReturnType<typeof registrationResult>>;
export type AuthenticationResultJson = z.output<ReturnType<typeof authenticationResult>>;

interface ClientData {
  type: string;
  challenge: string;
  origin: string;
  crossOrigin?: boolean;
}

/** Decodes base64url(UTF-8 JSON of `toJSON()`); anything malformed is `auth_invalid_credentials`. */
function decodeResult<T extends z.ZodMiniType>(schema: T, encoded: string): { result: z.output<T>; clientData: ClientData } {
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')));
    if (parsed.success) {
      const result = parsed.data as { id: string; rawId: string; response: { clientDataJSON: string } };
      const clientData = parsers.parseClient(result.response.clientDataJSON) as ClientData;
      if (result.id === result.rawId && typeof clientData?.challenge === 'string' && typeof clientData.origin === 'string') {
        return { result: parsed.data, clientData };
      }
    }
  } catch {
    // fall through
  }
  throw new InvalidCredentialsError('webauthn_encoded_result is not a passkey result of this ceremony');
}

export const decodeRegistration = (encoded: string) => decodeResult((RegistrationResult ??= registrationResult()), encoded);
export const decodeAuthentication = (encoded: string) => decodeResult((AuthenticationResult ??= authenticationResult()), encoded);

// ---- verification, around the library --------------------------------------------

function refuse(reason: string): never {
  throw new InvalidCredentialsError(`The passkey result was refused: ${reason}`);
}

async function guarded<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof InvalidCredentialsError) throw error;
    // The library throws plain Errors for every failed check and for malformed input alike.
    refuse(error instanceof Error ? error.message.split(':')[0]!.slice(0, 80) : 'invalid');
  }
}

export interface VerifiedRegistration {
  credential: Omit<WebAuthnCredentialRecord, 'name' | 'display_name' | 'created_at'>;
  authenticatorName?: string;
}

export async function verifyRegistrationResult(
  rp: RelyingParty,
  result: RegistrationResultJson,
  clientData: ClientData,
  challenge: string,
): Promise<VerifiedRegistration> {
  return guarded(async () => {
    if (clientData.crossOrigin === true) refuse('cross-origin ceremony');
    if (!(PUBLIC_KEY_ALGORITHMS as readonly number[]).includes(result.response.publicKeyAlgorithm)) refuse('algorithm not offered');
    const info = await server.verifyRegistration({ ...result, user: { name: '' } } as unknown as RegistrationJSON, {
      challenge,
      origin: (origin: string) => rp.origins.includes(origin),
      domain: rp.id,
      userVerified: rp.userVerification === 'required',
    });
    // Logins list no credentials: a passkey the browser says is not discoverable could never sign in.
    if ((result.clientExtensionResults.credProps as { rk?: unknown } | undefined)?.rk === false) refuse('not a discoverable credential');
    const flags = parsers.parseAuthenticator(result.response.authenticatorData).flags;
    if (!flags.userPresent) refuse('user not present');
    if (!flags.attestedData) refuse('no attested credential data');
    const algorithm = info.credential.algorithm;
    if (algorithm !== 'ES256' && algorithm !== 'RS256') refuse('algorithm not offered');
    // A key that does not import would fail every later login: refuse it now.
    await server.parseCryptoKey(algorithm, info.credential.publicKey);
    return {
      credential: {
        id: result.id,
        public_key: info.credential.publicKey,
        algorithm,
        counter: info.authenticator.counter,
        transports: result.response.transports,
        backup_eligible: flags.backupEligibility,
        backed_up: flags.backupState,
        aaguid: info.authenticator.aaguid,
      },
      ...(info.authenticator.name !== 'Unknown' && { authenticatorName: info.authenticator.name }),
    };
  });
}

export interface VerifiedAssertion {
  counter: number;
  backedUp: boolean;
}

/**
 * The library turns an ES256 DER signature into `r || s` by fixed offsets
 * (server.js convertASN1toRaw), which only holds when r and s are 32 or 33
 * bytes long. DER integers are minimal, so about 1 signature in 128 has a
 * shorter r or s, and a genuine passkey login would be refused as an invalid
 * signature. The signature is re-encoded here with both integers written as
 * 33 bytes (a 0x00, then the 32-byte value), a form the library reads right;
 * the DER is decoded by the same tested converter as KMS signatures.
 */
function withPaddedEs256Signature(result: AuthenticationResultJson): AuthenticationResultJson {
  let raw: Uint8Array;
  try {
    raw = derToJose(Buffer.from(result.response.signature, 'base64url'));
  } catch {
    return result; // malformed: the library refuses it as it is
  }
  const integer = (value: Uint8Array) => Buffer.concat([Buffer.of(0x02, 33, 0x00), value]);
  const body = Buffer.concat([integer(raw.subarray(0, 32)), integer(raw.subarray(32))]);
  const der = Buffer.concat([Buffer.of(0x30, body.length), body]);
  return { ...result, response: { ...result.response, signature: der.toString('base64url') } };
}

export async function verifyAuthenticationResult(
  rp: RelyingParty,
  result: AuthenticationResultJson,
  clientData: ClientData,
  challenge: string,
  credential: WebAuthnCredentialRecord,
): Promise<VerifiedAssertion> {
  return guarded(async () => {
    if (clientData.crossOrigin === true) refuse('cross-origin ceremony');
    const info = await server.verifyAuthentication(
      (credential.algorithm === 'ES256' ? withPaddedEs256Signature(result) : result) as unknown as AuthenticationJSON,
      { id: credential.id, publicKey: credential.public_key, algorithm: credential.algorithm, transports: credential.transports as never },
      {
        challenge,
        origin: (origin: string) => rp.origins.includes(origin),
        domain: rp.id,
        userVerified: rp.userVerification === 'required',
        counter: credential.counter,
      },
    );
    if (!counterAdvances(credential.counter, info.counter)) refuse('signature counter did not advance (cloned authenticator?)');
    const flags = parsers.parseAuthenticator(result.response.authenticatorData).flags;
    return { counter: info.counter, backedUp: flags.backupState };
  });
}

/** WebAuthn §7.2 step 22: unless both are 0 (an authenticator without a counter), the new count must exceed the stored one. */
export function counterAdvances(stored: number, presented: number): boolean {
  if (stored === 0 && presented === 0) return true;
  return presented > stored;
}

// ---- views -------------------------------------------------------------------------

/** A passkey as the users API shows it (Transmit's field names); never its public key or counter. */
export interface PasskeyView {
  id: string;
  name: string;
  display_name?: string;
  status: 'active';
  first_seen: string;
  last_seen: string;
  passkey_type: 'synced' | 'device_bound';
  sync_status?: 'synced' | 'not_synced';
  transports: string[];
  aaguid: string;
}

export function toPasskeyView(credential: WebAuthnCredentialRecord): PasskeyView {
  return {
    id: credential.id,
    name: credential.name,
    ...(credential.display_name !== undefined && { display_name: credential.display_name }),
    status: 'active',
    first_seen: new Date(credential.created_at).toISOString(),
    last_seen: new Date(credential.last_used_at ?? credential.created_at).toISOString(),
    passkey_type: credential.backup_eligible ? 'synced' : 'device_bound',
    ...(credential.backup_eligible && { sync_status: credential.backed_up ? 'synced' : 'not_synced' }),
    transports: credential.transports,
    aaguid: credential.aaguid,
  };
}

/** The WebAuthn user handle: the user id's bytes, never a contact (authenticators may sync it). */
export function userHandleOf(userId: string): string {
  return Buffer.from(userId, 'utf8').toString('base64url');
}
