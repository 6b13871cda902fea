import { describe, expect, it } from 'vitest';
import { generateNumericCode } from '../../functions/core/crypto.js';
import { FAILURE_WINDOW_MS } from '../../functions/core/lockout.js';
import type { UserRecord } from '../../functions/core/model.js';
import {
  CHANNEL_LOCK_MS,
  MAX_CHANNEL_FAILURES,
  MAX_CODE_ATTEMPTS,
  decideAttempt,
  errorOf,
  otpRecordTtl,
  pickChannel,
  renderSmsText,
  resolveSendChannel,
  withContactVerified,
  withNewCode,
  withoutCode,
  type Attempt,
  type OtpCode,
  type OtpRecord,
} from '../../functions/core/otp.js';
import { ForbiddenError, InvalidCredentialsError, InvalidInputError, LockedError, OtpExpiredError } from '../../functions/errors.js';

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
    attempts: 0,
    ...overrides,
  };
}

function record(overrides: Partial<OtpRecord> = {}, codeOverrides: Partial<OtpCode> = {}): OtpRecord {
  return { user_id: 'u1', channel: 'email', failures: [], code: code(codeOverrides), ...overrides };
}

const attempt = (overrides: Partial<Attempt> = {}): Attempt => ({
  passcodeHash: 'right-hash',
  purpose: 'login',
  client_id: 'client-a',
  destination: 'ada@example.com',
  ...overrides,
});

const wrong = attempt({ passcodeHash: 'wrong-hash' });

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

  it('replaces the previous code and resets its attempts', () => {
    const next = withNewCode(record({}, { attempts: 4 }), 'u1', 'email', newCode, NOW + MIN);
    expect(next.code).toMatchObject({ id: 'code-2', hash: 'new-hash', attempts: 0, sent_at: NOW + MIN, expires_at: NOW + 6 * MIN });
    expect(next.code?.used_at).toBeUndefined();
  });

  it('keeps the failure window and the channel lock', () => {
    const prior = record({ failures: [NOW - 20 * MIN, NOW - MIN], locked_until: NOW + 10 * MIN });
    const next = withNewCode(prior, 'u1', 'email', newCode, NOW);
    expect(next.failures).toEqual([NOW - MIN]); // the one outside the 15 min window is pruned
    expect(next.locked_until).toBe(NOW + 10 * MIN);
  });

  it('drops a lock that has already ended', () => {
    const next = withNewCode(record({ locked_until: NOW - 1 }), 'u1', 'email', newCode, NOW);
    expect(next.locked_until).toBeUndefined();
  });

  it('uses the expiry asked for', () => {
    const next = withNewCode(undefined, 'u1', 'sms', { ...newCode, expiresInMinutes: 10 }, NOW);
    expect(next.code?.expires_at).toBe(NOW + 10 * MIN);
    expect(next).toMatchObject({ user_id: 'u1', channel: 'sms', failures: [] });
  });

  it('stores a request_id only when one was generated', () => {
    expect(withNewCode(undefined, 'u1', 'sms', newCode, NOW).code).not.toHaveProperty('request_id');
    expect(withNewCode(undefined, 'u1', 'sms', { ...newCode, request_id: 'r1' }, NOW).code?.request_id).toBe('r1');
  });

  it('an undelivered code is removed only while it is still the current one', () => {
    const current = record({ failures: [NOW] });
    expect(withoutCode(current, 'code-1')).toEqual({ user_id: 'u1', channel: 'email', failures: [NOW] });
    expect(withoutCode(current, 'another-code')).toBeUndefined();
  });
});

describe('judging an attempt', () => {
  it('the right code matches and is marked used', () => {
    const decision = decideAttempt(record(), attempt(), NOW + MIN);
    expect(decision.kind).toBe('match');
    if (decision.kind === 'match') expect(decision.next.code?.used_at).toBe(NOW + MIN);
  });

  it('a wrong code counts one attempt on the code and one failure on the channel', () => {
    const decision = decideAttempt(record(), wrong, NOW + MIN);
    expect(decision).toMatchObject({ kind: 'wrong', locks: null });
    if (decision.kind !== 'wrong') throw new Error('expected a wrong attempt');
    expect(decision.next.code?.attempts).toBe(1);
    expect(decision.next.failures).toEqual([NOW + MIN]);
    expect(errorOf(decision)).toBeInstanceOf(InvalidCredentialsError);
  });

  it('the fifth wrong try locks the code, and then even the right code is locked out', () => {
    let current = record();
    const kinds: string[] = [];
    for (let i = 0; i < MAX_CODE_ATTEMPTS; i++) {
      const decision = decideAttempt(current, wrong, NOW + i);
      if (decision.kind !== 'wrong') throw new Error('expected a wrong attempt');
      kinds.push(decision.locks ?? 'none');
      current = decision.next;
    }
    expect(kinds).toEqual(['none', 'none', 'none', 'none', 'code']);
    const after = decideAttempt(current, attempt(), NOW + 10);
    expect(after.kind).toBe('code_locked');
    const error = errorOf(after as Exclude<typeof after, { kind: 'match' }>);
    expect(error).toBeInstanceOf(LockedError);
    expect(error.status).toBe(403);
  });

  it('the tenth failure within 15 minutes locks the channel for 15 minutes', () => {
    const failures = Array.from({ length: MAX_CHANNEL_FAILURES - 1 }, (_, i) => NOW - 10 * MIN + i);
    const decision = decideAttempt(record({ failures }), wrong, NOW);
    expect(decision).toMatchObject({ kind: 'wrong', locks: 'channel' });
    if (decision.kind !== 'wrong') return;
    expect(decision.next.locked_until).toBe(NOW + CHANNEL_LOCK_MS);
    const error = errorOf(decision);
    expect(error).toBeInstanceOf(LockedError);
    expect(error.headers['Retry-After']).toBe('900');
  });

  it('failures older than the window do not count towards the lock', () => {
    const failures = Array.from({ length: MAX_CHANNEL_FAILURES - 1 }, () => NOW - FAILURE_WINDOW_MS);
    const decision = decideAttempt(record({ failures }), wrong, NOW);
    expect(decision).toMatchObject({ kind: 'wrong', locks: null });
    if (decision.kind === 'wrong') expect(decision.next.failures).toEqual([NOW]);
  });

  it('a locked channel refuses every attempt, the right code too, with the time left', () => {
    const decision = decideAttempt(record({ locked_until: NOW + 7 * MIN }), attempt(), NOW);
    expect(decision).toEqual({ kind: 'channel_locked', retryAfterMs: 7 * MIN });
    const error = errorOf(decision as Exclude<typeof decision, { kind: 'match' }>);
    expect(error.headers['Retry-After']).toBe('420');
  });

  it('once the lock ends, the channel works again', () => {
    expect(decideAttempt(record({ locked_until: NOW }), attempt(), NOW).kind).toBe('match');
  });

  it('a code is expired from its expiry instant on, whatever is typed', () => {
    expect(decideAttempt(record(), attempt(), NOW + 5 * MIN - 1).kind).toBe('match');
    expect(decideAttempt(record(), attempt(), NOW + 5 * MIN).kind).toBe('expired');
    expect(decideAttempt(record(), wrong, NOW + 5 * MIN).kind).toBe('expired');
    expect(errorOf({ kind: 'expired' })).toBeInstanceOf(OtpExpiredError);
  });

  it.each([
    ['there is no record', undefined],
    ['there is no code', record({ code: undefined })],
    ['the code was used', record({}, { used_at: NOW })],
    ['the code belongs to another client', record({}, { client_id: 'client-b' })],
    ['the code is for verification, not login', record({}, { purpose: 'verification' })],
    ['the code went to a contact the user no longer has', record({}, { destination: 'old@example.com' })],
    ['the request_id differs', record({}, { request_id: 'r-1' })],
  ])('no usable code when %s, and nothing is recorded', (_, stored) => {
    const decision = decideAttempt(stored, attempt({ request_id: 'r-2' }), NOW);
    expect(decision).toEqual({ kind: 'no_code' });
    expect(errorOf({ kind: 'no_code' })).toBeInstanceOf(InvalidCredentialsError);
  });

  it('a request_id is checked only when the caller gives one', () => {
    expect(decideAttempt(record({}, { request_id: 'r-1' }), attempt(), NOW).kind).toBe('match');
    expect(decideAttempt(record({}, { request_id: 'r-1' }), attempt({ request_id: 'r-1' }), NOW).kind).toBe('match');
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
    password_failures: 0,
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
  it('the table may delete a record a day after its code, lock and failures stop mattering', () => {
    const r = record({ failures: [NOW + 20 * MIN], locked_until: NOW + 30 * MIN });
    expect(otpRecordTtl(r)).toBe(Math.ceil((NOW + 35 * MIN) / 1000) + 86_400);
    expect(otpRecordTtl(record())).toBe(Math.ceil((NOW + 5 * MIN) / 1000) + 86_400);
  });
});
