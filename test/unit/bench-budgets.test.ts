import { describe, expect, it } from 'vitest';
import { BUDGETS, checkBudgets } from '../../bench/budgets.js';
import { DELIVERY_SENDER } from '../../functions/workers.js';
import { capacityOf, DEFAULT_QUOTAS } from '../../bench/capacity.js';
import { costPerMillion, PRICES } from '../../bench/cost.js';
import type { FlowFigures } from '../../bench/flows.js';
import type { FunctionFigures } from '../../bench/functions.js';
import type { BenchResults } from '../../bench/results.js';

const fn = (over: Partial<FunctionFigures>): FunctionFigures => ({
  name: 'users-get',
  bytes: 300 * 1024,
  gzip_bytes: 90 * 1024,
  cold_import_ms: 30,
  sdk_floor_ms: 40,
  empty_ms: 6,
  sdk_clients: ['dynamodb'],
  ...over,
});

const flow = (over: Partial<FlowFigures>): FlowFigures => ({
  name: BUDGETS.twoFactorLogin.flow,
  dynamodb_requests: 13,
  kms_sign: 2,
  kms_other: 0,
  p50_ms: 400,
  p99_ms: 420,
  dynamodb_rru: 6,
  dynamodb_wru: 6,
  kms_sign_max_concurrent: 1,
  invocations: [
    { route: 'auth-password', ms: 300 },
    { route: 'auth-otp-send', ms: 40 },
    { route: 'delivery-sender', ms: 5 },
    { route: 'auth-otp-authenticate', ms: 10 },
  ],
  emails: 0,
  sms: 1,
  sqs_messages: 1,
  sender_dynamodb_requests: 1,
  ...over,
});

const results = (functions: FunctionFigures[], flows: FlowFigures[], over: { capacity?: number; cost?: number } = {}): BenchResults => ({
  measured_at: '2026-11-28T00:00:00.000Z',
  node: 'v20',
  samples_per_function: 11,
  iterations_per_flow: 20,
  functions,
  flows,
  cost_per_million_two_factor_logins_usd: { without_messaging: over.cost ?? 0, with_messaging: 0, prices_as_of: PRICES.as_of, breakdown: {}, memory_mb: 1024 },
  capacity_two_factor_logins_per_second: over.capacity ?? 150,
  capacity_bottleneck: 'KMS ECC Sign (300/s)',
  capacity: capacityOf(flow({})),
});

const missed = (r: BenchResults) => checkBudgets(r).filter((c) => !c.ok).map((c) => c.budget);

describe('bench:check budgets', () => {
  it('passes figures at every limit', () => {
    const functions = [fn({ bytes: 400 * 1024, cold_import_ms: 40 }), fn({ name: 'oidc-jwks', sdk_clients: [], cold_import_ms: 9, empty_ms: 6 })];
    expect(missed(results(functions, [flow({ kms_sign_max_concurrent: 2 })], { capacity: 140, cost: 64.36 }))).toEqual([]);
  });

  it('misses a capacity under 140 logins/s, a cost over $64.36 without messaging, and a run without either', () => {
    expect(missed(results([], [flow({})], { capacity: 139.9, cost: 64.37 }))).toEqual([
      'capacity at default quotas (bound by KMS ECC Sign (300/s))',
      'cost per million password + SMS logins, without messaging',
    ]);
    const old = results([], [flow({})]) as Partial<BenchResults>;
    delete old.capacity_two_factor_logins_per_second;
    delete old.cost_per_million_two_factor_logins_usd;
    expect(checkBudgets(old as BenchResults).filter((c) => c.actual === 'missing').length).toBe(2);
  });

  it('misses a bundle over 400 KB, an import slower than its SDK floor, and a client-free function over 1.5x the empty handler', () => {
    expect(
      missed(results([fn({ bytes: 400 * 1024 + 1 }), fn({ name: 'auth-password', cold_import_ms: 40.5 }), fn({ name: 'oidc-jwks', sdk_clients: [], cold_import_ms: 9.1, empty_ms: 6 })], [flow({})])),
    ).toEqual(['users-get: bundle', 'auth-password: cold import / SDK floor', 'oidc-jwks: cold import / empty handler']);
  });

  it('misses a login over 12 DynamoDB requests on the response path, other than 2 signs (one per token response), more than two signs at once, or any KMS call but Sign', () => {
    expect(missed(results([], [flow({ dynamodb_requests: 13.05, kms_sign: 4, kms_sign_max_concurrent: 3, kms_other: 1 })]))).toEqual([
      `${BUDGETS.twoFactorLogin.flow}: KMS calls other than Sign`,
      `${BUDGETS.twoFactorLogin.flow}: DynamoDB requests`,
      `${BUDGETS.twoFactorLogin.flow}: KMS Sign calls`,
      `${BUDGETS.twoFactorLogin.flow}: KMS Sign calls in flight at once`,
    ]);
  });

  it('misses a send that waits (p50 100 ms or more), a login whose calls but the password check take 150 ms or more, and a sender reading more than one record per message', () => {
    const slow = flow({ sender_dynamodb_requests: 2, invocations: [{ route: 'auth-password', ms: 300 }, { route: 'auth-otp-send', ms: 100 }, { route: 'delivery-sender', ms: 5 }, { route: 'auth-otp-authenticate', ms: 45 }] });
    expect(missed(results([], [slow]))).toEqual([
      `${BUDGETS.twoFactorLogin.flow}: OTP send p50`,
      `${BUDGETS.twoFactorLogin.flow}: every call but the scrypt-bound password check (p50s summed)`,
      `${BUDGETS.twoFactorLogin.flow}: delivery sender DynamoDB requests per message`,
    ]);
  });

  it('misses a run that did not measure the two-factor login at all', () => {
    expect(missed(results([fn({})], [flow({ name: 'refresh' })]))).toEqual([`${BUDGETS.twoFactorLogin.flow}: measured`]);
  });
});

describe('cost per million logins', () => {
  it('prices each counted request from the dated table', () => {
    const cost = costPerMillion(flow({ kms_sign: 4, kms_sign_max_concurrent: 2 }), { memoryMb: 1024 });
    expect(cost.breakdown.http_api).toBe(3);
    expect(cost.breakdown.lambda_requests).toBe(0.6);
    expect(cost.breakdown.kms).toBe(60); // 4 asymmetric signs at $0.15 per 10,000
    expect(cost.breakdown.dynamodb).toBe(4.5); // 6 RRU at $0.125/M + 6 WRU at $0.625/M
    expect(cost.breakdown.sms).toBe(8830);
    // The API's functions: 350 ms in process + 12 DynamoDB round trips of 5 ms + 2 waits for concurrent signs of 15 ms
    // + one SQS SendMessage of 10 ms = 0.45 GB-s at 1 GB.
    expect(cost.breakdown.lambda_duration).toBeCloseTo(0.45 * PRICES.lambda_arm_per_gb_second * 1_000_000, 2);
    // The delivery: SendMessage, ReceiveMessage, DeleteMessage; one sender invocation of 5 ms + its read (5 ms) + SNS (50 ms) at 256 MB.
    expect(cost.breakdown.sqs).toBeCloseTo(3 * 0.4, 2);
    const sender = 0.2 + 0.06 * 0.25 * PRICES.lambda_arm_per_gb_second * 1_000_000;
    expect(cost.breakdown.sender_lambda).toBeCloseTo(sender, 2);
    expect(cost.without_messaging).toBeCloseTo(3 + 0.6 + 60 + 4.5 + 0.45 * PRICES.lambda_arm_per_gb_second * 1_000_000 + 1.2 + sender, 1);
    expect(cost.with_messaging).toBeCloseTo(cost.without_messaging + 8830, 2);
  });
});

describe('the capacity model', () => {
  it('names the quota that binds first and every other, smallest first, from the counted requests and measured durations', () => {
    const capacity = capacityOf(flow({ dynamodb_shared_hot_key: { kind: 'sendBudget', writes_per_flow: 1 } }));
    expect(capacity.bottleneck).toBe('KMS ECC Sign (300/s)');
    expect(capacity.logins_per_second).toBe(150);
    expect(capacity.bounds.map((b) => [b.quota, b.logins_per_second])).toEqual([
      ['KMS ECC Sign (300/s)', 150],
      // One call of each login route; the signing ones get 90% of the KMS quota.
      ['API route throttle of auth-password (270 requests/s)', 270],
      ['DynamoDB partition writes (1000 WRU/s on one key: the sendBudget record every login writes)', 1000],
      // 355 ms in process (the delivery sender's 5 ms included: it runs in the account's concurrency too) + 13 DynamoDB
      // round trips of 5 ms + 2 sign waits of 15 ms = 0.45 s of a concurrent execution.
      ['Lambda concurrency (1000)', 2222.2],
      ['API Gateway account throttle (10000 requests/s)', 3333.3],
      ['DynamoDB table reads (40000 RRU/s)', 6666.6],
      ['DynamoDB table writes (40000 WRU/s)', 6666.6],
    ]);
    expect(capacity.delivery).toEqual([{ quota: 'SNS SMS (20 messages/s)', per_login: '1 SMS', logins_per_second: 20 }]);
  });

  it('a sharded counter bounds by the share of logins that write its busiest shard', () => {
    const capacity = capacityOf(flow({ dynamodb_shared_hot_key: { kind: 'sendBudget', writes_per_flow: 1, runs_share: 0.25 } }));
    expect(capacity.bounds.find((b) => b.quota.startsWith('DynamoDB partition'))).toEqual({
      quota: 'DynamoDB partition writes (1000 WRU/s on one key: the sendBudget record 25% of logins write)',
      per_login: '0.25 write(s)',
      logins_per_second: 4000,
    });
  });

  it('with two signs per token response (four a login), KMS alone allowed 75 logins/s', () => {
    expect(capacityOf(flow({ kms_sign: 4, kms_sign_max_concurrent: 2 })).bounds[0]).toMatchObject({ quota: 'KMS ECC Sign (300/s)', logins_per_second: 75 });
  });

  it('follows a raised quota to the next bound', () => {
    const raised = capacityOf(flow({}), { ...DEFAULT_QUOTAS, kms_ecc_sign_per_second: 2000 });
    // The signing routes' throttles follow the quota (1,800/s); the send route's default 1,000/s binds next, as KMS
    // does at 2,000 Signs/s, then Lambda.
    expect(raised.bottleneck).toBe('API route throttle of auth-otp-send (1000 requests/s)');
    expect(raised.logins_per_second).toBe(1000);
    expect(raised.bounds.slice(1, 3)).toMatchObject([
      { quota: 'KMS ECC Sign (2000/s)', logins_per_second: 1000 },
      { quota: 'Lambda concurrency (1000)', logins_per_second: 2222.2 },
    ]);
    // The delivery sender is no API request: it takes no route throttle and no API Gateway share.
    expect(raised.bounds.map((b) => b.quota).join()).not.toContain(DELIVERY_SENDER.name);
    expect(raised.bounds.find((b) => b.quota.startsWith('API Gateway'))).toMatchObject({ per_login: '3 requests' });
  });
});
