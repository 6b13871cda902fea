/**
 * THE throttle table: each route's API Gateway rate and burst, from what
 * really bounds it. The stack reads it (lib/twofold-stack.ts), the synth
 * checks it, and docs/deploy.md explains it.
 *
 * - A route that signs (a token response or a client token) is bounded by
 *   the account's KMS ECC request quota (`kmsSignQuota`, 300/s by default,
 *   shared by every signing route): it gets KMS_HEADROOM of that quota
 *   divided by its signatures per call, so any one login route alone can use
 *   the whole KMS budget. Several busy signing routes together can exceed it:
 *   KMS then throttles, and the call answers 503 `service_unavailable` with
 *   Retry-After, leaving nothing half-done (test/integration/kms-throttling.test.ts),
 *   and the KmsThrottles alarm fires.
 * - Every other route gets DEFAULT_ROUTE_THROTTLE, well under the account's
 *   API Gateway quota (10,000 requests/s per region, shared by every API of
 *   the account), which Lambda concurrency and DynamoDB bound long before.
 * - Any route can be overridden (`-c throttle.<route>=<rate>[/<burst>]`).
 *
 * API Gateway throttles each HTTP API route separately (the stage's default
 * route settings apply per route, not to the stage as a whole).
 */
import { needsOf } from '../functions/access.js';
import { KMS_SIGNS_PER_TOKEN_RESPONSE } from '../functions/core/tokens.js';
import type { RouteDefinition } from '../functions/routes.js';

export interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** KMS's default "Cryptographic operations (ECC) request rate" quota per account and region, Sign included. */
export const KMS_ECC_SIGN_QUOTA = 300;
/** The share of the KMS quota one signing route may use: the rest is left for retries and other users of the account's ECC quota. */
export const KMS_HEADROOM = 0.9;
/** API Gateway's default throttle quota per account and region, across all its APIs. */
export const API_GATEWAY_ACCOUNT_RPS = 10_000;
/** Each route that no dependency quota bounds: a tenth of the account's API Gateway quota. */
export const DEFAULT_ROUTE_THROTTLE: Throttle = { rateLimit: 1_000, burstLimit: 2_000 };

/** KMS Sign calls one call of the route makes: a token response or a client token is one; verifying none. */
export function signsPerCall(route: Pick<RouteDefinition, 'auth' | 'capabilities' | 'table'>): number {
  return needsOf(route).capabilities.has('sign') ? KMS_SIGNS_PER_TOKEN_RESPONSE : 0;
}

export interface RouteThrottle extends Throttle {
  /** What set it: the KMS quota, the default, or an override. */
  readonly bound: 'kms' | 'default' | 'override';
}

export interface ThrottleSettings {
  /** The account's KMS ECC request quota (Sign included), requests/s. @default KMS_ECC_SIGN_QUOTA */
  readonly kmsSignQuota?: number;
  /** Every route no quota bounds. @default DEFAULT_ROUTE_THROTTLE */
  readonly defaultThrottle?: Throttle;
  /** Per route name: its own rate and burst. */
  readonly overrides?: Readonly<Record<string, Throttle>>;
}

/** The rate a signing route gets from the KMS quota: KMS_HEADROOM of it, per signature. */
export function kmsBoundRate(kmsSignQuota: number, signs: number): number {
  return Math.max(1, Math.floor((kmsSignQuota * KMS_HEADROOM) / signs));
}

/**
 * Each route's throttle, by route name, in route-table order. Throws, naming
 * the setting, on an override of a route that does not exist, on a rate or
 * burst that is not a positive integer, on any rate over the account's API
 * Gateway quota, and on a signing route whose own rate would call KMS Sign
 * more often than `kmsSignQuota` (raise the quota first).
 */
export function throttleTable(routes: readonly RouteDefinition[], settings: ThrottleSettings = {}): Map<string, RouteThrottle> {
  const kmsSignQuota = settings.kmsSignQuota ?? KMS_ECC_SIGN_QUOTA;
  const fallback = settings.defaultThrottle ?? DEFAULT_ROUTE_THROTTLE;
  const overrides = settings.overrides ?? {};
  if (!Number.isInteger(kmsSignQuota) || kmsSignQuota < 1) throw new Error(`kmsSignQuota must be a positive integer, got ${kmsSignQuota}`);
  checkThrottle('the default throttle (throttleRateLimit, throttleBurstLimit)', fallback);
  const names = new Set(routes.map((route) => route.name));
  const unknown = Object.keys(overrides).filter((name) => !names.has(name));
  if (unknown.length) throw new Error(`throttle overrides name routes that do not exist: ${unknown.join(', ')} (routes: ${[...names].join(', ')})`);
  const table = new Map<string, RouteThrottle>();
  for (const route of routes) {
    const signs = signsPerCall(route);
    const override = overrides[route.name];
    let throttle: RouteThrottle;
    if (override) {
      checkThrottle(`throttle.${route.name}`, override);
      throttle = { ...override, bound: 'override' };
    } else if (signs > 0) {
      const rate = kmsBoundRate(kmsSignQuota, signs);
      throttle = { rateLimit: rate, burstLimit: rate, bound: 'kms' };
    } else {
      throttle = { ...fallback, bound: 'default' };
    }
    if (signs * throttle.rateLimit > kmsSignQuota) {
      throw new Error(
        `throttle.${route.name}: ${throttle.rateLimit} requests/s would call KMS Sign ${signs * throttle.rateLimit} times a second, over the quota of ${kmsSignQuota}: lower it, or raise the account's KMS ECC quota first and pass it (kmsSignQuota)`,
      );
    }
    table.set(route.name, throttle);
  }
  return table;
}

function checkThrottle(what: string, throttle: Throttle): void {
  const { rateLimit, burstLimit } = throttle;
  if (!Number.isInteger(rateLimit) || rateLimit < 1 || !Number.isInteger(burstLimit) || burstLimit < 1) {
    throw new Error(`${what} must be a positive integer rate and burst, got ${rateLimit}/${burstLimit}`);
  }
  if (rateLimit > API_GATEWAY_ACCOUNT_RPS) throw new Error(`${what}: ${rateLimit} requests/s is over API Gateway's account quota of ${API_GATEWAY_ACCOUNT_RPS}`);
}

/**
 * A `-c throttle.<route>=<rate>[/<burst>]` value: the burst defaults to the
 * rate. Throws naming the key on anything else.
 */
export function parseThrottle(key: string, value: string): Throttle {
  const match = /^\s*(\d+)\s*(?:\/\s*(\d+)\s*)?$/.exec(value);
  if (!match) throw new Error(`context ${key} must be <rate> or <rate>/<burst> (requests per second, positive integers), got "${value}"`);
  const rateLimit = Number(match[1]);
  return { rateLimit, burstLimit: match[2] === undefined ? rateLimit : Number(match[2]) };
}
