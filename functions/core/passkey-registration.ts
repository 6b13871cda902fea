/**
 * Passkey registration (contract section 4, "Passkey" row) under a user
 * access token, and the users API that lists and deletes passkeys.
 *
 * A credential ID is claimed by a `webauthn#<id>` record before the user
 * record holds the credential (as users.ts claims contacts): two users can
 * never hold one credential ID, and authentication finds the owner of an ID
 * in one read. Deleting a passkey releases the claim after the user record
 * stopped holding it.
 */
import { ConflictError, InvalidCredentialsError, InvalidInputError, PasskeyNotFoundError, UserNotFoundError } from '../errors.js';
import type { Deps } from './deps.js';
import { keys, type ClaimRecord, type UserRecord, type WebAuthnCredentialRecord } from './model.js';
import type { UserPrincipal } from './user-tokens.js';
import { withCredentialsChanged } from './credential-changes.js';
import { CLAIM_GRACE_MS, claimUnique, modifyUser } from './users.js';
import {
  CHALLENGE_TTL_MS,
  consumeChallenge,
  decodeRegistration,
  issueChallenge,
  loadChallenge,
  MAX_PASSKEYS_PER_USER,
  PUBLIC_KEY_ALGORITHMS,
  relyingPartyOf,
  toPasskeyView,
  userHandleOf,
  verifyRegistrationResult,
  type PasskeyView,
} from './webauthn.js';

/** The account name the authenticator shows: the first of username, email, phone, user_id. */
function accountName(user: UserRecord): string {
  return user.username ?? user.email ?? user.phone_number ?? user.user_id;
}

/** `PublicKeyCredentialCreationOptionsJSON`. */
export interface CreationOptionsJson {
  rp: { id: string; name: string };
  user: { id: string; name: string; displayName: string };
  challenge: string;
  pubKeyCredParams: Array<{ type: 'public-key'; alg: number }>;
  timeout: number;
  excludeCredentials: Array<{ type: 'public-key'; id: string; transports: string[] }>;
  authenticatorSelection: { residentKey: 'required'; requireResidentKey: true; userVerification: 'required' | 'preferred' };
  attestation: 'none';
  extensions: { credProps: true };
}

/** `POST /cis/v1/auth/webauthn/register/start`: a challenge bound to this user and session. */
export async function startPasskeyRegistration(
  deps: Deps,
  principal: UserPrincipal,
  input: { display_name?: string },
): Promise<{ webauthn_session_id: string; credential_creation_options: CreationOptionsJson }> {
  const rp = relyingPartyOf(principal.client);
  const { user } = principal;
  const challenge = await issueChallenge(deps, {
    ceremony: 'register',
    client_id: principal.client.client_id,
    user_id: user.user_id,
    session_id: principal.record.value.session_id,
    ...(input.display_name !== undefined && { display_name: input.display_name }),
  });
  return {
    webauthn_session_id: challenge.webauthn_session_id,
    credential_creation_options: {
      rp: { id: rp.id, name: rp.name },
      user: { id: userHandleOf(user.user_id), name: accountName(user), displayName: input.display_name ?? accountName(user) },
      challenge: challenge.challenge,
      pubKeyCredParams: PUBLIC_KEY_ALGORITHMS.map((alg) => ({ type: 'public-key' as const, alg })),
      timeout: CHALLENGE_TTL_MS,
      // The same authenticator is not registered twice.
      excludeCredentials: (user.webauthn_credentials ?? []).map((c) => ({ type: 'public-key' as const, id: c.id, transports: c.transports })),
      // Required: logins list no credentials (so they reveal no user), and only a discoverable passkey answers those.
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: rp.userVerification },
      attestation: 'none',
      extensions: { credProps: true },
    },
  };
}

/**
 * `POST /cis/v1/auth/webauthn/register`: verifies the browser's result
 * against the challenge issued to this very user and session, consumes the
 * challenge, claims the credential ID and adds the passkey to the user.
 */
export async function finishPasskeyRegistration(deps: Deps, principal: UserPrincipal, encoded: string): Promise<PasskeyView> {
  const rp = relyingPartyOf(principal.client);
  const { result, clientData } = decodeRegistration(encoded);
  const challenge = await loadChallenge(deps, principal.client, 'register', clientData.challenge);
  if (challenge.value.user_id !== principal.user.user_id || challenge.value.session_id !== principal.record.value.session_id) {
    throw new InvalidCredentialsError('The passkey challenge was issued to another session');
  }
  const verified = await verifyRegistrationResult(rp, result, clientData, challenge.value.challenge);
  await consumeChallenge(deps, challenge);

  const now = deps.clock.now();
  const credential: WebAuthnCredentialRecord = {
    ...verified.credential,
    name: verified.authenticatorName ?? 'Passkey',
    ...(challenge.value.display_name !== undefined && { display_name: challenge.value.display_name }),
    created_at: now,
  };
  const userId = principal.user.user_id;
  await claimCredentialId(deps, credential.id, userId);
  try {
    const updated = await modifyUser(deps, userId, (user, at) => {
      if (user.status !== 'Active') throw new InvalidCredentialsError('The user is disabled');
      const existing = user.webauthn_credentials ?? [];
      if (existing.some((c) => c.id === credential.id)) throw new InvalidCredentialsError('This passkey is already registered');
      if (existing.length >= MAX_PASSKEYS_PER_USER) throw new InvalidInputError(`A user can have at most ${MAX_PASSKEYS_PER_USER} passkeys`);
      return { ...user, webauthn_credentials: [...existing, credential], updated_at: at };
    });
    if (!updated) throw new UserNotFoundError();
  } catch (error) {
    await releaseClaim(deps, credential.id, userId);
    throw error;
  }
  deps.logger.info('passkey registered', { user_id: userId, client_id: principal.client.client_id });
  return toPasskeyView(credential);
}

/**
 * Claims a credential ID for `userId`. A claim held by another user is
 * refused; a stale one (its user is gone or no longer holds the credential,
 * and it is older than the grace of in-flight calls) is taken over.
 */
async function claimCredentialId(deps: Deps, credentialId: string, userId: string): Promise<void> {
  await claimUnique(
    deps,
    keys.webauthnCredential(credentialId),
    userId,
    async (existing, now) => {
      const owner = await deps.store.get<UserRecord>(keys.user(existing.user_id));
      const held = owner?.value.webauthn_credentials?.some((c) => c.id === credentialId) ?? false;
      return held || now - existing.created_at < CLAIM_GRACE_MS;
    },
    () => new InvalidCredentialsError('This passkey is already registered'),
    'passkey',
  );
}

/** Releases the claim if it is still `userId`'s (a conditional delete on the version read). */
async function releaseClaim(deps: Deps, credentialId: string, userId: string): Promise<void> {
  const key = keys.webauthnCredential(credentialId);
  const claim = await deps.store.get<ClaimRecord>(key);
  if (!claim || claim.value.user_id !== userId) return;
  await deps.store.delete(key, { expectVersion: claim.version }).catch((error: unknown) => {
    if (!(error instanceof ConflictError)) throw error;
  });
}

/** `GET /cis/v1/users/{user_id}/webauthn-credentials`. */
export async function listPasskeys(deps: Deps, userId: string): Promise<PasskeyView[]> {
  const record = await deps.store.get<UserRecord>(keys.user(userId));
  if (!record) throw new UserNotFoundError();
  return (record.value.webauthn_credentials ?? []).map(toPasskeyView);
}

/**
 * `DELETE /cis/v1/users/{user_id}/webauthn-credentials/{credential_id}`: the
 * passkey stops working at once, and so does every session of the user
 * proved before, logins in flight included (a factor removed is a credential
 * change: core/credential-changes.ts).
 */
export async function deletePasskey(deps: Deps, userId: string, credentialId: string): Promise<void> {
  const updated = await modifyUser(deps, userId, (user, now) => {
    const existing = user.webauthn_credentials ?? [];
    if (!existing.some((c) => c.id === credentialId)) throw new PasskeyNotFoundError();
    return withCredentialsChanged({ ...user, webauthn_credentials: existing.filter((c) => c.id !== credentialId), updated_at: now });
  });
  if (!updated) throw new UserNotFoundError();
  await releaseClaim(deps, credentialId, userId);
}
