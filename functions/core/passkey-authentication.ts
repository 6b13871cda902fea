/**
 * Passkey authentication (contract section 4, "Passkey" row): method
 * `webauthn`, its own factor class.
 *
 * Start never lists credentials: every login is a discoverable-credential
 * login (registration requires a resident key), so the answer is the same
 * whether the username names nobody, a user without passkeys, or one with
 * twenty; only the random challenge and session id differ. A list of the
 * user's passkeys would tell who is registered (and how many passkeys they
 * hold), and a made-up stand-in cannot copy a real list's length. Known and
 * unknown names cost the same store reads. The username only binds the
 * challenge: after the assertion, finish refuses a passkey that is not the
 * named user's, with the same error as any other refused passkey.
 *
 * Finish goes through sessions.authenticate: the target session is checked
 * (session_id joining, IP binding, session_user_mismatch) before the
 * assertion, and the challenge is consumed and the counter stored only once
 * tokens are signed.
 */
import { InvalidCredentialsError } from '../errors.js';
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
  /** Always empty: a discoverable-passkey login, so the answer names no credential of anyone. */
  allowCredentials: [];
  userVerification: 'required' | 'preferred';
}

/** The username of a passkey login may be the user's username, email or E.164 phone number. */
function identifierOf(username: string): [IdentifierType, string] {
  if (username.includes('@')) return ['email', username];
  if (/^\+[1-9]\d{6,14}$/.test(username.trim())) return ['phone_number', username];
  return ['username', username];
}

/** `POST /cis/v1/auth/webauthn/authenticate/start`. `timeout` in seconds (30 to 600), capped at the challenge's 5 minutes. */
export async function startPasskeyAuthentication(
  deps: Deps,
  client: ClientRecord,
  input: { username?: string; timeout?: number },
): Promise<{ webauthn_session_id: string; credential_request_options: RequestOptionsJson }> {
  const rp = relyingPartyOf(client);
  let userId: string | undefined;
  if (input.username !== undefined) {
    const [type, identifier] = identifierOf(input.username);
    // The same reads for known and unknown names (findUser).
    const found = await findUser(deps, type, identifier);
    userId = found?.value.user_id;
  }
  const challenge = await issueChallenge(deps, {
    ceremony: 'authenticate',
    client_id: client.client_id,
    // A name that matches nobody binds the challenge to no user: no passkey can answer it.
    ...(input.username !== undefined && { named_user: true }),
    ...(userId !== undefined && { user_id: userId }),
  });
  return {
    webauthn_session_id: challenge.webauthn_session_id,
    credential_request_options: {
      challenge: challenge.challenge,
      timeout: Math.min((input.timeout ?? 300) * 1000, CHALLENGE_TTL_MS),
      rpId: rp.id,
      allowCredentials: [],
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
  if (challenge.value.named_user === true && challenge.value.user_id !== userId) throw new InvalidCredentialsError('This passkey is not the named user\'s');
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

/**
 * A discoverable credential names its user (WebAuthn §7.2 step 6, for a
 * login that listed no credentials): the handle must be there and name the
 * owner of the credential ID.
 */
function checkUserHandle(result: AuthenticationResultJson, userId: string): void {
  if (result.response.userHandle !== userHandleOf(userId)) throw new InvalidCredentialsError('The passkey names another user, or none');
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
