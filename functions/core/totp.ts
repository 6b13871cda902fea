/**
 * TOTP, the authenticator-app method (RFC 6238: 6 digits, 30 s steps, SHA-1,
 * as every authenticator app expects). A code is accepted for the current step
 * and one step either side (clock drift), and at most once per step: the last
 * accepted step is stored and any code for a step at or before it is a replay.
 * Time is always `deps.clock.now()`, never the wall clock.
 *
 * Attempt limits are those of OTPs: 10 failures within 15 minutes lock TOTP
 * for the user for 15 minutes. Failures are written to the user record with a
 * conditional put before the caller gets its answer.
 */
import { generateSecret, generateSync, generateURI } from 'otplib';
import { ConflictError, InvalidCredentialsError, LockedError, UserNotFoundError } from '../errors.js';
import type { StoredRecord } from '../ports.js';
import { audited, auditLockout } from './audit.js';
import { constantTimeEqual, openSecret, sealSecret } from './crypto.js';
import type { Deps } from './deps.js';
import { keys, type ClientRecord, type UserRecord } from './model.js';
import { authenticate, type ClientAttributes, type CredentialCheck } from './sessions.js';
import type { TokenResponse } from './tokens.js';
import { addFailure, FAILURE_WINDOW_MS, LOCK_MS, lockRemaining, MAX_FAILURES } from './lockout.js';
import { findUser, modifyUser, type IdentifierType } from './users.js';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of the current one. */
export const TOTP_DRIFT_STEPS = 1;
/** 20 random bytes (160 bits), the RFC 4226 recommendation; 32 base32 characters. */
export const TOTP_SECRET_BYTES = 20;
/** The same lockout as OTP channels (core/lockout.ts). */
export const TOTP_MAX_FAILURES = MAX_FAILURES;
export const TOTP_FAILURE_WINDOW_MS = FAILURE_WINDOW_MS;
export const TOTP_LOCK_MS = LOCK_MS;
const MAX_WRITE_ATTEMPTS = 4;
/** TOTP seeds cannot be hashed (codes are computed from them), so they are stored encrypted. */
const TOTP_SEAL_PURPOSE = 'totp';

// ---- pure step logic -------------------------------------------------------

/** The RFC 6238 time step that contains `nowMs`. */
export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS);
}

/** The code an authenticator app shows during `step`. */
export function totpCodeForStep(secret: string, step: number): string {
  return generateSync({ secret, epoch: step * TOTP_PERIOD_SECONDS, period: TOTP_PERIOD_SECONDS, digits: TOTP_DIGITS });
}

export type TotpMatch = { outcome: 'accepted'; step: number } | { outcome: 'replayed' } | { outcome: 'wrong' };

/**
 * Judges a passcode at `nowMs`: accepted for the newest unused step in the
 * window it matches, `replayed` when it only matches steps already used
 * (`<= lastUsedStep`), else `wrong`. Every step of the window is compared, in
 * constant time, whatever the outcome.
 */
export function matchTotpCode(secret: string, passcode: string, nowMs: number, lastUsedStep?: number): TotpMatch {
  if (!/^\d+$/.test(passcode) || passcode.length !== TOTP_DIGITS) return { outcome: 'wrong' };
  const current = totpStep(nowMs);
  let accepted: number | undefined;
  let replayed = false;
  for (let step = current - TOTP_DRIFT_STEPS; step <= current + TOTP_DRIFT_STEPS; step++) {
    if (!constantTimeEqual(totpCodeForStep(secret, step), passcode)) continue;
    if (lastUsedStep !== undefined && step <= lastUsedStep) replayed = true;
    else accepted = step;
  }
  if (accepted !== undefined) return { outcome: 'accepted', step: accepted };
  return replayed ? { outcome: 'replayed' } : { outcome: 'wrong' };
}

/** Remaining lock in ms at `now`, or 0 when TOTP is not locked for the user. */
export function totpLockRemaining(user: Pick<UserRecord, 'totp_locked_until'>, now: number): number {
  return lockRemaining(user.totp_locked_until, now);
}

/**
 * Adds a failure at `now` to the sliding window; the failure that makes
 * TOTP_MAX_FAILURES within the window sets the lock and starts a new window.
 */
export function withTotpFailure(user: UserRecord, now: number): UserRecord {
  const { failures, lockedUntil } = addFailure(user.totp_failed_at ?? [], now);
  return { ...user, totp_failed_at: failures, ...(lockedUntil !== undefined && { totp_locked_until: lockedUntil }) };
}

/** The account shown in the authenticator app: the first of email, phone, username, user_id. */
export function totpAccountName(user: Pick<UserRecord, 'email' | 'phone_number' | 'username' | 'user_id'>): string {
  return user.email ?? user.phone_number ?? user.username ?? user.user_id;
}

/** `otpauth://totp/<issuer>:<account>?secret=…&issuer=…` (Key Uri Format of Google Authenticator). */
export function totpUri(issuer: string, account: string, secret: string): string {
  return generateURI({ strategy: 'totp', issuer, label: account, secret, digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS });
}

// ---- registration ------------------------------------------------------------

export interface TotpRegistration {
  secret: string;
  uri: string;
}

/**
 * `POST /cis/v1/users/{user_id}/totp`: a new secret replaces any previous one
 * (and so forgets its last used step). The secret is returned only here; user
 * views never include it. A lock from earlier failures stays in force.
 */
export async function registerTotp(deps: Deps, userId: string): Promise<TotpRegistration> {
  const secret = generateSecret({ length: TOTP_SECRET_BYTES });
  const sealed_secret = sealSecret(deps.hashKey, TOTP_SEAL_PURPOSE, secret);
  const user = await modifyUser(deps, userId, (current, now) => ({ ...current, totp: { sealed_secret, created_at: now }, updated_at: now }));
  if (!user) throw new UserNotFoundError();
  return { secret, uri: totpUri(deps.settings.appName, totpAccountName(user), secret) };
}

// ---- authentication ----------------------------------------------------------

export interface TotpAuthenticateInput {
  identifier_type: IdentifierType;
  identifier: string;
  passcode: string;
  session_id?: string;
  client_attributes?: ClientAttributes;
}

function lockedError(remainingMs: number): LockedError {
  return new LockedError('Too many failed authenticator codes; try again later', remainingMs / 1000);
}

/** `POST /cis/v1/auth/totp/authenticate`. */
export async function authenticateTotp(deps: Deps, client: ClientRecord, input: TotpAuthenticateInput): Promise<TokenResponse> {
  const known = { client_id: client.client_id, method: 'otp', ip: input.client_attributes?.ip_address ?? null };
  return audited(deps, 'authentication', known, () => checkAndAuthenticateTotp(deps, client, input));
}

async function checkAndAuthenticateTotp(deps: Deps, client: ClientRecord, input: TotpAuthenticateInput): Promise<TokenResponse> {
  const found = await findUser(deps, input.identifier_type, input.identifier);
  if (!found || found.value.status !== 'Active' || !found.value.totp) throw new InvalidCredentialsError();
  const userId = found.value.user_id;
  return authenticate(
    deps,
    { client, userId, method: 'otp', sessionId: input.session_id, clientAttributes: input.client_attributes },
    () => checkTotp(deps, userId, input.passcode),
  );
}

/**
 * Checks the passcode against the user as stored now. A refused code is
 * recorded (one conditional put, re-judged if the user changed meanwhile)
 * before the error is thrown; an accepted one is consumed by `commit`.
 */
async function checkTotp(deps: Deps, userId: string, passcode: string): Promise<CredentialCheck> {
  for (let attempt = 1; ; attempt++) {
    const record = await deps.store.get<UserRecord>(keys.user(userId));
    const user = record?.value;
    if (!record || !user || user.status !== 'Active' || !user.totp) throw new InvalidCredentialsError();
    const now = deps.clock.now();
    const locked = totpLockRemaining(user, now);
    if (locked > 0) throw lockedError(locked);

    const match = matchTotpCode(openSecret(deps.hashKey, TOTP_SEAL_PURPOSE, user.totp.sealed_secret), passcode, now, user.totp.last_used_step);
    if (match.outcome === 'accepted') {
      return { user, commit: () => consumeStep(deps, record, match.step) };
    }
    const failed = withTotpFailure(user, now);
    try {
      await deps.store.put(keys.user(userId), failed, { expectVersion: record.version });
    } catch (error) {
      if (error instanceof ConflictError && attempt < MAX_WRITE_ATTEMPTS) continue;
      throw error;
    }
    const lockedNow = totpLockRemaining(failed, now);
    if (lockedNow > 0) throw await auditLockout(deps, userId, lockedError(lockedNow));
    throw new InvalidCredentialsError();
  }
}

/**
 * Marks `step` used with one conditional put on the version read. If the user
 * changed meanwhile, re-reads and re-decides: a step already used (a
 * concurrent use of the same code won) or a replaced secret refuses.
 */
async function consumeStep(deps: Deps, read: StoredRecord<UserRecord>, step: number): Promise<void> {
  const { user_id: userId, totp } = read.value;
  let record: StoredRecord<UserRecord> | undefined = read;
  for (let attempt = 1; ; attempt++) {
    const user: UserRecord | undefined = record?.value;
    if (!record || !user || user.status !== 'Active' || user.totp?.sealed_secret !== totp!.sealed_secret) throw new InvalidCredentialsError();
    if (user.totp.last_used_step !== undefined && step <= user.totp.last_used_step) throw new InvalidCredentialsError();
    const now = deps.clock.now();
    const locked = totpLockRemaining(user, now);
    if (locked > 0) throw lockedError(locked);
    const next: UserRecord = { ...user, totp: { ...user.totp, last_used_step: step }, totp_failed_at: [] };
    delete next.totp_locked_until;
    try {
      await deps.store.put(keys.user(userId), next, { expectVersion: record.version });
      return;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
      record = await deps.store.get<UserRecord>(keys.user(userId));
    }
  }
}
