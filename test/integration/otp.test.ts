import { beforeEach, describe, expect, it } from 'vitest';
import { keys, type ClientRecord, type SessionRecord, type UserRecord } from '../../functions/core/model.js';
import { openDelivery } from '../../functions/core/delivery.js';
import type { OtpRecord } from '../../functions/core/otp.js';
import { DependencyError } from '../../functions/errors.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { createTestClient, createTestDeps, idTokenClaims, invoke, lastCode, otherCode, type TestContext } from '../support/harness.js';
import { seedUser } from '../support/seed.js';
import { proxyStore, type StoreOp } from '../support/store-proxy.js';
import { kindOfKey } from '../../functions/access.js';

const EMAIL = 'ada@example.com';
const PHONE = '+15551234567';

let t: TestContext;
let client: ClientRecord;
let token: string;
let user: UserRecord;

const putUser = (fields: Partial<UserRecord> = {}) => seedUser(t.deps, fields);

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps));
  user = await putUser({ email: EMAIL, phone_number: PHONE, username: 'ada' });
});

const send = (body: Record<string, unknown>, as = token) => invoke(otpSend, { token: as, body });
const authenticate = (body: Record<string, unknown>, as = token) => invoke(otpAuthenticate, { token: as, body });

const sendEmail = (extra: Record<string, unknown> = {}) => send({ channel: 'email', identifier_type: 'email', identifier: EMAIL, ...extra });
const sendSms = (extra: Record<string, unknown> = {}) => send({ channel: 'sms', identifier_type: 'phone_number', identifier: PHONE, ...extra });
const byEmail = (passcode: string, extra: Record<string, unknown> = {}) => authenticate({ passcode, identifier_type: 'email', identifier: EMAIL, ...extra });
const byPhone = (passcode: string, extra: Record<string, unknown> = {}) => authenticate({ passcode, identifier_type: 'phone_number', identifier: PHONE, ...extra });



async function otpRecord(userId: string, channel: 'email' | 'sms'): Promise<OtpRecord | undefined> {
  return (await t.deps.store.get<OtpRecord>(keys.otp(userId, channel)))?.value;
}

async function storedUser(userId: string): Promise<UserRecord> {
  return (await t.deps.store.get<UserRecord>(keys.user(userId)))!.value;
}

const claimsOf = (idToken: string, audience = client.client_id) => idTokenClaims(t.deps, idToken, audience);

describe('sending a code by email', () => {
  it('mails a six-digit code to the user, and answers "OTP sent" only', async () => {
    const res = await sendEmail();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: 'OTP sent' });
    const messages = t.outbox.list();
    expect(messages).toHaveLength(1);
    const [mail] = messages;
    expect(mail).toMatchObject({ channel: 'email', to: EMAIL, subject: 'Your Twofold code' });
    expect(mail!.code).toMatch(/^\d{6}$/);
    expect(mail!.text).toContain(mail!.code);
    expect(mail!.html).toContain(mail!.code);
    expect(mail!.text).toContain('5 minutes');
  });

  it('escapes the caller’s email_content into the HTML, and keeps it plain in the text', async () => {
    await sendEmail({ email_content: { subject: 'Sign in to Shop', bodyText: '<script>alert(1)</script> Your code:', primaryColor: 'red;}</style><script>' } });
    const mail = t.outbox.last(EMAIL)!;
    expect(mail.subject).toBe('Sign in to Shop');
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; Your code:');
    expect(mail.html).not.toContain('<script>');
    expect(mail.text).toContain('<script>alert(1)</script> Your code:');
  });

  it('finds the user by username or user_id and mails their address', async () => {
    expect((await send({ channel: 'email', identifier_type: 'username', identifier: 'ADA' })).status).toBe(200);
    t.clock.advanceSeconds(30);
    expect((await send({ channel: 'email', identifier_type: 'user_id', identifier: user.user_id })).status).toBe(200);
    expect(t.outbox.list().map((m) => [m.channel, m.to])).toEqual([
      ['email', EMAIL],
      ['email', EMAIL],
    ]);
  });

  it('matches the email case-insensitively', async () => {
    await send({ channel: 'email', identifier_type: 'email', identifier: '  Ada@Example.COM ' });
    expect(t.outbox.last(EMAIL)?.code).toMatch(/^\d{6}$/);
  });

  it('stores only a keyed hash of the code', async () => {
    await sendEmail();
    const code = lastCode(t.outbox, EMAIL);
    const stored = await t.deps.store.get<OtpRecord>(keys.otp(user.user_id, 'email'));
    expect(JSON.stringify(stored)).not.toContain(code);
    expect(stored!.value.code).toMatchObject({ client_id: client.client_id, destination: EMAIL, purpose: 'login' });
  });
});

describe('sending a code by SMS', () => {
  it('texts the default message with the code to the user’s phone', async () => {
    const res = await sendSms();
    expect(res).toMatchObject({ status: 200, body: { message: 'OTP sent' } });
    const [sms] = t.outbox.list();
    expect(sms).toMatchObject({ channel: 'sms', to: PHONE });
    expect(sms!.text).toBe(`${sms!.code} is your Twofold verification code`);
  });

  it('uses a custom message with {otp} and {app} substituted', async () => {
    await sendSms({ custom_sms_input: { custom_message: 'Your {app} code: {otp}. Do not share it.' } });
    const sms = t.outbox.last(PHONE)!;
    expect(sms.text).toBe(`Your Twofold code: ${sms.code}. Do not share it.`);
  });

  it('refuses a custom message without {otp} or {app}, and sends nothing', async () => {
    for (const custom_message of ['Your code is ready for {app}', 'Your code: {otp}']) {
      const res = await sendSms({ custom_sms_input: { custom_message } });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('system_invalid_input');
      expect(res.body.message).not.toContain(custom_message);
    }
    expect(t.outbox.list()).toEqual([]);
  });

  it('refuses a custom message over 140 characters after substitution', async () => {
    const ok = '{otp} {app} ' + 'x'.repeat(140 - 6 - 1 - 7 - 1); // exactly 140 with a 6-digit code and "Twofold"
    const long = ok + 'x';
    const refused = await sendSms({ custom_sms_input: { custom_message: long } });
    expect(refused.status).toBe(400);
    expect(refused.body.error_code).toBe('system_invalid_input');
    expect(t.outbox.list()).toEqual([]);
    const accepted = await sendSms({ custom_sms_input: { custom_message: ok } });
    expect(accepted.status).toBe(200);
    expect(t.outbox.last(PHONE)!.text).toHaveLength(140);
  });

  it('refuses a custom message even for an unknown user (validation comes first)', async () => {
    const res = await send({ channel: 'sms', identifier_type: 'phone_number', identifier: '+15550000000', custom_sms_input: { custom_message: 'no placeholders' } });
    expect(res.body.error_code).toBe('system_invalid_input');
  });
});

describe('direct delivery', () => {
  it('is forbidden unless the client allows it', async () => {
    const res = await send({ channel: 'direct', identifier_type: 'email', identifier: EMAIL });
    expect(res.status).toBe(403);
    expect(res.body.error_code).toBe('forbidden');
    expect(await otpRecord(user.user_id, 'email')).toBeUndefined();
  });

  it('returns the code, sends nothing, and the code logs in by email (amr eotp)', async () => {
    const direct = await createTestClient(t.deps, { allow_direct_delivery: true });
    const res = await send({ channel: 'direct', identifier_type: 'email', identifier: EMAIL }, direct.token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: 'OTP sent', code: expect.stringMatching(/^\d{6}$/) });
    expect(t.outbox.list()).toEqual([]);
    const login = await authenticate({ passcode: res.body.code, identifier_type: 'email', identifier: EMAIL }, direct.token);
    expect(login.status).toBe(200);
    expect((await claimsOf(login.body.id_token, direct.client.client_id)).amr).toEqual(['eotp']);
  });

  it('with a phone number identifier, the code is an SMS code (amr sms)', async () => {
    const direct = await createTestClient(t.deps, { allow_direct_delivery: true });
    const res = await send({ channel: 'direct', identifier_type: 'phone_number', identifier: PHONE }, direct.token);
    expect(t.outbox.list()).toEqual([]);
    const login = await authenticate({ passcode: res.body.code, identifier_type: 'phone_number', identifier: PHONE }, direct.token);
    expect(login.status).toBe(200);
    expect((await claimsOf(login.body.id_token, direct.client.client_id)).amr).toEqual(['sms']);
  });

  it('needs an email or phone number identifier', async () => {
    const direct = await createTestClient(t.deps, { allow_direct_delivery: true });
    const res = await send({ channel: 'direct', identifier_type: 'username', identifier: 'ada' }, direct.token);
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('system_invalid_input');
    expect(res.body.message).toMatch(/identifier_type/);
  });

  it('for an unknown user returns a code too, which works nowhere', async () => {
    const direct = await createTestClient(t.deps, { allow_direct_delivery: true });
    const res = await send({ channel: 'direct', identifier_type: 'email', identifier: 'nobody@example.com' }, direct.token);
    expect(res.body).toEqual({ message: 'OTP sent', code: expect.stringMatching(/^\d{6}$/) });
    const login = await authenticate({ passcode: res.body.code, identifier_type: 'email', identifier: 'nobody@example.com' }, direct.token);
    expect(login.body.error_code).toBe('auth_invalid_credentials');
  });
});

describe('unknown users', () => {
  it('get the same answer as a known user, and nothing is sent or stored', async () => {
    const known = await sendEmail({ generate_request_id: true });
    const unknown = await send({ channel: 'email', identifier_type: 'email', identifier: 'nobody@example.com', generate_request_id: true });
    expect(unknown.status).toBe(known.status);
    expect(Object.keys(unknown.body).sort()).toEqual(Object.keys(known.body).sort());
    expect(unknown.body).toEqual({ message: 'OTP sent', request_id: expect.any(String) });
    expect(t.outbox.list('nobody@example.com')).toEqual([]);
    expect(t.outbox.list()).toHaveLength(1);
  });

  it('a user without a phone number is answered like an unknown user for SMS', async () => {
    const emailOnly = await putUser({ email: 'grace@example.com' });
    const res = await send({ channel: 'sms', identifier_type: 'email', identifier: 'grace@example.com' });
    expect(res).toMatchObject({ status: 200, body: { message: 'OTP sent' } });
    expect(t.outbox.list()).toEqual([]);
    expect(await otpRecord(emailOnly.user_id, 'sms')).toBeUndefined();
  });

  it('a disabled user is answered like an unknown user', async () => {
    await putUser({ email: 'off@example.com', status: 'Disabled' });
    const res = await send({ channel: 'email', identifier_type: 'email', identifier: 'off@example.com' });
    expect(res).toMatchObject({ status: 200, body: { message: 'OTP sent' } });
    expect(t.outbox.list()).toEqual([]);
  });

  it('are rate limited like known users', async () => {
    const unknown = { channel: 'email', identifier_type: 'email', identifier: 'nobody@example.com' };
    expect((await send(unknown)).status).toBe(200);
    const again = await send(unknown);
    expect(again.status).toBe(429);
    expect(again.body.error_code).toBe('rate_limited');
  });

  it('get 404 user_not_found when the client reveals unknown users', async () => {
    const revealing = await createTestClient(t.deps, { reveal_unknown_users: true });
    const res = await send({ channel: 'email', identifier_type: 'email', identifier: 'nobody@example.com' }, revealing.token);
    expect(res.status).toBe(404);
    expect(res.body.error_code).toBe('user_not_found');
    const known = await send({ channel: 'email', identifier_type: 'email', identifier: EMAIL }, revealing.token);
    expect(known.status).toBe(200);
  });

  it('authenticating as an unknown user is auth_invalid_credentials', async () => {
    const res = await authenticate({ passcode: '123456', identifier_type: 'email', identifier: 'nobody@example.com' });
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('auth_invalid_credentials');
  });
});

describe('send limits', () => {
  it('a second send within 30 s is refused with Retry-After, then allowed 30 s later', async () => {
    await sendEmail();
    t.clock.advanceSeconds(10);
    const refused = await sendEmail();
    expect(refused.status).toBe(429);
    expect(refused.body.error_code).toBe('rate_limited');
    expect(refused.headers['Retry-After']).toBe('20');
    expect(t.outbox.list()).toHaveLength(1);
    t.clock.advanceSeconds(20);
    expect((await sendEmail()).status).toBe(200);
    expect(t.outbox.list()).toHaveLength(2);
  });

  it('the sixth send within 15 minutes is refused', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await sendEmail()).status).toBe(200);
      t.clock.advanceSeconds(30);
    }
    const sixth = await sendEmail();
    expect(sixth.status).toBe(429);
    expect(sixth.body.error_code).toBe('rate_limited');
    expect(Number(sixth.headers['Retry-After'])).toBeGreaterThan(0);
    expect(t.outbox.list()).toHaveLength(5);
  });

  it('a refused send leaves the previous code working', async () => {
    await sendEmail();
    const first = lastCode(t.outbox, EMAIL);
    expect((await sendEmail()).status).toBe(429);
    expect((await byEmail(first)).status).toBe(200);
  });

  it("a send the destination's limit drops (the same user by another name) answers 200, sends nothing and leaves the previous code working", async () => {
    await sendSms();
    const first = lastCode(t.outbox, PHONE);
    const before = await t.deps.store.get<OtpRecord>(keys.otp(user.user_id, 'sms'));
    expect(await send({ channel: 'sms', identifier_type: 'username', identifier: 'ada' })).toMatchObject({ status: 200, body: { message: 'OTP sent' } });
    expect(t.outbox.list(PHONE)).toHaveLength(1);
    expect(await t.deps.store.get<OtpRecord>(keys.otp(user.user_id, 'sms'))).toEqual(before);
    expect((await byPhone(first)).status).toBe(200);
  });

  it("the destination's log is the user's channel: a number the client moves to another user starts afresh there", async () => {
    await sendSms();
    await t.deps.store.put(keys.user(user.user_id), { ...user, phone_number: undefined }, { expectVersion: 1 });
    await t.deps.store.delete(keys.phoneClaim(PHONE));
    const other = await putUser({ user_id: 'u-other', email: 'other@example.com', phone_number: PHONE });
    expect((await send({ channel: 'sms', identifier_type: 'user_id', identifier: other.user_id })).status).toBe(200);
    expect(t.outbox.list(PHONE)).toHaveLength(2);
  });
});

describe('authenticating with a code', () => {
  it('an email code logs in: ID token amr ["eotp"], the email becomes verified', async () => {
    await sendEmail();
    const res = await byEmail(lastCode(t.outbox, EMAIL));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, session_id: expect.any(String) });
    const claims = await claimsOf(res.body.id_token);
    expect(claims).toMatchObject({ sub: user.user_id, amr: ['eotp'], email: EMAIL, email_verified: true, phone_number_verified: false });
    const stored = await storedUser(user.user_id);
    expect(stored).toMatchObject({ email_verified: true, email_verified_at: t.clock.now(), phone_number_verified: false });
  });

  it('an SMS code logs in: ID token amr ["sms"], the phone number becomes verified', async () => {
    await sendSms();
    const res = await byPhone(lastCode(t.outbox, PHONE));
    expect(res.status).toBe(200);
    const claims = await claimsOf(res.body.id_token);
    expect(claims).toMatchObject({ amr: ['sms'], phone_number: PHONE, phone_number_verified: true, email_verified: false });
    expect(await storedUser(user.user_id)).toMatchObject({ phone_number_verified: true, phone_number_verified_at: t.clock.now(), email_verified: false });
  });

  it('a wrong code is auth_invalid_credentials', async () => {
    await sendEmail();
    const res = await byEmail(otherCode(lastCode(t.outbox, EMAIL)));
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('auth_invalid_credentials');
    expect((await t.deps.store.get(keys.otp(user.user_id, 'email')))?.guesses).toBe(1);
    expect((await t.deps.store.get(keys.otp(user.user_id, 'email')))?.attempts?.count).toBe(1);
  });

  it('without any code sent, any passcode is auth_invalid_credentials', async () => {
    const res = await byEmail('123456');
    expect(res.body.error_code).toBe('auth_invalid_credentials');
  });

  it('a code works once', async () => {
    await sendEmail();
    const code = lastCode(t.outbox, EMAIL);
    expect((await byEmail(code)).status).toBe(200);
    const again = await byEmail(code);
    expect(again.status).toBe(400);
    expect(again.body.error_code).toBe('auth_invalid_credentials');
  });

  it('of two concurrent logins with the right code, exactly one succeeds', async () => {
    await sendSms();
    const code = lastCode(t.outbox, PHONE);
    const results = await Promise.all([byPhone(code), byPhone(code), byPhone(code)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 400, 400]);
    for (const r of results.filter((r) => r.status === 400)) expect(r.body.error_code).toBe('auth_invalid_credentials');
    expect((await otpRecord(user.user_id, 'sms'))!.code!.used_at).toBe(t.clock.now());
  });

  it('a code expires after 5 minutes by default', async () => {
    await sendEmail();
    t.clock.advance(5 * 60_000 - 1000);
    expect((await byEmail(lastCode(t.outbox, EMAIL))).status).toBe(200);

    await sendEmail();
    t.clock.advance(5 * 60_000);
    const expired = await byEmail(lastCode(t.outbox, EMAIL));
    expect(expired.status).toBe(400);
    expect(expired.body.error_code).toBe('auth_otp_passcode_expired');
  });

  it('expires_in sets the lifetime in minutes, at most 10', async () => {
    await sendSms({ expires_in: 10 });
    expect(t.outbox.last(PHONE)).toBeDefined();
    t.clock.advance(10 * 60_000 - 1000);
    expect((await byPhone(lastCode(t.outbox, PHONE))).status).toBe(200);

    await sendSms({ expires_in: 2 });
    t.clock.advance(2 * 60_000);
    expect((await byPhone(lastCode(t.outbox, PHONE))).body.error_code).toBe('auth_otp_passcode_expired');

    const tooLong = await sendSms({ expires_in: 11 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error_code).toBe('system_invalid_input');
  });

  it('the email mentions the lifetime asked for', async () => {
    await sendEmail({ expires_in: 7 });
    expect(t.outbox.last(EMAIL)!.text).toContain('7 minutes');
  });

  it('a resend replaces the code: the old one is refused, the new one works', async () => {
    await sendEmail();
    const old = lastCode(t.outbox, EMAIL);
    const stored = (await otpRecord(user.user_id, 'email'))!;
    t.clock.advanceSeconds(30);
    await sendEmail();
    const fresh = lastCode(t.outbox, EMAIL);
    expect(stored.code!.id).not.toBe((await otpRecord(user.user_id, 'email'))!.code!.id);
    // The two codes are equal once in a million sends; then only the new one is left to try.
    if (fresh !== old) expect((await byEmail(old)).body.error_code).toBe('auth_invalid_credentials');
    expect((await byEmail(fresh)).status).toBe(200);
  });

  it('five wrong tries lock the code, even for the right code; a new code works', async () => {
    await sendEmail();
    const code = lastCode(t.outbox, EMAIL);
    const answers: string[] = [];
    for (let i = 0; i < 5; i++) answers.push((await byEmail(otherCode(code))).body.error_code);
    expect(answers).toEqual(['auth_invalid_credentials', 'auth_invalid_credentials', 'auth_invalid_credentials', 'auth_invalid_credentials', 'auth_locked']);
    const right = await byEmail(code);
    expect(right.status).toBe(403);
    expect(right.body.error_code).toBe('auth_locked');

    t.clock.advanceSeconds(30);
    await sendEmail();
    expect((await byEmail(lastCode(t.outbox, EMAIL))).status).toBe(200);
  });

  it('ten failures in 15 minutes lock the channel for 15 minutes, across resends', async () => {
    const failOn = async (n: number) => {
      const code = lastCode(t.outbox, PHONE);
      const answers: Array<{ status: number; code: string; retry?: string }> = [];
      for (let i = 0; i < n; i++) {
        const res = await byPhone(otherCode(code));
        answers.push({ status: res.status, code: res.body.error_code, retry: res.headers['Retry-After'] });
      }
      return answers;
    };
    await sendSms();
    await failOn(4);
    t.clock.advanceSeconds(30);
    await sendSms();
    await failOn(4);
    t.clock.advanceSeconds(30);
    await sendSms();
    const last = await failOn(2);
    expect(last[0]).toMatchObject({ status: 400, code: 'auth_invalid_credentials' });
    expect(last[1]).toEqual({ status: 403, code: 'auth_locked', retry: '900' });

    // A resend does not lift the lock: even the right new code is refused.
    t.clock.advanceSeconds(60);
    expect((await sendSms()).status).toBe(200);
    const locked = await byPhone(lastCode(t.outbox, PHONE));
    expect(locked.status).toBe(403);
    expect(locked.body.error_code).toBe('auth_locked');
    expect(locked.headers['Retry-After']).toBe('840');

    // The email channel is not locked.
    await sendEmail();
    expect((await byEmail(lastCode(t.outbox, EMAIL))).status).toBe(200);

    // After the lock, a new code works.
    t.clock.advance(15 * 60_000);
    await sendSms();
    expect((await byPhone(lastCode(t.outbox, PHONE))).status).toBe(200);
  });

  it('a code sent for one client does not work for another, and the other client’s tries do not count', async () => {
    const other = await createTestClient(t.deps);
    await sendEmail();
    const code = lastCode(t.outbox, EMAIL);
    for (const passcode of [otherCode(code), code]) {
      const elsewhere = await authenticate({ passcode, identifier_type: 'email', identifier: EMAIL }, other.token);
      expect(elsewhere.status).toBe(400);
      expect(elsewhere.body.error_code).toBe('auth_invalid_credentials');
    }
    expect((await t.deps.store.get(keys.otp(user.user_id, 'email')))?.guesses).toBeUndefined();
    expect((await t.deps.store.get(keys.otp(user.user_id, 'email')))?.attempts).toBeUndefined();
    expect((await byEmail(code)).status).toBe(200);
  });

  it('a code no longer works once the contact it went to has changed', async () => {
    await send({ channel: 'email', identifier_type: 'user_id', identifier: user.user_id });
    const code = lastCode(t.outbox, EMAIL);
    const current = await t.deps.store.get<UserRecord>(keys.user(user.user_id));
    await t.deps.store.put(keys.user(user.user_id), { ...current!.value, email: 'new@example.com' }, { expectVersion: current!.version });
    const res = await authenticate({ passcode: code, identifier_type: 'user_id', identifier: user.user_id });
    expect(res.body.error_code).toBe('auth_invalid_credentials');
  });
});

describe('request ids', () => {
  it('generate_request_id returns an id that authenticate must match', async () => {
    const sent = await sendSms({ generate_request_id: true });
    expect(sent.body).toEqual({ message: 'OTP sent', request_id: expect.any(String) });
    expect((await otpRecord(user.user_id, 'sms'))!.code!.request_id).toBe(sent.body.request_id);
    const code = lastCode(t.outbox, PHONE);
    const mismatch = await byPhone(code, { request_id: 'not-the-request' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.error_code).toBe('auth_invalid_credentials');
    expect((await byPhone(code, { request_id: sent.body.request_id })).status).toBe(200);
  });

  it('with a user_id, the request_id picks the channel of the code', async () => {
    const bySms = await sendSms({ generate_request_id: true });
    const smsCode = lastCode(t.outbox, PHONE);
    await sendEmail();
    const res = await authenticate({ passcode: smsCode, identifier_type: 'user_id', identifier: user.user_id, request_id: bySms.body.request_id });
    expect(res.status).toBe(200);
    expect((await claimsOf(res.body.id_token)).amr).toEqual(['sms']);
  });

  it('with a username and no request_id, the most recently sent code is used', async () => {
    await sendSms();
    t.clock.advanceSeconds(5);
    await sendEmail();
    const res = await authenticate({ passcode: lastCode(t.outbox, EMAIL), identifier_type: 'username', identifier: 'ada' });
    expect(res.status).toBe(200);
    expect((await claimsOf(res.body.id_token)).amr).toEqual(['eotp']);
  });
});

describe('enqueue failures', () => {
  it('a failed enqueue is 503 with Retry-After, and no usable code is left stored', async () => {
    t.queue.failing = true;
    const res = await sendEmail();
    expect(res.status).toBe(503);
    expect(res.body.error_code).toBe('service_unavailable');
    expect(res.headers['Retry-After']).toBeDefined();
    const stored = await otpRecord(user.user_id, 'email');
    expect(stored).toBeDefined();
    expect(stored!.code).toBeUndefined();
  });

  it('the code of an enqueue that failed (it may have reached the queue) cannot be used', async () => {
    let leaked: string | undefined;
    t.deps.queue = {
      enqueue: async (body) => {
        leaked = (openDelivery(t.deps, body).message as { code?: string }).code;
        throw new DependencyError('sqs');
      },
    };
    const res = await sendSms();
    expect(res.status).toBe(503);
    expect(leaked).toMatch(/^\d{6}$/);
    const login = await byPhone(leaked!);
    expect(login.status).toBe(400);
    expect(login.body.error_code).toBe('auth_invalid_credentials');
  });

  it('the failure window survives a failed enqueue', async () => {
    await sendSms();
    await byPhone(otherCode(lastCode(t.outbox, PHONE)));
    t.queue.failing = true;
    t.clock.advanceSeconds(30);
    expect((await sendSms()).status).toBe(503);
    expect((await t.deps.store.get(keys.otp(user.user_id, 'sms')))?.attempts?.count).toBe(1);
  });
});

describe('sessions and MFA', () => {
  it('an email OTP then an SMS OTP in the same session gives amr eotp, sms and mfa', async () => {
    await sendEmail();
    const first = await byEmail(lastCode(t.outbox, EMAIL));
    expect((await claimsOf(first.body.id_token)).amr).toEqual(['eotp']);
    await sendSms();
    const second = await byPhone(lastCode(t.outbox, PHONE), { session_id: first.body.session_id });
    expect(second.status).toBe(200);
    expect(second.body.session_id).toBe(first.body.session_id);
    const claims = await claimsOf(second.body.id_token);
    expect(claims).toMatchObject({ sid: first.body.session_id, amr: ['eotp', 'sms', 'mfa'], email_verified: true, phone_number_verified: true });
  });

  it('a second email OTP in the same session is still a single factor', async () => {
    await sendEmail();
    const first = await byEmail(lastCode(t.outbox, EMAIL));
    t.clock.advanceSeconds(30);
    await sendEmail();
    const second = await byEmail(lastCode(t.outbox, EMAIL), { session_id: first.body.session_id });
    expect(second.status).toBe(200);
    expect((await claimsOf(second.body.id_token)).amr).toEqual(['eotp']);
    const session = (await t.deps.store.get<SessionRecord>(keys.session(first.body.session_id)))!.value;
    expect(session.authentications.map((a) => a.method)).toEqual(['eotp', 'eotp']);
  });

  it('adding to a session that does not exist is session_not_found, and the code stays unused', async () => {
    await sendEmail();
    const code = lastCode(t.outbox, EMAIL);
    const res = await byEmail(code, { session_id: 'no-such-session' });
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('session_not_found');
    expect((await byEmail(code)).status).toBe(200);
  });

  /** Runs `action` with every store call recorded as `op kind`, a getMany as one entry naming its kinds; the client record (cached) left out. */
  async function storeCalls(action: () => Promise<unknown>): Promise<string[]> {
    const calls: string[] = [];
    const store = t.deps.store;
    let batch: string[] = [];
    t.deps.store = proxyStore(store, (op: StoreOp, key: string) => {
      if (op === 'getMany') batch.push(kindOfKey(key) ?? key);
      else if (kindOfKey(key) !== 'client') calls.push(`${op} ${kindOfKey(key) ?? key}`);
    });
    const getMany = t.deps.store.getMany;
    t.deps.store.getMany = async (keys) => {
      batch = [];
      try {
        return await getMany(keys);
      } finally {
        calls.push(`getMany ${batch.join(' + ')}`);
      }
    };
    try {
      await action();
    } finally {
      t.deps.store = store;
    }
    return calls;
  }

  it("reads the claim, the session a login joins and the session's user in one request, and none of them again", async () => {
    await sendEmail();
    const first = await byEmail(lastCode(t.outbox, EMAIL));
    await sendSms();
    const code = lastCode(t.outbox, PHONE);
    let res: Awaited<ReturnType<typeof byPhone>> | undefined;
    const calls = await storeCalls(async () => (res = await byPhone(code, { session_id: first.body.session_id })));
    expect(res!.status).toBe(200);
    expect(calls[0]).toBe('getMany phoneClaim + session + user');
    expect(calls.slice(1).filter((call) => call.startsWith('get'))).toEqual([]);
    expect(calls).toContain('put session');
  });

  it('by user_id, reads the user and the session in one request', async () => {
    await sendEmail();
    const first = await byEmail(lastCode(t.outbox, EMAIL));
    t.clock.advanceSeconds(30);
    await sendEmail();
    const code = lastCode(t.outbox, EMAIL);
    let res: Awaited<ReturnType<typeof authenticate>> | undefined;
    const calls = await storeCalls(
      async () => (res = await authenticate({ passcode: code, identifier_type: 'user_id', identifier: user.user_id, channel: 'email', session_id: first.body.session_id })),
    );
    expect(res!.status, JSON.stringify(res!.body)).toBe(200);
    expect(calls[0]).toBe('getMany user + session');
    expect(calls.filter((call) => call === 'get user' || call === 'get session')).toEqual([]);
  });

  it('an unknown identifier with a session makes the same first request as a known one, and is session_user_mismatch as another user is', async () => {
    await sendEmail();
    const ada = await byEmail(lastCode(t.outbox, EMAIL));
    await putUser({ email: 'grace@example.com' });
    const answers: unknown[] = [];
    const firsts: string[] = [];
    for (const identifier of ['grace@example.com', 'nobody@example.com']) {
      const calls = await storeCalls(async () => {
        const res = await authenticate({ passcode: '123456', identifier_type: 'email', identifier, session_id: ada.body.session_id });
        answers.push([res.status, res.body.error_code]);
      });
      firsts.push(calls[0]!);
      // Refused on the session, before any guess is counted.
      expect(calls.filter((call) => call.startsWith('countGuess') || call.startsWith('put'))).toEqual([]);
    }
    expect(answers).toEqual([
      [403, 'session_user_mismatch'],
      [403, 'session_user_mismatch'],
    ]);
    expect(firsts).toEqual(['getMany emailClaim + session + user', 'getMany emailClaim + session + user']);
  });

  it("a session id names its user, but proves nothing: another user's id or another random part is session_not_found", async () => {
    const grace = await putUser({ email: 'grace@example.com' });
    await sendEmail();
    const ada = await byEmail(lastCode(t.outbox, EMAIL));
    const sessionId: string = ada.body.session_id;
    expect(sessionId.startsWith(`${user.user_id}~`)).toBe(true);
    await sendSms();
    const code = lastCode(t.outbox, PHONE);
    const random = sessionId.slice(sessionId.indexOf('~') + 1);
    for (const forged of [`${grace.user_id}~${random}`, `${user.user_id}~${random.slice(1)}A`, random]) {
      const res = await byPhone(code, { session_id: forged });
      expect([res.status, res.body.error_code]).toEqual([400, 'session_not_found']);
    }
    // None of those counted a guess: the right code still joins the real session.
    const res = await byPhone(code, { session_id: sessionId });
    expect(res.status).toBe(200);
    expect((await claimsOf(res.body.id_token)).amr).toEqual(expect.arrayContaining(['eotp', 'sms', 'mfa']));
  });

  it('a session whose id names no user (created before ids did) is joined as before, reading its user apart', async () => {
    await sendEmail();
    const ada = await byEmail(lastCode(t.outbox, EMAIL));
    const stored = (await t.deps.store.get<SessionRecord>(keys.session(ada.body.session_id)))!;
    const plainId = 'Q2xhc3NpY1Nlc3Npb25JZDEy';
    await t.deps.store.put(keys.session(plainId), { ...stored.value, session_id: plainId }, { expectVersion: null });
    await sendSms();
    const code = lastCode(t.outbox, PHONE);
    let res: Awaited<ReturnType<typeof byPhone>> | undefined;
    const calls = await storeCalls(async () => (res = await byPhone(code, { session_id: plainId })));
    expect(res!.status, JSON.stringify(res!.body)).toBe(200);
    expect(res!.body.session_id).toBe(plainId);
    expect(calls[0]).toBe('getMany phoneClaim + session');
    expect(calls[1]).toBe('get user');
  });

  it('adding another user’s OTP to a session is session_user_mismatch, and the code stays unused', async () => {
    const grace = await putUser({ email: 'grace@example.com' });
    await sendEmail();
    const ada = await byEmail(lastCode(t.outbox, EMAIL));
    await send({ channel: 'email', identifier_type: 'email', identifier: 'grace@example.com' });
    const code = lastCode(t.outbox, 'grace@example.com');
    const res = await authenticate({ passcode: code, identifier_type: 'email', identifier: 'grace@example.com', session_id: ada.body.session_id });
    expect(res.status).toBe(403);
    expect(res.body.error_code).toBe('session_user_mismatch');
    expect((await otpRecord(grace.user_id, 'email'))!.code!.used_at).toBeUndefined();
  });
});

describe('secrets', () => {
  it('codes never appear in logs', async () => {
    await sendEmail();
    const emailCode = lastCode(t.outbox, EMAIL);
    await byEmail(otherCode(emailCode));
    await byEmail(emailCode);
    await sendSms();
    await byPhone(lastCode(t.outbox, PHONE));
    const log = t.logLines.join('\n');
    expect(t.logLines.length).toBeGreaterThan(0);
    // Standalone occurrences only: a UUID or timestamp in a log line may contain six digits by chance.
    const standalone = (code: string) => new RegExp(`(?<![0-9A-Za-z_-])${code}(?![0-9A-Za-z_-])`);
    for (const code of [emailCode, lastCode(t.outbox, PHONE), otherCode(emailCode)]) expect(log).not.toMatch(standalone(code));
  });
});
