/**
 * Delivery off the response path (contract section 11). A send stores its
 * code (or link), hands one message to the delivery queue and answers; the
 * delivery sender (core/delivery-sender.ts) takes it off the queue and
 * delivers it through SES or SNS at the providers' pace.
 *
 * The message is sealed: AES-256-GCM under a key derived from the service's
 * hash key for this purpose alone (crypto.ts sealSecret), so whoever can read
 * the queue (an operator, a misconfigured consumer, a message in the
 * dead-letter queue) sees ciphertext, never a code, a link or a contact.
 * Whoever holds the hash key could already brute force a live 6-digit code
 * from its stored hash, so the seal adds no new holder of any secret. The
 * queue itself is encrypted at rest and keeps a message no longer than the
 * longest life of anything it carries (a 60-minute link); the sender drops
 * what has expired or been replaced.
 *
 * A send to nobody enqueues a decoy: a sealed message of the same shape that
 * the sender drops unread. So a send to a registered user and a send to
 * nobody make the same requests, the queue included, and take the same time
 * with no waiting added.
 */
import type { EmailMessage, SmsMessage } from '../ports.js';
import { openSecret, sealSecret } from './crypto.js';
import type { Deps } from './deps.js';

export type DeliveryChannel = 'email' | 'sms';

interface DeliveryBase {
  channel: DeliveryChannel;
  /** When the code or link stops working (ms): a delivery after it would be useless. */
  expires_at: number;
  /** What to send: an email, or an SMS. */
  message: EmailMessage | SmsMessage;
}

/**
 * What one queued message asks the sender to do: deliver the code `code_id`
 * held by the OTP record `record`, or the link whose record is `record`,
 * only while it is still current; or nothing at all (a decoy).
 */
export type Delivery =
  | (DeliveryBase & { kind: 'otp'; record: string; code_id: string })
  | (DeliveryBase & { kind: 'link'; record: string })
  | (DeliveryBase & { kind: 'decoy' });

const PURPOSE = 'delivery';

/** The queue message for `delivery`: sealed, so the queue never holds a secret or a contact in clear. */
export function sealDelivery(deps: Pick<Deps, 'hashKey'>, delivery: Delivery): string {
  return sealSecret(deps.hashKey, PURPOSE, JSON.stringify(delivery));
}

/** Opens a queue message; throws if it was not sealed by this service (or was tampered with). */
export function openDelivery(deps: Pick<Deps, 'hashKey'>, body: string): Delivery {
  return JSON.parse(openSecret(deps.hashKey, PURPOSE, body)) as Delivery;
}

/**
 * Puts one delivery on the queue. Resolves once the queue holds it; a failed
 * enqueue throws (DependencyError: 503 with Retry-After), and the caller
 * then leaves no usable code behind.
 */
export async function enqueueDelivery(deps: Pick<Deps, 'hashKey' | 'queue'>, delivery: Delivery): Promise<void> {
  await deps.queue.enqueue(sealDelivery(deps, delivery));
}
