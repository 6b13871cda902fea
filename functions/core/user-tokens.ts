/**
 * User access tokens as a credential (contract section 1, routes marked
 * "user token"): the `access_token` of a token response works only while its
 * session does. Its MAC is checked locally (core/user-access-tokens.ts, no KMS); the session and its user
 * are read on every call, so logout, expiry, a replaced password or a
 * disabled user stop the token at once, not when it expires.
 */
import { SessionNotFoundError, UnauthorizedError } from '../errors.js';
import { getClientCached } from './clients.js';
import type { Deps } from './deps.js';
import type { ClientRecord } from './model.js';
import { loadLiveSession, type LiveSession } from './sessions.js';
import { verifyUserAccessToken } from './user-access-tokens.js';

export interface UserPrincipal extends LiveSession {
  client: ClientRecord;
}

/** Resolves the client, live session and user behind a `Bearer` user access token, or 401. */
export async function authenticateUserToken(deps: Deps, token: string): Promise<UserPrincipal> {
  const claims = await verifyUserAccessToken(deps, token);
  const client = await getClientCached(deps, claims.clientId);
  if (!client) throw new UnauthorizedError('The client of this token no longer exists');
  let live: LiveSession;
  try {
    live = await loadLiveSession(deps, client, claims.sessionId);
  } catch (error) {
    if (error instanceof SessionNotFoundError) throw new UnauthorizedError('The session of this user access token has ended');
    throw error;
  }
  if (live.record.value.user_id !== claims.userId) throw new UnauthorizedError('The bearer token is not a user access token');
  return { ...live, client };
}
