/**
 * DeliveryQueue port over Amazon SQS: one SendMessage per delivery, on a
 * queue encrypted at rest (lib/constructs/delivery.ts). The delivery sender's
 * side (putting a message back with a backoff, dead-lettering one that
 * failed for good) is here too, for functions/workers/delivery-sender.ts.
 */
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeliveryQueue } from '../../ports.js';
import { dependencyFailure } from './failures.js';

export class SqsDeliveryQueue implements DeliveryQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    /** Where the sender puts what failed for good; only the sender needs it. */
    private readonly deadLetterQueueUrl?: string,
  ) {}

  async enqueue(body: string): Promise<void> {
    try {
      await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: body }));
    } catch (error) {
      throw dependencyFailure('sqs', error);
    }
  }

  /** Makes a received message visible again only after `seconds` (the sender's backoff). */
  async retryLater(receiptHandle: string, seconds: number): Promise<void> {
    try {
      await this.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
    } catch (error) {
      throw dependencyFailure('sqs', error);
    }
  }

  /** Puts a message that failed for good on the dead-letter queue (still sealed). */
  async deadLetter(body: string, reason: string): Promise<void> {
    if (!this.deadLetterQueueUrl) throw new Error('no dead-letter queue configured');
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.deadLetterQueueUrl,
          MessageBody: body,
          MessageAttributes: { reason: { DataType: 'String', StringValue: reason } },
        }),
      );
    } catch (error) {
      throw dependencyFailure('sqs', error);
    }
  }
}
