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
 * right password too. A user's attempts are counted on the user record
 * itself, by the write that also reads it (the record's version stays: other
 * writers never contend with counting), and a new password ends the count
 * (users.ts modifyUser), so each password starts afresh; for an identifier
 * naming no usable user they are counted per identifier, so unknown users
 * lock exactly like known ones. A success resets the count. A run of
 * failures is forgotten after 30 days without any.
 */
import { InvalidCredentialsError, LockedError, ServiceUnavailableError } from '../errors.js';
import type { AttemptCounter } from '../ports.js';
import { giveBackAttempt, judgeCounter, reserveAttempt, unknownSubject, type AttemptPolicy, type Reservation } from './attempts.js';
import { randomId } from './crypto.js';
import { auditLockout, noteAudit } from './audit.js';
import type { Deps } from './deps.js';
import { keys, type ClientRecord, type UserRecord } from './model.js';
import { verifyDummyPassword, verifyPassword } from './passwords.js';
import { authenticate, type ClientAttributes } from './sessions.js';
import type { ClaimsRequest, TokenResponse } from './tokens.js';
import { claimedUserId, findUser, holdsIdentifier } from './users.js';

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

/**
 * The counter of password guesses at an identifier naming no usable user.
 * A user's own guesses are counted on the user record itself (countOnUser).
 */
export function passwordAttemptsKey(user: UserRecord | undefined, type: 'username' | 'email' | 'phone_number', identifier: string): string {
  if (!user) return keys.passwordAttempts(unknownSubject(type, identifier));
  // Counted on the record, and ended when the password changes (users.ts modifyUser): each password set counts afresh.
  return keys.user(user.user_id);
}

function lockedError(retryAfterMs: number): LockedError {
  return new LockedError('Too many failed password attempts: password login is locked for this user; retry later', retryAfterMs / 1000);
}

/** Each failed round means another attempt changed the run (counted, restarted, reset): progress, so few rounds suffice. */
const MAX_ROUNDS = 8;

/**
 * Counts a password guess on the record of the user `userId` with ONE atomic
 * conditional write that also returns the record (so it is never read
 * apart), under PASSWORD_ATTEMPTS: the run kept on the record. Undefined
 * when there is no such user, or it does not hold `identifier` any more (a
 * claim outliving a change): the guess is then at no one, and counted as
 * such by the caller. A lapsed or unlocked run costs a read and a restart
 * write more.
 */
async function countOnUser(
  deps: Deps,
  userId: string,
  type: 'username' | 'email' | 'phone_number',
  identifier: string,
): Promise<{ user: UserRecord; reservation: Reservation } | undefined> {
  const key = keys.user(userId);
  let restart: { seen: AttemptCounter | undefined } | undefined;
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const now = deps.clock.now();
    const counted = await deps.store.countGuess<UserRecord>(key, {
      run: { limit: PASSWORD_MAX_FAILURES, lastAfter: now - PASSWORD_FAILURES_FORGOTTEN_MS, now, startRun: randomId(), ...(restart && { restart }) },
    });
    if (counted) {
      const run = counted.attempts!;
      const reservation: Reservation = { reserved: true, key, run: run.run, count: run.count, reachedLimit: run.count >= PASSWORD_MAX_FAILURES };
      if (holdsIdentifier(counted.value, type, identifier)) return { user: counted.value, reservation };
      await giveBackAttempt(deps, reservation); // a guess at no one: not this user's
      return undefined;
    }
    const seen = await deps.store.get<UserRecord>(key);
    if (!seen || !holdsIdentifier(seen.value, type, identifier)) return undefined;
    const verdict = judgeCounter(seen.attempts, PASSWORD_ATTEMPTS, now);
    if (verdict.kind === 'locked') return { user: seen.value, reservation: { reserved: false, ...(verdict.retryAfterMs !== undefined && { retryAfterMs: verdict.retryAfterMs }) } };
    restart = verdict.kind === 'restart' ? { seen: seen.attempts } : undefined;
  }
  // Not counted, so not compared.
  throw new ServiceUnavailableError('Too many concurrent attempts; retry');
}

export async function authenticatePassword(deps: Deps, client: ClientRecord, input: PasswordAuthenticateInput): Promise<TokenResponse> {
  const password = input.password.normalize('NFC');
  const type = input.username_type ?? 'username';
  // With a session_id the session is judged first, against the user: read it. Without, the counting write reads it.
  const read = input.session_id !== undefined ? (await findUser(deps, type, input.username))?.value : undefined;
  const claimed = input.session_id !== undefined ? read?.user_id : await claimedUserId(deps, type, input.username);
  // Where a guess at no one is counted: named for a user too, so a known and an unknown identifier do the same work.
  const nobodysCounter = passwordAttemptsKey(undefined, type, input.username);

  return authenticate(
    deps,
    // An unknown user cannot match any session: with a session_id it is session_user_mismatch, as for any other user.
    // Without one, the user is known once counted (a claim may name someone who no longer holds the identifier).
    { client, userId: read?.user_id ?? '', user: read, method: 'pwd', sessionId: input.session_id, clientAttributes: input.client_attributes, maxAge: input.max_age, claims: input.claims },
    async () => {
      const onUser = claimed !== undefined ? await countOnUser(deps, claimed, type, input.username) : undefined;
      const user = onUser?.user;
      if (user) noteAudit({ user_id: user.user_id });
      const reservation = onUser?.reservation ?? (await reserveAttempt(deps, nobodysCounter, PASSWORD_ATTEMPTS));
      if (!reservation.reserved) throw lockedError(reservation.retryAfterMs ?? PASSWORD_LOCK_MS);
      if (reservation.reachedLimit && user) await auditLockout(deps, user.user_id, undefined);
      // The attempt that reaches the limit is still answered as a plain failure; the next one learns of the lock.
      if (!user?.password || user.status !== 'Active') {
        await verifyDummyPassword(password, deps.settings.scrypt);
        throw new InvalidCredentialsError();
      }
      if (!(await verifyPassword(password, user.password.hash))) throw new InvalidCredentialsError();
      // A success ends the run of consecutive failures (on the record: the run's attributes only, not its version).
      return { user, commit: () => deps.store.uncountAttempt(reservation.key, reservation.run, { all: true }), release: () => giveBackAttempt(deps, reservation) };
    },
  );
}
