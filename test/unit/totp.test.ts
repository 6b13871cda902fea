import { describe, expect, it } from 'vitest';
import type { UserRecord } from '../../functions/core/model.js';
import {
  matchTotpCode,
  TOTP_ATTEMPTS,
  totpAccountName,
  totpAttemptsKey,
  totpCodeForStep,
  totpStep,
  totpUri,
} from '../../functions/core/totp.js';

/** RFC 6238 appendix B: the SHA-1 seed "12345678901234567890", base32-encoded. */
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const NOW = Date.UTC(2026, 0, 15, 12, 0, 10);

function user(fields: Partial<UserRecord> = {}): UserRecord {
  return {
    user_id: 'u1',
    email_verified: false,
    phone_number_verified: false,
    status: 'Active',
    created_at: 0,
    updated_at: 0,
    ...fields,
  };
}

describe('TOTP time steps', () => {
  it('a step is 30 seconds long, counted from the epoch', () => {
    expect(totpStep(0)).toBe(0);
    expect(totpStep(29_999)).toBe(0);
    expect(totpStep(30_000)).toBe(1);
    expect(totpStep(59_000)).toBe(1);
    expect(totpStep(NOW)).toBe(Math.floor(NOW / 30_000));
  });

  it('codes are the RFC 6238 SHA-1 test vectors truncated to 6 digits', () => {
    // Appendix B lists 8-digit values 94287082, 07081804 and 14050471 at these times.
    expect(totpCodeForStep(RFC_SECRET, totpStep(59_000))).toBe('287082');
    expect(totpCodeForStep(RFC_SECRET, totpStep(1_111_111_109_000))).toBe('081804');
    expect(totpCodeForStep(RFC_SECRET, totpStep(1_111_111_111_000))).toBe('050471');
  });
});

describe('TOTP code matching', () => {
  const current = totpStep(NOW);

  it('accepts the code of the current step', () => {
    expect(matchTotpCode(SECRET, totpCodeForStep(SECRET, current), NOW)).toEqual({ outcome: 'accepted', step: current });
  });

  it('accepts the previous and the next step (clock drift)', () => {
    expect(matchTotpCode(SECRET, totpCodeForStep(SECRET, current - 1), NOW)).toEqual({ outcome: 'accepted', step: current - 1 });
    expect(matchTotpCode(SECRET, totpCodeForStep(SECRET, current + 1), NOW)).toEqual({ outcome: 'accepted', step: current + 1 });
  });

  it('refuses codes two steps away', () => {
    expect(matchTotpCode(SECRET, totpCodeForStep(SECRET, current - 2), NOW).outcome).toBe('wrong');
    expect(matchTotpCode(SECRET, totpCodeForStep(SECRET, current + 2), NOW).outcome).toBe('wrong');
  });

  it('refuses a code of another secret, and anything that is not 6 digits', () => {
    const other = 'KRUGS4ZANFZSAYJAON2HE2LOM4QQKRUG';
    expect(matchTotpCode(SECRET, totpCodeForStep(other, current), NOW).outcome).toBe('wrong');
    const valid = totpCodeForStep(SECRET, current);
    for (const passcode of [valid.slice(0, 5), `${valid}0`, 'abcdef', '', ` ${valid.slice(1)}`, '１２３４５６']) {
      expect(matchTotpCode(SECRET, passcode, NOW).outcome).toBe('wrong');
    }
  });

  it('a code for a step at or before the last used step is a replay', () => {
    expect(matchTotpCode(SECRET, totpCodeForStep(SECRET, current), NOW, current)).toEqual({ outcome: 'replayed' });
    expect(matchTotpCode(SECRET, totpCodeForStep(SECRET, current - 1), NOW, current)).toEqual({ outcome: 'replayed' });
    expect(matchTotpCode(SECRET, totpCodeForStep(SECRET, current + 1), NOW, current)).toEqual({ outcome: 'accepted', step: current + 1 });
  });

  it('uses the time it is given, not the wall clock', () => {
    const past = Date.UTC(2001, 8, 9, 1, 46, 40);
    const code = totpCodeForStep(SECRET, totpStep(past));
    expect(matchTotpCode(SECRET, code, past)).toEqual({ outcome: 'accepted', step: totpStep(past) });
  });
});

describe('TOTP guess counting', () => {
  it('10 failures lock for 15 minutes, and a 15-minute pause forgets earlier ones (as OTP channels)', () => {
    expect(TOTP_ATTEMPTS).toEqual({ limit: 10, idleMs: 15 * 60_000, lockMs: 15 * 60_000 });
  });

  it('guesses are counted per user whichever identifier names it, and per identifier when it names no one', () => {
    const ada = user({ email: 'ada@example.com' });
    expect(totpAttemptsKey(ada, 'email', 'ada@example.com')).toBe(totpAttemptsKey(ada, 'user_id', 'u1'));
    expect(totpAttemptsKey(undefined, 'email', ' Nobody@Example.com')).toBe(totpAttemptsKey(undefined, 'email', 'nobody@example.com'));
    expect(totpAttemptsKey(undefined, 'email', 'nobody@example.com')).not.toBe(totpAttemptsKey(undefined, 'username', 'nobody@example.com'));
    expect(totpAttemptsKey(undefined, 'email', 'nobody@example.com')).not.toContain('nobody');
  });
});

describe('otpauth URI', () => {
  it('names the issuer and the account, and carries the secret and issuer parameters', () => {
    const uri = totpUri('Two fold', 'ada@example.com', SECRET);
    expect(uri.startsWith('otpauth://totp/')).toBe(true);
    const url = new URL(uri);
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(decodeURIComponent(url.pathname.slice(1))).toBe('Two fold:ada@example.com');
    expect(url.searchParams.get('secret')).toBe(SECRET);
    expect(url.searchParams.get('issuer')).toBe('Two fold');
    // 6 digits, 30 s and SHA-1 are the Key Uri Format defaults, so the URI need not spell them out.
    expect([...url.searchParams.keys()].sort()).toEqual(['issuer', 'secret']);
  });

  it("the account is upstream's default label: the email, else the username, else the phone number, else the user id", () => {
    expect(totpAccountName({ user_id: 'u1', email: 'a@x.io', phone_number: '+15550000000', username: 'ada' })).toBe('a@x.io');
    expect(totpAccountName({ user_id: 'u1', phone_number: '+15550000000', username: 'ada' })).toBe('ada');
    expect(totpAccountName({ user_id: 'u1', phone_number: '+15550000000' })).toBe('+15550000000');
    expect(totpAccountName({ user_id: 'u1' })).toBe('u1');
  });
});
