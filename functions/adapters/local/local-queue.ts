/**
 * The delivery queue locally (local server and tests): an enqueue hands the
 * message straight to the delivery sender's own code (core/delivery-sender.ts)
 * with the sender's own restricted dependencies, so by the time a send has
 * answered its message is in the outbox, and the sender's rules (stale
 * codes dropped, decoys dropped, retries, dead letters) run locally too.
 *
 * What SQS would do with the outcome is done here: a `retry` waits for its
 * backoff (redeliverDue hands it over again once the clock has passed it),
 * a `failed` is kept in `deadLetters`.
 */
import { restrictDeps } from '../../access.js';
import { deliverQueued, MAX_DELIVERY_ATTEMPTS, retryDelaySeconds, type DeliveryOutcome } from '../../core/delivery-sender.js';
import type { Deps } from '../../core/deps.js';
import { DependencyError } from '../../errors.js';
import type { DeliveryQueue } from '../../ports.js';
import { DELIVERY_SENDER } from '../../workers.js';

export interface QueuedMessage {
  body: string;
  /** The next attempt's number (1: first). */
  attempt: number;
  /** When SQS would make it visible again (ms, the injected clock). */
  due: number;
}

export class LocalDeliveryQueue implements DeliveryQueue {
  /** Set to make enqueues fail, as an SQS outage would. */
  failing = false;
  /** Messages waiting out a retry's backoff. */
  readonly waiting: QueuedMessage[] = [];
  /** Messages that failed for good, as the dead-letter queue would hold them. */
  readonly deadLetters: string[] = [];
  /** Every outcome so far, oldest first. */
  readonly outcomes: DeliveryOutcome[] = [];

  /** `deps`: the full dependencies, read at each delivery (tests swap ports); the sender gets its restricted view. */
  constructor(private readonly deps: () => Deps) {}

  async enqueue(body: string): Promise<void> {
    if (this.failing) throw new DependencyError('sqs');
    await this.hand({ body, attempt: 1, due: 0 });
  }

  /** Hands over again every waiting message whose backoff has passed; returns how many. */
  async redeliverDue(): Promise<number> {
    const now = this.deps().clock.now();
    const due = this.waiting.filter((m) => m.due <= now);
    for (const message of due) this.waiting.splice(this.waiting.indexOf(message), 1);
    for (const message of due) await this.hand(message);
    return due.length;
  }

  private async hand(message: QueuedMessage): Promise<void> {
    const deps = this.deps();
    let outcome: DeliveryOutcome;
    try {
      outcome = await deliverQueued(restrictDeps(deps, DELIVERY_SENDER), message.body, { attempt: message.attempt });
    } catch (error) {
      deps.logger.warn('delivery will be retried', { attempt: message.attempt, error: error instanceof Error ? error.name : String(error) });
      // As the queue's redrive policy would: after the last attempt, the message is dead-lettered.
      outcome = message.attempt >= MAX_DELIVERY_ATTEMPTS ? 'failed' : 'retry';
    }
    this.outcomes.push(outcome);
    if (outcome === 'retry') this.waiting.push({ body: message.body, attempt: message.attempt + 1, due: deps.clock.now() + retryDelaySeconds(message.attempt) * 1000 });
    if (outcome === 'failed') this.deadLetters.push(message.body);
  }
}
