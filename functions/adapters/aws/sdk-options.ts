/**
 * How every AWS client of Twofold talks to its service: a connection timeout,
 * a per-attempt timeout that also never passes the invocation's deadline
 * (functions/deadline.ts), and at most SDK_MAX_ATTEMPTS attempts with a short
 * jittered backoff, none started once the deadline is too close. A stalled
 * DynamoDB, KMS, SES, SNS or Secrets Manager therefore fails the call (and the
 * adapters answer 503) well inside the Lambda timeout.
 *
 * The static worst case of one call, `worstCaseCallMs()`, plus the answer
 * margin must fit in the Lambda timeout: test/infra/stack.test.ts asserts it
 * against the synthesized template. The deadline covers what the static rule
 * cannot: several calls in a row in one request.
 */
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { timeLeft } from '../../deadline.js';

export const SDK_MAX_ATTEMPTS = 3;
/** TCP connect; an endpoint in the same region connects in milliseconds. */
export const CONNECTION_TIMEOUT_MS = 1_000;
/** One attempt, connection included, when the deadline is further away. */
export const ATTEMPT_TIMEOUT_MS = 2_000;
/** Backoff before retry n (1-based) is random in [0, BACKOFF_BASE_MS * 2^(n-1)). */
export const BACKOFF_BASE_MS = 100;
/** An attempt with less time than this left is not started. */
export const MIN_ATTEMPT_MS = 50;

/** The longest one SDK call can take: every attempt timing out, every backoff at its maximum. */
export function worstCaseCallMs(): number {
  let backoff = 0;
  for (let retry = 1; retry < SDK_MAX_ATTEMPTS; retry++) backoff += BACKOFF_BASE_MS * 2 ** (retry - 1);
  return SDK_MAX_ATTEMPTS * ATTEMPT_TIMEOUT_MS + backoff;
}

function outOfTime(): Error {
  return Object.assign(new Error('no time left for this call before the invocation deadline'), { name: 'TimeoutError' });
}

/**
 * NodeHttpHandler whose request timeout throws (the SDK's default only logs a
 * warning and waits forever) and shrinks to the time the invocation has left.
 */
export class DeadlineHttpHandler extends NodeHttpHandler {
  constructor() {
    super({ connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: ATTEMPT_TIMEOUT_MS, throwOnRequestTimeout: true });
  }

  override async handle(...[request, options = {}]: Parameters<NodeHttpHandler['handle']>): ReturnType<NodeHttpHandler['handle']> {
    const left = timeLeft();
    if (left !== undefined && left < MIN_ATTEMPT_MS) throw outOfTime();
    const requestTimeout = Math.min(options.requestTimeout ?? ATTEMPT_TIMEOUT_MS, ATTEMPT_TIMEOUT_MS, left ?? Infinity);
    return super.handle(request, { ...options, requestTimeout: Math.max(1, Math.floor(requestTimeout)) });
  }
}

type RetryStrategyV2 = Extract<NonNullable<DynamoDBClientConfig['retryStrategy']>, { acquireInitialRetryToken: unknown }>;
type RetryToken = Awaited<ReturnType<RetryStrategyV2['acquireInitialRetryToken']>>;
type RetryErrorInfo = Parameters<RetryStrategyV2['refreshRetryTokenForRetry']>[1];

function token(count: number, delay: number): RetryToken {
  return { getRetryCount: () => count, getRetryDelay: () => delay };
}

/**
 * The SDK's standard rules (retry throttling and transient failures only),
 * with a bounded, deterministic ceiling and no retry that the deadline could
 * not fit. The SDK waits `getRetryDelay()` before the next attempt.
 */
export class DeadlineRetryStrategy implements RetryStrategyV2 {
  readonly mode = 'standard';

  async acquireInitialRetryToken(): Promise<RetryToken> {
    return token(0, 0);
  }

  async refreshRetryTokenForRetry(previous: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const retry = previous.getRetryCount() + 1;
    const retryable = info.errorType === 'THROTTLING' || info.errorType === 'TRANSIENT';
    const delay = Math.floor(Math.random() * BACKOFF_BASE_MS * 2 ** (retry - 1));
    const left = timeLeft();
    if (!retryable || retry >= SDK_MAX_ATTEMPTS || (left !== undefined && left - delay < MIN_ATTEMPT_MS)) {
      throw new Error('no retry');
    }
    return token(retry, delay);
  }

  recordSuccess(): void {}
}

/** Options for every AWS SDK client (region and credentials come from the environment). */
export function awsClientOptions() {
  return {
    maxAttempts: SDK_MAX_ATTEMPTS,
    retryStrategy: new DeadlineRetryStrategy(),
    requestHandler: new DeadlineHttpHandler(),
  };
}
