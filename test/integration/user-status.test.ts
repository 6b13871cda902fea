/**
 * `PUT /cis/v1/users/{user_id}` with `status`: Disabled ends every session of
 * the user at once and refuses every authentication, user access tokens
 * included; Active lets the user log in again, while the sessions that
 * disabling ended stay ended.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { ClientRecord, UserRecord } from '../../functions/core/model.js';
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
