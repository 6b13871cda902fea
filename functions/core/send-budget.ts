/**
 * A client's hourly send budget (contract section 8): how many real
 * deliveries the client may cause per hour window. The key function and the
 * take / give-back rules live here, and only here, so that another budget
 * (per channel, say) is one more call with its own name and limit.
 *
 * Every send writes the budget (a real delivery takes a unit; any other send
 * checks it with an add of 0 under the same condition), so at the capacity
 * target one client's sends are one client's budget writes. DynamoDB takes
 * about 1,000 writes a second on one item; the budget is split into
 * BUDGET_SHARDS counters, each holding its share of the limit, and a send
 * starts at a random shard, so each item sees about 1/BUDGET_SHARDS of the
 * client's sends (150 sends/s: about 19 writes/s per item). A shard whose
 * share is used up sends the call on to the next one; the budget is used up
 * only when every shard is. Taking and checking walk the shards alike (the
 * same conditional add, of 1 or of 0), so both make the same requests.
 */
import { randomInt } from 'node:crypto';
import { ConflictError, RateLimitedError } from '../errors.js';
import type { Deps } from './deps.js';
import { keys } from './model.js';

export const BUDGET_WINDOW_MS = 3600_000;
/** Counters one client's hourly budget is split into. */
export const BUDGET_SHARDS = 8;

/** Which budget, for whom, and its limit per hour window. */
export interface Budget {
  clientId: string;
  perHour: number;
  /** SMS has a budget of its own (what costs, and what pumping runs up); email codes and links share the other. */
  channel?: 'email' | 'sms';
}

/** A unit taken from a budget: the counter it came from, to give back. */
export interface TakenUnit {
  key: string;
}

/** The counter of shard `shard` of a client's budget in hour window `window` (shard 0 is the key of the unsharded counter). */
export function budgetShardKey(clientId: string, window: number, shard: number, channel: 'email' | 'sms' = 'email'): string {
  const counter = keys.sendBudget(clientId, window, channel);
  return shard === 0 ? counter : `${counter}#${shard}`;
}

/** A shard's share of `perHour`: the limit split as evenly as whole units go. */
export function shardShare(perHour: number, shard: number): number {
  return Math.floor(perHour / BUDGET_SHARDS) + (shard < perHour % BUDGET_SHARDS ? 1 : 0);
}

function windowAt(now: number): { window: number; endsAt: number; expiresAt: number } {
  const window = Math.floor(now / BUDGET_WINDOW_MS);
  const endsAt = (window + 1) * BUDGET_WINDOW_MS;
  return { window, endsAt, expiresAt: Math.ceil(endsAt / 1000) + 3600 };
}

/**
 * Takes one unit of `budget` (`take`), or only checks that one is left (an
 * add of 0 under the same condition): starting at a random shard, one
 * conditional add per shard until one has room. Throws RateLimitedError
 * (429, Retry-After: the end of the hour window) when none has.
 */
export async function useBudget(deps: Pick<Deps, 'store' | 'clock'>, budget: Budget, take: boolean): Promise<TakenUnit | undefined> {
  const now = deps.clock.now();
  const { window, endsAt, expiresAt } = windowAt(now);
  const first = randomInt(BUDGET_SHARDS);
  for (let step = 0; step < BUDGET_SHARDS; step++) {
    const shard = (first + step) % BUDGET_SHARDS;
    const share = shardShare(budget.perHour, shard);
    if (share === 0) continue;
    const key = budgetShardKey(budget.clientId, window, shard, budget.channel);
    try {
      await deps.store.increment(key, take ? 1 : 0, { expiresAt, below: share });
      return take ? { key } : undefined;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  throw new RateLimitedError("This client's hourly send budget is used up", (endsAt - now) / 1000);
}

/**
 * Gives back a unit taken for a send that was then refused or dropped: a
 * conditional decrement that never takes the counter below zero (a counter
 * the table already deleted stays deleted). Best effort: a failure leaves the
 * unit used, the safe side.
 */
export async function giveBackUnit(deps: Pick<Deps, 'store' | 'logger'>, unit: TakenUnit): Promise<void> {
  try {
    await deps.store.increment(unit.key, -1, { above: 0 });
  } catch (error) {
    if (error instanceof ConflictError) return; // nothing left to give back
    deps.logger.warn('could not give back a send budget unit', { error: error instanceof Error ? error.name : String(error) });
  }
}
