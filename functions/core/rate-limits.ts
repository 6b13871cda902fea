/**
 * Send limits (contract section 8): at most 1 send per 30 s and 5 per 15 min
 * per destination, plus a per-client hourly budget. Over a limit: 429
 * `rate_limited` with Retry-After, and nothing is sent.
 *
 * The per-destination limit is a sliding log of send times in one record,
 * updated with one conditional write on its version; the client budget is an
 * atomic counter per hour window (a hot key, so no read-modify-write).
 */
import { ConflictError, RateLimitedError } from '../errors.js';
import { sha256 } from './crypto.js';
import type { Deps } from './deps.js';
import { keys, type ClientRecord } from './model.js';

export const SEND_COOLDOWN_MS = 30_000;
export const SEND_WINDOW_MS = 15 * 60_000;
export const SENDS_PER_WINDOW = 5;
const BUDGET_WINDOW_MS = 3600_000;

interface SendLog {
  sent_at: number[];
}

/**
 * Records one send to `destination` (an email address, phone number or other
 * delivery target) for `client`, or throws RateLimitedError without recording.
 * The destination is stored only as a hash.
 */
export async function reserveSend(deps: Deps, client: ClientRecord, destination: string): Promise<void> {
  const key = keys.sendRate(sha256(destination.trim().toLowerCase()));
  for (let attempt = 0; attempt < 5; attempt++) {
    const now = deps.clock.now();
    const record = await deps.store.get<SendLog>(key);
    const recent = (record?.value.sent_at ?? []).filter((t) => t > now - SEND_WINDOW_MS).sort((a, b) => a - b);
    const last = recent.at(-1);
    if (last !== undefined && now - last < SEND_COOLDOWN_MS) {
      throw new RateLimitedError('Wait before sending another code to this destination', (last + SEND_COOLDOWN_MS - now) / 1000);
    }
    if (recent.length >= SENDS_PER_WINDOW) {
      throw new RateLimitedError('Too many codes sent to this destination; try again later', (recent[0]! + SEND_WINDOW_MS - now) / 1000);
    }
    try {
      await deps.store.put<SendLog>(key, { sent_at: [...recent, now] }, {
        expectVersion: record?.version ?? null,
        expiresAt: Math.ceil((now + SEND_WINDOW_MS) / 1000),
      });
    } catch (error) {
      if (error instanceof ConflictError) continue; // a concurrent send won; re-read and re-judge
      throw error;
    }
    await consumeClientBudget(deps, client, now);
    return;
  }
  throw new RateLimitedError('Too many concurrent sends to this destination', 1);
}

async function consumeClientBudget(deps: Deps, client: ClientRecord, now: number): Promise<void> {
  const window = Math.floor(now / BUDGET_WINDOW_MS);
  const used = await deps.store.increment(keys.sendBudget(client.client_id, window), 1, {
    expiresAt: Math.ceil(((window + 1) * BUDGET_WINDOW_MS) / 1000) + 3600,
  });
  if (used > client.send_budget_per_hour) {
    throw new RateLimitedError("This client's hourly send budget is used up", ((window + 1) * BUDGET_WINDOW_MS - now) / 1000);
  }
}
