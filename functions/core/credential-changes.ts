/**
 * How a credential change ends the user's sessions, and wins every race.
 *
 * THE helper: every change that must end a user's sessions applies
 * `withCredentialsChanged` to the user record inside the write that makes the
 * change (the updater of users.ts `modifyUser`, or the record `updateUser`
 * writes): replacing a password, disabling or enabling the user, removing a
 * factor (a passkey, an authenticator app, recovery codes), logging out every
 * session. Do not stamp `sessions_valid_after` for this any more: that is how
 * users were stamped before credential versions, and it is only read.
 *
 * Why a version and not a time: a login reads the user, spends hundreds of
 * milliseconds on the credential (scrypt), then writes its session. A
 * session records the `credential_version` it was proved under, as the
 * login read it, and every read of the session (authenticate calls, refresh,
 * user access tokens, listings) judges it against the user's current
 * version: a session proved before the change never works, even one written
 * after the change, even within the same millisecond. Deleting a user needs
 * nothing more: a session works only while its user exists.
 */
import type { SessionRecord, UserRecord } from './model.js';

/** The user with every session proved so far over, including logins in flight. */
export function withCredentialsChanged(user: UserRecord): UserRecord {
  return { ...user, credential_version: (user.credential_version ?? 0) + 1 };
}

/** Whether the session was proved under the user's current credentials. */
export function provedUnderCurrentCredentials(session: SessionRecord, user: UserRecord): boolean {
  if ((session.credential_version ?? 0) !== (user.credential_version ?? 0)) return false;
  // Users stamped before credential versions: sessions created before the stamp are over.
  if (user.sessions_valid_after !== undefined && session.created_at < user.sessions_valid_after) return false;
  return true;
}
