/**
 * Seeds users and sessions straight through the core, for tests of session
 * behaviour that do not care which credential opened the session (the
 * credential paths have their own tests).
 */
import { randomId } from '../../functions/core/crypto.js';
import type { Deps } from '../../functions/core/deps.js';
import { keys, normalizeEmail, normalizeUsername, type AuthMethod, type ClientRecord, type UserRecord } from '../../functions/core/model.js';
import { newUserRecord } from '../../functions/core/users.js';
import { authenticate, type ClientAttributes } from '../../functions/core/sessions.js';

/**
 * Writes a user and the claim records that make it findable by email, phone
 * number and username, as the users module would, without going through it.
 */
export async function seedUser(deps: Deps, fields: Partial<UserRecord> = {}): Promise<UserRecord> {
  const now = deps.clock.now();
  const user: UserRecord = { ...newUserRecord(randomId(), now), ...fields };
  if (user.email) user.email = normalizeEmail(user.email);
  await deps.store.put(keys.user(user.user_id), user, { expectVersion: null });
  const claim = { user_id: user.user_id, created_at: now };
  if (user.email) await deps.store.put(keys.emailClaim(user.email), claim, { expectVersion: null });
  if (user.phone_number) await deps.store.put(keys.phoneClaim(user.phone_number), claim, { expectVersion: null });
  if (user.username) await deps.store.put(keys.usernameClaim(normalizeUsername(user.username)), claim, { expectVersion: null });
  return user;
}

/** Adds `method` for `user` to a new session, or to `sessionId`, as an authenticate endpoint would after a good credential. */
export async function seedAuthentication(
  deps: Deps,
  client: ClientRecord,
  user: UserRecord,
  method: AuthMethod,
  options: { sessionId?: string; clientAttributes?: ClientAttributes } = {},
) {
  return authenticate(
    deps,
    { client, userId: user.user_id, method, sessionId: options.sessionId, clientAttributes: options.clientAttributes },
    // As a real credential check does, judge the user as stored now (its credential version included), not as the test once read it.
    async () => ({ user: (await deps.store.get<UserRecord>(keys.user(user.user_id)))?.value ?? user, commit: async () => {} }),
  );
}
