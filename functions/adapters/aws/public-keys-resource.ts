/**
 * The deploy-time custom resource behind SIGNING_PUBLIC_KEYS
 * (lib/constructs/published-keys.ts): CloudFormation calls it when the
 * signing keys of the stack change (a deploy, a rotation phase) or the version
 * of its answer does; it reads each key's public half from KMS (GetPublicKey,
 * checked to be an ES256 key) and answers the JWKs, the signing key first, as
 * the `Keys` attribute that every function then receives in its environment.
 * No function calls KMS for them.
 *
 * The same deploy creates the keys and this function's kms:GetPublicKey
 * grant, seconds before CloudFormation calls it, and both take a moment to be
 * seen everywhere: KMS may answer NotFoundException (new key) or
 * AccessDeniedException (new grant) at first. Those, throttling and transient
 * failures are retried with capped exponential backoff for RETRY_BUDGET_MS
 * (public-keys-resource-limits.ts); anything else (a key that is not ES256, a
 * malformed request) fails at once.
 *
 * A Lambda-backed custom resource answers CloudFormation itself, by a PUT to
 * the pre-signed `ResponseURL`; it answers on every path (success, retries
 * given up, an unexpected error, and the Lambda deadline approaching while a
 * call hangs), or the stack would wait for the resource's service timeout.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';
import { withDeadline } from '../../deadline.js';
import { DependencyError } from '../../errors.js';
import { MAX_PUBLISHED_KEYS, type PublishedJwk } from '../../published-keys.js';
import { fetchPublishedKey } from './kms-signer.js';
import {
  FIRST_RETRY_DELAY_MS,
  MAX_RETRY_DELAY_MS,
  PUBLIC_KEYS_FORMAT_VERSION,
  RESOURCE_ANSWER_MARGIN_MS,
  RESOURCE_TIMEOUT_SECONDS,
  RETRY_BUDGET_MS,
} from './public-keys-resource-limits.js';
import { awsClientOptions } from './sdk-options.js';

export const PUBLIC_KEYS_RESOURCE_ID = 'twofold-signing-public-keys';

/**
 * KMS errors that a new key or grant answers until it has propagated, and
 * throttling or transient failures: retried. KMSInvalidStateException also
 * means a key pending deletion or disabled; retrying it only delays the
 * failure, whose reason then names it.
 */
const RETRIED = new Set([
  'NotFoundException',
  'AccessDeniedException',
  'KMSInvalidStateException',
  'ThrottlingException',
  'TooManyRequestsException',
  'LimitExceededException',
  'KMSInternalException',
  'DependencyTimeoutException',
  'InternalFailure',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
]);

/** The name of the KMS error behind `error` when it is worth another try, else undefined. */
export function retriedError(error: unknown): string | undefined {
  if (!(error instanceof DependencyError) || !(error.cause instanceof Error)) return undefined;
  const { name, message } = error.cause;
  // dependencyFailure keeps the HTTP status: any 5xx is the service's own, transient, failure.
  return RETRIED.has(name) || /\(HTTP 5\d\d\b/.test(message) ? name : undefined;
}

/** The wait before retry `retry` (1-based): half fixed, half jittered, doubling up to the cap. */
export function retryDelayMs(retry: number, random: () => number = Math.random): number {
  const cap = Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** (retry - 1));
  return Math.floor(cap / 2 + (random() * cap) / 2);
}

/** The JWKs of `keyIds`, in order, each once. */
export async function publishedKeysOf(kms: KMSClient, keyIds: readonly string[]): Promise<PublishedJwk[]> {
  const ids = [...new Set(keyIds)];
  if (ids.length === 0) throw new Error('no signing key given');
  if (ids.length > MAX_PUBLISHED_KEYS) throw new Error(`${ids.length} signing keys given; at most ${MAX_PUBLISHED_KEYS} fit the functions' environment`);
  const keys = await Promise.all(ids.map((id) => fetchPublishedKey(kms, id)));
  return keys.filter((key, i) => keys.findIndex((other) => other.kid === key.kid) === i);
}

/** What the resource needs from its surroundings; the Lambda's by default, a simulation's in tests. */
export interface ResourceRuntime {
  kms: KMSClient;
  /** PUTs the answer to CloudFormation. */
  send: (url: string, response: CloudFormationCustomResourceResponse) => Promise<void>;
  /** Milliseconds until the Lambda timeout (`context.getRemainingTimeInMillis()`). */
  remainingMs: () => number;
  /** Waits between retries. */
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  random: () => number;
  /** Fires once the deadline is near even if a call hangs (a real timer by default). */
  alarm: (ms: number) => { fired: Promise<void>; cancel: () => void };
  log: (line: string) => void;
}

let kms: KMSClient | undefined;

function realAlarm(ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const fired = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))));
  return { fired, cancel: () => clearTimeout(timer) };
}

function runtimeOf(partial: Partial<ResourceRuntime>): ResourceRuntime {
  return {
    get kms() {
      kms ??= new KMSClient(awsClientOptions());
      return kms;
    },
    send: respond,
    remainingMs: () => RESOURCE_TIMEOUT_SECONDS * 1000,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: Date.now,
    random: Math.random,
    alarm: realAlarm,
    log: (line) => console.error(line),
    ...partial,
  } as ResourceRuntime;
}

/** The Lambda entry point. */
export const handler = (event: CloudFormationCustomResourceEvent, context?: { getRemainingTimeInMillis(): number }): Promise<void> =>
  answer(event, context ? { remainingMs: () => context.getRemainingTimeInMillis() } : {});

class GaveUp extends Error {}

/** Reads the keys, retrying what propagation explains, until the budget or the deadline runs out. */
async function readKeys(keyIds: readonly string[], rt: ResourceRuntime, stopBy: number): Promise<PublishedJwk[]> {
  const start = rt.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await publishedKeysOf(rt.kms, keyIds);
    } catch (error) {
      const name = retriedError(error);
      if (!name) throw error;
      const delay = retryDelayMs(attempt, rt.random);
      const elapsed = rt.now() - start;
      if (elapsed + delay > RETRY_BUDGET_MS || rt.now() + delay >= stopBy) {
        throw new GaveUp(`KMS still answered ${name} after ${attempt} attempts over ${Math.round(elapsed / 1000)} s (a new key or grant not yet visible, a key pending deletion or disabled, or a missing grant)`, {
          // The SDK error's name and HTTP status (the DependencyError's own message only says "kms failed").
          cause: (error as Error).cause ?? error,
        });
      }
      rt.log(JSON.stringify({ level: 'warn', msg: 'signing public keys not readable yet, retrying', error: name, attempt, retryInMs: delay }));
      await rt.sleep(delay);
    }
  }
}

/** Reads the keys `event` asks for and answers CloudFormation: success with the keys, or failure with the reason, on every path. */
export async function answer(event: CloudFormationCustomResourceEvent, partial: Partial<ResourceRuntime> = {}): Promise<void> {
  const rt = runtimeOf(partial);
  const base = {
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    PhysicalResourceId: event.RequestType === 'Create' ? PUBLIC_KEYS_RESOURCE_ID : event.PhysicalResourceId,
  };
  // Every call and retry ends by `stopBy`; the margin after it is for the answer.
  const remaining = rt.remainingMs();
  const stopBy = rt.now() + remaining - RESOURCE_ANSWER_MARGIN_MS;
  // The same deadline on the wall clock, which the SDK's timeouts read (functions/deadline.ts).
  const callsDueBy = Date.now() + remaining - RESOURCE_ANSWER_MARGIN_MS;
  const failed = (reason: string): CloudFormationCustomResourceResponse => {
    rt.log(JSON.stringify({ level: 'error', msg: 'signing public keys not read', error: reason }));
    return { ...base, Status: 'FAILED', Reason: reason.slice(0, 1000) };
  };

  const work = async (): Promise<CloudFormationCustomResourceResponse> => {
    if (event.RequestType === 'Delete') return { ...base, Status: 'SUCCESS' };
    const keyIds = event.ResourceProperties.KeyIds as unknown;
    if (!Array.isArray(keyIds) || !keyIds.every((id) => typeof id === 'string')) throw new Error('KeyIds must be a list of KMS key ids');
    const keys = await withDeadline(callsDueBy, () => readKeys(keyIds, rt, stopBy));
    return { ...base, Status: 'SUCCESS', Data: { Keys: JSON.stringify(keys), FormatVersion: PUBLIC_KEYS_FORMAT_VERSION } };
  };

  const alarm = rt.alarm(stopBy - rt.now());
  let response: CloudFormationCustomResourceResponse;
  try {
    response = await Promise.race([
      work(),
      alarm.fired.then(() => failed(`no answer from KMS before the function's deadline (${Math.round(RESOURCE_ANSWER_MARGIN_MS / 1000)} s kept to answer)`)),
    ]);
  } catch (error) {
    const e = error as Error;
    // Names and messages only: a dependency failure keeps the SDK's message out (functions/adapters/aws/failures.ts).
    response = failed(e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message);
  } finally {
    alarm.cancel();
  }
  await rt.send(event.ResponseURL, response);
}

/** Attempts at the PUT to CloudFormation, each bounded, all inside RESOURCE_ANSWER_MARGIN_MS. */
export const RESPOND_ATTEMPTS = 3;
const RESPOND_ATTEMPT_TIMEOUT_MS = 4_000;

/** PUTs the answer to CloudFormation's pre-signed URL (an empty content type, as the URL was signed for), retrying a failed PUT. */
export async function respond(url: string, response: CloudFormationCustomResourceResponse, wait = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<void> {
  const body = JSON.stringify(response);
  let last: unknown;
  for (let attempt = 1; attempt <= RESPOND_ATTEMPTS; attempt++) {
    try {
      const reply = await fetch(url, {
        method: 'PUT',
        body,
        headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) },
        signal: AbortSignal.timeout(RESPOND_ATTEMPT_TIMEOUT_MS),
      });
      // A 4xx (an expired or altered URL) will not change on a retry.
      if (reply.ok) return;
      last = new Error(`CloudFormation refused the custom resource response: HTTP ${reply.status}`);
      if (reply.status < 500) break;
    } catch (error) {
      last = error;
    }
    if (attempt < RESPOND_ATTEMPTS) await wait(1000 * attempt);
  }
  throw last;
}
