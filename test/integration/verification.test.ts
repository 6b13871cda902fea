import { beforeEach, describe, expect, it } from 'vitest';
import { keys, type UserRecord } from '../../functions/core/model.js';
import type { OtpRecord } from '../../functions/core/otp.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as emailSend } from '../../functions/handlers/users-email-verification-send.js';
import { handler as emailVerify } from '../../functions/handlers/users-email-verification-verify.js';
import { handler as phoneSend } from '../../functions/handlers/users-phone-verification-send.js';
import { handler as phoneVerify } from '../../functions/handlers/users-phone-verification-verify.js';
import { createTestClient, createTestDeps, invoke, lastCode, otherCode, type TestContext } from '../support/harness.js';
import { seedUser } from '../support/seed.js';

const EMAIL = 'ada@example.com';
const PHONE = '+15551234567';

let t: TestContext;
let token: string;
let user: UserRecord;

const putUser = (fields: Partial<UserRecord> = {}) => seedUser(t.deps, fields);

beforeEach(async () => {
  t = await createTestDeps();
  ({ token } = await createTestClient(t.deps));
  user = await putUser({ email: EMAIL, phone_number: PHONE });
});

const params = () => ({ user_id: user.user_id });
const sendEmailCode = (email = EMAIL, as = token) => invoke(emailSend, { token: as, params: params(), body: { email } });
const verifyEmail = (passcode: string, email = EMAIL, as = token) => invoke(emailVerify, { token: as, params: params(), body: { email, passcode } });
const sendPhoneCode = (phone_number = PHONE) => invoke(phoneSend, { token, params: params(), body: { phone_number } });
const verifyPhone = (passcode: string, phone_number = PHONE) => invoke(phoneVerify, { token, params: params(), body: { phone_number, passcode } });



async function storedUser(): Promise<UserRecord> {
  return (await t.deps.store.get<UserRecord>(keys.user(user.user_id)))!.value;
}

async function otpRecord(channel: 'email' | 'sms'): Promise<OtpRecord | undefined> {
  return (await t.deps.store.get<OtpRecord>(keys.otp(user.user_id, channel)))?.value;
}

describe('email verification', () => {
  it('sends a code to the user’s email; the code verifies it, with no session or tokens', async () => {
    const sent = await sendEmailCode();
    expect(sent).toMatchObject({ status: 200, body: { result: true } });
    const mail = t.outbox.last(EMAIL)!;
    expect(mail).toMatchObject({ channel: 'email', to: EMAIL, subject: 'Verify your email address for Twofold' });
    expect(mail.text).toContain(mail.code);

    const verified = await verifyEmail(mail.code!);
    expect(verified.status).toBe(200);
    expect(verified.body).toEqual({ result: true });
    expect(await storedUser()).toMatchObject({ email_verified: true, email_verified_at: t.clock.now(), phone_number_verified: false });
  });

  it('matches the email case-insensitively', async () => {
    expect((await sendEmailCode('ADA@Example.com')).status).toBe(200);
    expect((await verifyEmail(lastCode(t.outbox, EMAIL), ' Ada@example.COM')).status).toBe(200);
  });

  it('refuses an email that is not the user’s current one (contact_mismatch), and sends nothing', async () => {
    const res = await sendEmailCode('other@example.com');
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('contact_mismatch');
    expect(res.body.message).not.toContain('other@example.com');
    expect(t.outbox.list()).toEqual([]);

    await sendEmailCode();
    const verify = await verifyEmail(lastCode(t.outbox, EMAIL), 'other@example.com');
    expect(verify.status).toBe(400);
    expect(verify.body.error_code).toBe('contact_mismatch');
    expect((await storedUser()).email_verified).toBe(false);
  });

  it('an unknown user is 404 user_not_found', async () => {
    const res = await invoke(emailSend, { token, params: { user_id: 'no-such-user' }, body: { email: EMAIL } });
    expect(res.status).toBe(404);
    expect(res.body.error_code).toBe('user_not_found');
    const verify = await invoke(emailVerify, { token, params: { user_id: 'no-such-user' }, body: { email: EMAIL, passcode: '123456' } });
    expect(verify.body.error_code).toBe('user_not_found');
  });

  it('a user without an email gets contact_mismatch', async () => {
    user = await putUser({ phone_number: '+15557654321' });
    const res = await sendEmailCode();
    expect(res.body.error_code).toBe('contact_mismatch');
  });

  it('is rate limited like any send: 429 with Retry-After within 30 s', async () => {
    await sendEmailCode();
    const again = await sendEmailCode();
    expect(again.status).toBe(429);
    expect(again.body.error_code).toBe('rate_limited');
    expect(again.headers['Retry-After']).toBe('30');
    expect(t.outbox.list()).toHaveLength(1);
    t.clock.advanceSeconds(30);
    expect((await sendEmailCode()).status).toBe(200);
  });

  it('a wrong code is auth_invalid_credentials and leaves the email unverified', async () => {
    await sendEmailCode();
    const res = await verifyEmail(otherCode(lastCode(t.outbox, EMAIL)));
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('auth_invalid_credentials');
    expect((await storedUser()).email_verified).toBe(false);
  });

  it('an expired code is auth_otp_passcode_expired', async () => {
    await sendEmailCode();
    t.clock.advance(5 * 60_000);
    const res = await verifyEmail(lastCode(t.outbox, EMAIL));
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('auth_otp_passcode_expired');
  });

  it('a code verifies once', async () => {
    await sendEmailCode();
    const code = lastCode(t.outbox, EMAIL);
    expect((await verifyEmail(code)).status).toBe(200);
    expect((await verifyEmail(code)).body.error_code).toBe('auth_invalid_credentials');
  });

  it('five wrong tries lock the code, even for the right code', async () => {
    await sendEmailCode();
    const code = lastCode(t.outbox, EMAIL);
    const answers: string[] = [];
    for (let i = 0; i < 5; i++) answers.push((await verifyEmail(otherCode(code))).body.error_code);
    expect(answers.at(-1)).toBe('auth_locked');
    const right = await verifyEmail(code);
    expect(right.status).toBe(403);
    expect(right.body.error_code).toBe('auth_locked');
  });

  it('a code sent for one client does not verify for another', async () => {
    const other = await createTestClient(t.deps);
    await sendEmailCode();
    const res = await verifyEmail(lastCode(t.outbox, EMAIL), EMAIL, other.token);
    expect(res.body.error_code).toBe('auth_invalid_credentials');
    expect((await verifyEmail(lastCode(t.outbox, EMAIL))).status).toBe(200);
  });

  it('a failed enqueue is 503 and leaves no usable code', async () => {
    t.queue.failing = true;
    const res = await sendEmailCode();
    expect(res.status).toBe(503);
    expect(res.body.error_code).toBe('service_unavailable');
    expect((await otpRecord('email'))!.code).toBeUndefined();
  });
});

describe('phone verification', () => {
  it('texts a code to the user’s phone; the code verifies it', async () => {
    const sent = await sendPhoneCode();
    expect(sent).toMatchObject({ status: 200, body: { result: true } });
    const sms = t.outbox.last(PHONE)!;
    expect(sms).toMatchObject({ channel: 'sms', to: PHONE, text: `${sms.code} is your Twofold verification code` });
    expect(await verifyPhone(sms.code!)).toMatchObject({ status: 200, body: { result: true } });
    expect(await storedUser()).toMatchObject({ phone_number_verified: true, phone_number_verified_at: t.clock.now(), email_verified: false });
  });

  it('refuses a phone number that is not the user’s (contact_mismatch)', async () => {
    const res = await sendPhoneCode('+15550000000');
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('contact_mismatch');
    expect(t.outbox.list()).toEqual([]);
  });

  it('refuses a malformed phone number as invalid input', async () => {
    const res = await sendPhoneCode('555-1234');
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('system_invalid_input');
  });

  it('a wrong code is auth_invalid_credentials, an expired one auth_otp_passcode_expired', async () => {
    await sendPhoneCode();
    const code = lastCode(t.outbox, PHONE);
    expect((await verifyPhone(otherCode(code))).body.error_code).toBe('auth_invalid_credentials');
    t.clock.advance(5 * 60_000);
    expect((await verifyPhone(code)).body.error_code).toBe('auth_otp_passcode_expired');
    expect((await storedUser()).phone_number_verified).toBe(false);
  });
});

describe('verification and login codes', () => {
  it('a verification code does not log in', async () => {
    await sendEmailCode();
    const res = await invoke(otpAuthenticate, { token, body: { passcode: lastCode(t.outbox, EMAIL), identifier_type: 'email', identifier: EMAIL } });
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('auth_invalid_credentials');
    expect((await verifyEmail(lastCode(t.outbox, EMAIL))).status).toBe(200);
  });

  it('a login code does not verify through the verification endpoint', async () => {
    await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'phone_number', identifier: PHONE } });
    const res = await verifyPhone(lastCode(t.outbox, PHONE));
    expect(res.body.error_code).toBe('auth_invalid_credentials');
    expect((await storedUser()).phone_number_verified).toBe(false);
  });

  it('both share one failure budget per user and channel: ten failures lock verification and login', async () => {
    await sendPhoneCode();
    for (let i = 0; i < 5; i++) await verifyPhone(otherCode(lastCode(t.outbox, PHONE)));
    t.clock.advanceSeconds(30);
    await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'phone_number', identifier: PHONE } });
    const login = (passcode: string) => invoke(otpAuthenticate, { token, body: { passcode, identifier_type: 'phone_number', identifier: PHONE } });
    const answers: string[] = [];
    for (let i = 0; i < 5; i++) answers.push((await login(otherCode(lastCode(t.outbox, PHONE)))).body.error_code);
    expect(answers.at(-1)).toBe('auth_locked');
    expect((await t.deps.store.get(keys.otp(user.user_id, 'sms')))?.attempts?.count).toBe(10);

    t.clock.advanceSeconds(30);
    await sendPhoneCode();
    const locked = await verifyPhone(lastCode(t.outbox, PHONE));
    expect(locked.status).toBe(403);
    expect(locked.body.error_code).toBe('auth_locked');
    expect(locked.headers['Retry-After']).toBe('870');
  });
});
