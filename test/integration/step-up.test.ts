/**
 * Per-factor times (`amr_at`) and `max_age` step-up, through the real
 * handlers: a response asked for with `max_age` leaves older authentications
 * out of its `amr`, `amr_at` and `mfa`, while the session keeps them.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { keys, type ClientRecord, type SessionRecord, type UserRecord } from '../../functions/core/model.js';
import { issueClientToken } from '../../functions/core/tokens.js';
import { registerTotp, totpCodeForStep, totpStep } from '../../functions/core/totp.js';
import { createUserPassword } from '../../functions/core/user-passwords.js';
import { handler as linkAuthenticate } from '../../functions/handlers/auth-link-authenticate.js';
import { handler as linkSend } from '../../functions/handlers/auth-link-send.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as passwordAuthenticate } from '../../functions/handlers/auth-password.js';
import { handler as recoveryAuthenticate } from '../../functions/handlers/auth-recovery-codes-authenticate.js';
import { handler as recoveryGenerate } from '../../functions/handlers/auth-recovery-codes-generate.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { handler as refresh } from '../../functions/handlers/auth-token-refresh.js';
import { handler as totpAuthenticate } from '../../functions/handlers/auth-totp-authenticate.js';
import { createTestClient, createTestDeps, idTokenClaims, invoke, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';

const PASSWORD = 'correct horse battery staple';
const EMAIL = 'ada@example.com';
const PHONE = '+15551234567';

let t: TestContext;
let client: ClientRecord;
let ada: UserRecord;

beforeEach(async () => {
  t = await createTestDeps();
  ({ client } = await createTestClient(t.deps, { allow_direct_delivery: true }));
  ada = await seedUser(t.deps, { email: EMAIL, phone_number: PHONE, username: 'ada' });
  await createUserPassword(t.deps, ada.user_id, { password: PASSWORD });
});

/** A client token valid at the test clock's current time (tests move the clock by hours). */
async function clientToken(): Promise<string> {
  return (await issueClientToken(t.deps, client)).access_token;
}

const claimsOf = (idToken: string) => idTokenClaims(t.deps, idToken, client.client_id);
const nowSeconds = () => Math.floor(t.clock.now() / 1000);

async function checkSession(sessionId: string, maxAge?: number) {
  const res = await invoke(sessionAuthenticate, {
    token: await clientToken(),
    body: { session_id: sessionId, ...(maxAge !== undefined && { max_age: maxAge }) },
  });
  expect(res.status).toBe(200);
  return claimsOf(res.body.id_token);
}

/** pwd at T, sms at T + 5 s: the clock is left at T + 5 s. Returns the session id and T in epoch seconds. */
async function passwordThenSms(): Promise<{ sessionId: string; t0: number }> {
  const t0 = nowSeconds();
  const first = await seedAuthentication(t.deps, client, ada, 'pwd');
  t.clock.advanceSeconds(5);
  await seedAuthentication(t.deps, client, ada, 'sms', { sessionId: first.session_id });
  return { sessionId: first.session_id, t0 };
}

describe('amr_at', () => {
  it('every ID token gives each method in amr the epoch second of its latest authentication', async () => {
    const { sessionId, t0 } = await passwordThenSms();
    t.clock.advanceSeconds(10);
    const again = await seedAuthentication(t.deps, client, ada, 'pwd', { sessionId });
    expect(await claimsOf(again.id_token)).toMatchObject({ amr: ['pwd', 'sms', 'mfa'], amr_at: { pwd: t0 + 15, sms: t0 + 5 }, auth_time: t0 + 15 });
  });

  it('session/authenticate and refresh carry it too', async () => {
    const { sessionId, t0 } = await passwordThenSms();
    t.clock.advanceSeconds(60);
    expect((await checkSession(sessionId)).amr_at).toEqual({ pwd: t0, sms: t0 + 5 });
    const tokens = await seedAuthentication(t.deps, client, ada, 'eotp', { sessionId });
    const refreshed = await invoke(refresh, { token: await clientToken(), body: { refresh_token: tokens.refresh_token } });
    expect((await claimsOf(refreshed.body.id_token)).amr_at).toEqual({ pwd: t0, eotp: t0 + 65, sms: t0 + 5 });
  });
});

describe('max_age on session/authenticate', () => {
  it('keeps a factor exactly max_age seconds old and drops it one second later (auth_time + max_age >= now)', async () => {
    const { sessionId, t0 } = await passwordThenSms();
    t.clock.advanceSeconds(300); // pwd 305 s old, sms 300 s old
    expect(await checkSession(sessionId, 305)).toMatchObject({ amr: ['pwd', 'sms', 'mfa'], amr_at: { pwd: t0, sms: t0 + 5 } });
    const atBoundary = await checkSession(sessionId, 300);
    expect(atBoundary.amr).toEqual(['sms']);
    expect(atBoundary.amr_at).toEqual({ sms: t0 + 5 });
    t.clock.advanceSeconds(1); // sms 301 s old
    const past = await checkSession(sessionId, 300);
    expect(past.amr).toEqual([]);
    expect(past.amr_at).toEqual({});
  });

  it('is judged on whole seconds, as the token shows them: 300.999 s after an authentication at a whole second is still 300', async () => {
    const { sessionId } = await passwordThenSms();
    t.clock.advance(300_999);
    expect((await checkSession(sessionId, 300)).amr).toEqual(['sms']);
    t.clock.advance(1);
    expect((await checkSession(sessionId, 300)).amr).toEqual([]);
  });

  it('stale factors leave amr and mfa, auth_time stays the latest, and the session keeps them', async () => {
    const { sessionId, t0 } = await passwordThenSms();
    t.clock.advanceSeconds(3600);
    const stale = await checkSession(sessionId, 300);
    expect(stale.amr).toEqual([]);
    expect(stale.amr).not.toContain('mfa');
    expect(stale.auth_time).toBe(t0 + 5);
    expect(await checkSession(sessionId)).toMatchObject({ amr: ['pwd', 'sms', 'mfa'], auth_time: t0 + 5 });
    const stored = (await t.store.get<SessionRecord>(keys.session(sessionId)))!.value;
    expect(stored.authentications.map((a) => a.method)).toEqual(['pwd', 'sms']);
  });

  it('refuses a negative, fractional or non-numeric max_age with 400 system_invalid_input', async () => {
    const { sessionId } = await passwordThenSms();
    for (const max_age of [-1, 1.5, '300', null]) {
      const res = await invoke(sessionAuthenticate, { token: await clientToken(), body: { session_id: sessionId, max_age } });
      expect(res.status, String(max_age)).toBe(400);
      expect(res.body.error_code).toBe('system_invalid_input');
    }
  });
});

describe('step-up: max_age on every authenticate call', () => {
  it('a session with only stale factors steps up with a fresh password and a fresh SMS code', async () => {
    const { sessionId } = await passwordThenSms();
    t.clock.advanceSeconds(3600);
    expect((await checkSession(sessionId, 300)).amr).not.toContain('mfa');

    const sent = await invoke(otpSend, { token: await clientToken(), body: { channel: 'direct', identifier_type: 'phone_number', identifier: PHONE } });
    const sms = await invoke(otpAuthenticate, {
      token: await clientToken(),
      body: { passcode: sent.body.code, identifier_type: 'phone_number', identifier: PHONE, session_id: sessionId, max_age: 300 },
    });
    expect(sms.status).toBe(200);
    expect((await claimsOf(sms.body.id_token)).amr).toEqual(['sms']);

    t.clock.advanceSeconds(30);
    const pwd = await invoke(passwordAuthenticate, { token: await clientToken(), body: { username: 'ada', password: PASSWORD, session_id: sessionId, max_age: 300 } });
    expect(pwd.status).toBe(200);
    expect(await claimsOf(pwd.body.id_token)).toMatchObject({ amr: ['pwd', 'sms', 'mfa'], amr_at: { pwd: nowSeconds(), sms: nowSeconds() - 30 } });
    expect((await checkSession(sessionId, 300)).amr).toEqual(['pwd', 'sms', 'mfa']);
  });

  it('max_age 0 keeps only the authentication of this very call', async () => {
    const { sessionId } = await passwordThenSms();
    t.clock.advance(1_500);
    const res = await invoke(passwordAuthenticate, { token: await clientToken(), body: { username: 'ada', password: PASSWORD, session_id: sessionId, max_age: 0 } });
    expect(await claimsOf(res.body.id_token)).toMatchObject({ amr: ['pwd'], amr_at: { pwd: nowSeconds() } });
  });

  it('applies to email OTP, magic link, TOTP and recovery code calls alike', async () => {
    const { sessionId } = await passwordThenSms();
    const { secret } = await registerTotp(t.deps, ada.user_id);
    const session = await seedAuthentication(t.deps, client, ada, 'otp', { sessionId });
    const generated = await invoke(recoveryGenerate, { token: session.access_token });
    t.clock.advanceSeconds(3600);

    const otp = await invoke(otpSend, { token: await clientToken(), body: { channel: 'direct', identifier_type: 'email', identifier: EMAIL } });
    const eotp = await invoke(otpAuthenticate, {
      token: await clientToken(),
      body: { passcode: otp.body.code, identifier_type: 'email', identifier: EMAIL, session_id: sessionId, max_age: 60 },
    });
    expect((await claimsOf(eotp.body.id_token)).amr).toEqual(['eotp']);

    t.clock.advanceSeconds(3600);
    const link = await invoke(linkSend, {
      token: await clientToken(),
      body: { identifier_type: 'email', identifier: EMAIL, redirect_uri: 'https://app.example/callback', channel: 'direct' },
    });
    const code = new URL(link.body.link).searchParams.get('code');
    const eml = await invoke(linkAuthenticate, { token: await clientToken(), body: { code, session_id: sessionId, max_age: 60 } });
    expect((await claimsOf(eml.body.id_token)).amr).toEqual(['eml']);

    t.clock.advanceSeconds(3600);
    const totp = await invoke(totpAuthenticate, {
      token: await clientToken(),
      body: { identifier_type: 'email', identifier: EMAIL, token: totpCodeForStep(secret, totpStep(t.clock.now())), session_id: sessionId, max_age: 60 },
    });
    expect((await claimsOf(totp.body.id_token)).amr).toEqual(['otp']);

    t.clock.advanceSeconds(3600);
    const recovery = await invoke(recoveryAuthenticate, {
      token: await clientToken(),
      body: { identifier_type: 'email', identifier: EMAIL, code: generated.body.codes[0], session_id: sessionId, max_age: 60 },
    });
    expect((await claimsOf(recovery.body.id_token)).amr).toEqual(['recovery_code']);

    expect((await checkSession(sessionId)).amr).toEqual(['pwd', 'eotp', 'eml', 'sms', 'otp', 'recovery_code', 'mfa']);
  });

  it('every authenticate route refuses a negative max_age before looking at the credential', async () => {
    const bodies: Array<[typeof passwordAuthenticate, Record<string, unknown>]> = [
      [passwordAuthenticate, { username: 'ada', password: PASSWORD }],
      [otpAuthenticate, { passcode: '123456', identifier_type: 'email', identifier: EMAIL }],
      [linkAuthenticate, { code: 'x' }],
      [totpAuthenticate, { token: '123456', identifier_type: 'email', identifier: EMAIL }],
      [recoveryAuthenticate, { code: 'AAAA-BBBB-CCCC', identifier_type: 'email', identifier: EMAIL }],
    ];
    for (const [handler, body] of bodies) {
      const res = await invoke(handler, { token: await clientToken(), body: { ...body, max_age: -1 } });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('system_invalid_input');
    }
    // Nothing was counted: the password still logs in, first try.
    expect((await invoke(passwordAuthenticate, { token: await clientToken(), body: { username: 'ada', password: PASSWORD } })).status).toBe(200);
  });
});
