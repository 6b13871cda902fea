import { describe, expect, it } from 'vitest';
import { amrOf, satisfiesMfa } from '../../functions/core/mfa.js';
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
