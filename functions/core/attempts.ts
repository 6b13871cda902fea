/**
 * Guess counters: every guess at a low-entropy secret (password, OTP, TOTP,
 * verification code) is counted by ONE atomic conditional write before it is
 * compared, and a guess that could not be counted is refused without being
 * compared. However many guesses arrive at once, the store lets at most
 * `limit` of them through, so at most `limit` are ever compared.
 *
 * A counter (Store.countAttempt) lives in its own item, apart from the record
 * holding the secret, so counting never contends with that record's
 * conditional puts. It counts a *run* of attempts:
 *
 * - An attempt is counted while the run holds fewer than `limit`. The attempt
 *   that reaches the limit starts the lock: every later attempt, the right
 *   secret too, is refused uncompared until `lockMs` after it (with no
 *   `lockMs`, for as long as the counter lives: a code's own lifetime).
 * - A pause of `idleMs` without any attempt, or the end of a lock, ends the
 *   run; the next attempt starts a new one (one conditional put, won by one
 *   of any concurrent starters; the others then count on the new run). The
 *   first run of a counter that does not exist yet is started by the
 *   counting write itself (the store serialises concurrent first attempts:
 *   one creates, the rest count on).
 *
 * Runs end after a pause, not on a sliding log of times: a log cannot be
 * trimmed and checked in one atomic write, a run can. Two runs are always
 * apart by at least the pause or the lock, so with both at 15 minutes (OTP
 * channels, TOTP) any 15 minutes hold attempts of one run only: never more
 * than `limit` compared guesses, and ten failures within 15 minutes always
 * lock. The price: failures that keep coming less than `idleMs` apart keep
 * counting, so they lock too.
 *
 * Successes: a limit on failures within a window (OTP, TOTP) gives the
 * success's reserved attempt back (an atomic decrement in the same run); a
 * limit on consecutive failures (password) resets the counter (a delete).
 * All times are the injected clock's, and expiry is judged from the stored
 * `last_at` on every read; the table's TTL only cleans up later.
 */
import { ServiceUnavailableError } from '../errors.js';
import type { AttemptCounter } from '../ports.js';
import { randomId, sha256 } from './crypto.js';
import type { Deps } from './deps.js';
import { normalizeIdentifier, type IdentifierType } from './users.js';

export interface AttemptPolicy {
  /** Attempts counted in one run; the one that reaches this locks. */
  limit: number;
  /** A pause this long (ms) after the latest attempt ends the run; none: runs never lapse. */
  idleMs?: number;
  /** How long (ms) a reached limit refuses, from the attempt that reached it; none: for good. */
  lockMs?: number;
}

export type Reservation =
  /** Counted: compare now. `reachedLimit`: this attempt was the last the limit allows. */
  | { reserved: true; key: string; run: string; count: number; reachedLimit: boolean }
  /** Refused uncompared: the limit holds; `retryAfterMs` when the lock has an end. */
  | { reserved: false; retryAfterMs?: number };

export type CounterVerdict = { kind: 'count' } | { kind: 'restart' } | { kind: 'locked'; retryAfterMs?: number };

/** What an attempt may do with `counter` at `now`: count on it, start a new run, or nothing (locked). */
export function judgeCounter(counter: AttemptCounter | undefined, policy: AttemptPolicy, now: number): CounterVerdict {
  if (!counter) return { kind: 'restart' };
  if (counter.count >= policy.limit) {
    if (policy.lockMs === undefined) return { kind: 'locked' };
    const until = counter.last_at + policy.lockMs;
    return now < until ? { kind: 'locked', retryAfterMs: until - now } : { kind: 'restart' };
  }
  if (policy.idleMs !== undefined && now >= counter.last_at + policy.idleMs) return { kind: 'restart' };
  return { kind: 'count' };
}

/** Epoch seconds from which nothing in a counter counted at `now` can matter any more, plus a day. */
export function counterTtl(policy: AttemptPolicy, now: number): number {
  return Math.ceil((now + Math.max(policy.idleMs ?? 0, policy.lockMs ?? 0)) / 1000) + 86_400;
}

/** Each failed round means another attempt changed the counter (counted, restarted or gave back): progress, so few rounds suffice. */
const MAX_ROUNDS = 8;

/**
 * Counts one attempt under `policy` on the counter `key`. The common case (a
 * live run, or no counter yet) is one conditional write; a lapsed or
 * unlocked counter costs a read and a conditional put more. `expiresAt` overrides the TTL (for counters of
 * a code, which live as long as the code).
 */
export async function reserveAttempt(deps: Pick<Deps, 'store' | 'clock'>, key: string, policy: AttemptPolicy, expiresAt?: number): Promise<Reservation> {
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const now = deps.clock.now();
    const ttl = expiresAt ?? counterTtl(policy, now);
    const counted = await deps.store.countAttempt(key, {
      limit: policy.limit,
      ...(policy.idleMs !== undefined && { lastAfter: now - policy.idleMs }),
      now,
      expiresAt: ttl,
      // A missing counter has nothing to judge: the same write starts its first run.
      startRun: randomId(),
    });
    if (counted) return reserved(key, counted, policy);

    const seen = await deps.store.getAttempts(key);
    const verdict = judgeCounter(seen, policy, now);
    if (verdict.kind === 'locked') return { reserved: false, ...(verdict.retryAfterMs !== undefined && { retryAfterMs: verdict.retryAfterMs }) };
    if (verdict.kind === 'count') continue; // it changed between the write and the read
    const next: AttemptCounter = { run: randomId(), count: 1, last_at: now };
    if (await deps.store.restartAttempts(key, seen, next, ttl)) return reserved(key, next, policy);
  }
  // Not counted, so not compared: the caller never reaches its comparison.
  throw new ServiceUnavailableError('Too many concurrent attempts; retry');
}

function reserved(key: string, counter: AttemptCounter, policy: AttemptPolicy): Reservation {
  return { reserved: true, key, run: counter.run, count: counter.count, reachedLimit: counter.count >= policy.limit };
}

/**
 * Gives back a reservation whose guess proved right (or was never compared).
 * Best effort: a failure leaves the attempt counted, the safe side.
 */
export async function giveBackAttempt(deps: Pick<Deps, 'store' | 'logger'>, reservation: Reservation): Promise<void> {
  if (!reservation.reserved) return;
  await deps.store.uncountAttempt(reservation.key, reservation.run).catch((error: unknown) => {
    deps.logger.warn('could not give back a counted attempt', { error: error instanceof Error ? error.name : String(error) });
  });
}

/** Forgets every counted attempt (a success ends a run of consecutive failures). */
export async function resetAttempts(deps: Pick<Deps, 'store'>, key: string): Promise<void> {
  await deps.store.delete(key);
}

/**
 * The counter subject of an identifier that names no usable user: a hash of
 * what the caller submitted (normalised as lookups compare it), so guesses at
 * unknown users are counted and lock exactly as guesses at known ones (a lock
 * that only known users could reach would tell who is registered). OTP
 * decoys are keyed by it too.
 */
export function unknownSubject(identifierType: IdentifierType, identifier: string): string {
  return `unknown:${sha256(`${identifierType}:${normalizeIdentifier(identifierType, identifier)}`)}`;
}

