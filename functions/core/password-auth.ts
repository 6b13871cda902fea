/**
 * `POST /cis/v1/auth/password/authenticate` (contract sections 4 and 8).
 *
 * A wrong password, an unknown user, a user without a password and a disabled
 * user all get the same `auth_invalid_credentials`, after the same scrypt work
 * (a dummy verification stands in when there is no hash to check).
 *
 * Lockout: every attempt on a user's password is first reserved on the user
 * record with a conditional put on its version (STYLE habit 6: count before
 * comparing), so parallel guesses cannot slip past the limit; the 10th
 * consecutive attempt sets a 15-minute lock that only a success (which resets
 * the count in the credential's `commit`) or a new password clears. A locked
 * user gets 403 `auth_locked` with Retry-After before the password is looked at.
 */
import { InvalidCredentialsError, LockedError } from '../errors.js';
import { auditLockout } from './audit.js';
import type { Deps } from './deps.js';
import type { ClientRecord, UserRecord } from './model.js';
import { verifyDummyPassword, verifyPassword } from './passwords.js';
import { authenticate, type ClientAttributes } from './sessions.js';
import type { TokenResponse } from './tokens.js';
import { findUser, modifyUser } from './users.js';

export const PASSWORD_MAX_FAILURES = 10;
export const PASSWORD_LOCK_MS = 15 * 60 * 1000;
/** Parallel attempts on one user contend for its record: retry more than usual before answering 503. */
const RESERVE_ATTEMPTS = 12;

export interface PasswordAuthenticateInput {
  username: string;
  password: string;
  username_type?: 'username' | 'email' | 'phone_number';
  session_id?: string;
  client_attributes?: ClientAttributes;
}

/**
 * Reserves one password attempt: throws `auth_locked` while a lock holds,
 * otherwise counts the attempt (a lock that has run out starts a new count)
 * and sets the lock when this is the last attempt allowed.
 */
export function reservePasswordAttempt(user: UserRecord, now: number): UserRecord {
  const { password_locked_until: lockedUntil, ...rest } = user;
  let failures = user.password_failures ?? 0;
  if (lockedUntil !== undefined) {
    if (now < lockedUntil) {
      throw new LockedError('Too many failed password attempts: password login is locked for this user; retry later', (lockedUntil - now) / 1000);
    }
    failures = 0;
  }
  failures += 1;
  return { ...rest, password_failures: failures, ...(failures >= PASSWORD_MAX_FAILURES && { password_locked_until: now + PASSWORD_LOCK_MS }) };
}

/** After a success: the count of consecutive failures starts again. */
export function clearPasswordFailures(user: UserRecord): UserRecord {
  if (user.password_failures === 0 && user.password_locked_until === undefined) return user;
  const { password_locked_until: _lock, ...rest } = user;
  return { ...rest, password_failures: 0 };
}

export async function authenticatePassword(deps: Deps, client: ClientRecord, input: PasswordAuthenticateInput): Promise<TokenResponse> {
  const password = input.password.normalize('NFC');
  const found = await findUser(deps, input.username_type ?? 'username', input.username);
  const userId = found?.value.user_id;

  const refuse = async (): Promise<never> => {
    await verifyDummyPassword(password, deps.settings.scrypt);
    throw new InvalidCredentialsError();
  };

  return authenticate(
    deps,
    // An unknown user cannot match any session: with a session_id it is session_user_mismatch, as for any other user.
    { client, userId: userId ?? '', method: 'pwd', sessionId: input.session_id, clientAttributes: input.client_attributes },
    async () => {
      if (userId === undefined || found?.value.password === undefined || found.value.status !== 'Active') return refuse();
      const user = await modifyUser(deps, userId, reservePasswordAttempt, RESERVE_ATTEMPTS);
      if (!user?.password || user.status !== 'Active') return refuse();
      if (!(await verifyPassword(password, user.password.hash))) {
        // A wrong attempt that was reserved with the lock set is the one that locked the user.
        throw user.password_locked_until === undefined ? new InvalidCredentialsError() : await auditLockout(deps, userId, new InvalidCredentialsError());
      }
      const verified = clearPasswordFailures(user);
      return {
        user: verified,
        commit: async () => {
          await modifyUser(deps, userId, clearPasswordFailures);
        },
      };
    },
  );
}
