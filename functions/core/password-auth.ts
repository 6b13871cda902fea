/**
 * `POST /cis/v1/auth/password/authenticate` (contract sections 4 and 8).
 *
 * A wrong password, an unknown user, a user without a password and a disabled
 * user all get the same `auth_invalid_credentials`, after the same scrypt work
 * (a dummy verification stands in when there is no hash to check). With a
 * session_id, the session is checked first: a user the session does not
 * belong to, known or not, is `session_user_mismatch` alike.
 *
 * Lockout: every attempt is counted by one atomic write before the password
 * is looked at (core/attempts.ts), so parallel guesses cannot slip past the
 * limit: 10 consecutive failures lock password login for 15 minutes, the
 * right password too. Attempts are counted per user and password (a new
 * password starts afresh) and, for an identifier naming no usable user, per
 * identifier, so unknown users lock exactly like known ones. A success resets
 * the count. A run of failures is forgotten after 30 days without any.
 */
import { InvalidCredentialsError, LockedError } from '../errors.js';
import { giveBackAttempt, reserveAttempt, resetAttempts, unknownSubject, type AttemptPolicy } from './attempts.js';
import { sha256 } from './crypto.js';
import { auditLockout } from './audit.js';
import type { Deps } from './deps.js';
import { keys, type ClientRecord, type UserRecord } from './model.js';
import { verifyDummyPassword, verifyPassword } from './passwords.js';
import { authenticate, type ClientAttributes } from './sessions.js';
import type { ClaimsRequest, TokenResponse } from './tokens.js';
import { findUser } from './users.js';

export const PASSWORD_MAX_FAILURES = 10;
export const PASSWORD_LOCK_MS = 15 * 60 * 1000;
export const PASSWORD_FAILURES_FORGOTTEN_MS = 30 * 24 * 3600 * 1000;
const PASSWORD_ATTEMPTS: AttemptPolicy = { limit: PASSWORD_MAX_FAILURES, lockMs: PASSWORD_LOCK_MS, idleMs: PASSWORD_FAILURES_FORGOTTEN_MS };

export interface PasswordAuthenticateInput {
  username: string;
  password: string;
  username_type?: 'username' | 'email' | 'phone_number';
  session_id?: string;
  client_attributes?: ClientAttributes;
  /** OIDC `max_age` in seconds: older authentications are left out of this response's `amr`, `amr_at` and `mfa`. */
  max_age?: number;
  claims?: ClaimsRequest;
}

/** The counter of password guesses at `user`, or at the identifier when it names no user. */
export function passwordAttemptsKey(user: UserRecord | undefined, type: 'username' | 'email' | 'phone_number', identifier: string): string {
  if (!user) return keys.passwordAttempts(unknownSubject(type, identifier));
  // The stored hash is salted, so each password set gets a counter of its own.
  return keys.passwordAttempts(user.password ? `${user.user_id}#${sha256(user.password.hash).slice(0, 16)}` : user.user_id);
}

function lockedError(retryAfterMs: number): LockedError {
  return new LockedError('Too many failed password attempts: password login is locked for this user; retry later', retryAfterMs / 1000);
}

export async function authenticatePassword(deps: Deps, client: ClientRecord, input: PasswordAuthenticateInput): Promise<TokenResponse> {
  const password = input.password.normalize('NFC');
  const type = input.username_type ?? 'username';
  const user = (await findUser(deps, type, input.username))?.value;

  return authenticate(
    deps,
    // An unknown user cannot match any session: with a session_id it is session_user_mismatch, as for any other user.
    { client, userId: user?.user_id ?? '', user, method: 'pwd', sessionId: input.session_id, clientAttributes: input.client_attributes, maxAge: input.max_age, claims: input.claims },
    async () => {
      const key = passwordAttemptsKey(user, type, input.username);
      const reservation = await reserveAttempt(deps, key, PASSWORD_ATTEMPTS);
      if (!reservation.reserved) throw lockedError(reservation.retryAfterMs ?? PASSWORD_LOCK_MS);
      if (reservation.reachedLimit && user) await auditLockout(deps, user.user_id, undefined);
      // The attempt that reaches the limit is still answered as a plain failure; the next one learns of the lock.
      if (!user?.password || user.status !== 'Active') {
        await verifyDummyPassword(password, deps.settings.scrypt);
        throw new InvalidCredentialsError();
      }
      if (!(await verifyPassword(password, user.password.hash))) throw new InvalidCredentialsError();
      return { user, commit: () => resetAttempts(deps, key), release: () => giveBackAttempt(deps, reservation) };
    },
  );
}
