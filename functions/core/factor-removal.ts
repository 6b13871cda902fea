/**
 * Removing a factor (contract sections 5 and 10): revoking the authenticator
 * app, removing the recovery codes, deleting a passkey (passkey-registration.ts).
 *
 * These are client-token routes: the calling backend is trusted to have
 * decided the user may remove the factor (as for replacing a password), e.g.
 * after a step-up it judged from `amr`, or after an account-recovery process
 * of its own. Twofold does not second-guess it.
 *
 * A removed factor stops working at once, and every session of the user ends
 * (at every client), in the same conditional write of the user record: each
 * was proved with the old set of factors, and a session proved with a factor
 * the user has just lost (a stolen phone, a leaked authenticator seed) must
 * not outlive it. The user logs in again with what they still hold.
 */
import { AuthenticatorNotFoundError, UserNotFoundError } from '../errors.js';
import { emitAudit } from './audit.js';
import type { Deps } from './deps.js';
import { keys, type AuthMethod, type UserRecord } from './model.js';
import { withCredentialsChanged } from './credential-changes.js';
import { carrySessionPastChange } from './sessions.js';
import type { UserPrincipal } from './user-tokens.js';
import { modifyUser } from './users.js';

/**
 * The one place a factor removal ends the user's sessions: it moves the
 * user's credential version on (core/credential-changes.ts) in the write that
 * removes the factor, so every session proved before it is over, including a
 * login in flight that read the user before this write and lands after it.
 */
export function endSessionsOfRemovedFactor(user: UserRecord): UserRecord {
  return withCredentialsChanged(user);
}

/**
 * A factor replaced from a session (a working authenticator app, a set of
 * recovery codes) is a factor removed: `updated`, the user as the write that
 * moved its credential version on left it, has ended every session proved
 * with the old factor, a thief's logged in with a leaked seed or code among
 * them. The session that proved the user's factors and made the replacement
 * is carried past that change and lives on.
 */
export async function keepReplacingSession(deps: Deps, principal: UserPrincipal, updated: UserRecord): Promise<void> {
  await carrySessionPastChange(deps, principal.record.value.session_id, (updated.credential_version ?? 0) - 1);
}

/** One `factor_removal` audit event. */
export async function removed(deps: Deps, userId: string, clientId: string | null, method: Extract<AuthMethod, 'otp' | 'webauthn' | 'recovery_code'>): Promise<void> {
  await emitAudit(deps, { event: 'factor_removal', user_id: userId, client_id: clientId, method, ip: null, outcome: 'success' });
}

/** The id the authenticators list gives the user's app (older records have none of their own). */
export function totpAuthenticatorId(user: Pick<UserRecord, 'totp'>): string | undefined {
  if (!user.totp) return undefined;
  return user.totp.id ?? 'totp';
}

/**
 * `POST /cis/v1/users/{user_id}/totp/revoke` `{authenticator_id?}`: removes
 * the authenticator app, pending or working. With `authenticator_id`, only
 * if it names the user's app; 404 `authenticator_not_found` when it does not
 * or there is none.
 */
export async function revokeTotp(deps: Deps, userId: string, authenticatorId: string | undefined, clientId: string | null): Promise<void> {
  const updated = await modifyUser(deps, userId, (user, now) => {
    const id = totpAuthenticatorId(user);
    if (id === undefined || (authenticatorId !== undefined && authenticatorId !== id)) throw new AuthenticatorNotFoundError('The user has no authenticator app with this id');
    const { totp: _removed, ...rest } = user;
    return endSessionsOfRemovedFactor({ ...rest, updated_at: now });
  });
  if (!updated) throw new UserNotFoundError();
  await removed(deps, userId, clientId, 'otp');
}

/**
 * `DELETE /cis/v1/users/{user_id}/recovery-codes`: every code stops working.
 * The codes live in a record of their own, so this takes three writes:
 *
 * 1. the credential version moves on: every session so far is over, and a
 *    call that fails after this and is retried still finds the codes;
 * 2. the set is deleted: no code is accepted any more;
 * 3. the version moves on again: a login that read the user between 1 and 2
 *    and used a code before 2 (its use is a conditional write on the set, so
 *    it came before the delete, and its read of the user before that) wrote
 *    a session under the version of step 1, which this ends.
 */
export async function removeRecoveryCodes(deps: Deps, userId: string, clientId: string | null): Promise<void> {
  const key = keys.recoveryCodes(userId);
  const user = await deps.store.get<UserRecord>(keys.user(userId));
  if (!user) throw new UserNotFoundError();
  if (!(await deps.store.get(key))) throw new AuthenticatorNotFoundError('The user has no recovery codes');
  const endSessions = (current: UserRecord, now: number) => endSessionsOfRemovedFactor({ ...current, updated_at: now });
  if (!(await modifyUser(deps, userId, endSessions, undefined, user))) throw new UserNotFoundError();
  await deps.store.delete(key);
  if (!(await modifyUser(deps, userId, endSessions))) throw new UserNotFoundError();
  await removed(deps, userId, clientId, 'recovery_code');
}
