/**
 * Send limits: at most 1 send per 30 s and 5 per 15 min per destination,
 * plus a per-client hourly budget on each channel (`sms_budget_per_hour` for
 * SMS, `send_budget_per_hour` for email codes and links, each its own
 * counter). Over a limit nothing is sent.
 *
 * No limit may tell a registered identifier from an unknown one, so the
 * limits come in two kinds:
 *
 * - What the caller asked for (`guardSendRequest`): 1 per 30 s and 5 per
 *   15 min per (channel, identifier type, normalized identifier) as
 *   submitted, and the client's budget as it stands. These answer 429
 *   `rate_limited` with Retry-After, and are judged and recorded identically
 *   whether or not the identifier names anyone.
 * - What would really be delivered (`admitDeliveryWith`): the same 1 per 30 s
 *   and 5 per 15 min per real destination, and one unit of the client's
 *   budget. The destination's log is the user's on that channel, kept on
 *   their code record (`otp#<user_id>#<channel>`) and appended to by the
 *   write that stores the code, so it holds whichever name the caller used
 *   for the user (all names reach the one record). It belongs to the user's
 *   channel, not to the number or address: a contact the client moves to
 *   another user starts a fresh log there. These fail silently: the caller gets the same 200 and
 *   nothing is sent; the log says why, by user id, never by contact.
 *
 * The budget is checked on every send but consumed only by real deliveries
 * (not by sends to unknown identifiers, nor by `direct` delivery, which
 * reaches no one), so nobody can use it up by sending to identifiers that do
 * not exist. A send that would be delivered checks and takes its unit in one
 * conditional write (refused when the budget is used up, as a read would
 * find it) and gives it back if a limit then refuses or drops the send; any
 * other send checks the budget with an add of 0 under the same condition.
 * Both walk the budget's shards alike (core/send-budget.ts), with the same
 * answer. The residual, accepted: the budget is client-wide state that
 * real deliveries change, so a caller who knows the counter is exactly one
 * short of the budget could learn, once per hour window, whether one send
 * was delivered (and that send reaches the victim, who sees it). Keep the
 * budget far above real traffic (default 1000 per hour).
 *
 * One send-log mechanism: each sliding log of send times is kept on a
 * record (Store.logSendOnRecord, or the overwrite that stores a code) and
 * appended to with one conditional write (read and replaced on its log
 * version only when its oldest times must be trimmed): a record of its own
 * for what was submitted, and for a real destination its code record. Logs
 * written before this, standalone, are read as they were (the store reads
 * the old layout as a log at version 0, which the next send replaces). Keys
 * of submitted identifiers hold only their keyed hashes.
 */
import { ConflictError, RateLimitedError } from '../errors.js';
import type { RecordSendLog, SendLog } from '../ports.js';
import { keyedHash } from './crypto.js';
import type { Deps } from './deps.js';
import { keys, type ClientRecord } from './model.js';
import { CLIENT_DEFAULTS } from './clients.js';
import { giveBackUnit, useBudget, type Budget, type TakenUnit } from './send-budget.js';
import { normalizeIdentifier, type IdentifierType } from './users.js';

export const SEND_COOLDOWN_MS = 30_000;
export const SEND_WINDOW_MS = 15 * 60_000;
export const SENDS_PER_WINDOW = 5;
export { BUDGET_WINDOW_MS } from './send-budget.js';
const MAX_WRITE_ATTEMPTS = 5;

export type SendChannel = 'email' | 'sms';

/** A send as the caller named it: the channel it goes out on, and the identifier as submitted. */
export interface SendRequest {
  channel: SendChannel;
  identifierType: IdentifierType;
  identifier: string;
}

type Slot = { ok: true } | { ok: false; reason: 'cooldown' | 'window' | 'contention'; retryAfterMs: number };

/**
 * Records a send time in the sliding log kept on the record at `key` (a
 * record of its own for what was submitted), unless the cooldown or the
 * window is full: the same on-record log and the same rules as a real
 * destination's (admitDeliveryWith), through Store.logSendOnRecord.
 */
async function takeSlot(deps: Deps, key: string): Promise<Slot> {
  const expiresAt = () => Math.ceil((deps.clock.now() + SEND_WINDOW_MS) / 1000);
  const verdict = await appendToLog(
    deps,
    (log) => deps.store.logSendOnRecord(key, log, expiresAt()),
    () => deps.store.getRecordSendLog(key),
  );
  return verdict.ok ? { ok: true } : verdict;
}

/**
 * Appends a send at `now` to a log kept on a record, under the cooldown and
 * the window. Fast path: one conditional write, taken while the log's latest
 * send is past the cooldown and the log holds fewer than SENDS_PER_WINDOW
 * times however old (then fewer are recent, so the window has room).
 * Otherwise the log is read (`read`), judged on its recent times, and
 * replaced trimmed to them on the log version read. `write` throws
 * ConflictError when the log refuses.
 */
async function appendToLog<T>(deps: Deps, write: (log: RecordSendLog) => Promise<T>, read: () => Promise<SendLog>): Promise<{ ok: true; written: T } | (Slot & { ok: false })> {
  const now = deps.clock.now();
  try {
    return { ok: true, written: await write({ now, lastAtOrBefore: now - SEND_COOLDOWN_MS, maxEntries: SENDS_PER_WINDOW }) };
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
  }
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const seen = await read();
    const now = deps.clock.now();
    const judged = judgeLog(seen.times, now);
    if (!judged.ok) return judged;
    try {
      return { ok: true, written: await write({ now, seen: seen.version, times: judged.recent }) };
    } catch (error) {
      // A concurrent send changed the record since it was read; re-read and re-judge.
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  return { ok: false, reason: 'contention', retryAfterMs: 1000 };
}

/** A log's recent times (oldest first), or the limit a send at `now` would break. */
function judgeLog(times: number[], now: number): { ok: true; recent: number[] } | (Slot & { ok: false }) {
  const recent = times.filter((t) => t > now - SEND_WINDOW_MS).sort((a, b) => a - b);
  const last = recent.at(-1);
  if (last !== undefined && now - last < SEND_COOLDOWN_MS) return { ok: false, reason: 'cooldown', retryAfterMs: last + SEND_COOLDOWN_MS - now };
  if (recent.length >= SENDS_PER_WINDOW) return { ok: false, reason: 'window', retryAfterMs: recent[0]! + SEND_WINDOW_MS - now };
  return { ok: true, recent };
}

/** The client's hourly budget on a channel: SMS has its own (it is what costs, and what pumping runs up); email codes and links share the other. */
function budgetOf(client: ClientRecord, channel: SendRequest['channel']): Budget {
  if (channel === 'sms') return { clientId: client.client_id, perHour: client.sms_budget_per_hour ?? CLIENT_DEFAULTS.sms_budget_per_hour, channel };
  return { clientId: client.client_id, perHour: client.send_budget_per_hour };
}

/** What guardSendRequest left for the delivery: the budget unit it took, if it took one. */
export interface SendGuard {
  /** The budget unit taken for this send's delivery; undefined when none was taken. */
  taken?: TakenUnit;
}

/** Gives back a budget unit taken for a send that was then refused or dropped (core/send-budget.ts giveBackUnit). */
async function giveBackBudget(deps: Deps, guard: SendGuard): Promise<void> {
  if (guard.taken === undefined) return;
  const unit = guard.taken;
  guard.taken = undefined;
  await giveBackUnit(deps, unit);
}

/**
 * The limits on what the caller submitted: throws RateLimitedError (429)
 * when the client's budget is used up or when this channel and identifier
 * were sent to too recently; otherwise records the send. Call it for every
 * send, before anything depends on whether the identifier names a user.
 * `delivering`: the send goes on to admitDeliveryWith (a real user, not
 * `direct`), so the budget's unit is taken now, in the write that checks it.
 */
export async function guardSendRequest(deps: Deps, client: ClientRecord, request: SendRequest, options: { delivering?: boolean } = {}): Promise<SendGuard> {
  const taken = await useBudget(deps, budgetOf(client, request.channel), options.delivering === true);
  const guard: SendGuard = { ...(taken && { taken }) };
  const submitted = `${request.channel}|${request.identifierType}|${normalizeIdentifier(request.identifierType, request.identifier)}`;
  let slot: Slot;
  try {
    slot = await takeSlot(deps, keys.sendRequestRate(keyedHash(deps.hashKey, submitted)));
  } catch (error) {
    await giveBackBudget(deps, guard);
    throw error;
  }
  if (slot.ok) return guard;
  await giveBackBudget(deps, guard);
  const message = {
    cooldown: 'Wait before sending another code to this destination',
    window: 'Too many codes sent to this destination; try again later',
    contention: 'Too many concurrent sends to this destination',
  }[slot.reason];
  throw new RateLimitedError(message, slot.retryAfterMs / 1000);
}

/**
 * The limits on what would really be delivered, judged on the destination's
 * send log, kept on the record an OTP delivery writes anyway (the user's code
 * record on the channel: Store.overwrite `log`; a magic link writes only the
 * log there, Store.logSendOnRecord): `write` is that write, told how to
 * append to the log, and throws ConflictError when the log refuses. Never
 * throws a rate limit: the caller answers as if sent, sends nothing, and logs
 * the verdict (never the contact).
 * Fast path: one conditional write. Otherwise the log is read (`read`),
 * judged on its recent times, and written on the version read. A refusal
 * writes nothing and gives the budget unit back.
 */
export async function admitDeliveryWith<T>(
  deps: Deps,
  guard: SendGuard,
  write: (log: RecordSendLog) => Promise<T>,
  read: () => Promise<SendLog>,
): Promise<T | 'destination_limit'> {
  if (guard.taken === undefined) throw new Error('admitDeliveryWith needs a guardSendRequest that was told it is delivering');
  let verdict: Awaited<ReturnType<typeof appendToLog<T>>>;
  try {
    verdict = await appendToLog(deps, write, read);
  } catch (error) {
    await giveBackBudget(deps, guard);
    throw error;
  }
  if (verdict.ok) return verdict.written;
  await giveBackBudget(deps, guard);
  return 'destination_limit';
}
