/**
 * TOTP, the authenticator-app method (RFC 6238: 6 digits, 30 s steps, SHA-1,
 * as every authenticator app expects). A code is accepted for the current step
 * and one step either side (clock drift), and at most once per step: the last
 * accepted step is stored and any code for a step at or before it is a replay.
 * Time is always `deps.clock.now()`, never the wall clock.
 *
 * Attempt limits are those of OTP channels: 10 failures lock TOTP for the
 * user for 15 minutes, the right code too; a 15-minute pause forgets earlier
 * failures. Every code is counted by one atomic write before it is compared
 * (core/attempts.ts), per user whether or not it has an authenticator, and
 * per submitted identifier when it names no user, so a lock tells nothing
 * about who is registered. A success gives its counted attempt back. The
 * session is checked before any of it.
 */
import { generateSecret, generateSync, generateURI } from 'otplib';
import { ConflictError, InvalidCredentialsError, LockedError, TotpAlreadyConfiguredError, UserNotFoundError } from '../errors.js';
import type { StoredRecord } from '../ports.js';
import { giveBackAttempt, reserveAttempt, unknownSubject, type AttemptPolicy } from './attempts.js';
import { audited, auditLockout } from './audit.js';
import { constantTimeEqual, randomId } from './crypto.js';
import { enrolled, openEnrolment } from './factor-enrolment.js';
import { endSessionsOfRemovedFactor, keepReplacingSession } from './factor-removal.js';
import type { UserPrincipal } from './user-tokens.js';
import type { Deps } from './deps.js';
import { keys, type ClientRecord, type TotpRecord, type UserRecord } from './model.js';
import { openTotpSeed, sealTotpSeed } from './totp-seal.js';
import { authenticate, findUserJoining, revertOwnWrite, type ClientAttributes, type CredentialCheck } from './sessions.js';
import type { ClaimsRequest, TokenResponse } from './tokens.js';
import { modifyUser, NO_USER, type IdentifierType } from './users.js';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of the current one. */
export const TOTP_DRIFT_STEPS = 1;
/** 20 random bytes (160 bits), the RFC 4226 recommendation; 32 base32 characters. */
export const TOTP_SECRET_BYTES = 20;
/** The same lockout as OTP channels. */
export const TOTP_MAX_FAILURES = 10;
export const TOTP_LOCK_MS = 15 * 60_000;
export const TOTP_ATTEMPTS: AttemptPolicy = { limit: TOTP_MAX_FAILURES, idleMs: TOTP_LOCK_MS, lockMs: TOTP_LOCK_MS };
const MAX_WRITE_ATTEMPTS = 4;

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

/** The default account shown in the authenticator app, upstream's order: email, username, phone number (then user_id). */
export function totpAccountName(user: Pick<UserRecord, 'email' | 'phone_number' | 'username' | 'user_id'>): string {
  return user.email ?? user.username ?? user.phone_number ?? user.user_id;
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

export interface TotpRegisterInput {
  /** Account name shown in the app; default totpAccountName. */
  label?: string;
  allow_override?: boolean;
  client_attributes?: ClientAttributes;
}

/**
 * An authenticator works once one code from it has been accepted; until then
 * it is pending (the user may never have added it to an app).
 * A lock from earlier failures stays in force (TOTP guesses are counted per
 * user, not per secret).
 */
export function isTotpActive(totp: TotpRecord | undefined): boolean {
  return totp?.last_used_step !== undefined;
}

/**
 * `POST /cis/v1/auth/totp/register` (user access token): a new pending
 * authenticator for the token's user. It replaces a pending one freely, and a
 * working one only with `allow_override` (else 409), so a user is never
 * silently left with an authenticator they have not set up. The new secret
 * has no used step; the first code accepted from it activates it. The secret
 * is returned only here; user views never include it. A lock from earlier
 * failures stays in force.
 */
export async function registerTotp(
  deps: Deps,
  userId: string,
  input: TotpRegisterInput = {},
  recheck: (user: UserRecord, now: number) => void = () => {},
): Promise<TotpRegistration> {
  return (await storeTotp(deps, userId, input, recheck)).registration;
}

/**
 * registerTotp, saying whether a working app was replaced: that is a factor
 * removed, so the same write ends every session proved so far
 * (core/factor-removal.ts); a pending one proved nothing and ends nothing.
 */
async function storeTotp(
  deps: Deps,
  userId: string,
  input: TotpRegisterInput,
  recheck: (user: UserRecord, now: number) => void,
): Promise<{ registration: TotpRegistration; user: UserRecord; replaced: boolean }> {
  const secret = generateSecret({ length: TOTP_SECRET_BYTES });
  const sealed_secret = sealTotpSeed(deps, secret);
  const id = randomId();
  let replaced = false;
  const user = await modifyUser(deps, userId, (current, now) => {
    recheck(current, now);
    replaced = isTotpActive(current.totp);
    if (replaced && input.allow_override !== true) throw new TotpAlreadyConfiguredError();
    const next: UserRecord = { ...current, totp: { id, sealed_secret, created_at: now }, updated_at: now };
    return replaced ? endSessionsOfRemovedFactor(next) : next;
  });
  if (!user) throw new UserNotFoundError();
  return { registration: { secret, uri: totpUri(deps.settings.appName, input.label ?? totpAccountName(user), secret) }, user, replaced };
}

/**
 * The route's call: registerTotp for the token's user, when its session may
 * add a factor (core/factor-enrolment.ts), judged again in the write.
 */
export async function registerTotpForSession(deps: Deps, principal: UserPrincipal, input: TotpRegisterInput = {}): Promise<TotpRegistration> {
  const gate = await openEnrolment(deps, principal, 'otp', input.client_attributes);
  return enrolled(gate, async () => {
    const stored = await storeTotp(deps, principal.user.user_id, input, gate.recheck);
    if (stored.replaced) await keepReplacingSession(deps, principal, stored.user);
    return stored.registration;
  });
}

// ---- authentication ----------------------------------------------------------

/** Upstream's body: the code is `token`; `identifier_type` defaults to `email` (applied by the schema). */
export interface TotpAuthenticateInput {
  identifier_type: IdentifierType;
  identifier: string;
  token: string;
  session_id?: string;
  client_attributes?: ClientAttributes;
  /** OIDC `max_age` in seconds: older authentications are left out of this response's `amr`, `amr_at` and `mfa`. */
  max_age?: number;
  claims?: ClaimsRequest;
}

function lockedError(remainingMs: number): LockedError {
  return new LockedError('Too many failed authenticator codes; try again later', remainingMs / 1000);
}

/** The counter of TOTP guesses naming `user`, or the submitted identifier when it names no user. */
export function totpAttemptsKey(user: UserRecord | undefined, type: IdentifierType, identifier: string): string {
  // Hashed for a user too, so a known and an unknown identifier do the same work.
  const unknown = unknownSubject(type, identifier);
  return keys.totpAttempts(user ? user.user_id : unknown);
}

/** `POST /cis/v1/auth/totp/authenticate`. */
export async function authenticateTotp(deps: Deps, client: ClientRecord, input: TotpAuthenticateInput): Promise<TokenResponse> {
  const known = { client_id: client.client_id, method: 'otp', ip: input.client_attributes?.ip_address ?? null };
  return audited(deps, 'authentication', known, () => checkAndAuthenticateTotp(deps, client, input));
}

async function checkAndAuthenticateTotp(deps: Deps, client: ClientRecord, input: TotpAuthenticateInput): Promise<TokenResponse> {
  // The session a login joins is named up front: read with the identifier's first lookup, in one request.
  const { user: read, sessionRead } = await findUserJoining(deps, input.identifier_type, input.identifier, input.session_id);
  const user = read?.value;
  return authenticate(
    deps,
    // An unknown user cannot match any session: with a session_id it is session_user_mismatch, as for any other user.
    { client, userId: user?.user_id ?? '', user, sessionRead, method: 'otp', sessionId: input.session_id, clientAttributes: input.client_attributes, maxAge: input.max_age, claims: input.claims },
    () => checkTotp(deps, totpAttemptsKey(user, input.identifier_type, input.identifier), user?.user_id, input.token),
  );
}

/** A seed sealed under the current TOTP key, opened for a guess that has no authenticator to check: never accepted. */
let decoy: { keyring: Deps['totpKeys']; sealed: string } | undefined;
function decoySealedSeed(deps: Pick<Deps, 'totpKeys'>): string {
  if (decoy?.keyring !== deps.totpKeys) decoy = { keyring: deps.totpKeys, sealed: sealTotpSeed(deps, generateSecret({ length: TOTP_SECRET_BYTES })) };
  return decoy.sealed;
}

/**
 * Counts the guess, then checks it against the user as stored now. A user
 * that is unknown, disabled or without an authenticator is refused like a
 * wrong code, after the same count, the same read and the same crypto (a
 * decoy seed opened and matched), so neither answer nor time tells it from a
 * user with an authenticator. An accepted code is consumed by `commit`,
 * which also gives the counted attempt back.
 */
async function checkTotp(deps: Deps, attemptsKey: string, userId: string | undefined, passcode: string): Promise<CredentialCheck> {
  const reservation = await reserveAttempt(deps, attemptsKey, TOTP_ATTEMPTS);
  if (!reservation.reserved) throw lockedError(reservation.retryAfterMs ?? TOTP_LOCK_MS);
  const refuse = async () => {
    if (!reservation.reachedLimit) return new InvalidCredentialsError();
    return userId === undefined ? lockedError(TOTP_LOCK_MS) : auditLockout(deps, userId, lockedError(TOTP_LOCK_MS));
  };

  const record = await deps.store.get<UserRecord>(userId === undefined ? NO_USER : keys.user(userId));
  const user = userId === undefined ? undefined : record?.value;
  const usable = record && user && user.status === 'Active' && user.totp ? { record, user, totp: user.totp } : undefined;
  const now = deps.clock.now();
  const match = matchTotpCode(openTotpSeed(deps, usable?.totp.sealed_secret ?? decoySealedSeed(deps)), passcode, now, usable?.totp.last_used_step);
  if (!usable || match.outcome !== 'accepted') throw await refuse();
  const { record: found, user: holder } = usable;
  let consumed: { version: number; previousStep: number | undefined } | undefined;
  return {
    user: holder,
    commit: async () => {
      try {
        consumed = await consumeStep(deps, found, match.step);
      } finally {
        await giveBackAttempt(deps, reservation); // the code was right, even if a concurrent use of it won
      }
    },
    release: () => giveBackAttempt(deps, reservation),
    undo: async () => {
      if (!consumed) return;
      const { version, previousStep } = consumed;
      await revertOwnWrite<UserRecord>(deps, keys.user(found.value.user_id), version, (u) => {
        if (!u.totp || u.totp.last_used_step !== match.step) return u;
        const { last_used_step: _step, ...totp } = u.totp;
        return { ...u, totp: previousStep === undefined ? totp : { ...totp, last_used_step: previousStep } };
      });
    },
  };
}

/**
 * Marks `step` used with one conditional put on the version read. If the user
 * changed meanwhile, re-reads and re-decides: a step already used (a
 * concurrent use of the same code won) or a replaced secret refuses.
 */
async function consumeStep(deps: Deps, read: StoredRecord<UserRecord>, step: number): Promise<{ version: number; previousStep: number | undefined }> {
  const { user_id: userId, totp } = read.value;
  let record: StoredRecord<UserRecord> | undefined = read;
  for (let attempt = 1; ; attempt++) {
    const user: UserRecord | undefined = record?.value;
    if (!record || !user || user.status !== 'Active' || user.totp?.sealed_secret !== totp!.sealed_secret) throw new InvalidCredentialsError();
    if (user.totp.last_used_step !== undefined && step <= user.totp.last_used_step) throw new InvalidCredentialsError();
    const next: UserRecord = { ...user, totp: { ...user.totp, last_used_step: step } };
    try {
      return { version: await deps.store.put(keys.user(userId), next, { expectVersion: record.version }), previousStep: user.totp.last_used_step };
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
      record = await deps.store.get<UserRecord>(keys.user(userId));
    }
  }
}
