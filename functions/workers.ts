/**
 * Functions that are not routes: what each may touch, declared as a route
 * declares it (functions/access.ts), so the same declaration grants its IAM
 * permissions in the stack and restricts the dependencies it receives in
 * tests and locally.
 */
import type { FunctionNeeds } from './access.js';

/**
 * The delivery sender (functions/workers/delivery-sender.ts): takes sealed
 * deliveries off the queue (the hash key opens them), reads the code or link
 * record to check it is still current, delivers through SES or SNS, revokes
 * a code that failed for good, and emits an audit event per outcome. The
 * only function that may call SES or SNS. `queue`: it has the queue's SQS
 * client, but its role may only consume the delivery queue (receive, delete,
 * change visibility) and send to the dead-letter queue
 * (lib/constructs/delivery.ts), never put a delivery on the queue.
 */
export const DELIVERY_SENDER = {
  name: 'delivery-sender',
  auth: 'none',
  capabilities: ['queue', 'email', 'sms', 'hash-key', 'audit'],
  table: { read: ['otp', 'magicLink'], write: ['otp', 'magicLink'] },
} as const satisfies FunctionNeeds;

export const workers: readonly FunctionNeeds[] = [DELIVERY_SENDER];
