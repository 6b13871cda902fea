/**
 * The MFA rule (contract section 7). Methods fall into factor classes; by
 * default a session satisfies MFA when it holds authentications from at least
 * two different classes. A client may opt into the looser upstream rule: any
 * two different methods.
 */
import type { AuthMethod, MfaPolicy, SessionRecord } from './model.js';

export const FACTOR_CLASS: Record<AuthMethod, 'knowledge' | 'email' | 'phone' | 'authenticator' | 'passkey'> = {
  pwd: 'knowledge',
  eotp: 'email',
  eml: 'email',
  sms: 'phone',
  otp: 'authenticator',
  webauthn: 'passkey',
};

/** Stable order for `amr`, so equal sessions produce equal tokens. */
const METHOD_ORDER: readonly AuthMethod[] = ['pwd', 'eotp', 'eml', 'sms', 'otp', 'webauthn'];

export function satisfiesMfa(methods: Iterable<AuthMethod>, policy: MfaPolicy): boolean {
  const distinct = new Set(methods);
  if (policy === 'distinct_methods') return distinct.size >= 2;
  return new Set([...distinct].map((m) => FACTOR_CLASS[m])).size >= 2;
}

/** The `amr` claim: each method once, plus `mfa` when the policy is met. */
export function amrOf(session: Pick<SessionRecord, 'authentications'>, policy: MfaPolicy): string[] {
  const present = new Set(session.authentications.map((a) => a.method));
  const amr: string[] = METHOD_ORDER.filter((m) => present.has(m));
  if (satisfiesMfa(present, policy)) amr.push('mfa');
  return amr;
}
