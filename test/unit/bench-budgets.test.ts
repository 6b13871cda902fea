import { describe, expect, it } from 'vitest';
import { BUDGETS, checkBudgets } from '../../bench/budgets.js';
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
  kms_sign: 4,
  kms_other: 0,
  p50_ms: 400,
  p99_ms: 420,
  dynamodb_rru: 6,
  dynamodb_wru: 6,
  kms_sign_max_concurrent: 2,
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

const results = (functions: FunctionFigures[], flows: FlowFigures[]): BenchResults => ({
  measured_at: '2026-11-28T00:00:00.000Z',
  node: 'v20',
  samples_per_function: 11,
  iterations_per_flow: 20,
  functions,
  flows,
  cost_per_million_two_factor_logins_usd: { without_messaging: 0, with_messaging: 0, prices_as_of: PRICES.as_of, breakdown: {}, memory_mb: 1024 },
});

const missed = (r: BenchResults) => checkBudgets(r).filter((c) => !c.ok).map((c) => c.budget);

describe('bench:check budgets', () => {
  it('passes figures at every limit', () => {
    expect(missed(results([fn({ bytes: 400 * 1024, cold_import_ms: 40 }), fn({ name: 'oidc-jwks', sdk_clients: [], cold_import_ms: 9, empty_ms: 6 })], [flow({})]))).toEqual([]);
  });

  it('misses a bundle over 400 KB, an import slower than its SDK floor, and a client-free function over 1.5x the empty handler', () => {
    expect(
      missed(results([fn({ bytes: 400 * 1024 + 1 }), fn({ name: 'auth-password', cold_import_ms: 40.5 }), fn({ name: 'oidc-jwks', sdk_clients: [], cold_import_ms: 9.1, empty_ms: 6 })], [flow({})])),
    ).toEqual(['users-get: bundle', 'auth-password: cold import / SDK floor', 'oidc-jwks: cold import / empty handler']);
  });

  it('misses a login over 12 DynamoDB requests, other than 4 signs, signs one at a time, or any KMS call but Sign', () => {
    expect(missed(results([], [flow({ dynamodb_requests: 13.05, kms_sign: 5, kms_sign_max_concurrent: 1, kms_other: 1 })]))).toEqual([
      `${BUDGETS.twoFactorLogin.flow}: KMS calls other than Sign`,
      `${BUDGETS.twoFactorLogin.flow}: DynamoDB requests`,
      `${BUDGETS.twoFactorLogin.flow}: KMS Sign calls`,
      `${BUDGETS.twoFactorLogin.flow}: the two signs of a token response concurrent`,
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
    const cost = costPerMillion(flow({}), { memoryMb: 1024 });
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
