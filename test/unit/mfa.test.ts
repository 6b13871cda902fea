import { describe, expect, it } from 'vitest';
import { amrClaimsOf, amrOf, isFresh, satisfiesMfa } from '../../functions/core/mfa.js';
import type { AuthMethod } from '../../functions/core/model.js';

const session = (...methods: AuthMethod[]) => ({ authentications: methods.map((method, i) => ({ method, at: i })) });

describe('MFA rule (factor classes, the default)', () => {
  it.each([
    [['pwd', 'sms'], true],
    [['pwd', 'eotp'], true],
    [['pwd', 'eml'], true],
    [['pwd', 'otp'], true],
    [['eotp', 'sms'], true],
    [['eml', 'otp'], true],
    [['sms', 'otp'], true],
    [['pwd', 'recovery_code'], true],
    [['eml', 'recovery_code'], true],
    [['recovery_code', 'recovery_code'], false],
    [['eotp', 'eml'], false],
    [['pwd'], false],
    [['sms', 'sms'], false],
    [['pwd', 'pwd', 'pwd'], false],
    [[], false],
  ] as Array<[AuthMethod[], boolean]>)('%j satisfies MFA: %s', (methods, expected) => {
    expect(satisfiesMfa(methods, 'factor_classes')).toBe(expected);
  });

  it('email OTP plus magic link is two methods of one class, so not MFA', () => {
    expect(amrOf(session('eotp', 'eml'), 'factor_classes')).toEqual(['eotp', 'eml']);
  });
});

describe('MFA rule (distinct methods, the looser upstream rule)', () => {
  it('accepts any two different methods, even of one class', () => {
    expect(satisfiesMfa(['eotp', 'eml'], 'distinct_methods')).toBe(true);
    expect(amrOf(session('eotp', 'eml'), 'distinct_methods')).toEqual(['eotp', 'eml', 'mfa']);
  });

  it('still refuses the same method twice', () => {
    expect(satisfiesMfa(['sms', 'sms'], 'distinct_methods')).toBe(false);
  });
});

describe('amr', () => {
  it('lists each method once, in a stable order, then mfa', () => {
    expect(amrOf(session('sms', 'pwd', 'sms', 'pwd'), 'factor_classes')).toEqual(['pwd', 'sms', 'mfa']);
  });

  it('is empty for a session without authentications', () => {
    expect(amrOf(session(), 'factor_classes')).toEqual([]);
  });
});

describe('recovery codes', () => {
  it('are their own factor class: password + recovery code is MFA', () => {
    expect(amrOf(session('recovery_code', 'pwd'), 'factor_classes')).toEqual(['pwd', 'recovery_code', 'mfa']);
  });
});

describe('amr_at and max_age', () => {
  const T = Date.UTC(2026, 0, 15, 12, 0, 0);
  const at = (method: AuthMethod, ms: number) => ({ method, at: ms });

  it('amr_at gives each method the epoch second of its latest authentication', () => {
    const claims = amrClaimsOf({ authentications: [at('pwd', T), at('sms', T + 5_500), at('pwd', T + 9_000)] }, 'factor_classes', { now: T + 10_000 });
    expect(claims).toEqual({ amr: ['pwd', 'sms', 'mfa'], amr_at: { pwd: T / 1000 + 9, sms: T / 1000 + 5 } });
  });

  it('exactly max_age seconds old is fresh; one second more is not (auth_time + max_age >= now)', () => {
    expect(isFresh(T, T + 300_000, 300)).toBe(true);
    expect(isFresh(T, T + 301_000, 300)).toBe(false);
  });

  it('is judged on whole seconds, as the token shows them', () => {
    expect(isFresh(T + 999, T + 300_000, 300)).toBe(true);
    expect(isFresh(T, T + 300_999, 300)).toBe(true);
    expect(isFresh(T + 999, T + 301_000, 300)).toBe(false);
  });

  it('max_age 0 keeps only what happened in this second', () => {
    expect(isFresh(T, T + 999, 0)).toBe(true);
    expect(isFresh(T, T + 1_000, 0)).toBe(false);
  });

  it('stale factors leave amr, amr_at and mfa; a later fresh one of the same method keeps it', () => {
    const auths = [at('pwd', T), at('sms', T + 600_000)];
    expect(amrClaimsOf({ authentications: auths }, 'factor_classes', { now: T + 700_000, maxAge: 300 })).toEqual({ amr: ['sms'], amr_at: { sms: T / 1000 + 600 } });
    const again = [...auths, at('pwd', T + 650_000)];
    expect(amrClaimsOf({ authentications: again }, 'factor_classes', { now: T + 700_000, maxAge: 300 })).toEqual({
      amr: ['pwd', 'sms', 'mfa'],
      amr_at: { pwd: T / 1000 + 650, sms: T / 1000 + 600 },
    });
  });

  it('without max_age every authentication counts', () => {
    expect(amrClaimsOf({ authentications: [at('pwd', 0), at('otp', T)] }, 'factor_classes', { now: T + 86_400_000 }).amr).toEqual(['pwd', 'otp', 'mfa']);
  });
});
