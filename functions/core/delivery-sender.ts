/**
 * The delivery sender: takes one queued delivery (core/delivery.ts) and
 * delivers it through the Mailer or the SmsSender, the only code that calls
 * them. The queue's consumer (the SQS-triggered function in AWS,
 * functions/workers/delivery-sender.ts; the local queue adapter otherwise)
 * acts on the outcome:
 *
 * - `delivered`: sent.
 * - `stale`: not sent, and never will be: the code expired, was used or was
 *   replaced by a newer send (its id is no longer the record's), the link
 *   expired or was used, or the contact changed. Checked against the record
 *   in the table right before sending, never from the message alone.
 * - `decoy`: a send to nobody; dropped unread.
 * - `retry`: the provider throttled or failed in a way that may pass; the
 *   consumer puts the message back with a backoff.
 * - `failed`: failed for good (the provider refused this message, retries
 *   ran out, or the message cannot be opened). The code is revoked (nobody
 *   will receive it) and the consumer dead-letters the message.
 *
 * Each outcome but `retry` and `decoy` is an audit event (`delivery`, the
 * outcome as `outcome`, the channel as `method`); every outcome is a log
 * line. Neither holds a code, a link or a contact.
 */
import { DependencyError } from '../errors.js';
import { emitAudit } from './audit.js';
import { recordSend } from './metrics.js';
import { openDelivery, type Delivery } from './delivery.js';
import type { Deps } from './deps.js';
import type { MagicLinkRecord } from './magic-links.js';
import type { OtpRecord } from './otp.js';
import { revokeCode } from './otp-send.js';

export type DeliveryOutcome = 'delivered' | 'stale' | 'decoy' | 'retry' | 'failed';

/** How many times the queue hands a message to the sender before its failure is final (the consumer's setting). */
export const MAX_DELIVERY_ATTEMPTS = 8;

/** Seconds before a throttled or failed delivery is tried again: 5 s, doubling, at most 5 minutes. */
export function retryDelaySeconds(attempt: number): number {
  return Math.min(300, 5 * 2 ** Math.max(0, attempt - 1));
}

export interface DeliveryAttempt {
  /** 1 for the first time the queue handed this message over. */
  attempt: number;
}

type Current = { user_id: string; client_id: string } | undefined;

/** The user and client of the code or link the delivery carries, if it is still the current one and usable at `now`; else undefined. */
async function currentTarget(deps: Deps, delivery: Exclude<Delivery, { kind: 'decoy' }>, now: number): Promise<Current> {
  if (delivery.kind === 'otp') {
    const record = (await deps.store.get<OtpRecord>(delivery.record))?.value;
    const code = record?.code;
    if (!record || !code || code.id !== delivery.code_id || code.used_at !== undefined || now >= code.expires_at || code.destination !== delivery.message.to) return undefined;
    return { user_id: record.user_id, client_id: code.client_id };
  }
  const link = (await deps.store.get<MagicLinkRecord>(delivery.record))?.value;
  if (!link || link.used_at !== undefined || now >= link.expires_at || link.email !== delivery.message.to) return undefined;
  return { user_id: link.user_id, client_id: link.client_id };
}

async function revoke(deps: Deps, delivery: Exclude<Delivery, { kind: 'decoy' }>, target: NonNullable<Current>): Promise<void> {
  try {
    if (delivery.kind === 'otp') await revokeCode(deps, target.user_id, delivery.channel, delivery.code_id);
    else await deps.store.delete(delivery.record);
  } catch (error) {
    // The code then simply expires unused; the delivery is dead-lettered either way.
    deps.logger.error('could not revoke an undeliverable code', { user_id: target.user_id, channel: delivery.channel, error: error instanceof Error ? error.name : String(error) });
  }
}

/**
 * Delivers one queued message, or says why not. Throws only when the table
 * cannot be read (the consumer retries, as for `retry`).
 */
export async function deliverQueued(deps: Deps, body: string, attempt: DeliveryAttempt): Promise<DeliveryOutcome> {
  let delivery: Delivery;
  try {
    delivery = openDelivery(deps, body);
  } catch {
    deps.logger.error('delivery failed for good', { reason: 'unreadable', attempt: attempt.attempt });
    return 'failed';
  }
  if (delivery.kind === 'decoy') {
    deps.logger.info('delivery dropped', { reason: 'decoy', channel: delivery.channel });
    return 'decoy';
  }
  const now = deps.clock.now();
  const target = now < delivery.expires_at ? await currentTarget(deps, delivery, now) : undefined;
  const event = { event: 'delivery' as const, method: delivery.channel, ip: null };
  if (!target) {
    deps.logger.info('delivery dropped', { reason: 'stale', kind: delivery.kind, channel: delivery.channel, attempt: attempt.attempt });
    await emitAudit(deps, { ...event, user_id: null, client_id: null, outcome: 'stale' });
    recordSend(deps, { channel: delivery.channel, outcome: 'stale', destination: delivery.message.to });
    return 'stale';
  }
  const who = { user_id: target.user_id, client_id: target.client_id };
  try {
    if (delivery.channel === 'email') await deps.mailer.sendEmail(delivery.message as Parameters<Deps['mailer']['sendEmail']>[0]);
    else await deps.sms.sendSms(delivery.message);
  } catch (error) {
    // Not an adapter's DependencyError: unexpected, logged as the endpoints log theirs (the logger masks any contact it quotes).
    if (!(error instanceof DependencyError)) deps.logger.error('unhandled error', { worker: 'delivery-sender', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    const permanent = error instanceof DependencyError && error.permanent;
    const cause = error instanceof Error ? (error.cause instanceof Error ? error.cause.name : error.name) : String(error);
    if (!permanent && attempt.attempt < MAX_DELIVERY_ATTEMPTS) {
      deps.logger.warn('delivery failed; will retry', { ...who, kind: delivery.kind, channel: delivery.channel, attempt: attempt.attempt, cause, retry_in_s: retryDelaySeconds(attempt.attempt) });
      return 'retry';
    }
    deps.logger.error('delivery failed for good', { ...who, kind: delivery.kind, channel: delivery.channel, attempt: attempt.attempt, cause, reason: permanent ? 'refused' : 'retries_exhausted' });
    await revoke(deps, delivery, target);
    await emitAudit(deps, { ...event, ...who, outcome: 'failed' });
    recordSend(deps, { channel: delivery.channel, outcome: 'failed', destination: delivery.message.to });
    return 'failed';
  }
  deps.logger.info('delivered', { ...who, kind: delivery.kind, channel: delivery.channel, attempt: attempt.attempt });
  await emitAudit(deps, { ...event, ...who, outcome: 'delivered' });
  recordSend(deps, { channel: delivery.channel, outcome: 'delivered', destination: delivery.message.to });
  return 'delivered';
}
