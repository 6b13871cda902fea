/**
 * A user's sessions as an operator sees them (contract section 5): the live
 * sessions one client holds of the user, for a "where am I signed in" page,
 * and logging out every session of the user at every client without
 * disabling the user.
 *
 * Finding a user's sessions: each session is put with an owner (Store
 * `keysOwnedBy`), the user and client it belongs to, which a keys-only index
 * of the table lists. The owner is written by the same conditional put that
 * writes the session, so a login makes no extra request for it; a record
 * kept per user instead would cost every login one more write. The index
 * trails writes by a moment, so a listing reads the sessions it names
 * (strongly consistent) and judges each as every other read does.
 */
import { UserNotFoundError } from '../errors.js';
import { audited, emitAudit, noteAudit } from './audit.js';
import { withCredentialsChanged } from './credential-changes.js';
import type { Deps } from './deps.js';
import { amrClaimsOf } from './mfa.js';
import { keys, type AuthMethod, type ClientRecord, type SessionRecord, type UserRecord } from './model.js';
import { isSessionLive } from './sessions.js';
import { modifyUser } from './users.js';

/** Sessions of one user at one client a listing reads at most (one BatchGetItem per 100). */
export const MAX_LISTED_SESSIONS = 200;
const BATCH = 100;

export interface SessionView {
  session_id: string;
  /** Epoch ms, as a user's `created_at`. */
  created_at: number;
  /** Epoch ms of the session's latest use (an authentication, a refresh, a step-up check). */
  last_used_at: number;
  /** The end user's IP the session was created from, when the caller passed it. */
  ip_address?: string;
  /** As in the ID token: each method once, plus `mfa` when the client's policy is met. */
  amr: string[];
  /** As in the ID token: epoch second of each method's latest authentication. */
  amr_at: Partial<Record<AuthMethod, number>>;
}

/** `GET /cis/v1/users/{user_id}/sessions`: the calling client's live sessions of the user, most recently used first. */
export async function listUserSessions(deps: Deps, client: ClientRecord, userId: string): Promise<SessionView[]> {
  const user = await deps.store.get<UserRecord>(keys.user(userId));
  if (!user) throw new UserNotFoundError();
  const sessionKeys = await deps.store.keysOwnedBy(keys.sessionsOf(userId, client.client_id), MAX_LISTED_SESSIONS);
  const now = deps.clock.now();
  const views: SessionView[] = [];
  for (let i = 0; i < sessionKeys.length; i += BATCH) {
    const found = await deps.store.getMany(sessionKeys.slice(i, i + BATCH));
    for (const record of found.values()) {
      const session = record.value as SessionRecord;
      // The index names its sessions; their records say whose they are.
      if (session.client_id !== client.client_id || session.user_id !== userId) continue;
      if (!isSessionLive(session, user.value, now, client)) continue;
      views.push(toSessionView(session, client));
    }
  }
  views.sort((a, b) => b.last_used_at - a.last_used_at);
  await emitAudit(deps, { event: 'sessions_listed', user_id: userId, client_id: client.client_id, method: null, ip: null, outcome: 'success' });
  return views;
}

function toSessionView(session: SessionRecord, client: ClientRecord): SessionView {
  const { amr, amr_at } = amrClaimsOf(session, client.mfa_policy, { now: session.last_active_at });
  const ip = session.ip_address ?? session.bound_ip;
  return { session_id: session.session_id, created_at: session.created_at, last_used_at: session.last_active_at, ...(ip !== undefined && { ip_address: ip }), amr, amr_at };
}

/**
 * `POST /cis/v1/users/{user_id}/sessions/logout`: ends every session of the
 * user at every client, logins in flight included, with one write of the
 * user (core/credential-changes.ts); the user stays Active and may log in
 * again at once.
 */
export async function logoutUserSessions(deps: Deps, client: ClientRecord, userId: string): Promise<void> {
  await audited(deps, 'logout', { client_id: client.client_id, user_id: userId, method: 'all_sessions', ip: null }, async () => {
    const updated = await modifyUser(deps, userId, (user, now) => withCredentialsChanged({ ...user, updated_at: now }));
    if (!updated) throw new UserNotFoundError();
    noteAudit({ user_id: userId });
  });
}
