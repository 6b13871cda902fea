/**
 * A user's password over the API (contract section 3): created once with
 * POST, replaced with PUT. Hashing and policy live in passwords.ts; guessing a
 * password is password-auth.ts.
 */
import { PasswordConflictError, UserNotFoundError } from '../errors.js';
import { withCredentialsChanged } from './credential-changes.js';
import type { Deps } from './deps.js';
import { keys, type UserRecord } from './model.js';
import { newPasswordHash, type PasswordInput } from './passwords.js';
import { modifyUser, updateUser } from './users.js';

/**
 * `POST /cis/v1/users/{user_id}/password`: the user's first password, and
 * optionally a username to log in with. 409 `auth_password_already_configured`
 * when the user has a password (replacing one is PUT). The sessions the user
 * already has live on.
 */
export async function createUserPassword(deps: Deps, userId: string, input: PasswordInput & { username?: string }): Promise<void> {
  const hash = await newPasswordHash(input, deps.settings.scrypt);
  const current = await deps.store.get<UserRecord>(keys.user(userId));
  if (!current) throw new UserNotFoundError();
  if (current.value.password !== undefined) throw alreadyConfigured();
  // The username first: a taken one (409 user_already_exists) leaves no password behind.
  if (input.username !== undefined) await updateUser(deps, userId, { username: input.username });
  const updated = await modifyUser(deps, userId, (user, now) => {
    if (user.password !== undefined) throw alreadyConfigured();
    return { ...user, password: { hash, updated_at: now }, password_failures: 0, updated_at: now };
  });
  if (!updated) throw new UserNotFoundError();
}

/**
 * `PUT /cis/v1/users/{user_id}/password`: replaces the password. Every session
 * of the user proved before now ends, logins in flight included
 * (core/credential-changes.ts; a client token names no session of its own to keep), and password guesses count afresh (they are counted per
 * password, core/password-auth.ts). 409
 * `auth_password_already_configured` when the user has no password to replace,
 * the status and code Transmit documents for that case.
 */
export async function replaceUserPassword(deps: Deps, userId: string, input: PasswordInput): Promise<void> {
  const hash = await newPasswordHash(input, deps.settings.scrypt);
  const updated = await modifyUser(deps, userId, (user, now) => {
    if (user.password === undefined) throw new PasswordConflictError('The user has no password to replace; create one with POST');
    return withCredentialsChanged({ ...user, password: { hash, updated_at: now }, updated_at: now });
  });
  if (!updated) throw new UserNotFoundError();
}

function alreadyConfigured(): PasswordConflictError {
  return new PasswordConflictError('The user already has a password; replace it with PUT');
}
