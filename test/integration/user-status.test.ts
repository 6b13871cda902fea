/**
 * `PUT /cis/v1/users/{user_id}` with `status`: Disabled ends every session of
 * the user at once and refuses every authentication, user access tokens
 * included; Active lets the user log in again, while the sessions that
 * disabling ended stay ended.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { ClaimRecord, ClientRecord, UserRecord } from '../../functions/core/model.js';
import { keys } from '../../functions/core/model.js';
import { totpCodeForStep, totpStep } from '../../functions/core/totp.js';
import { InvalidCredentialsError } from '../../functions/errors.js';
import { handler as linkAuthenticate } from '../../functions/handlers/auth-link-authenticate.js';
import { handler as linkSend } from '../../functions/handlers/auth-link-send.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as authPassword } from '../../functions/handlers/auth-password.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { handler as refresh } from '../../functions/handlers/auth-token-refresh.js';
import { handler as totpAuthenticate } from '../../functions/handlers/auth-totp-authenticate.js';
import { handler as totpRegister } from '../../functions/handlers/auth-totp-register.js';
import { handler as createUser } from '../../functions/handlers/users-create.js';
import { handler as getUser } from '../../functions/handlers/users-get.js';
import { handler as updateUser } from '../../functions/handlers/users-update.js';
import { createTestClient, createTestDeps, invoke, lastCode, type TestContext } from '../support/harness.js';
import { seedAuthentication } from '../support/seed.js';

const PASSWORD = 'correct horse battery';
const EMAIL = 'ada@example.com';
const REDIRECT = 'https://app.example/callback';

let t: TestContext;
let client: ClientRecord;
let token: string;
let userId: string;

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps, { redirect_uris: [REDIRECT] }));
  const res = await invoke(createUser, { token, body: { email: EMAIL, username: 'ada', credentials: { password: PASSWORD } } });
  userId = res.body.result.user_id;
});

const login = () => invoke(authPassword, { token, body: { username: 'ada', password: PASSWORD } });
const setStatus = (status: string) => invoke(updateUser, { token, params: { user_id: userId }, body: { status } });

/** Every way a session or its tokens can be used, and what each answered. */
async function useSession(tokens: { session_id: string; refresh_token: string; access_token: string }) {
  return {
    session: (await invoke(sessionAuthenticate, { token, body: { session_id: tokens.session_id } })).body.error_code ?? 'ok',
    refresh: (await invoke(refresh, { token, body: { refresh_token: tokens.refresh_token } })).body.error_code ?? 'ok',
    userToken: (await invoke(totpRegister, { token: tokens.access_token, body: { allow_override: true } })).body.error_code ?? 'ok',
  };
}

const ENDED = { session: 'session_not_found', refresh: 'invalid_grant', userToken: 'unauthorized' };

describe('disabling a user', () => {
  it('answers the user with status Disabled and when it changed', async () => {
    t.clock.advanceSeconds(60);
    const res = await setStatus('Disabled');
    expect(res.status).toBe(200);
    expect(res.body.result).toMatchObject({ user_id: userId, status: 'Disabled', status_changed_at: new Date(t.clock.now()).toISOString() });
    expect((await invoke(getUser, { token, params: { user_id: userId } })).body.result.status).toBe('Disabled');
  });

  it('ends every session of the user at once: session, refresh and user access token all stop working', async () => {
    const first = (await login()).body;
    const second = (await login()).body;
    t.clock.advanceSeconds(60);
    expect((await setStatus('Disabled')).status).toBe(200);
    expect(await useSession(first)).toEqual(ENDED);
    expect(await useSession(second)).toEqual(ENDED);
  });

  it('refuses every authentication: password, OTP, magic link and TOTP', async () => {
    // Codes and links obtained while the user was still active.
    const session = (await login()).body;
    const secret = (await invoke(totpRegister, { token: session.access_token, body: {} })).body.secret;
    expect((await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: EMAIL } })).status).toBe(200);
    const otp = lastCode(t.outbox, EMAIL);
    t.clock.advanceSeconds(31); // past the per-destination send cooldown
    expect((await invoke(linkSend, { token, body: { identifier_type: 'email', identifier: EMAIL, redirect_uri: REDIRECT } })).status).toBe(200);
    const linkCode = new URL(t.outbox.last(EMAIL)!.link!).searchParams.get('code')!;

    t.clock.advanceSeconds(10);
    await setStatus('Disabled');
    const answers = [
      await login(),
      await invoke(otpAuthenticate, { token, body: { passcode: otp, identifier_type: 'email', identifier: EMAIL } }),
      await invoke(linkAuthenticate, { token, body: { code: linkCode } }),
      await invoke(totpAuthenticate, { token, body: { token: totpCodeForStep(secret, totpStep(t.clock.now())), identifier: EMAIL } }),
    ];
    expect(answers.map((a) => [a.status, a.body.error_code])).toEqual([
      [400, 'auth_invalid_credentials'],
      [400, 'auth_invalid_credentials'],
      [400, 'invalid_magic_link_code'],
      [400, 'auth_invalid_credentials'],
    ]);
  });

  it('the shared authenticate path refuses a disabled user even if a method forgot to check', async () => {
    await setStatus('Disabled');
    const disabled = (await t.store.get<UserRecord>(keys.user(userId)))!.value;
    await expect(seedAuthentication(t.deps, client, disabled, 'pwd')).rejects.toBeInstanceOf(InvalidCredentialsError);
  });
});

describe('re-enabling a user', () => {
  it('lets the user log in again, but the sessions that disabling ended stay ended', async () => {
    const old = (await login()).body;
    t.clock.advanceSeconds(60);
    await setStatus('Disabled');
    t.clock.advanceSeconds(60);
    const res = await setStatus('Active');
    expect(res.body.result).toMatchObject({ status: 'Active', status_changed_at: new Date(t.clock.now()).toISOString() });

    expect(await useSession(old)).toEqual(ENDED);
    t.clock.advanceSeconds(1);
    const fresh = await login();
    expect(fresh.status).toBe(200);
    expect(await useSession(fresh.body)).toEqual({ session: 'ok', refresh: 'ok', userToken: 'ok' });
  });

  it('setting the status a user already has changes nothing about its sessions or status_changed_at', async () => {
    const session = (await login()).body;
    t.clock.advanceSeconds(60);
    const res = await setStatus('Active');
    expect(res.status).toBe(200);
    expect(res.body.result.status_changed_at).toBeUndefined();
    expect(await useSession(session)).toEqual({ session: 'ok', refresh: 'ok', userToken: 'ok' });
  });
});

describe('the status a contact claim carries, so a send by that contact skips the user read', () => {
  const PHONE = '+15551230000';
  const claimOf = async (key: string) => (await t.store.get<ClaimRecord>(key))?.value;
  const smsSend = (identifier: string) => invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'phone_number', identifier } });
  const userReads = async (send: () => Promise<unknown>) => {
    const read: string[] = [];
    const get = t.store.get.bind(t.store);
    t.store.get = (async (key: string) => (read.push(key), get(key))) as typeof t.store.get;
    try {
      await send();
    } finally {
      t.store.get = get;
    }
    return read.filter((key) => key.startsWith('user#'));
  };

  it('is stamped Active on the contacts (not the username) when the user is created, and a send by them reads no user', async () => {
    expect(await claimOf(keys.emailClaim(EMAIL))).toMatchObject({ user_id: userId, status: 'Active' });
    expect(await claimOf(keys.usernameClaim('ada'))).not.toHaveProperty('status');
    expect(await userReads(() => invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: EMAIL } }))).toEqual([]);
    expect(t.outbox.list(EMAIL)).toHaveLength(1);
    // By another name, or on the other channel, the user is read.
    t.clock.advanceSeconds(31);
    expect(await userReads(() => invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'username', identifier: 'ada' } }))).toEqual([keys.user(userId)]);
  });

  it('disabling removes it, so a disabled user by their contact gets no delivery and the answer an unknown one gets; enabling stamps it again', async () => {
    await invoke(updateUser, { token, params: { user_id: userId }, body: { phone_number: PHONE } });
    expect(await claimOf(keys.phoneClaim(PHONE))).toMatchObject({ user_id: userId, status: 'Active' });
    await setStatus('Disabled');
    expect(await claimOf(keys.phoneClaim(PHONE))).not.toHaveProperty('status');
    expect(await claimOf(keys.emailClaim(EMAIL))).not.toHaveProperty('status');
    const disabled = await smsSend(PHONE);
    const unknown = await smsSend('+15559870000');
    expect([disabled.status, disabled.body]).toEqual([unknown.status, unknown.body]);
    expect(t.outbox.list(PHONE)).toHaveLength(0);
    await setStatus('Active');
    expect(await claimOf(keys.phoneClaim(PHONE))).toMatchObject({ status: 'Active' });
    t.clock.advanceSeconds(31);
    expect((await smsSend(PHONE)).status).toBe(200);
    expect(t.outbox.list(PHONE)).toHaveLength(1);
  });

  it('a contact given up loses it before the user changes, and the new one is stamped', async () => {
    await invoke(updateUser, { token, params: { user_id: userId }, body: { email: 'grace@example.com' } });
    expect(await claimOf(keys.emailClaim(EMAIL))).toBeUndefined();
    expect(await claimOf(keys.emailClaim('grace@example.com'))).toMatchObject({ user_id: userId, status: 'Active' });
  });

  it('a claim stamped Active of a user disabled meanwhile (a failed or raced unstamp) sends at worst a code that authenticate refuses', async () => {
    await invoke(updateUser, { token, params: { user_id: userId }, body: { phone_number: PHONE } });
    const stamped = await t.store.get<ClaimRecord>(keys.phoneClaim(PHONE));
    await setStatus('Disabled');
    await t.store.put(keys.phoneClaim(PHONE), stamped!.value, { expectVersion: stamped!.version + 1 });
    expect((await smsSend(PHONE)).status).toBe(200);
    const res = await invoke(otpAuthenticate, { token, body: { passcode: lastCode(t.outbox, PHONE), identifier_type: 'phone_number', identifier: PHONE } });
    expect([res.status, res.body.error_code]).toEqual([400, 'auth_invalid_credentials']);
  });

  it('a claim written before claims carried a status still works, by reading the user', async () => {
    const old = await t.store.get<ClaimRecord>(keys.emailClaim(EMAIL));
    await t.store.put(keys.emailClaim(EMAIL), { user_id: userId, created_at: old!.value.created_at }, { expectVersion: old!.version });
    expect(await userReads(() => invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: EMAIL } }))).toEqual([keys.user(userId)]);
    const res = await invoke(otpAuthenticate, { token, body: { passcode: lastCode(t.outbox, EMAIL), identifier_type: 'email', identifier: EMAIL } });
    expect(res.status).toBe(200);
  });
});
