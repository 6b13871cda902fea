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
import { modifyUser } from './users.js';

/**
 * The one place a factor removal ends the user's sessions: sessions created
 * before `now` stop working (core/sessions.ts isSessionLive), judged on the
 * user record this very write leaves behind.
 */
export function endSessionsOfRemovedFactor(user: UserRecord, now: number): UserRecord {
  return { ...user, sessions_valid_after: now };
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
    return endSessionsOfRemovedFactor({ ...rest, updated_at: now }, now);
  });
  if (!updated) throw new UserNotFoundError();
  await removed(deps, userId, clientId, 'otp');
}

/**
 * `DELETE /cis/v1/users/{user_id}/recovery-codes`: every code stops working.
 * The user's sessions end first (a write of the user record), then the set
 * is deleted: a call that fails between the two leaves the codes, and a
 * retry removes them.
 */
export async function removeRecoveryCodes(deps: Deps, userId: string, clientId: string | null): Promise<void> {
  const key = keys.recoveryCodes(userId);
  const user = await deps.store.get<UserRecord>(keys.user(userId));
  if (!user) throw new UserNotFoundError();
  if (!(await deps.store.get(key))) throw new AuthenticatorNotFoundError('The user has no recovery codes');
  const updated = await modifyUser(deps, userId, (current, now) => endSessionsOfRemovedFactor({ ...current, updated_at: now }, now), undefined, user);
  if (!updated) throw new UserNotFoundError();
  await deps.store.delete(key);
  await removed(deps, userId, clientId, 'recovery_code');
}
