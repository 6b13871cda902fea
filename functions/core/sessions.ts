/**
 * Sessions (contract sections 4 and 5): every authentication creates a session
 * or adds to one, and answers with the token response. Expiry is decided from
 * the stored timestamps on every read; the table's TTL only cleans up later.
 *
 * Write discipline: each change to a session is one conditional put on the
 * version that was read, so concurrent authentications, refreshes and logouts
 * are serialised by the store, never by locks.
 */
import { ConflictError, InvalidCredentialsError, InvalidGrantError, SessionBindingMismatchError, SessionNotFoundError, SessionUserMismatchError } from '../errors.js';
import type { StoredRecord } from '../ports.js';
import { audited, emitAudit, noteAudit } from './audit.js';
import { provedUnderCurrentCredentials } from './credential-changes.js';
import { randomId } from './crypto.js';
import type { Deps } from './deps.js';
import { keys, type AuthMethod, type ClientRecord, type SessionAuthentication, type SessionRecord, type UserRecord } from './model.js';
import { afterRefresh, currentRefreshToken, judgeRefreshToken, newLineage, withLineage } from './refresh-tokens.js';
import { signSessionTokens, type ClaimsRequest, type TokenResponse } from './tokens.js';
import { findUser, findUserAlongside, type IdentifierType } from './users.js';

export interface ClientAttributes {
  ip_address?: string;
  user_agent?: string;
}

/** Conditional-write retries before a contended session gives up. */
const MAX_WRITE_ATTEMPTS = 4;
/**
 * Retries of adding an authentication to a contended session. The credential
 * is already consumed by then, so giving up would lose it: every lost race
 * means another authentication was added, so this bounds only a burst of
 * that many concurrent ones.
 */
const MAX_JOIN_ATTEMPTS = 32;

/** The session's limits as its client has them now, to judge it by the stricter of these and those it was created under. */
export type CurrentLimits = Pick<ClientRecord, 'session_idle_timeout_seconds' | 'session_absolute_lifetime_seconds'>;

/**
 * When the session ends unless used again: by the stricter of the limits it
 * was created under and, given its client, the client's current ones, so an
 * operator who shortens them reaches every live session.
 */
export function sessionExpiresAt(session: SessionRecord, client?: CurrentLimits): number {
  const idle = Math.min(session.idle_timeout_seconds, client?.session_idle_timeout_seconds ?? Infinity);
  const absolute = Math.min(session.absolute_lifetime_seconds, client?.session_absolute_lifetime_seconds ?? Infinity);
  return Math.min(session.last_active_at + idle * 1000, session.created_at + absolute * 1000);
}

/** Whether a session still works at `now`, judged from its timestamps, its user and its client's current limits. */
export function isSessionLive(session: SessionRecord, user: UserRecord | undefined, now: number, client: CurrentLimits): boolean {
  if (session.ended_at !== undefined) return false;
  if (now >= sessionExpiresAt(session, client)) return false;
  if (!user || user.status !== 'Active') return false;
  if (!provedUnderCurrentCredentials(session, user)) return false;
  return true;
}

/**
 * Under which owner the store lists the session (Store.keysOwnedBy, for
 * core/user-sessions.ts): named on every put, so a session written before
 * owners is listed from its next write; the same write, no extra request.
 */
function ownerOf(session: SessionRecord): string {
  return keys.sessionsOf(session.user_id, session.client_id);
}

/** TTL for the record: the table may delete it a day after it can no longer work. */
function ttlOf(session: SessionRecord): number {
  return Math.floor(sessionExpiresAt(session) / 1000) + 86_400;
}

export async function getUser(deps: Deps, userId: string): Promise<StoredRecord<UserRecord> | undefined> {
  return deps.store.get<UserRecord>(keys.user(userId));
}

/**
 * A session id names its user, `<user_id>~<random>`, so a call that joins a
 * session reads the session, the identifier's claim and the session's user in
 * one request (findUserJoining). Only the random part (128 bits) makes it
 * unguessable; the user id it shows is no secret from the client that holds
 * it, which has the user's ID token. A session id that names a user proves
 * nothing: the session's record says whose it is, and is always checked.
 */
const SESSION_ID_USER = /^([A-Za-z0-9_-]{1,64})~[A-Za-z0-9_-]+$/;

export function newSessionId(userId: string): string {
  return SESSION_ID_USER.test(`${userId}~x`) ? `${userId}~${randomId()}` : randomId();
}

/** The user a session id names, if it names one (older sessions are plain random ids). */
export function userOfSessionId(sessionId: string): string | undefined {
  return SESSION_ID_USER.exec(sessionId)?.[1];
}

/** The record at a session's key as a request read it up front, with other records (Store.getMany): not yet judged. */
export interface SessionRead {
  sessionId: string;
  record: StoredRecord<SessionRecord> | undefined;
}

/**
 * The user an authentication names (findUser) and, when it joins a session,
 * that session's record, read with the user's first lookup in one request:
 * pass both on to `authenticate` (`user`, `sessionRead`), which judges the
 * session exactly as if it read it itself.
 */
export async function findUserJoining(
  deps: Pick<Deps, 'store'>,
  type: IdentifierType,
  identifier: string,
  sessionId: string | undefined,
): Promise<{ user: StoredRecord<UserRecord> | undefined; sessionRead?: SessionRead }> {
  if (sessionId === undefined) return { user: await findUser(deps, type, identifier) };
  const { user, alongside } = await findUserAlongside<SessionRecord>(deps, type, identifier, keys.session(sessionId), userOfSessionId(sessionId));
  return { user, sessionRead: { sessionId, record: alongside } };
}

export interface LiveSession {
  record: StoredRecord<SessionRecord>;
  user: UserRecord;
}

/**
 * Loads a live session of this client. A session that does not exist, belongs
 * to another client, has expired or was ended is `session_not_found` alike.
 * `known`: the session's user as this request already read it, if it has;
 * the session's user is read only when it is someone else. `read`: the
 * session's record as this request already read it (found or not), judged
 * here exactly as a record read now would be.
 */
export async function loadLiveSession(deps: Deps, client: ClientRecord, sessionId: string, known?: UserRecord, read?: SessionRead): Promise<LiveSession> {
  const record = read?.sessionId === sessionId ? read.record : await deps.store.get<SessionRecord>(keys.session(sessionId));
  if (!record || record.value.client_id !== client.client_id) throw new SessionNotFoundError();
  const user = known?.user_id === record.value.user_id ? known : (await getUser(deps, record.value.user_id))?.value;
  if (!isSessionLive(record.value, user, deps.clock.now(), client)) throw new SessionNotFoundError();
  return { record, user: user! };
}

function checkSessionAccess(session: SessionRecord, userId: string, attributes: ClientAttributes | undefined): void {
  if (session.user_id !== userId) throw new SessionUserMismatchError();
  checkBinding(session, attributes);
}

/** A session bound to an IP works only for calls that pass that IP in `client_attributes`. */
export function checkBinding(session: SessionRecord, attributes: ClientAttributes | undefined): void {
  if (session.bound_ip !== undefined && attributes?.ip_address !== session.bound_ip) {
    throw new SessionBindingMismatchError();
  }
}

/**
 * The outcome of checking a credential: `commit` consumes it (marks an OTP
 * used, resets failure counters) and runs only once tokens are signed, so a
 * failed signing never burns a code. `user` is the user as the commit will
 * leave it (e.g. with a contact newly verified), for the ID token's claims.
 */
export interface CredentialCheck {
  user: UserRecord;
  commit(): Promise<void>;
  /**
   * Runs instead of `commit` when the tokens could not be signed: the
   * credential stays unused, and a counted guess that proved right is given
   * back, so an outage does not use up the user's attempts.
   */
  release?(): Promise<void>;
  /**
   * Runs after `commit` when the session could not be written: puts the
   * consumed credential back, so a failed call never uses up a code, a link
   * or a TOTP step. Best effort and fail closed: if the credential changed
   * since (a concurrent use) or the undo fails too, it stays used.
   */
  undo?(): Promise<void>;
}

/**
 * Reverts a write of ours to `key` if nothing has written it since (it is
 * still at `writtenVersion`); otherwise leaves it. Used by `undo`.
 */
export async function revertOwnWrite<T>(deps: Pick<Deps, 'store'>, key: string, writtenVersion: number, revert: (value: T) => T): Promise<void> {
  const stored = await deps.store.get<T>(key);
  if (!stored || stored.version !== writtenVersion) return;
  try {
    await deps.store.put(key, revert(stored.value), { expectVersion: writtenVersion });
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
  }
}

export interface AuthenticateRequest {
  client: ClientRecord;
  /** The user the credential names; checked against the session's user. */
  userId: string;
  /** That user as this request read it, if it names one: spares reading it again to judge the session. */
  user?: UserRecord | undefined;
  /** The session `sessionId` as this request already loaded it live (loadLiveSession): spares loading it again. */
  session?: StoredRecord<SessionRecord> | undefined;
  /** The record at `sessionId` as this request already read it, not yet judged (loadLiveSession judges it): spares reading it again. */
  sessionRead?: SessionRead | undefined;
  /** The method being added; `null` refreshes a live session's tokens without adding one. */
  method: AuthMethod | null;
  sessionId?: string;
  clientAttributes?: ClientAttributes;
  /** OIDC `max_age` (seconds): older authentications are left out of this response's `amr`, `amr_at` and `mfa`. */
  maxAge?: number | undefined;
  /** The caller's OIDC claims request: requested user claims go into the ID token. */
  claims?: ClaimsRequest;
}

/**
 * Runs one authentication: checks the target session (if any) before touching
 * the credential, verifies the credential, signs the tokens, consumes the
 * credential, then writes the session with one conditional put.
 */
export async function authenticate(
  deps: Deps,
  request: AuthenticateRequest,
  verify: () => Promise<CredentialCheck>,
): Promise<TokenResponse> {
  const ip = request.clientAttributes?.ip_address ?? null;
  const known = { client_id: request.client.client_id, user_id: request.userId, method: request.method ?? 'session', ip };
  return audited(deps, 'authentication', known, () => runAuthentication(deps, request, verify));
}

/**
 * Authentications kept per method. Every claim and rule reads only the latest
 * of each method (amr_at, max_age, auth_time, the enrolment window); a few
 * more keep the record's story readable. Bounded, the record cannot be grown
 * by repeated step-ups to DynamoDB's 400 KB item limit, past which no
 * refresh, logout or reuse detection could write it.
 */
const AUTHENTICATIONS_KEPT_PER_METHOD = 10;

/** `list` with `added` appended and, of each method, only the latest AUTHENTICATIONS_KEPT_PER_METHOD kept, in order. */
function withAuthentication(list: readonly SessionAuthentication[], added: SessionAuthentication): SessionAuthentication[] {
  const all = [...list, added];
  const seen = new Map<string, number>();
  const kept: SessionAuthentication[] = [];
  for (let i = all.length - 1; i >= 0; i--) {
    const count = (seen.get(all[i]!.method) ?? 0) + 1;
    seen.set(all[i]!.method, count);
    if (count <= AUTHENTICATIONS_KEPT_PER_METHOD) kept.push(all[i]!);
  }
  return kept.reverse();
}

async function runAuthentication(
  deps: Deps,
  request: AuthenticateRequest,
  verify: () => Promise<CredentialCheck>,
): Promise<TokenResponse> {
  const { client, sessionId, clientAttributes } = request;
  let existing: StoredRecord<SessionRecord> | undefined;
  if (sessionId !== undefined) {
    existing = request.session?.value.session_id === sessionId ? request.session : (await loadLiveSession(deps, client, sessionId, request.user, request.sessionRead)).record;
    checkSessionAccess(existing.value, request.userId, clientAttributes);
  }
  const check = await verify();
  // Every method checks this itself; this is the backstop for any that forgets.
  if (check.user.status !== 'Active') throw new InvalidCredentialsError();

  for (let attempt = 1; ; attempt++) {
    const now = deps.clock.now();
    // A new session is the verified user's (a method may learn who that is only by verifying: password-auth.ts).
    const base = withLineage(existing?.value ?? newSession(client, check.user, clientAttributes, now));
    // A response that does not rotate hands out the session's current refresh token (core/refresh-tokens.ts).
    const refreshToken = currentRefreshToken(deps, base);
    const next: SessionRecord = {
      ...base,
      authentications: request.method ? withAuthentication(base.authentications, { method: request.method, at: now }) : base.authentications,
      last_active_at: now,
    };
    const tokens = await signSessionTokens(deps, client, check.user, next, { maxAge: request.maxAge, now, claims: request.claims }).catch(async (error: unknown) => {
      if (attempt === 1) await check.release?.();
      throw error;
    });
    if (attempt === 1) await check.commit();
    try {
      await deps.store.put(keys.session(next.session_id), next, {
        expectVersion: existing?.version ?? null,
        expiresAt: ttlOf(next),
        owner: ownerOf(next),
      });
      return { ...tokens, refresh_token: refreshToken, token_type: 'Bearer', session_id: next.session_id };
    } catch (error) {
      try {
        if (!(error instanceof ConflictError) || existing === undefined || attempt >= MAX_JOIN_ATTEMPTS) throw error;
        // Someone else wrote the session meanwhile: re-read and re-check before retrying.
        existing = (await loadLiveSession(deps, client, existing.value.session_id)).record;
        checkSessionAccess(existing.value, request.userId, clientAttributes);
      } catch (failure) {
        // The call fails after the credential was consumed: put it back, so a retry can use it.
        await check.undo?.().catch((undoError: unknown) => {
          deps.logger.warn('could not put back a consumed credential', { error: undoError instanceof Error ? undoError.name : 'unknown' });
        });
        throw failure;
      }
    }
  }
}

function newSession(
  client: ClientRecord,
  user: UserRecord,
  attributes: ClientAttributes | undefined,
  now: number,
): SessionRecord {
  const session: SessionRecord = {
    session_id: newSessionId(user.user_id),
    client_id: client.client_id,
    user_id: user.user_id,
    authentications: [],
    created_at: now,
    last_active_at: now,
    idle_timeout_seconds: client.session_idle_timeout_seconds,
    absolute_lifetime_seconds: client.session_absolute_lifetime_seconds,
    refresh: newLineage(),
    // The credential's state as verifying it read the user: a change since makes this session dead on arrival.
    credential_version: user.credential_version ?? 0,
  };
  if (attributes?.ip_address !== undefined) session.ip_address = attributes.ip_address;
  if (client.bind_sessions_to_ip && attributes?.ip_address !== undefined) session.bound_ip = attributes.ip_address;
  return session;
}

/** `POST /cis/v1/auth/session/authenticate`: fresh tokens for a live session, no new authentication. */
export async function authenticateSession(
  deps: Deps,
  client: ClientRecord,
  sessionId: string,
  clientAttributes: ClientAttributes | undefined,
  options: { maxAge?: number | undefined; claims?: ClaimsRequest | undefined } = {},
): Promise<TokenResponse> {
  return audited(deps, 'authentication', { client_id: client.client_id, method: 'session', ip: clientAttributes?.ip_address ?? null }, async () => {
    const { record, user } = await loadLiveSession(deps, client, sessionId);
    return authenticate(
      deps,
      { client, userId: record.value.user_id, user, session: record, method: null, sessionId, clientAttributes, maxAge: options.maxAge, claims: options.claims },
      async () => ({ user, commit: async () => {} }),
    );
  });
}

/**
 * `POST /cis/v1/auth/session/logout`: ends the session and every refresh
 * token in it at once. Logging out an already ended session of this client
 * succeeds again (idempotent); an unknown or foreign one is session_not_found;
 * a session bound to another IP is session_binding_mismatch and lives on.
 */
export async function logoutSession(deps: Deps, client: ClientRecord, sessionId: string, clientAttributes?: ClientAttributes): Promise<void> {
  await audited(deps, 'logout', { client_id: client.client_id, method: 'session', ip: clientAttributes?.ip_address ?? null }, () =>
    endSession(deps, sessionId, 'logout', (session) => {
      if (session.client_id !== client.client_id) throw new SessionNotFoundError();
      noteAudit({ user_id: session.user_id });
      checkBinding(session, clientAttributes);
    }),
  );
}

/**
 * Carries the session that replaced a factor past the credential change the
 * replacement made (core/credential-changes.ts): that change moved the
 * user's credential version from `from` on by one and so ended every
 * session, the thief's proved with the old factor among them; the session
 * that proved the user's factors and made the change is restamped under the
 * new version, with a conditional write. Nothing is restamped once anything
 * else has moved it off `from` or ended it (a logout, a later change), so no
 * ended session comes back.
 */
export async function carrySessionPastChange(deps: Deps, sessionId: string, from: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const record = await deps.store.get<SessionRecord>(keys.session(sessionId));
    if (!record || record.value.ended_at !== undefined || (record.value.credential_version ?? 0) !== from) return;
    const next: SessionRecord = { ...record.value, credential_version: from + 1 };
    try {
      await deps.store.put(keys.session(sessionId), next, { expectVersion: record.version, expiresAt: ttlOf(next), owner: ownerOf(next) });
      return;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
    }
  }
}

/** Ends a session with one conditional write, retrying if it changed meanwhile. */
export async function endSession(
  deps: Deps,
  sessionId: string,
  reason: NonNullable<SessionRecord['end_reason']>,
  guard: (session: SessionRecord) => void = () => {},
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const record = await deps.store.get<SessionRecord>(keys.session(sessionId));
    if (!record) throw new SessionNotFoundError();
    guard(record.value);
    if (record.value.ended_at !== undefined) return;
    // An ended session refuses every token of it, whatever its generation (refreshSession checks `ended_at` first).
    const ended: SessionRecord = { ...record.value, ended_at: deps.clock.now(), end_reason: reason };
    try {
      await deps.store.put(keys.session(sessionId), ended, { expectVersion: record.version, expiresAt: ttlOf(ended) });
      return;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
    }
  }
}

/**
 * `POST /cis/v1/auth/token/refresh`: rotates a refresh token. The presented
 * token stops working and a new one is issued, with fresh ID and access
 * tokens carrying the session's current `amr`.
 *
 * - IP binding applies as to every authenticate call: a session bound to an
 *   IP refuses a refresh from another IP, or with none, with
 *   session_binding_mismatch, and nothing is rotated or ended. Only a caller
 *   holding one of the session's tokens (current or rotated) learns of the
 *   binding; any other token is invalid_grant.
 * - A token that was already rotated (reuse: any earlier generation of the
 *   session's lineage, core/refresh-tokens.ts) ends the whole session, at once
 *   by default, however many rotations came since. A client may set `refresh_reuse_grace_seconds`: within it,
 *   the token rotated last is refused without ending the session (a double
 *   submit).
 * - Two concurrent refreshes with one token: the conditional write lets
 *   exactly one through; the other then finds the token rotated, which is
 *   reuse (or, within the client's grace, a forgiven double submit).
 */
export async function refreshSession(
  deps: Deps,
  client: ClientRecord,
  refreshToken: string,
  clientAttributes?: ClientAttributes,
): Promise<Omit<TokenResponse, 'session_id'>> {
  const sessionId = refreshToken.split('.')[0] ?? '';
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const record = await deps.store.get<SessionRecord>(keys.session(sessionId));
    if (!record || record.value.client_id !== client.client_id) throw new InvalidGrantError('Unknown refresh token');
    const session = record.value;
    if (session.ended_at !== undefined) throw new InvalidGrantError('The session has ended');
    const judged = judgeRefreshToken(deps, session, refreshToken, client, deps.clock.now());
    if (judged.kind === 'unknown') throw new InvalidGrantError('Unknown refresh token');
    checkBinding(session, clientAttributes);
    if (judged.kind === 'rotated') {
      if (judged.forgiven) {
        throw new InvalidGrantError('The refresh token was rotated by a concurrent request');
      }
      await endSession(deps, sessionId, 'refresh_token_reuse');
      deps.logger.warn('refresh token reuse: session ended', { session_id: sessionId, client_id: client.client_id });
      await emitAudit(deps, {
        event: 'refresh_token_reuse',
        user_id: session.user_id,
        client_id: client.client_id,
        method: 'refresh_token',
        ip: clientAttributes?.ip_address ?? null,
        outcome: 'session_ended',
      });
      throw new InvalidGrantError('The refresh token was already used; the session has been ended');
    }
    const user = await getUser(deps, session.user_id);
    const now = deps.clock.now();
    if (!isSessionLive(session, user?.value, now, client)) throw new InvalidGrantError('The session has ended');
    const next = { ...afterRefresh(session, judged, now), last_active_at: now };
    const newToken = currentRefreshToken(deps, next);
    const tokens = await signSessionTokens(deps, client, user!.value, next);
    try {
      await deps.store.put(keys.session(sessionId), next, { expectVersion: record.version, expiresAt: ttlOf(next), owner: ownerOf(next) });
      return { ...tokens, refresh_token: newToken, token_type: 'Bearer' };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  throw new InvalidGrantError('The session is changing too fast; retry');
}
