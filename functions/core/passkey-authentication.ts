/**
 * Passkey authentication (contract section 4, "Passkey" row): method
 * `webauthn`, its own factor class. Start answers an unknown username exactly
 * as a known one: a user without usable passkeys (unknown, disabled, or with
 * none) gets a deterministic made-up credential list of the same shape, so
 * asking twice gives the same answer and nothing tells the two apart. Without
 * a username the list is empty and the browser offers its discoverable
 * passkeys.
 *
 * Finish goes through sessions.authenticate: the target session is checked
 * (session_id joining, IP binding, session_user_mismatch) before the
 * assertion, and the challenge is consumed and the counter stored only once
 * tokens are signed.
 */
import { InvalidCredentialsError } from '../errors.js';
import { keyedHash, randomId } from './crypto.js';
import type { Deps } from './deps.js';
import { keys, type ClaimRecord, type ClientRecord, type UserRecord } from './model.js';
import { authenticate, type ClientAttributes, type CredentialCheck } from './sessions.js';
import type { ClaimsRequest, TokenResponse } from './tokens.js';
import { findUser, modifyUser, type IdentifierType } from './users.js';
import {
  CHALLENGE_TTL_MS,
  consumeChallenge,
  counterAdvances,
  decodeAuthentication,
  issueChallenge,
  loadChallenge,
  relyingPartyOf,
  userHandleOf,
  verifyAuthenticationResult,
  type AuthenticationResultJson,
  type RelyingParty,
  type VerifiedAssertion,
} from './webauthn.js';

/** `PublicKeyCredentialRequestOptionsJSON`. */
export interface RequestOptionsJson {
  challenge: string;
  timeout: number;
  rpId: string;
  allowCredentials: Array<{ type: 'public-key'; id: string; transports: string[] }>;
  userVerification: 'required' | 'preferred';
}

/** The username of a passkey login may be the user's username, email or E.164 phone number. */
function identifierOf(username: string): [IdentifierType, string] {
  if (username.includes('@')) return ['email', username];
  if (/^\+[1-9]\d{6,14}$/.test(username.trim())) return ['phone_number', username];
  return ['username', username];
}

/** The stand-in list for a username without usable passkeys: stable per username and service key. */
function madeUpCredentials(deps: Deps, username: string): RequestOptionsJson['allowCredentials'] {
  const id = Buffer.from(keyedHash(deps.hashKey, `webauthn-unknown:${username.trim().toLowerCase()}`), 'base64url').subarray(0, 16).toString('base64url');
  return [{ type: 'public-key', id, transports: ['internal', 'hybrid'] }];
}

/** `POST /cis/v1/auth/webauthn/authenticate/start`. `timeout` in seconds (30 to 600), capped at the challenge's 5 minutes. */
export async function startPasskeyAuthentication(
  deps: Deps,
  client: ClientRecord,
  input: { username?: string; timeout?: number },
): Promise<{ webauthn_session_id: string; credential_request_options: RequestOptionsJson }> {
  const rp = relyingPartyOf(client);
  let userId: string | undefined;
  let allowCredentials: RequestOptionsJson['allowCredentials'] = [];
  if (input.username !== undefined) {
    const [type, identifier] = identifierOf(input.username);
    const found = await findUser(deps, type, identifier);
    // Keep the number of reads the same for known and unknown names.
    if (!found) await deps.store.get(keys.user(randomId()));
    const usable = found?.value.status === 'Active' ? (found.value.webauthn_credentials ?? []) : [];
    if (usable.length > 0) {
      userId = found!.value.user_id;
      allowCredentials = usable.map((c) => ({ type: 'public-key', id: c.id, transports: c.transports }));
    } else {
      allowCredentials = madeUpCredentials(deps, input.username);
    }
  }
  const challenge = await issueChallenge(deps, {
    ceremony: 'authenticate',
    client_id: client.client_id,
    ...(userId !== undefined && { user_id: userId }),
    ...(input.username !== undefined && { allowed_credential_ids: allowCredentials.map((c) => c.id) }),
  });
  return {
    webauthn_session_id: challenge.webauthn_session_id,
    credential_request_options: {
      challenge: challenge.challenge,
      timeout: Math.min((input.timeout ?? 300) * 1000, CHALLENGE_TTL_MS),
      rpId: rp.id,
      allowCredentials,
      userVerification: rp.userVerification,
    },
  };
}

export interface PasskeyAuthenticateInput {
  webauthn_encoded_result: string;
  session_id?: string;
  client_attributes?: ClientAttributes;
  /** OIDC `max_age` in seconds: older authentications are left out of this response's `amr`, `amr_at` and `mfa`. */
  max_age?: number;
  claims?: ClaimsRequest;
}

/** `POST /cis/v1/auth/webauthn/authenticate`. */
export async function authenticatePasskey(deps: Deps, client: ClientRecord, input: PasskeyAuthenticateInput): Promise<TokenResponse> {
  const rp = relyingPartyOf(client);
  const decoded = decodeAuthentication(input.webauthn_encoded_result);
  const owner = await deps.store.get<ClaimRecord>(keys.webauthnCredential(decoded.result.id));
  if (!owner) throw new InvalidCredentialsError('Unknown passkey');
  const userId = owner.value.user_id;
  return authenticate(
    deps,
    { client, userId, method: 'webauthn', sessionId: input.session_id, clientAttributes: input.client_attributes, maxAge: input.max_age, claims: input.claims },
    () => checkAssertion(deps, client, rp, userId, decoded),
  );
}

async function checkAssertion(
  deps: Deps,
  client: ClientRecord,
  rp: RelyingParty,
  userId: string,
  { result, clientData }: ReturnType<typeof decodeAuthentication>,
): Promise<CredentialCheck> {
  const challenge = await loadChallenge(deps, client, 'authenticate', clientData.challenge);
  const allowed = challenge.value.allowed_credential_ids;
  if (allowed !== undefined && !allowed.includes(result.id)) throw new InvalidCredentialsError('This passkey was not offered for this login');
  const user = (await deps.store.get<UserRecord>(keys.user(userId)))?.value;
  const credential = user?.webauthn_credentials?.find((c) => c.id === result.id);
  if (!user || user.status !== 'Active' || !credential) throw new InvalidCredentialsError('Unknown passkey');
  checkUserHandle(result, userId);
  const verified = await verifyAuthenticationResult(rp, result, clientData, challenge.value.challenge, credential);
  return {
    user,
    commit: async () => {
      await consumeChallenge(deps, challenge);
      await recordUse(deps, userId, credential.id, verified);
    },
  };
}

/** A discoverable credential names its user; it must be the owner of the credential ID. */
function checkUserHandle(result: AuthenticationResultJson, userId: string): void {
  const handle = result.response.userHandle;
  if (handle !== undefined && handle !== null && handle !== '' && handle !== userHandleOf(userId)) {
    throw new InvalidCredentialsError('The passkey names another user');
  }
}

/**
 * Stores the new counter and last use with a conditional write, re-judged on
 * the record as it is then: a passkey deleted meanwhile, or a counter another
 * login already moved past this one, refuses.
 */
async function recordUse(deps: Deps, userId: string, credentialId: string, verified: VerifiedAssertion): Promise<void> {
  const updated = await modifyUser(deps, userId, (user, now) => {
    const credentials = user.webauthn_credentials ?? [];
    const current = credentials.find((c) => c.id === credentialId);
    if (user.status !== 'Active' || !current) throw new InvalidCredentialsError('Unknown passkey');
    if (!counterAdvances(current.counter, verified.counter)) throw new InvalidCredentialsError('The passkey signature counter did not advance');
    const used = { ...current, counter: verified.counter, backed_up: verified.backedUp, last_used_at: now };
    return { ...user, webauthn_credentials: credentials.map((c) => (c.id === credentialId ? used : c)) };
  });
  if (!updated) throw new InvalidCredentialsError('Unknown passkey');
}
