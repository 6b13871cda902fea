/**
 * The MFA rule (contract section 7). Methods fall into factor classes; by
 * default a session satisfies MFA when it holds authentications from at least
 * two different classes. A client may opt into the looser upstream rule: any
 * two different methods.
 *
 * Freshness (`max_age`, as in OIDC and RFC 9470 step-up): a response asked
 * for with `max_age` leaves older authentications out of its `amr`, `amr_at`
 * and `mfa`; the session keeps them.
 */
import { toEpochSeconds, type AuthMethod, type MfaPolicy, type SessionRecord } from './model.js';

export const FACTOR_CLASS: Record<AuthMethod, 'knowledge' | 'email' | 'phone' | 'authenticator' | 'passkey' | 'recovery'> = {
  pwd: 'knowledge',
  eotp: 'email',
  eml: 'email',
  sms: 'phone',
  otp: 'authenticator',
  webauthn: 'passkey',
  // The stand-in for a lost possession factor: its own class, so password + recovery code is MFA.
  recovery_code: 'recovery',
};

/** Stable order for `amr`, so equal sessions produce equal tokens. */
const METHOD_ORDER: readonly AuthMethod[] = ['pwd', 'eotp', 'eml', 'sms', 'otp', 'webauthn', 'recovery_code'];

export function satisfiesMfa(methods: Iterable<AuthMethod>, policy: MfaPolicy): boolean {
  const distinct = new Set(methods);
  if (policy === 'distinct_methods') return distinct.size >= 2;
  return new Set([...distinct].map((m) => FACTOR_CLASS[m])).size >= 2;
}

/**
 * Whether an authentication at `atMs` is fresh for `maxAgeSeconds` at `nowMs`.
 * Judged on whole epoch seconds, as the token shows them, with OIDC's rule
 * `auth_time + max_age >= now`: exactly `max_age` seconds old is still fresh,
 * and a relying party can recheck the answer from `amr_at` and `iat` alone.
 */
export function isFresh(atMs: number, nowMs: number, maxAgeSeconds: number | undefined): boolean {
  if (maxAgeSeconds === undefined) return true;
  return toEpochSeconds(atMs) + maxAgeSeconds >= toEpochSeconds(nowMs);
}

export interface AmrClaims {
  /** Each fresh method once, in a stable order, plus `mfa` when the fresh methods meet the policy. */
  amr: string[];
  /** For each method in `amr` (not `mfa`): the epoch second of its latest authentication in the session. */
  amr_at: Partial<Record<AuthMethod, number>>;
}

/** The `amr` and `amr_at` claims of a session at `now`, leaving out authentications older than `maxAge` seconds. */
export function amrClaimsOf(
  session: Pick<SessionRecord, 'authentications'>,
  policy: MfaPolicy,
  freshness: { now: number; maxAge?: number | undefined },
): AmrClaims {
  const latest = new Map<AuthMethod, number>();
  for (const { method, at } of session.authentications) {
    if (!isFresh(at, freshness.now, freshness.maxAge)) continue;
    latest.set(method, Math.max(at, latest.get(method) ?? at));
  }
  const methods = METHOD_ORDER.filter((m) => latest.has(m));
  const amr: string[] = [...methods];
  if (satisfiesMfa(methods, policy)) amr.push('mfa');
  const amr_at: Partial<Record<AuthMethod, number>> = {};
  for (const m of methods) amr_at[m] = toEpochSeconds(latest.get(m)!);
  return { amr, amr_at };
}

/** The `amr` claim over every authentication in the session: each method once, plus `mfa` when the policy is met. */
export function amrOf(session: Pick<SessionRecord, 'authentications'>, policy: MfaPolicy): string[] {
  return amrClaimsOf(session, policy, { now: 0 }).amr;
}
