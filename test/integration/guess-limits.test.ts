/**
 * Guessing attacks on every low-entropy secret, as an attacker would run them:
 * hundreds of distinct wrong guesses fired at once, then the right secret.
 * Each guess must be counted by one atomic write before it is compared, so
 * however many arrive together no more than the limit are ever compared, no
 * guess is answered 5xx (an uncounted guess), and once the limit is reached
 * the right secret is refused too, for exactly the lock window.
 *
 * "Compared" is measured, not inferred: the comparison functions are wrapped
 * in spies (constant-time equality for OTPs and TOTP, scrypt verification for
 * passwords) and the distinct guesses they saw are counted.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as crypto from '../../functions/core/crypto.js';
import type { ClientRecord, SessionRecord, UserRecord } from '../../functions/core/model.js';
import { keys } from '../../functions/core/model.js';
import { DependencyError } from '../../functions/errors.js';
import * as passwords from '../../functions/core/passwords.js';
import { totpCodeForStep, totpStep } from '../../functions/core/totp.js';
import { handler as linkAuthenticate } from '../../functions/handlers/auth-link-authenticate.js';
import { handler as linkSend } from '../../functions/handlers/auth-link-send.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as passwordAuthenticate } from '../../functions/handlers/auth-password.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { handler as totpAuthenticate } from '../../functions/handlers/auth-totp-authenticate.js';
import { handler as emailVerificationSend } from '../../functions/handlers/users-email-verification-send.js';
import { handler as emailVerificationVerify } from '../../functions/handlers/users-email-verification-verify.js';
import { handler as phoneVerificationSend } from '../../functions/handlers/users-phone-verification-send.js';
import { handler as phoneVerificationVerify } from '../../functions/handlers/users-phone-verification-verify.js';
import { registerTotp as registerTotpFor } from '../../functions/core/totp.js';
import { createTestClient, createTestDeps, idTokenClaims, invoke, lastCode, slowSigning, TEST_SCRYPT, type TestContext } from '../support/harness.js';
import { seedUser } from '../support/seed.js';

vi.mock('../../functions/core/crypto.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../functions/core/crypto.js')>();
  return { ...actual, constantTimeEqual: vi.fn(actual.constantTimeEqual) };
});
vi.mock('../../functions/core/passwords.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../functions/core/passwords.js')>();
  return { ...actual, verifyPassword: vi.fn(actual.verifyPassword) };
});

const EMAIL = 'ada@example.com';
const PHONE = '+15551234567';
const PASSWORD = 'correct horse battery';
const REDIRECT = 'https://app.example/callback';
const PARALLEL_GUESSES = 200;
/** Enough to use up what is left of a budget when the 200-guess burst has already been proven on it. */
const FOLLOW_UP_GUESSES = 20;
const PARALLEL_USES = 50;
const MINUTE = 60_000;
const LOCK_MS = 15 * MINUTE;

let t: TestContext;
let client: ClientRecord;
let token: string;
let ada: UserRecord;

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps, { redirect_uris: [REDIRECT] }));
  const hash = await passwords.hashPassword(PASSWORD, TEST_SCRYPT);
  ada = await seedUser(t.deps, { user_id: 'u-ada', email: EMAIL, phone_number: PHONE, username: 'ada', password: { hash, updated_at: t.clock.now() } });
  vi.mocked(crypto.constantTimeEqual).mockClear();
  vi.mocked(passwords.verifyPassword).mockClear();
});

type Answer = Awaited<ReturnType<typeof invoke>>;

/** Distinct guesses that are none of `right`. */
function wrongCodes(right: string | string[], count = PARALLEL_GUESSES): string[] {
  const avoid = new Set([right].flat());
  const codes: string[] = [];
  for (let i = 0; codes.length < count; i++) {
    const code = String((i * 7919 + 104_729) % 1_000_000).padStart(6, '0');
    if (!avoid.has(code) && !codes.includes(code)) codes.push(code);
  }
  return codes;
}

/** Distinct presented values that reached a constant-time comparison since the last clear (the stored side is the first argument). */
function comparedCodes(): number {
  return new Set(vi.mocked(crypto.constantTimeEqual).mock.calls.map((call) => call[1])).size;
}

/** Every answer is a refusal that reveals nothing: never a 5xx or 429, which would mean a guess went uncounted. */
function expectOnlyRefusals(answers: Answer[]): void {
  const seen = new Set(answers.map((a) => `${a.status} ${a.body?.error_code}`));
  for (const s of seen) expect(['400 auth_invalid_credentials', '403 auth_locked']).toContain(s);
}

function expectLocked(answer: Answer): void {
  expect(answer.status).toBe(403);
  expect(answer.body.error_code).toBe('auth_locked');
}

// ---- the routes -------------------------------------------------------------

const login = (password: string, extra: Record<string, unknown> = {}) =>
  invoke(passwordAuthenticate, { token, body: { username: 'ada', password, ...extra } });
const sendOtp = (channel: 'email' | 'sms') =>
  invoke(otpSend, { token, body: channel === 'email' ? { channel, identifier_type: 'email', identifier: EMAIL } : { channel, identifier_type: 'phone_number', identifier: PHONE } });
const otpLogin = (channel: 'email' | 'sms', passcode: string, extra: Record<string, unknown> = {}) =>
  invoke(otpAuthenticate, {
    token,
    body: channel === 'email' ? { passcode, identifier_type: 'email', identifier: EMAIL, ...extra } : { passcode, identifier_type: 'phone_number', identifier: PHONE, ...extra },
  });
const destination = (channel: 'email' | 'sms') => (channel === 'email' ? EMAIL : PHONE);
const totpLogin = (passcode: string, extra: Record<string, unknown> = {}) =>
  invoke(totpAuthenticate, { token, body: { identifier_type: 'email', identifier: EMAIL, token: passcode, ...extra } });
const verification = {
  email: {
    send: () => invoke(emailVerificationSend, { token, params: { user_id: ada.user_id }, body: { email: EMAIL } }),
    verify: (passcode: string) => invoke(emailVerificationVerify, { token, params: { user_id: ada.user_id }, body: { email: EMAIL, passcode } }),
  },
  sms: {
    send: () => invoke(phoneVerificationSend, { token, params: { user_id: ada.user_id }, body: { phone_number: PHONE } }),
    verify: (passcode: string) => invoke(phoneVerificationVerify, { token, params: { user_id: ada.user_id }, body: { phone_number: PHONE, passcode } }),
  },
} as const;

async function registerTotp(): Promise<string> {
  return (await registerTotpFor(t.deps, ada.user_id)).secret;
}

/** The TOTP code an authenticator shows now (by the test clock), and every code the drift window accepts now. */
const totpNow = (secret: string) => totpCodeForStep(secret, totpStep(t.clock.now()));
const totpWindow = (secret: string) => [-1, 0, 1].map((o) => totpCodeForStep(secret, totpStep(t.clock.now()) + o));

async function sendLink(): Promise<string> {
  const res = await invoke(linkSend, { token, body: { identifier_type: 'email', identifier: EMAIL, redirect_uri: REDIRECT } });
  expect(res.status).toBe(200);
  return new URL(t.outbox.last(EMAIL)!.link!).searchParams.get('code')!;
}

// ---- 200 parallel wrong guesses -----------------------------------------------

// Hundreds of requests against the embedded store: a few seconds each on an idle machine, more on a busy one.
describe('200 parallel distinct wrong guesses', { timeout: 90_000 }, () => {
  it('password: at most 10 are compared, none is left uncounted, then the right password is locked out for exactly 15 minutes', async () => {
    const guesses = Array.from({ length: PARALLEL_GUESSES }, (_, i) => `wrong password ${i}`);
    const answers = await Promise.all(guesses.map((p) => login(p)));
    expectOnlyRefusals(answers);
    const compared = vi.mocked(passwords.verifyPassword).mock.calls.length;
    expect(compared).toBeGreaterThan(0);
    expect(compared).toBeLessThanOrEqual(10);

    const lockedAt = t.clock.now();
    const right = await login(PASSWORD);
    expectLocked(right);
    expect(right.headers['Retry-After']).toBe('900');
    t.clock.current = lockedAt + LOCK_MS - 1;
    expectLocked(await login(PASSWORD));
    t.clock.current = lockedAt + LOCK_MS;
    expect((await login(PASSWORD)).status).toBe(200);
    expect(vi.mocked(passwords.verifyPassword).mock.calls.length).toBe(compared + 1);
  });

  for (const channel of ['email', 'sms'] as const) {
    it(`${channel} OTP: at most 5 compared per code and 10 per channel; then even a right new code is locked out for exactly 15 minutes`, async () => {
      await sendOtp(channel);
      const first = lastCode(t.outbox, destination(channel));
      expectOnlyRefusals(await Promise.all(wrongCodes(first).map((c) => otpLogin(channel, c))));
      expect(comparedCodes()).toBeGreaterThan(0);
      expect(comparedCodes()).toBeLessThanOrEqual(5);
      expectLocked(await otpLogin(channel, first)); // the code took its five wrong tries

      t.clock.advanceSeconds(30);
      expect((await sendOtp(channel)).status).toBe(200);
      const second = lastCode(t.outbox, destination(channel));
      expectOnlyRefusals(await Promise.all(wrongCodes([first, second], FOLLOW_UP_GUESSES).map((c) => otpLogin(channel, c))));
      expect(comparedCodes()).toBeLessThanOrEqual(10);
      const lockedAt = t.clock.now();

      t.clock.current = lockedAt + LOCK_MS - 2 * MINUTE;
      expect((await sendOtp(channel)).status).toBe(200);
      const fresh = lastCode(t.outbox, destination(channel));
      const refused = await otpLogin(channel, fresh);
      expectLocked(refused);
      expect(refused.headers['Retry-After']).toBe('120');
      t.clock.current = lockedAt + LOCK_MS - 1;
      expectLocked(await otpLogin(channel, fresh));
      t.clock.current = lockedAt + LOCK_MS;
      expect((await otpLogin(channel, fresh)).status).toBe(200);
    });
  }

  it('TOTP: at most 10 are compared, then even the right code is locked out for exactly 15 minutes', async () => {
    const secret = await registerTotp();
    const answers = await Promise.all(wrongCodes(totpWindow(secret)).map((c) => totpLogin(c)));
    expectOnlyRefusals(answers);
    expect(comparedCodes()).toBeGreaterThan(0);
    expect(comparedCodes()).toBeLessThanOrEqual(10);

    const lockedAt = t.clock.now();
    const right = await totpLogin(totpNow(secret));
    expectLocked(right);
    expect(right.headers['Retry-After']).toBe('900');
    t.clock.current = lockedAt + LOCK_MS - 1;
    expectLocked(await totpLogin(totpNow(secret)));
    t.clock.current = lockedAt + LOCK_MS;
    expect((await totpLogin(totpNow(secret))).status).toBe(200);
  });

  for (const channel of ['email', 'sms'] as const) {
    it(`${channel} verification: at most 5 compared, then the right code is locked out until a new one is sent`, async () => {
      const { send, verify } = verification[channel];
      expect((await send()).status).toBe(200);
      const code = lastCode(t.outbox, destination(channel));
      expectOnlyRefusals(await Promise.all(wrongCodes(code).map((c) => verify(c))));
      expect(comparedCodes()).toBeGreaterThan(0);
      expect(comparedCodes()).toBeLessThanOrEqual(5);
      expectLocked(await verify(code));
      t.clock.advance(5 * MINUTE - 1); // the code's whole life
      expectLocked(await verify(code));

      expect((await send()).status).toBe(200);
      expect((await verify(lastCode(t.outbox, destination(channel)))).status).toBe(200);
    });
  }

  it('verification and login codes share one channel budget: 10 failures across them lock both', async () => {
    expect((await verification.email.send()).status).toBe(200);
    const verifyCode = lastCode(t.outbox, EMAIL);
    expectOnlyRefusals(await Promise.all(wrongCodes(verifyCode, FOLLOW_UP_GUESSES).map((c) => verification.email.verify(c))));
    t.clock.advanceSeconds(30);
    await sendOtp('email');
    const loginCode = lastCode(t.outbox, EMAIL);
    expectOnlyRefusals(await Promise.all(wrongCodes([verifyCode, loginCode], FOLLOW_UP_GUESSES).map((c) => otpLogin('email', c))));
    expect(comparedCodes()).toBeLessThanOrEqual(10);
    t.clock.advanceSeconds(30);
    await sendOtp('email');
    expectLocked(await otpLogin('email', lastCode(t.outbox, EMAIL)));
  });
});

// ---- many parallel uses of one right secret -------------------------------------

describe('50 parallel uses of one right secret', { timeout: 60_000 }, () => {
  function expectExactlyOneSuccess(answers: Answer[]): void {
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const a of answers.filter((a) => a.status !== 200)) {
      expect(a.status).toBeLessThan(500);
      expect(['auth_invalid_credentials', 'auth_locked', 'invalid_magic_link_code']).toContain(a.body.error_code);
    }
  }

  it('one OTP logs in once', async () => {
    await sendOtp('sms');
    const code = lastCode(t.outbox, PHONE);
    slowSigning(t.deps);
    expectExactlyOneSuccess(await Promise.all(Array.from({ length: PARALLEL_USES }, () => otpLogin('sms', code))));
  });

  it('one magic link logs in once', async () => {
    const code = await sendLink();
    slowSigning(t.deps);
    expectExactlyOneSuccess(await Promise.all(Array.from({ length: PARALLEL_USES }, () => invoke(linkAuthenticate, { token, body: { code } }))));
  });

  it('one TOTP code logs in once', async () => {
    const secret = await registerTotp();
    const code = totpNow(secret);
    slowSigning(t.deps);
    expectExactlyOneSuccess(await Promise.all(Array.from({ length: PARALLEL_USES }, () => totpLogin(code))));
  });

  it('a burst of right-code double submits does not lock the user out', async () => {
    await sendOtp('email');
    const code = lastCode(t.outbox, EMAIL);
    await Promise.all(Array.from({ length: PARALLEL_USES }, () => otpLogin('email', code)));
    for (let i = 0; i < 3; i++) {
      t.clock.advanceSeconds(30);
      await sendOtp('email');
      expect((await otpLogin('email', lastCode(t.outbox, EMAIL))).status).toBe(200);
    }
  });
});

describe('parallel factors added to one session', () => {
  it('none is lost: every authentication is recorded, and the ID token lists every method', async () => {
    const secret = await registerTotp();
    const first = await login(PASSWORD);
    expect(first.status).toBe(200);
    const session_id = first.body.session_id as string;
    await sendOtp('email');
    const emailCode = lastCode(t.outbox, EMAIL);
    await sendOtp('sms');
    const smsCode = lastCode(t.outbox, PHONE);
    const links: string[] = [];
    for (let i = 0; i < 3; i++) {
      t.clock.advanceSeconds(30);
      links.push(await sendLink());
    }
    slowSigning(t.deps);
    const answers = await Promise.all([
      otpLogin('email', emailCode, { session_id }),
      otpLogin('sms', smsCode, { session_id }),
      totpLogin(totpNow(secret), { session_id }),
      login(PASSWORD, { session_id }),
      ...links.map((code) => invoke(linkAuthenticate, { token, body: { code, session_id } })),
    ]);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    const session = (await t.store.get<SessionRecord>(keys.session(session_id)))!.value;
    expect(session.authentications.map((a) => a.method).sort()).toEqual(['eml', 'eml', 'eml', 'eotp', 'otp', 'pwd', 'pwd', 'sms']);
    const now = await invoke(sessionAuthenticate, { token, body: { session_id } });
    expect((await idTokenClaims(t.deps, now.body.id_token, client.client_id)).amr).toEqual(['pwd', 'eotp', 'eml', 'sms', 'otp', 'mfa']);
  });
});

describe('an outage after a right guess', () => {
  it('gives the counted attempts back: a right secret retried through a signing outage still works afterwards', async () => {
    const secret = await registerTotp();
    await sendOtp('sms');
    const code = lastCode(t.outbox, PHONE);
    const signer = t.deps.signer;
    t.deps.signer = { ...signer, currentKeyId: () => signer.currentKeyId(), publicKeys: () => signer.publicKeys(), sign: async () => Promise.reject(new DependencyError('kms')) };
    // One more try than each limit allows (5 per code, 10 for TOTP and passwords).
    for (let i = 0; i < 11; i++) {
      const answers = await Promise.all([...(i < 6 ? [otpLogin('sms', code)] : []), totpLogin(totpNow(secret)), login(PASSWORD)]);
      for (const res of answers) expect(res.status).toBe(503);
    }
    t.deps.signer = signer;
    expect((await otpLogin('sms', code)).status).toBe(200);
    expect((await totpLogin(totpNow(secret))).status).toBe(200);
    expect((await login(PASSWORD)).status).toBe(200);
  });
});

// ---- time, taken to each boundary by the injected clock ---------------------------

describe('time boundaries', () => {
  it('an OTP works until 1 ms before its expiry and is expired from the instant on, even long after its record’s TTL', async () => {
    await sendOtp('email');
    const sentAt = t.clock.now();
    const code = lastCode(t.outbox, EMAIL);
    t.clock.current = sentAt + 5 * MINUTE;
    expect((await otpLogin('email', code)).body.error_code).toBe('auth_otp_passcode_expired');
    t.clock.current = sentAt + 3 * 24 * 60 * MINUTE; // the table's TTL has passed; dynalite, like a lagging TTL, still holds it
    expect((await t.store.get(keys.otp(ada.user_id, 'email')))).toBeDefined();
    const late = await invoke(otpAuthenticate, { token: (await createTestClient(t.deps)).token, body: { passcode: code, identifier_type: 'email', identifier: EMAIL } });
    expect(late.status).toBe(400);

    t.clock.current = sentAt;
    await sendOtp('sms');
    t.clock.current = sentAt + 5 * MINUTE - 1;
    expect((await otpLogin('sms', lastCode(t.outbox, PHONE))).status).toBe(200);
  });

  it('a locked code stays locked to its last millisecond, then is expired', async () => {
    await sendOtp('email');
    const sentAt = t.clock.now();
    const code = lastCode(t.outbox, EMAIL);
    for (const wrong of wrongCodes(code, 5)) await otpLogin('email', wrong);
    t.clock.current = sentAt + 5 * MINUTE - 1;
    expectLocked(await otpLogin('email', code));
    t.clock.current = sentAt + 5 * MINUTE;
    expect((await otpLogin('email', code)).body.error_code).toBe('auth_otp_passcode_expired');
  });

  it('failures 1 ms short of a 15-minute pause still count, and the channel lock ends exactly 15 minutes after the failure that set it', async () => {
    await sendOtp('sms');
    const first = lastCode(t.outbox, PHONE);
    for (const wrong of wrongCodes(first, 4)) await otpLogin('sms', wrong);
    const lastFailure = t.clock.now();
    // 1 ms short of a 15-minute pause, the four failures still count: six more lock.
    t.clock.current = lastFailure + LOCK_MS - 1;
    await sendOtp('sms');
    const second = lastCode(t.outbox, PHONE);
    const answers = [];
    for (const wrong of wrongCodes(second, 5)) answers.push((await otpLogin('sms', wrong)).body.error_code);
    t.clock.advanceSeconds(30);
    await sendOtp('sms');
    const third = lastCode(t.outbox, PHONE);
    answers.push((await otpLogin('sms', wrongCodes(third, 1)[0]!)).body.error_code);
    // Four plain failures, the code's fifth try (code locked), then the channel's tenth failure (channel locked).
    expect(answers).toEqual([...Array(4).fill('auth_invalid_credentials'), 'auth_locked', 'auth_locked']);
    const lockedAt = t.clock.now();
    t.clock.current = lockedAt + LOCK_MS - 2 * MINUTE;
    await sendOtp('sms');
    const fresh = lastCode(t.outbox, PHONE);
    t.clock.current = lockedAt + LOCK_MS - 1;
    expectLocked(await otpLogin('sms', fresh));
    t.clock.current = lockedAt + LOCK_MS;
    expect((await otpLogin('sms', fresh)).status).toBe(200);
  });

  it('a counter whose TTL has passed but which is still stored is judged by its times: the user is not locked out for ever', async () => {
    const guesses = Array.from({ length: 10 }, (_, i) => `wrong password ${i}`);
    for (const p of guesses) await login(p);
    expectLocked(await login(PASSWORD));
    t.clock.advance(40 * 24 * 60 * MINUTE); // past the counter's TTL; the item is still in the table
    const fresh = (await createTestClient(t.deps)).token;
    const res = await invoke(passwordAuthenticate, { token: fresh, body: { username: 'ada', password: PASSWORD } });
    expect(res.status).toBe(200);
  });
});
