/**
 * Counting recovery-code guesses before they are judged (contract section 8).
 *
 * One atomic ADD on a counter (`store.increment`) reserves each guess before
 * any comparison: the counter is keyed by the account and a fixed 15-minute
 * window, so however many guesses arrive in parallel each gets a distinct
 * total, and only those with a total within the limit go on to be compared.
 * The rest, and every guess until the window ends, are 403 `auth_locked` with
 * Retry-After set to the end of the window. A guess whose ADD failed is never
 * compared (the store error propagates as 503). Right and wrong guesses count
 * alike; nothing resets the count but the next window.
 *
 * Limit and window are those of the OTP channel lockout (core/lockout.ts):
 * 10 per 15 minutes. Being fixed windows, at most 10 guesses are compared in
 * any one window, and at most 20 in any 15-minute span (the end of one window
 * and the start of the next).
 *
 * Kept self-contained on purpose: a shared "reserve a guess" Store operation
 * can replace `reserveRecoveryGuess` without touching its callers.
 */
import { LockedError } from '../errors.js';
import type { Deps } from './deps.js';
import { FAILURE_WINDOW_MS, MAX_FAILURES } from './lockout.js';
import { keys, toEpochSeconds } from './model.js';

export const RECOVERY_MAX_GUESSES = MAX_FAILURES;
export const RECOVERY_GUESS_WINDOW_MS = FAILURE_WINDOW_MS;

/**
 * Reserves one guess for `account` (a user id, or a stand-in for an unknown
 * identifier, so unknown users lock exactly as known ones), or throws
 * `auth_locked` once the window's limit is used up.
 */
export async function reserveRecoveryGuess(deps: Pick<Deps, 'store' | 'clock'>, account: string): Promise<void> {
  const now = deps.clock.now();
  const window = Math.floor(now / RECOVERY_GUESS_WINDOW_MS);
  const windowEnds = (window + 1) * RECOVERY_GUESS_WINDOW_MS;
  const total = await deps.store.increment(keys.recoveryGuesses(account, window), 1, {
    expiresAt: toEpochSeconds(windowEnds) + 3600,
  });
  if (total > RECOVERY_MAX_GUESSES) {
    throw new LockedError('Too many recovery code attempts; try again later', (windowEnds - now) / 1000);
  }
}
