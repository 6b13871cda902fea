/**
 * The delivery sender's Lambda handler: an SQS event source hands it a batch
 * of sealed deliveries; each is delivered (core/delivery-sender.ts) and its
 * outcome decides what happens to the message:
 *
 * - delivered, stale, decoy: done (deleted by the event source).
 * - retry: reported as a batch item failure after its visibility is set to
 *   the backoff (5 s doubling, at most 5 minutes), so SQS hands it over
 *   again then; the sender judges it afresh (an expired code is dropped).
 * - failed: put on the dead-letter queue at once (the alarm watches it),
 *   then done. Should even that fail, it is reported as a failure: after
 *   MAX_DELIVERY_ATTEMPTS receives the queue's redrive policy moves it to
 *   the dead-letter queue anyway.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { SqsDeliveryQueue } from '../adapters/aws/sqs-queue.js';
import { restrictDeps } from '../access.js';
import { deliverQueued, retryDelaySeconds } from '../core/delivery-sender.js';
import { getDeps } from '../runtime.js';
import { DELIVERY_SENDER } from '../workers.js';

/** The queue's consumer side, where the wiring has one (the SQS adapter's). */
type Consumer = Partial<Pick<SqsDeliveryQueue, 'retryLater' | 'deadLetter'>>;

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const wired = await getDeps(DELIVERY_SENDER);
  const deps = restrictDeps(wired, DELIVERY_SENDER);
  const queue = wired.queue as Consumer;
  if (!queue.deadLetter) throw new Error('the delivery sender needs the SQS queue adapter with a dead-letter queue');
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
    try {
      const outcome = await deliverQueued(deps, record.body, { attempt });
      if (outcome === 'retry') {
        await queue.retryLater?.(record.receiptHandle, retryDelaySeconds(attempt)).catch(() => {}); // else the visibility timeout applies
        batchItemFailures.push({ itemIdentifier: record.messageId });
      } else if (outcome === 'failed') {
        await queue.deadLetter(record.body, 'failed');
      }
    } catch (error) {
      // The table could not be read, or the dead-letter queue refused: try again later.
      deps.logger.warn('delivery will be retried', { attempt, error: error instanceof Error ? error.name : String(error) });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
