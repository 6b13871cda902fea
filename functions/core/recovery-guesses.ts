/**
 * Counting recovery-code guesses before they are judged (contract section 8),
 * with the shared guess counter (core/attempts.ts): one atomic conditional
 * write counts each guess before any comparison, so however many arrive in
 * parallel at most RECOVERY_MAX_GUESSES are compared. The guess that reaches
 * the limit locks for RECOVERY_LOCK_MS: every later one, a right code too, is
 * 403 `auth_locked` with Retry-After, uncompared. A guess that could not be
 * counted is never compared (503). A pause of 15 minutes ends a run.
 *
 * Right and wrong guesses count alike (a used code is spent anyway), so a
 * user who types ten codes in a row locks like a guesser would.
 */
import { LockedError } from '../errors.js';
import { reserveAttempt, type AttemptPolicy } from './attempts.js';
import type { Deps } from './deps.js';
import { keys } from './model.js';

export const RECOVERY_MAX_GUESSES = 10;
export const RECOVERY_LOCK_MS = 15 * 60_000;
export const RECOVERY_ATTEMPTS: AttemptPolicy = { limit: RECOVERY_MAX_GUESSES, idleMs: RECOVERY_LOCK_MS, lockMs: RECOVERY_LOCK_MS };

/**
 * Counts one guess for `account` (a user id, or a stand-in for an unknown
 * identifier, so unknown users lock exactly as known ones), or throws
 * `auth_locked` once the limit holds.
 */
export async function reserveRecoveryGuess(deps: Pick<Deps, 'store' | 'clock'>, account: string): Promise<void> {
  const reservation = await reserveAttempt(deps, keys.recoveryGuesses(account), RECOVERY_ATTEMPTS);
  if (!reservation.reserved) {
    throw new LockedError('Too many recovery code attempts; try again later', (reservation.retryAfterMs ?? RECOVERY_LOCK_MS) / 1000);
  }
}
