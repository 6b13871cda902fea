/**
 * Every factor visible and removable (docs/api.md, "Factor lifecycle"): the
 * authenticators list, revoking the authenticator app, removing recovery
 * codes and passkeys. Removing a factor ends every session of the user (each
 * was proved with the old set of factors), and the factor stops working at
 * once. Through the real handlers and the embedded DynamoDB.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { keys, type ClientRecord, type SessionRecord, type UserRecord } from '../../functions/core/model.js';
import { totpCodeForStep, totpStep } from '../../functions/core/totp.js';
import { createUserPassword } from '../../functions/core/user-passwords.js';
import { handler as recoveryAuthenticate } from '../../functions/handlers/auth-recovery-codes-authenticate.js';
import { handler as recoveryGenerate } from '../../functions/handlers/auth-recovery-codes-generate.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { handler as totpAuthenticate } from '../../functions/handlers/auth-totp-authenticate.js';
import { handler as totpRegister } from '../../functions/handlers/auth-totp-register.js';
import { handler as registerStart } from '../../functions/handlers/auth-webauthn-register-start.js';
import { handler as register } from '../../functions/handlers/auth-webauthn-register.js';
import { handler as webauthnLoginStart } from '../../functions/handlers/auth-webauthn-authenticate-start.js';
import { handler as webauthnLogin } from '../../functions/handlers/auth-webauthn-authenticate.js';
import { handler as listAuthenticators } from '../../functions/handlers/users-authenticators-list.js';
import { handler as revokeTotp } from '../../functions/handlers/users-totp-revoke.js';
import { handler as deleteRecoveryCodes } from '../../functions/handlers/users-recovery-codes-delete.js';
import { handler as deletePasskey } from '../../functions/handlers/users-webauthn-credentials-delete.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';
import { SoftAuthenticator } from '../support/soft-authenticator.js';

const ORIGIN = 'https://app.example';
const PASSWORD = 'correct horse battery staple';

let t: TestContext;
let client: ClientRecord;
let token: string;
let ada: UserRecord;

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps, { webauthn_rp_id: 'app.example', webauthn_origins: [ORIGIN] }));
  ada = await seedUser(t.deps, { email: 'ada@example.com', phone_number: '+15551234567', username: 'ada' });
  await createUserPassword(t.deps, ada.user_id, { password: PASSWORD });
});

async function stored(): Promise<UserRecord> {
  return (await t.store.get<UserRecord>(keys.user(ada.user_id)))!.value;
}

async function session(methods: Array<Parameters<typeof seedAuthentication>[3]>) {
  let tokens = await seedAuthentication(t.deps, client, ada, methods[0]!);
  for (const method of methods.slice(1)) tokens = await seedAuthentication(t.deps, client, ada, method, { sessionId: tokens.session_id });
  return tokens;
}

const list = (userId = ada.user_id) => invoke(listAuthenticators, { token, params: { user_id: userId } });
const revoke = (body?: Record<string, unknown>, userId = ada.user_id) => invoke(revokeTotp, { token, params: { user_id: userId }, ...(body && { body }) });
const isLive = async (sessionId: string) => (await invoke(sessionAuthenticate, { token, body: { session_id: sessionId } })).status === 200;

/** Registers an authenticator app from a password session and confirms it with one code; returns its secret. */
async function withTotp(): Promise<string> {
  const s = await session(['pwd']);
  const registered = await invoke(totpRegister, { token: s.access_token, body: {} });
  expect(registered.status).toBe(201);
  const code = totpCodeForStep(registered.body.secret, totpStep(t.clock.now()));
  expect((await invoke(totpAuthenticate, { token, body: { identifier_type: 'user_id', identifier: ada.user_id, token: code } })).status).toBe(200);
  t.clock.advanceSeconds(31);
  return registered.body.secret;
}

async function withPasskey(userToken: string, authenticator: SoftAuthenticator) {
  const started = await invoke(registerStart, { token: userToken, body: {} });
  expect(started.status).toBe(200);
  const res = await invoke(register, { token: userToken, body: { webauthn_encoded_result: authenticator.create(started.body.credential_creation_options) } });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

describe('GET /cis/v1/users/{user_id}/authenticators', () => {
  it('a user with a password and unverified contacts: just the password', async () => {
    const res = await list();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      result: [{ id: 'password', type: 'password', status: 'Active', user_id: ada.user_id, created_at: expect.any(String), registered_at: expect.any(String) }],
    });
  });

  it('lists every factor: password, verified email and phone, the app, each passkey, recovery codes with how many remain', async () => {
    const secret = await withTotp();
    const authenticator = new SoftAuthenticator(ORIGIN);
    const mfa = await session(['pwd', 'otp']);
    const passkeyId = await withPasskey(mfa.access_token, authenticator);
    const generated = await invoke(recoveryGenerate, { token: mfa.access_token });
    expect(generated.status).toBe(201);
    expect((await invoke(recoveryAuthenticate, { token, body: { identifier_type: 'user_id', identifier: ada.user_id, code: generated.body.codes[3] } })).status).toBe(200);
    await t.store.put(
      keys.user(ada.user_id),
      { ...(await stored()), email_verified: true, email_verified_at: t.clock.now(), phone_number_verified: true, phone_number_verified_at: t.clock.now() },
      { expectVersion: (await t.store.get(keys.user(ada.user_id)))!.version },
    );

    const res = await list();
    expect(res.status).toBe(200);
    const byType = Object.fromEntries(res.body.result.map((a: any) => [a.type === 'webauthn' ? a.id : a.type, a]));
    expect(Object.keys(byType).sort()).toEqual([passkeyId, 'email_magic_link', 'email_otp', 'password', 'recovery_codes', 'sms_otp', 'totp'].sort());
    expect(byType.totp).toMatchObject({ id: expect.any(String), status: 'Active', last_used_at: expect.any(String) });
    expect(byType.email_otp).toMatchObject({ id: 'email_otp', status: 'Active', extra_data: { email: 'ada@example.com', verified: true } });
    expect(byType.sms_otp).toMatchObject({ id: 'sms_otp', status: 'Active', extra_data: { phone_number: '+15551234567', verified: true } });
    expect(byType[passkeyId]).toMatchObject({ type: 'webauthn', name: expect.any(String), status: 'Registered' });
    expect(byType.recovery_codes).toMatchObject({ id: 'recovery_codes', status: 'Active', extra_data: { remaining: 9, total: 10 } });
    // Never a secret: no TOTP seed, no public key, no code hash.
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(authenticator.credentials[0]!.publicKeySpki);
    expect(text).not.toContain('hash');
  });

  it('a pending authenticator app is Registered, not Active', async () => {
    const s = await session(['pwd']);
    expect((await invoke(totpRegister, { token: s.access_token, body: {} })).status).toBe(201);
    const totp = (await list()).body.result.find((a: any) => a.type === 'totp');
    expect(totp).toMatchObject({ status: 'Registered' });
    expect(totp.last_used_at).toBeUndefined();
  });

  it('an unknown user is 404 user_not_found', async () => {
    const res = await list('no-such-user');
    expect(res.status).toBe(404);
    expect(res.body.error_code).toBe('user_not_found');
  });
});

describe('POST /cis/v1/users/{user_id}/totp/revoke', () => {
  it('the app stops working at once, every session of the user ends, and a password session may enrol a new first factor', async () => {
    const secret = await withTotp();
    const before = await session(['pwd', 'otp']);
    const other = await session(['pwd']);
    t.clock.advanceSeconds(1);
    const id = (await list()).body.result.find((a: any) => a.type === 'totp').id;
    const res = await revoke({ authenticator_id: id });
    expect(res.status).toBe(204);
    expect((await stored()).totp).toBeUndefined();
    expect(await isLive(before.session_id)).toBe(false);
    expect(await isLive(other.session_id)).toBe(false);
    const code = totpCodeForStep(secret, totpStep(t.clock.now()));
    const login = await invoke(totpAuthenticate, { token, body: { identifier_type: 'user_id', identifier: ada.user_id, token: code } });
    expect(login.status).toBe(400);
    expect(login.body.error_code).toBe('auth_invalid_credentials');
    // The user holds only the password again: a new password session bootstraps a new app.
    t.clock.advanceSeconds(1);
    const fresh = await session(['pwd']);
    expect((await invoke(totpRegister, { token: fresh.access_token, body: {} })).status).toBe(201);
  });

  it('wins the race with a login that checked a code from the app just before: that login gets no session', async () => {
    const secret = await withTotp();
    // Hold the login at signing: it has checked the code and waits to commit.
    const sign = t.deps.signer.sign.bind(t.deps.signer);
    let release!: () => void;
    let reached!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const signing = new Promise<void>((resolve) => (reached = resolve));
    t.deps.signer.sign = async (input) => {
      reached();
      await gate;
      return sign(input);
    };
    const code = totpCodeForStep(secret, totpStep(t.clock.now()));
    const login = invoke(totpAuthenticate, { token, body: { identifier_type: 'user_id', identifier: ada.user_id, token: code } });
    await signing;
    t.deps.signer.sign = sign;
    expect((await revoke()).status).toBe(204);
    release();
    // Its commit re-reads the user on the changed version and finds no app: refused, nothing written.
    const res = await login;
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('auth_invalid_credentials');
  });

  it('without authenticator_id it revokes the one there is', async () => {
    await withTotp();
    expect((await revoke()).status).toBe(204);
    expect((await stored()).totp).toBeUndefined();
  });

  it('another authenticator_id, or no app at all, is 404 authenticator_not_found and changes nothing', async () => {
    const s = await session(['pwd']);
    let res = await revoke({});
    expect(res.status).toBe(404);
    expect(res.body.error_code).toBe('authenticator_not_found');
    await withTotp();
    res = await revoke({ authenticator_id: 'not-this-one' });
    expect(res.status).toBe(404);
    expect(res.body.error_code).toBe('authenticator_not_found');
    expect((await stored()).totp).toBeDefined();
    expect(await isLive(s.session_id)).toBe(true);
  });

  it('an unknown user is 404 user_not_found', async () => {
    const res = await revoke({}, 'no-such-user');
    expect(res.status).toBe(404);
    expect(res.body.error_code).toBe('user_not_found');
  });

  it('is an audit event', async () => {
    await withTotp();
    await revoke();
    const events = t.logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'audit' && l.event === 'factor_removal');
    expect(events).toEqual([expect.objectContaining({ user_id: ada.user_id, client_id: client.client_id, method: 'otp', outcome: 'success' })]);
  });
});

describe('DELETE /cis/v1/users/{user_id}/recovery-codes', () => {
  it('every code stops working and every session of the user ends', async () => {
    const mfa = await session(['pwd', 'sms']);
    const generated = await invoke(recoveryGenerate, { token: mfa.access_token });
    expect(generated.status).toBe(201);
    t.clock.advanceSeconds(1);
    const res = await invoke(deleteRecoveryCodes, { token, params: { user_id: ada.user_id } });
    expect(res.status).toBe(204);
    expect(await isLive(mfa.session_id)).toBe(false);
    const use = await invoke(recoveryAuthenticate, { token, body: { identifier_type: 'user_id', identifier: ada.user_id, code: generated.body.codes[0] } });
    expect(use.status).toBe(400);
    expect((await list()).body.result.map((a: any) => a.type)).not.toContain('recovery_codes');
  });

  it('wins the race with a login that uses a code while the set is being removed: that login gets no lasting session', async () => {
    const mfa = await session(['pwd', 'sms']);
    const generated = await invoke(recoveryGenerate, { token: mfa.access_token });
    expect(generated.status).toBe(201);
    t.clock.advanceSeconds(1);
    // Just before the removal deletes the set (the sessions so far already ended), a whole login with a code runs.
    const del = t.deps.store.delete.bind(t.deps.store);
    let login: Awaited<ReturnType<typeof invoke>> | undefined;
    t.deps.store.delete = async (key: string) => {
      if (key === keys.recoveryCodes(ada.user_id) && !login) {
        login = await invoke(recoveryAuthenticate, { token, body: { identifier_type: 'user_id', identifier: ada.user_id, code: generated.body.codes[0] } });
      }
      return del(key);
    };
    expect((await invoke(deleteRecoveryCodes, { token, params: { user_id: ada.user_id } })).status).toBe(204);
    t.deps.store.delete = del;
    // The login got in between the steps; the version moved on after the delete, so its session is over.
    expect(login?.status).toBe(200);
    expect(await isLive(login!.body.session_id)).toBe(false);
    expect(await isLive(mfa.session_id)).toBe(false);
  });

  it('a user without codes is 404 authenticator_not_found; an unknown user 404 user_not_found', async () => {
    expect((await invoke(deleteRecoveryCodes, { token, params: { user_id: ada.user_id } })).body.error_code).toBe('authenticator_not_found');
    expect((await invoke(deleteRecoveryCodes, { token, params: { user_id: 'nobody' } })).body.error_code).toBe('user_not_found');
  });
});

describe('DELETE a passkey', () => {
  it('ends every session of the user, including the one the passkey proved', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    const s = await session(['pwd']);
    const id = await withPasskey(s.access_token, authenticator);
    const options = (await invoke(webauthnLoginStart, { token, body: {} })).body.credential_request_options;
    const login = await invoke(webauthnLogin, { token, body: { webauthn_encoded_result: authenticator.get(options), session_id: s.session_id } });
    expect(login.status).toBe(200);
    t.clock.advanceSeconds(1);
    expect((await invoke(deletePasskey, { token, params: { user_id: ada.user_id, credential_id: id } })).status).toBe(204);
    expect(await isLive(s.session_id)).toBe(false);
    const stored = await t.store.get<SessionRecord>(keys.session(s.session_id));
    expect(stored).toBeDefined();
  });
});
