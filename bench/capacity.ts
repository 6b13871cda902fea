/**
 * The capacity model: how many password + SMS two-factor logins a second a
 * default deployment accepts, from what `npm run bench` measured per login
 * (requests, KMS signs, DynamoDB units and hot keys, each invocation's
 * duration) and the default AWS quotas of one account and region. Every
 * bound is the logins/s at which one quota is used up; the smallest binds.
 *
 * The login's own requests are what the deployment accepts. Delivering the
 * SMS is bounded apart, by the SNS SMS rate: a code must still reach the
 * phone, so sustained SMS logins past that rate need it raised too (`delivery`
 * below, and docs/deploy.md).
 */
import { throttleTable } from '../lib/throttles.js';
import { routes } from '../functions/routes.js';
import { DELIVERY_SENDER } from '../functions/workers.js';
import { AWS_ROUND_TRIP_MS } from './cost.js';
import type { FlowFigures } from './flows.js';

/**
 * Default quotas per account and region (AWS service quota pages; each is a
 * soft limit that a quota request raises). Dated like the prices.
 */
export type Quotas = { as_of: string } & Record<
  'api_gateway_account_rps' | 'lambda_concurrency' | 'dynamodb_table_rru' | 'dynamodb_table_wru' | 'dynamodb_partition_wru' | 'kms_ecc_sign_per_second' | 'ses_per_second' | 'sns_sms_per_second',
  number
>;

export const DEFAULT_QUOTAS: Readonly<Quotas> = {
  as_of: '2026-12-06',
  /** API Gateway: throttle quota per account and region, all APIs together (requests/s). */
  api_gateway_account_rps: 10_000,
  /** Lambda: concurrent executions per account and region. */
  lambda_concurrency: 1_000,
  /** DynamoDB on demand: maximum throughput per table (read and write request units/s). */
  dynamodb_table_rru: 40_000,
  dynamodb_table_wru: 40_000,
  /** DynamoDB: write units/s one partition (so one item's key) takes, however the table is billed. */
  dynamodb_partition_wru: 1_000,
  /** KMS: cryptographic operations (ECC) request rate, Sign included (requests/s). */
  kms_ecc_sign_per_second: 300,
  /** SES: sending rate once out of the sandbox (messages/s). */
  ses_per_second: 14,
  /** SNS: transactional SMS messages per second. */
  sns_sms_per_second: 20,
};

export interface CapacityBound {
  quota: string;
  /** What the login uses of it, per login. */
  per_login: string;
  logins_per_second: number;
}

export interface Capacity {
  /** Logins a second the deployment accepts: the smallest bound. */
  logins_per_second: number;
  bottleneck: string;
  /** Every bound, smallest first: the second is the quota to raise next. */
  bounds: CapacityBound[];
  /** Deliveries the login needs, each bounded by its sender's rate. */
  delivery: CapacityBound[];
  quotas_as_of: string;
}

const floor1 = (n: number) => Math.floor(n * 10) / 10;

/**
 * Lambda seconds one login holds a concurrent execution: each invocation's
 * measured in-process time plus the AWS round trips it waited on, as
 * bench/cost.ts bills them (concurrent signs wait once).
 */
export function lambdaSecondsPerLogin(flow: FlowFigures): number {
  const signWaits = flow.kms_sign / Math.max(1, flow.kms_sign_max_concurrent);
  const ms =
    flow.invocations.reduce((sum, call) => sum + call.ms, 0) + flow.dynamodb_requests * AWS_ROUND_TRIP_MS.dynamodb + signWaits * AWS_ROUND_TRIP_MS.kms_sign;
  return ms / 1000;
}

/** The capacity of `flow` (one run = one login) at `quotas` and the stack's default throttle table. */
export function capacityOf(flow: FlowFigures, quotas: Readonly<Quotas> = DEFAULT_QUOTAS): Capacity {
  const bounds: CapacityBound[] = [];
  // The delivery sender is a Lambda of its own on the queue, not an API request: it counts towards Lambda
  // concurrency (below, with every invocation), not towards API Gateway or a route's throttle.
  const apiCalls = flow.invocations.filter((call) => call.route !== DELIVERY_SENDER.name);
  const requests = apiCalls.length;
  bounds.push({ quota: `API Gateway account throttle (${quotas.api_gateway_account_rps} requests/s)`, per_login: `${requests} requests`, logins_per_second: quotas.api_gateway_account_rps / requests });

  // Each route's own throttle (lib/throttles.ts, the stack's defaults): the route the login calls most, for its rate.
  const throttles = throttleTable(routes, { kmsSignQuota: quotas.kms_ecc_sign_per_second });
  const calls = new Map<string, number>();
  for (const { route } of apiCalls) calls.set(route, (calls.get(route) ?? 0) + 1);
  const [tightRoute, tightRate] = [...calls].map(([route, n]) => [route, throttles.get(route)!.rateLimit / n] as const).sort((a, b) => a[1] - b[1])[0]!;
  bounds.push({ quota: `API route throttle of ${tightRoute} (${throttles.get(tightRoute)!.rateLimit} requests/s)`, per_login: `${calls.get(tightRoute)} call(s)`, logins_per_second: tightRate });

  const seconds = lambdaSecondsPerLogin(flow);
  bounds.push({ quota: `Lambda concurrency (${quotas.lambda_concurrency})`, per_login: `${seconds.toFixed(2)} s of execution`, logins_per_second: quotas.lambda_concurrency / seconds });

  if (flow.kms_sign > 0) {
    bounds.push({ quota: `KMS ECC Sign (${quotas.kms_ecc_sign_per_second}/s)`, per_login: `${flow.kms_sign} Sign`, logins_per_second: quotas.kms_ecc_sign_per_second / flow.kms_sign });
  }
  bounds.push({ quota: `DynamoDB table reads (${quotas.dynamodb_table_rru} RRU/s)`, per_login: `${flow.dynamodb_rru} RRU`, logins_per_second: quotas.dynamodb_table_rru / Math.max(flow.dynamodb_rru, 1e-9) });
  bounds.push({ quota: `DynamoDB table writes (${quotas.dynamodb_table_wru} WRU/s)`, per_login: `${flow.dynamodb_wru} WRU`, logins_per_second: quotas.dynamodb_table_wru / Math.max(flow.dynamodb_wru, 1e-9) });
  if (flow.dynamodb_shared_hot_key) {
    const { kind, writes_per_flow, runs_share = 1 } = flow.dynamodb_shared_hot_key;
    const every = runs_share >= 1;
    bounds.push({
      quota: `DynamoDB partition writes (${quotas.dynamodb_partition_wru} WRU/s on one key: the ${kind} record ${every ? 'every login writes' : `${Math.round(runs_share * 100)}% of logins write`})`,
      per_login: `${every ? writes_per_flow : Math.round(writes_per_flow * runs_share * 100) / 100} write(s)`,
      logins_per_second: quotas.dynamodb_partition_wru / (writes_per_flow * runs_share),
    });
  }
  const sorted = bounds.map((b) => ({ ...b, logins_per_second: floor1(b.logins_per_second) })).sort((a, b) => a.logins_per_second - b.logins_per_second);

  const delivery: CapacityBound[] = [];
  if (flow.sms > 0) delivery.push({ quota: `SNS SMS (${quotas.sns_sms_per_second} messages/s)`, per_login: `${flow.sms} SMS`, logins_per_second: floor1(quotas.sns_sms_per_second / flow.sms) });
  if (flow.emails > 0) delivery.push({ quota: `SES (${quotas.ses_per_second} messages/s)`, per_login: `${flow.emails} email(s)`, logins_per_second: floor1(quotas.ses_per_second / flow.emails) });

  return { logins_per_second: sorted[0]!.logins_per_second, bottleneck: sorted[0]!.quota, bounds: sorted, delivery, quotas_as_of: quotas.as_of };
}
