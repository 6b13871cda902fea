import { describe, expect, it } from 'vitest';
import { generateNumericCode } from '../../functions/core/crypto.js';
import type { UserRecord } from '../../functions/core/model.js';
import {
  CHANNEL_ATTEMPTS,
  CODE_ATTEMPTS,
  otpRecordTtl,
  pickChannel,
  renderSmsText,
  resolveSendChannel,
  usableCode,
  withContactVerified,
  wrongPasscodeError,
  withNewCode,
  withoutCode,
  type Attempt,
  type OtpCode,
  type OtpRecord,
} from '../../functions/core/otp.js';
import type { Reservation } from '../../functions/core/attempts.js';
import { ForbiddenError, InvalidCredentialsError, InvalidInputError, LockedError } from '../../functions/errors.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const MIN = 60_000;

function code(overrides: Partial<OtpCode> = {}): OtpCode {
  return {
    id: 'code-1',
    hash: 'right-hash',
    purpose: 'login',
    client_id: 'client-a',
    destination: 'ada@example.com',
    sent_at: NOW,
    expires_at: NOW + 5 * MIN,
    ...overrides,
  };
}

function record(overrides: Partial<OtpRecord> = {}, codeOverrides: Partial<OtpCode> = {}): OtpRecord {
  return { user_id: 'u1', channel: 'email', code: code(codeOverrides), ...overrides };
}

const attempt = (overrides: Partial<Attempt> = {}): Attempt => ({
  passcodeHash: 'right-hash',
  purpose: 'login',
  client_id: 'client-a',
  destination: 'ada@example.com',
  ...overrides,
});


describe('code generation', () => {
  const samples = Array.from({ length: 20_000 }, () => generateNumericCode(6));

  it('every code is exactly six decimal digits, zero-padded', () => {
    for (const c of samples) expect(c).toMatch(/^\d{6}$/);
    // About 10% start with 0: padding happens, and is not skipped.
    expect(samples.some((c) => c.startsWith('0'))).toBe(true);
  });

  it('each digit position is uniform (chi-square, 9 degrees of freedom, loose bound)', () => {
    for (let position = 0; position < 6; position++) {
      const counts = new Array<number>(10).fill(0);
      for (const c of samples) counts[Number(c[position])]!++;
      const expected = samples.length / 10;
      const chiSquare = counts.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
      // p = 0.0001 for 9 df is about 33.7; a biased generator (e.g. modulo of a byte) lands far above.
      expect(chiSquare).toBeLessThan(40);
    }
  });

  it('leading zeros appear at the rate a uniform draw gives', () => {
    const leadingZero = samples.filter((c) => c.startsWith('0')).length / samples.length;
    expect(leadingZero).toBeGreaterThan(0.085);
    expect(leadingZero).toBeLessThan(0.115);
  });

  it('codes do not repeat more than chance allows', () => {
    // 20k draws from 10^6: about 200 collisions expected by the birthday bound.
    const distinct = new Set(samples).size;
    expect(samples.length - distinct).toBeLessThan(400);
  });
});

describe('choosing the send channel', () => {
  const allowed = { allow_direct_delivery: true };
  const refused = { allow_direct_delivery: false };

  it('email and sms are sent on their own channel', () => {
    expect(resolveSendChannel('email', 'username', refused)).toEqual({ channel: 'email', direct: false });
    expect(resolveSendChannel('sms', 'user_id', refused)).toEqual({ channel: 'sms', direct: false });
  });

  it('direct is refused unless the client allows it', () => {
    expect(() => resolveSendChannel('direct', 'email', refused)).toThrow(ForbiddenError);
  });

  it('direct takes its channel from the identifier type', () => {
    expect(resolveSendChannel('direct', 'email', allowed)).toEqual({ channel: 'email', direct: true });
    expect(resolveSendChannel('direct', 'phone_number', allowed)).toEqual({ channel: 'sms', direct: true });
  });

  it('direct with a user_id or username is invalid input', () => {
    expect(() => resolveSendChannel('direct', 'user_id', allowed)).toThrow(InvalidInputError);
    expect(() => resolveSendChannel('direct', 'username', allowed)).toThrow(/identifier_type/);
  });
});

describe('SMS text', () => {
  it('the default names the code and the app', () => {
    expect(renderSmsText('Shop', '012345')).toBe('012345 is your Shop verification code');
  });

  it('a custom template substitutes every {otp} and {app}', () => {
    expect(renderSmsText('Shop', '012345', '{app}: {otp}. Never share {otp}.')).toBe('Shop: 012345. Never share 012345.');
  });

  it('a template without {otp} or without {app} is invalid input', () => {
    expect(() => renderSmsText('Shop', '012345', 'Your code for {app}')).toThrow(InvalidInputError);
    expect(() => renderSmsText('Shop', '012345', 'Your code is {otp}')).toThrow(InvalidInputError);
  });

  it('at most 140 characters after substitution', () => {
    const base = '{otp} {app} '; // 6 + 1 + 4 + 1 = 12 characters once substituted
    expect(renderSmsText('Shop', '012345', base + 'x'.repeat(128))).toHaveLength(140);
    expect(() => renderSmsText('Shop', '012345', base + 'x'.repeat(129))).toThrow(/140/);
  });

  it('the length limit is judged after substitution, not before', () => {
    // 139 characters as written, but {app} grows to 20 characters.
    const template = '{otp}{app}' + 'x'.repeat(129);
    expect(() => renderSmsText('A'.repeat(20), '012345', template)).toThrow(InvalidInputError);
  });

  it('the error message never echoes the template', () => {
    try {
      renderSmsText('Shop', '012345', 'secret-ish text without placeholders');
    } catch (error) {
      expect((error as Error).message).not.toContain('secret-ish');
    }
    expect.assertions(1);
  });
});

describe('a new send', () => {
  const newCode = { id: 'code-2', hash: 'new-hash', purpose: 'login' as const, client_id: 'client-a', destination: 'ada@example.com', expiresInMinutes: 5 };

  it('replaces the previous code: a new id, a new lifetime, unused', () => {
    const next = withNewCode('u1', 'email', newCode, NOW + MIN);
    expect(next).toEqual({
      user_id: 'u1',
      channel: 'email',
      code: { id: 'code-2', hash: 'new-hash', purpose: 'login', client_id: 'client-a', destination: 'ada@example.com', sent_at: NOW + MIN, expires_at: NOW + 6 * MIN },
    });
  });

  it('uses the expiry asked for', () => {
    const next = withNewCode('u1', 'sms', { ...newCode, expiresInMinutes: 10 }, NOW);
    expect(next.code?.expires_at).toBe(NOW + 10 * MIN);
    expect(next).toMatchObject({ user_id: 'u1', channel: 'sms' });
  });

  it('stores a request_id only when one was generated', () => {
    expect(withNewCode('u1', 'sms', newCode, NOW).code).not.toHaveProperty('request_id');
    expect(withNewCode('u1', 'sms', { ...newCode, request_id: 'r1' }, NOW).code?.request_id).toBe('r1');
  });

  it('an undelivered code is removed only while it is still the current one', () => {
    const current = record();
    expect(withoutCode(current, 'code-1')).toEqual({ user_id: 'u1', channel: 'email' });
    expect(withoutCode(current, 'another-code')).toBeUndefined();
  });
});

describe('the code an attempt is compared against', () => {
  it('is the stored code while it is unused and unexpired', () => {
    expect(usableCode(record(), attempt(), NOW + MIN)).toEqual(code());
  });

  it('a code is expired from its expiry instant on, whatever is typed, and nothing is compared', () => {
    expect(usableCode(record(), attempt(), NOW + 5 * MIN - 1)).toEqual(code());
    expect(usableCode(record(), attempt(), NOW + 5 * MIN)).toBe('expired');
    expect(usableCode(record(), attempt(), NOW + 5 * MIN + 86_400_000 * 3)).toBe('expired'); // its TTL passed, yet it is still stored
  });

  it.each([
    ['there is no record', undefined],
    ['there is no code', record({ code: undefined })],
    ['the code was used', record({}, { used_at: NOW })],
    ['the code belongs to another client', record({}, { client_id: 'client-b' })],
    ['the code is for verification, not login', record({}, { purpose: 'verification' })],
    ['the code went to a contact the user no longer has', record({}, { destination: 'old@example.com' })],
    ['the request_id differs', record({}, { request_id: 'r-1' })],
  ])('there is none when %s: nothing is counted or compared', (_, stored) => {
    expect(usableCode(stored, attempt({ request_id: 'r-2' }), NOW)).toBe('no_code');
  });

  it('a request_id is checked only when the caller gives one', () => {
    expect(usableCode(record({}, { request_id: 'r-1' }), attempt(), NOW)).toMatchObject({ id: 'code-1' });
    expect(usableCode(record({}, { request_id: 'r-1' }), attempt({ request_id: 'r-1' }), NOW)).toMatchObject({ id: 'code-1' });
  });
});

describe('the answer to a wrong passcode', () => {
  const counted = (reachedLimit: boolean): Reservation => ({ reserved: true, key: 'k', run: 'r', count: 1, reachedLimit });

  it('is auth_invalid_credentials while attempts are left', () => {
    expect(wrongPasscodeError(counted(false), counted(false))).toBeInstanceOf(InvalidCredentialsError);
  });

  it('the fifth wrong try on a code says the code is locked', () => {
    const error = wrongPasscodeError(counted(true), counted(false));
    expect(error).toBeInstanceOf(LockedError);
    expect(error.status).toBe(403);
    expect(error.headers['Retry-After']).toBeUndefined();
  });

  it('the tenth failure on a channel says it is locked for 15 minutes', () => {
    const error = wrongPasscodeError(counted(true), counted(true));
    expect(error).toBeInstanceOf(LockedError);
    expect(error.headers['Retry-After']).toBe('900');
  });

  it('the limits are 5 per code for its whole life, and 10 per channel locking 15 minutes, forgotten after a 15-minute pause', () => {
    expect(CODE_ATTEMPTS).toEqual({ limit: 5 });
    expect(CHANNEL_ATTEMPTS).toEqual({ limit: 10, idleMs: 15 * MIN, lockMs: 15 * MIN });
  });
});

describe('choosing the channel for user_id and username', () => {
  const email = record({ channel: 'email' }, { sent_at: NOW, expires_at: NOW + 5 * MIN, request_id: 'r-email' });
  const sms = record({ channel: 'sms' }, { id: 'c2', sent_at: NOW + MIN, expires_at: NOW + 6 * MIN, request_id: 'r-sms' });

  it('a request_id picks the channel whose code carries it', () => {
    expect(pickChannel({ email, sms }, 'client-a', 'r-email', NOW)).toBe('email');
    expect(pickChannel({ email, sms }, 'client-a', 'r-sms', NOW)).toBe('sms');
    expect(pickChannel({ email, sms }, 'client-a', 'r-unknown', NOW)).toBeUndefined();
  });

  it('otherwise the most recently sent live code wins', () => {
    expect(pickChannel({ email, sms }, 'client-a', undefined, NOW + 2 * MIN)).toBe('sms');
  });

  it('an unexpired code is preferred to a more recent expired one', () => {
    const shortSms = record({ channel: 'sms' }, { sent_at: NOW + MIN, expires_at: NOW + 2 * MIN });
    expect(pickChannel({ email, sms: shortSms }, 'client-a', undefined, NOW + 3 * MIN)).toBe('email');
  });

  it('used codes, other clients’ codes and verification codes are not candidates', () => {
    const used = record({ channel: 'sms' }, { sent_at: NOW + MIN, used_at: NOW + MIN });
    expect(pickChannel({ email, sms: used }, 'client-a', undefined, NOW)).toBe('email');
    expect(pickChannel({ email, sms }, 'client-b', undefined, NOW)).toBeUndefined();
    const verification = record({ channel: 'sms' }, { sent_at: NOW + MIN, purpose: 'verification' });
    expect(pickChannel({ email, sms: verification }, 'client-a', undefined, NOW)).toBe('email');
    expect(pickChannel({}, 'client-a', undefined, NOW)).toBeUndefined();
  });
});

describe('marking a contact verified', () => {
  const user: UserRecord = {
    user_id: 'u1',
    email: 'ada@example.com',
    email_verified: false,
    phone_number: '+15551234567',
    phone_number_verified: false,
    status: 'Active',
    created_at: NOW - 1000,
    updated_at: NOW - 1000,
  };

  it('verifies the email the code went to', () => {
    expect(withContactVerified(user, 'email', 'ada@example.com', NOW)).toMatchObject({ email_verified: true, email_verified_at: NOW, phone_number_verified: false, updated_at: NOW });
  });

  it('verifies the phone number the code went to', () => {
    expect(withContactVerified(user, 'sms', '+15551234567', NOW)).toMatchObject({ phone_number_verified: true, phone_number_verified_at: NOW, email_verified: false });
  });

  it('changes nothing when already verified, keeping the first verification time', () => {
    expect(withContactVerified({ ...user, email_verified: true, email_verified_at: 5 }, 'email', 'ada@example.com', NOW)).toBeUndefined();
  });

  it('changes nothing when the contact changed since the code was sent', () => {
    expect(withContactVerified(user, 'email', 'old@example.com', NOW)).toBeUndefined();
  });
});

describe('record lifetime', () => {
  it('the table may delete a record a day after its code expired', () => {
    expect(otpRecordTtl(record())).toBe(Math.ceil((NOW + 5 * MIN) / 1000) + 86_400);
  });
});
