/**
 * The failure lockout shared by OTP channels and TOTP (contract section 8):
 * 10 failures within 15 minutes lock for 15 minutes. Failures are kept as a
 * sliding log of times; the failure that reaches the limit sets the lock and
 * empties the log, so once the lock ends the count starts afresh.
 */
export const MAX_FAILURES = 10;
export const FAILURE_WINDOW_MS = 15 * 60_000;
export const LOCK_MS = 15 * 60_000;

/** Failure times still inside the window at `now`. */
export function recentFailures(failures: readonly number[], now: number): number[] {
  return failures.filter((t) => t > now - FAILURE_WINDOW_MS);
}

/** The failure log with a failure at `now` added, and the lock it sets when it reaches the limit. */
export function addFailure(failures: readonly number[], now: number): { failures: number[]; lockedUntil?: number } {
  const recent = [...recentFailures(failures, now), now];
  if (recent.length >= MAX_FAILURES) return { failures: [], lockedUntil: now + LOCK_MS };
  return { failures: recent };
}

/** Milliseconds left of a lock at `now`; 0 when there is none in force. */
export function lockRemaining(lockedUntil: number | undefined, now: number): number {
  return lockedUntil !== undefined && lockedUntil > now ? lockedUntil - now : 0;
}
