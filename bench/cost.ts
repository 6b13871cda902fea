/**
 * Cost per million logins, computed from the requests `npm run bench`
 * counted and AWS's published on-demand prices (us-east-1, no free tier).
 * The table is dated: prices change, so re-check it against the pricing pages
 * named beside each figure before relying on a total.
 */
import type { FlowFigures } from './flows.js';

export const PRICES = {
  as_of: '2026-11-28',
  region: 'us-east-1',
  /** aws.amazon.com/api-gateway/pricing: HTTP APIs, first 300 million requests a month. */
  http_api_per_million_requests: 1.0,
  /** aws.amazon.com/lambda/pricing: Arm price per GB-second, and per million requests. */
  lambda_arm_per_gb_second: 0.0000133334,
  lambda_per_million_requests: 0.2,
  /** aws.amazon.com/dynamodb/pricing/on-demand: standard table class, per million request units. */
  dynamodb_per_million_rru: 0.125,
  dynamodb_per_million_wru: 0.625,
  /** aws.amazon.com/kms/pricing: asymmetric requests other than RSA 2048 (ECC Sign), per 10,000. */
  kms_asymmetric_per_10k: 0.15,
  /** aws.amazon.com/ses/pricing: outbound email, per 1,000 messages. */
  ses_per_1000_emails: 0.1,
  /**
   * aws.amazon.com/end-user-messaging/pricing: one SMS part to a US number
   * over a toll-free origination (base price plus the carrier fee); 10DLC and
   * short codes differ, and carriers change fees, so treat it as an estimate.
   */
  sms_us_per_message: 0.00883,
  /** aws.amazon.com/sqs/pricing: standard queue requests, per million (SSE-SQS adds nothing). */
  sqs_per_million_requests: 0.4,
} as const;

/**
 * Time an invocation spends waiting on AWS that the in-process measurement,
 * against a local store and key, does not include: a DynamoDB request and a
 * KMS Sign round trip inside one region (typical published single-digit and
 * low double-digit millisecond latencies). Billed Lambda time includes it.
 */
export const AWS_ROUND_TRIP_MS = { dynamodb: 5, kms_sign: 15, sqs: 10, provider: 50 } as const;

/**
 * The delivery path's price (the sender is its own Lambda, not an API
 * request): per queued message, SQS bills its SendMessage, the event
 * source's ReceiveMessage and DeleteMessage (counted as one each: at low
 * rates the poller receives one message per call; batches only make it
 * cheaper); the sender's invocation (one per message, the same
 * conservatively), its measured in-process time plus its table read and the
 * SES or SNS round trip, at its own memory size.
 */
export const SQS_REQUESTS_PER_MESSAGE = 3;
export const SENDER_MEMORY_MB = 256;
export const SENDER_ROUTE = 'delivery-sender';

export function deliveryCost(flow: FlowFigures): { sqs: number; sender_requests: number; sender_duration: number; gbSeconds: number } {
  const million = 1_000_000;
  const sends = flow.invocations.filter((call) => call.route === SENDER_ROUTE);
  const senderMs = sends.reduce((sum, call) => sum + Math.ceil(call.ms) + AWS_ROUND_TRIP_MS.dynamodb + AWS_ROUND_TRIP_MS.provider, 0);
  const gbSeconds = (senderMs / 1000) * (SENDER_MEMORY_MB / 1024);
  return {
    sqs: (flow.sqs_messages * SQS_REQUESTS_PER_MESSAGE * PRICES.sqs_per_million_requests * million) / million,
    sender_requests: sends.length * PRICES.lambda_per_million_requests,
    sender_duration: gbSeconds * PRICES.lambda_arm_per_gb_second * million,
    gbSeconds,
  };
}

export interface CostInputs {
  memoryMb: number;
}

export interface FlowCost {
  without_messaging: number;
  with_messaging: number;
  breakdown: Record<string, number>;
}

/** The cost of one million runs of `flow`, in USD. */
export function costPerMillion(flow: FlowFigures, inputs: CostInputs): FlowCost {
  const million = 1_000_000;
  // API requests: every invocation but the delivery sender's (priced apart, deliveryCost).
  const api = flow.invocations.filter((call) => call.route !== SENDER_ROUTE);
  const invocations = api.length;
  const senderReads = flow.sender_dynamodb_requests; // billed in the sender's time (deliveryCost)
  // Billed duration: in-process time per invocation plus the AWS round trips it waited on (concurrent signs count once).
  const signWaits = flow.kms_sign / Math.max(1, flow.kms_sign_max_concurrent);
  const billedMs =
    api.reduce((sum, call) => sum + Math.ceil(call.ms), 0) +
    (flow.dynamodb_requests - senderReads) * AWS_ROUND_TRIP_MS.dynamodb +
    signWaits * AWS_ROUND_TRIP_MS.kms_sign +
    flow.sqs_messages * AWS_ROUND_TRIP_MS.sqs;
  const delivery = deliveryCost(flow);
  const gbSeconds = (billedMs / 1000) * (inputs.memoryMb / 1024);
  const breakdown = {
    http_api: invocations * PRICES.http_api_per_million_requests,
    lambda_requests: invocations * PRICES.lambda_per_million_requests,
    lambda_duration: gbSeconds * PRICES.lambda_arm_per_gb_second * million,
    dynamodb: flow.dynamodb_rru * PRICES.dynamodb_per_million_rru + flow.dynamodb_wru * PRICES.dynamodb_per_million_wru,
    kms: (flow.kms_sign * PRICES.kms_asymmetric_per_10k * million) / 10_000,
    sqs: delivery.sqs,
    sender_lambda: delivery.sender_requests + delivery.sender_duration,
    email: (flow.emails * PRICES.ses_per_1000_emails * million) / 1000,
    sms: flow.sms * PRICES.sms_us_per_message * million,
  };
  const withoutMessaging = breakdown.http_api + breakdown.lambda_requests + breakdown.lambda_duration + breakdown.dynamodb + breakdown.kms + breakdown.sqs + breakdown.sender_lambda;
  const rounded = Object.fromEntries(Object.entries(breakdown).map(([k, v]) => [k, Math.round(v * 100) / 100]));
  return {
    without_messaging: Math.round(withoutMessaging * 100) / 100,
    with_messaging: Math.round((withoutMessaging + breakdown.email + breakdown.sms) * 100) / 100,
    breakdown: rounded,
  };
}
