/**
 * The performance budgets `npm run bench:check` holds `bench-results.json`
 * to. Each check names its figure, its limit and whether it holds.
 */
import type { BenchResults } from './results.js';

export const BUDGETS = {
  /** Minified bundle of any function. */
  maxBundleBytes: 400 * 1024,
  /** Cold import of a function that calls AWS, relative to its own SDK floor. */
  maxImportOverFloor: 1.0,
  /** Cold import of a function that needs no AWS call per request, relative to an empty handler. */
  maxImportOverEmpty: 1.5,
  /** A password + SMS two-factor login: one KMS Sign per token response, never more than two KMS calls at once; its DynamoDB requests on the response path (the delivery sender's read is apart). */
  twoFactorLogin: { flow: 'password + SMS two-factor login', maxDynamoDbRequests: 12, kmsSign: 2, maxSignsInFlight: 2 },
  /** Logins/s a default deployment accepts (bench/capacity.ts); before one Sign per token response and the throttle table, 8.33. */
  minCapacityLoginsPerSecond: 140,
  /** Cost per million password + SMS logins without messaging: at least $25 under the $89.36 of two Signs per token response. */
  maxCostWithoutMessagingUsd: 89.36 - 25,
  /** Delivery off the response path: a send answers without waiting on SES/SNS, so the login is scrypt-bound. */
  delivery: { maxSendP50Ms: 100, maxLoginOverPasswordMs: 150, maxSenderDynamoDbRequestsPerMessage: 1 },
} as const;

/**
 * The delivery path's budgets: an OTP send answers in under 100 ms warm (it
 * stores the code and enqueues, nothing more), the password + SMS login is
 * scrypt-bound (every call but the password check, whose time is the
 * scrypt hash, together under 150 ms at p50: the send, the delivery and the
 * OTP check; on an idle 2-core machine the whole login is about 0.4 s), and
 * the sender reads one record per delivery.
 */
export function checkDeliveryBudgets(results: BenchResults): BudgetCheck[] {
  const checks: BudgetCheck[] = [];
  const login = results.flows.find((f) => f.name === BUDGETS.twoFactorLogin.flow);
  if (!login) return checks;
  const send = login.invocations.find((call) => call.route === 'auth-otp-send');
  checks.push({
    budget: `${login.name}: OTP send p50`,
    actual: send ? `${send.ms} ms` : 'missing',
    limit: `< ${BUDGETS.delivery.maxSendP50Ms} ms`,
    ok: send !== undefined && send.ms < BUDGETS.delivery.maxSendP50Ms,
  });
  const rest = login.invocations.filter((call) => call.route !== 'auth-password');
  const restMs = rest.reduce((sum, call) => sum + call.ms, 0);
  checks.push({
    budget: `${login.name}: every call but the scrypt-bound password check (p50s summed)`,
    actual: `${Math.round(restMs)} ms (${rest.map((call) => `${call.route} ${call.ms}`).join(', ')}; login p50 ${login.p50_ms} ms)`,
    limit: `< ${BUDGETS.delivery.maxLoginOverPasswordMs} ms`,
    ok: login.invocations.some((call) => call.route === 'auth-password') && restMs < BUDGETS.delivery.maxLoginOverPasswordMs,
  });
  const perMessage = login.sqs_messages > 0 ? login.sender_dynamodb_requests / login.sqs_messages : 0;
  checks.push({
    budget: `${login.name}: delivery sender DynamoDB requests per message`,
    actual: String(perMessage),
    limit: `<= ${BUDGETS.delivery.maxSenderDynamoDbRequestsPerMessage}`,
    ok: login.sqs_messages > 0 && perMessage <= BUDGETS.delivery.maxSenderDynamoDbRequestsPerMessage,
  });
  return checks;
}

export interface BudgetCheck {
  budget: string;
  actual: string;
  limit: string;
  ok: boolean;
}

export function checkBudgets(results: BenchResults): BudgetCheck[] {
  const checks: BudgetCheck[] = [];
  for (const f of results.functions) {
    checks.push({ budget: `${f.name}: bundle`, actual: `${(f.bytes / 1024).toFixed(0)} KB`, limit: `<= ${BUDGETS.maxBundleBytes / 1024} KB`, ok: f.bytes <= BUDGETS.maxBundleBytes });
    if (f.sdk_clients.length === 0) {
      const ratio = f.cold_import_ms / f.empty_ms;
      checks.push({ budget: `${f.name}: cold import / empty handler`, actual: `${ratio.toFixed(2)}x`, limit: `<= ${BUDGETS.maxImportOverEmpty}x`, ok: ratio <= BUDGETS.maxImportOverEmpty });
    } else {
      const ratio = f.cold_import_ms / f.sdk_floor_ms;
      checks.push({ budget: `${f.name}: cold import / SDK floor`, actual: `${ratio.toFixed(2)}x`, limit: `<= ${BUDGETS.maxImportOverFloor}x`, ok: ratio <= BUDGETS.maxImportOverFloor });
    }
  }
  // Verifying client and user tokens uses the public keys put in at deploy time: the only KMS call a flow makes is Sign.
  for (const flow of results.flows) {
    checks.push({ budget: `${flow.name}: KMS calls other than Sign`, actual: String(flow.kms_other), limit: '= 0', ok: flow.kms_other === 0 });
  }
  const login = results.flows.find((f) => f.name === BUDGETS.twoFactorLogin.flow);
  if (!login) {
    checks.push({ budget: `${BUDGETS.twoFactorLogin.flow}: measured`, actual: 'missing', limit: 'present', ok: false });
  } else {
    const onPath = login.dynamodb_requests - (login.sender_dynamodb_requests ?? 0);
    checks.push({ budget: `${login.name}: DynamoDB requests`, actual: String(onPath), limit: `<= ${BUDGETS.twoFactorLogin.maxDynamoDbRequests}`, ok: onPath <= BUDGETS.twoFactorLogin.maxDynamoDbRequests });
    checks.push({ budget: `${login.name}: KMS Sign calls`, actual: String(login.kms_sign), limit: `= ${BUDGETS.twoFactorLogin.kmsSign}`, ok: login.kms_sign === BUDGETS.twoFactorLogin.kmsSign });
    checks.push({ budget: `${login.name}: KMS Sign calls in flight at once`, actual: `${login.kms_sign_max_concurrent}`, limit: `<= ${BUDGETS.twoFactorLogin.maxSignsInFlight}`, ok: login.kms_sign_max_concurrent <= BUDGETS.twoFactorLogin.maxSignsInFlight });
  }
  checks.push(...capacityAndCostChecks(results));
  checks.push(...checkDeliveryBudgets(results));
  return checks;
}

/** The capacity model's figure and the cost, each against its budget. */
function capacityAndCostChecks(results: BenchResults): BudgetCheck[] {
  const capacity = results.capacity_two_factor_logins_per_second;
  const cost = results.cost_per_million_two_factor_logins_usd?.without_messaging;
  return [
    {
      budget: `capacity at default quotas (bound by ${results.capacity_bottleneck ?? 'unknown'})`,
      actual: capacity === undefined ? 'missing' : `${capacity} logins/s`,
      limit: `>= ${BUDGETS.minCapacityLoginsPerSecond} logins/s`,
      ok: capacity !== undefined && capacity >= BUDGETS.minCapacityLoginsPerSecond,
    },
    {
      budget: 'cost per million password + SMS logins, without messaging',
      actual: cost === undefined ? 'missing' : `$${cost.toFixed(2)}`,
      limit: `<= $${BUDGETS.maxCostWithoutMessagingUsd.toFixed(2)}`,
      ok: cost !== undefined && cost <= BUDGETS.maxCostWithoutMessagingUsd,
    },
  ];
}
