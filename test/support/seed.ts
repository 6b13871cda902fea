/**
 * Seeds users and sessions straight through the core, for tests of session
 * behaviour that do not care which credential opened the session (the
 * credential paths have their own tests).
 */
import { randomId } from '../../functions/core/crypto.js';
import type { Deps } from '../../functions/core/deps.js';
import { keys, normalizeEmail, type AuthMethod, type ClientRecord, type UserRecord } from '../../functions/core/model.js';
import { authenticate, type ClientAttributes } from '../../functions/core/sessions.js';

export async function seedUser(deps: Deps, fields: Partial<UserRecord> = {}): Promise<UserRecord> {
  const now = deps.clock.now();
  const user: UserRecord = {
    user_id: randomId(),
    email_verified: false,
    phone_number_verified: false,
    status: 'Active',
    created_at: now,
    updated_at: now,
    password_failures: 0,
    ...fields,
  };
  if (user.email) user.email = normalizeEmail(user.email);
  await deps.store.put(keys.user(user.user_id), user, { expectVersion: null });
  if (user.email) await deps.store.put(keys.emailClaim(user.email), { user_id: user.user_id, created_at: now }, { expectVersion: null });
  if (user.phone_number) await deps.store.put(keys.phoneClaim(user.phone_number), { user_id: user.user_id, created_at: now }, { expectVersion: null });
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
    async () => ({ user, commit: async () => {} }),
  );
}
