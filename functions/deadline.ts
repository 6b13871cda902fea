/**
 * The time by which the current invocation must have its answer. The HTTP
 * edge opens one deadline per request from the Lambda context
 * (`getRemainingTimeInMillis()`, minus a margin kept back to write the 503),
 * and every outside call made while handling it (the AWS clients, through
 * functions/adapters/aws/sdk-options.ts) times out by then at the latest. So a
 * stalled dependency becomes a 503 with Retry-After, never a Lambda timeout.
 *
 * AsyncLocalStorage, not a module variable: the local server handles many
 * requests at once in one process, each with its own deadline.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** The Lambda timeout of every endpoint function (lib/constructs/endpoint-function.ts). */
export const FUNCTION_TIMEOUT_SECONDS = 10;

/** Kept back from the dependency budget to log and write the 503 answer. */
export const ANSWER_MARGIN_MS = 1_000;

const deadlines = new AsyncLocalStorage<number>();

/** Runs `fn` with every dependency call inside it due by `deadline` (epoch ms). */
export function withDeadline<T>(deadline: number, fn: () => T): T {
  return deadlines.run(deadline, fn);
}

/**
 * The dependency deadline of an invocation that has `remainingMs` left
 * (`context.getRemainingTimeInMillis()`; the function timeout when the
 * context has none, as in tests).
 */
export function deadlineFor(remainingMs: number | undefined, now = Date.now()): number {
  return now + (remainingMs ?? FUNCTION_TIMEOUT_SECONDS * 1000) - ANSWER_MARGIN_MS;
}

/** Milliseconds until the current deadline; undefined outside any request (admin commands, test setup). */
export function timeLeft(now = Date.now()): number | undefined {
  const deadline = deadlines.getStore();
  return deadline === undefined ? undefined : deadline - now;
}
