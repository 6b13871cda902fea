/**
 * Compatibility with clients written for Transmit's backend API: each request
 * is sent to the local server exactly as Transmit's own sample backends or API
 * reference send it — the body bytes that `JSON.stringify` makes of the
 * documented object, keys in the documented order — and each test asserts on
 * what such a client reads from the answer. The page each body comes from is
 * cited above it; where the reference shows placeholders ("string"), they are
 * filled with values of the documented type.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../functions/adapters/local/server.js';
import { startCompatServer } from '../support/compat-server.js';

const REDIRECT_URI = 'http://localhost:3000/callback';

let server: LocalServer;
let clientToken: string;

beforeAll(async () => {
  ({ server, clientToken } = await startCompatServer());
});

afterAll(async () => {
  await server?.close();
});

/** Sends `raw` as the body, byte for byte, with the headers the samples send. */
async function send(method: string, path: string, raw?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${clientToken}` },
    body: raw,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function claimsOf(idToken: string) {
  const jwks = createRemoteJWKSet(new URL(`${server.url}/cis/oidc/jwks`));
  return (await jwtVerify(idToken, jwks, { algorithms: ['ES256'], issuer: server.url, audience: 'local-client' })).payload;
}

async function lastMessage(to: string): Promise<{ code?: string; link?: string }> {
  const res = await fetch(`${server.url}/local/outbox?to=${encodeURIComponent(to)}`);
  const { messages } = (await res.json()) as { messages: Array<{ code?: string; link?: string }> };
  return messages[messages.length - 1]!;
}

/** What a Transmit client reads from every token response. */
function expectTokenResponse(json: any, withSession = true) {
  expect(json).toMatchObject({ access_token: expect.any(String), id_token: expect.any(String), refresh_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 });
  if (withSession) expect(json.session_id).toEqual(expect.any(String));
}

let n = 0;
function unique() {
  n += 1;
  return { username: `compat${n}`, phone: `+1555020${String(1000 + n)}`, email: `compat${n}@example.com` };
}

/**
 * Creates a user the way the password + SMS MFA sample does (login-with-be-mfa/backend/auth.js,
 * createUser; https://developer.transmitsecurity.com/openapi/user/user.openapi/other/createuser).
 */
async function createMfaUser() {
  const u = unique();
  const created = await send('POST', '/cis/v1/users', `{"username":"${u.username}","phone_number":"${u.phone}","credentials":{"password":"correct horse battery staple","force_replace":false}}`);
  expect(created.status).toBe(201);
  return { ...u, userId: created.json.result.user_id as string };
}

describe('users', () => {
  it('create (the MFA sample body): 201, and the client reads result.user_id', async () => {
    const u = unique();
    const res = await send('POST', '/cis/v1/users', `{"username":"${u.username}","phone_number":"${u.phone}","credentials":{"password":"correct horse battery staple","force_replace":false}}`);
    expect(res.status).toBe(201);
    expect(res.json.result).toMatchObject({ user_id: expect.any(String), username: u.username, phone_number: { value: u.phone, phone_number_verified: false }, status: 'Active' });
  });

  it('get by username (the MFA sample) and by id: result is the ApiUser', async () => {
    const user = await createMfaUser();
    const byName = await send('GET', `/cis/v1/users/username/${user.username}`);
    expect(byName.status).toBe(200);
    expect(byName.json.result.user_id).toBe(user.userId);
    const byId = await send('GET', `/cis/v1/users/${user.userId}`);
    expect(byId.json.result).toMatchObject({ user_id: user.userId, username: user.username, created_at: expect.any(Number), updated_at: expect.any(Number) });
  });

  // https://developer.transmitsecurity.com/openapi/user/user.openapi/other/updateuser (ApiUpdateUserInput)
  it('update with email and the name object: 200, result holds the new values', async () => {
    const user = await createMfaUser();
    const res = await send('PUT', `/cis/v1/users/${user.userId}`, `{"email":"${user.email}","name":{"title":"Dr","first_name":"Ada","last_name":"Lovelace","middle_name":"King"}}`);
    expect(res.status).toBe(200);
    expect(res.json.result.email).toEqual({ value: user.email, email_verified: false });
    expect(res.json.result.name).toEqual({ title: 'Dr', first_name: 'Ada', last_name: 'Lovelace', middle_name: 'King' });
  });

  it('delete: 204, and the user is gone (404 user_not_found)', async () => {
    const user = await createMfaUser();
    expect((await send('DELETE', `/cis/v1/users/${user.userId}`)).status).toBe(204);
    const gone = await send('GET', `/cis/v1/users/${user.userId}`);
    expect(gone.status).toBe(404);
    expect(gone.json.error_code).toBe('user_not_found');
  });
});

describe('passwords', () => {
  // https://developer.transmitsecurity.com/openapi/user/user.openapi/other/addpasswordcredential (ApiAddPassword)
  it('create: 201 {result: {message}}; a second create: 409 auth_password_already_configured', async () => {
    const u = unique();
    const created = await send('POST', '/cis/v1/users', `{"email":"${u.email}"}`);
    const userId = created.json.result.user_id as string;
    const res = await send('POST', `/cis/v1/users/${userId}/password`, `{"password":"correct horse battery staple","force_replace":false,"username":"${u.username}","enforce_complexity":true}`);
    expect(res.status).toBe(201);
    expect(res.json.result.message).toBe('Password registered');
    const again = await send('POST', `/cis/v1/users/${userId}/password`, '{"password":"another good passphrase","force_replace":false}');
    expect(again.status).toBe(409);
    expect(again.json.error_code).toBe('auth_password_already_configured');
    const login = await send('POST', '/cis/v1/auth/password/authenticate', `{"username":"${u.username}","password":"correct horse battery staple"}`);
    expect(login.status).toBe(200);
  });

  // https://developer.transmitsecurity.com/openapi/user/user.openapi/other/updatepasswordcredential (ApiUpdatePassword)
  it('update: 200 {result: {message}}; the new password logs in, the old one does not', async () => {
    const user = await createMfaUser();
    const res = await send('PUT', `/cis/v1/users/${user.userId}/password`, '{"password":"a brand new passphrase","force_replace":false}');
    expect(res.status).toBe(200);
    expect(res.json.result.message).toBe('Password registered');
    const old = await send('POST', '/cis/v1/auth/password/authenticate', `{"username":"${user.username}","password":"correct horse battery staple"}`);
    expect(old.json.error_code).toBe('auth_invalid_credentials');
    const fresh = await send('POST', '/cis/v1/auth/password/authenticate', `{"username":"${user.username}","password":"a brand new passphrase"}`);
    expect(fresh.status).toBe(200);
  });

  it('a weak and a breached password answer with the codes Transmit documents', async () => {
    const u = unique();
    const userId = (await send('POST', '/cis/v1/users', `{"email":"${u.email}"}`)).json.result.user_id as string;
    const weak = await send('POST', `/cis/v1/users/${userId}/password`, '{"password":"Ab1!","force_replace":false}');
    expect([weak.status, weak.json.error_code]).toEqual([400, 'auth_password_weak']);
    const breached = await send('POST', `/cis/v1/users/${userId}/password`, '{"password":"iloveyou123","force_replace":false}');
    expect([breached.status, breached.json.error_code]).toEqual([400, 'auth_password_breached']);
  });
});

describe('password authenticate', () => {
  // The MFA sample (login-with-be-mfa/backend/auth.js, authenticatePassword).
  it('the sample body: 200 with the token response; the ID token names the user', async () => {
    const user = await createMfaUser();
    const res = await send('POST', '/cis/v1/auth/password/authenticate', `{"username":"${user.username}","password":"correct horse battery staple"}`);
    expect(res.status).toBe(200);
    expectTokenResponse(res.json);
    expect(await claimsOf(res.json.id_token)).toMatchObject({ sub: user.userId, sid: res.json.session_id, amr: ['pwd'] });
  });

  // https://developer.transmitsecurity.com/openapi/user/backend-passwords.openapi/other/authenticatepassword
  it('the API reference body, every documented field: 200', async () => {
    const user = await createMfaUser();
    const res = await send(
      'POST',
      '/cis/v1/auth/password/authenticate',
      `{"resource":"https://api.example.com","claims":{"id_token":{"roles":null}},"org_id":"org-1","client_attributes":{"user_agent":"Mozilla/5.0","ip_address":"203.0.113.7"},"username":"${user.username}","password":"correct horse battery staple","username_type":"username"}`,
    );
    expect(res.status).toBe(200);
    expectTokenResponse(res.json);
  });

  it('a wrong password: 400 auth_invalid_credentials, which the sample reports as an error', async () => {
    const user = await createMfaUser();
    const res = await send('POST', '/cis/v1/auth/password/authenticate', `{"username":"${user.username}","password":"not the password"}`);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error_code: 'auth_invalid_credentials', message: expect.any(String) });
  });
});

describe('OTP', () => {
  // The MFA sample (login-with-be-mfa/backend/auth.js: sendSMSOTP, authenticateSMSOtp);
  // https://developer.transmitsecurity.com/guides/user/be_auth_sms_otp/
  it('SMS send then authenticate into the password session: the ID token says mfa', async () => {
    const user = await createMfaUser();
    const pwd = await send('POST', '/cis/v1/auth/password/authenticate', `{"username":"${user.username}","password":"correct horse battery staple"}`);
    const sent = await send('POST', '/cis/v1/auth/otp/send', `{"channel":"sms","identifier":"${user.phone}","identifier_type":"phone_number"}`);
    expect(sent.status).toBe(200);
    expect(sent.json.message).toBe('OTP sent');
    const { code } = await lastMessage(user.phone);
    const otp = await send('POST', '/cis/v1/auth/otp/authenticate', `{"passcode":"${code}","identifier":"${user.phone}","identifier_type":"phone_number","session_id":"${pwd.json.session_id}"}`);
    expect(otp.status).toBe(200);
    expectTokenResponse(otp.json);
    expect(otp.json.session_id).toBe(pwd.json.session_id);
    expect((await claimsOf(otp.json.id_token)).amr).toEqual(['pwd', 'sms', 'mfa']);
  });

  // The email OTP sample (login-with-be-email/backend/index.js); https://developer.transmitsecurity.com/guides/user/be_auth_email_otp/
  it('email send then authenticate: the client reads access_token', async () => {
    const u = unique();
    await send('POST', '/cis/v1/users', `{"email":"${u.email}"}`);
    const sent = await send('POST', '/cis/v1/auth/otp/send', `{"channel":"email","identifier":"${u.email}","identifier_type":"email"}`);
    expect(sent.status).toBe(200);
    const { code } = await lastMessage(u.email);
    const otp = await send('POST', '/cis/v1/auth/otp/authenticate', `{"passcode":"${code}","identifier":"${u.email}","identifier_type":"email"}`);
    expect(otp.status).toBe(200);
    expect(otp.json.access_token).toEqual(expect.any(String));
    const wrong = await send('POST', '/cis/v1/auth/otp/authenticate', `{"passcode":"000000","identifier":"${u.email}","identifier_type":"email"}`);
    expect(wrong.status).toBe(400);
    expect(wrong.json.error_code).toBe('auth_invalid_credentials');
  });
});

describe('magic link', () => {
  // The magic link sample (login-with-be-magiclink/backend/index.js); https://developer.transmitsecurity.com/guides/user/be_auth_email_magic_link/
  it('send with the legacy email field, then authenticate with the code: access_token', async () => {
    const u = unique();
    await send('POST', '/cis/v1/users', `{"email":"${u.email}"}`);
    const sent = await send('POST', '/cis/v1/auth/link/email/send', `{"email":"${u.email}","redirect_uri":"${REDIRECT_URI}"}`);
    expect(sent.status).toBe(200);
    expect(sent.json.message).toBe('Email sent successfully');
    const link = new URL((await lastMessage(u.email)).link!);
    const res = await send('POST', '/cis/v1/auth/link/email/authenticate', `{"code":"${link.searchParams.get('code')}"}`);
    expect(res.status).toBe(200);
    expect(res.json.access_token).toEqual(expect.any(String));
    expect((await claimsOf(res.json.id_token)).amr).toEqual(['eml']);
  });
});

describe('sessions', () => {
  // https://developer.transmitsecurity.com/openapi/user/backend-sessions/ (refresh, session authenticate, logout);
  // the logout body is the MFA sample's (login-with-be-mfa/backend/auth.js, logout).
  it('refresh, session authenticate and logout with the documented bodies', async () => {
    const user = await createMfaUser();
    const pwd = await send('POST', '/cis/v1/auth/password/authenticate', `{"username":"${user.username}","password":"correct horse battery staple"}`);

    const refreshed = await send('POST', '/cis/v1/auth/token/refresh', `{"refresh_token":"${pwd.json.refresh_token}"}`);
    expect(refreshed.status).toBe(200);
    expectTokenResponse(refreshed.json, false);
    expect(refreshed.json.refresh_token).not.toBe(pwd.json.refresh_token);

    const session = await send('POST', '/cis/v1/auth/session/authenticate', `{"session_id":"${pwd.json.session_id}"}`);
    expect(session.status).toBe(200);
    expectTokenResponse(session.json);
    expect(session.json.session_id).toBe(pwd.json.session_id);

    // The API reference body, every documented field:
    // https://developer.transmitsecurity.com/openapi/user/backend-sessions.openapi/other/authenticatesession
    const full = await send(
      'POST',
      '/cis/v1/auth/session/authenticate',
      `{"resource":"https://api.example.com","claims":{"id_token":{"roles":null}},"org_id":"org-1","client_attributes":{"user_agent":"Mozilla/5.0","ip_address":"203.0.113.7"},"session_id":"${pwd.json.session_id}"}`,
    );
    expect(full.status).toBe(200);
    expectTokenResponse(full.json);
    expect((await claimsOf(full.json.id_token)).sid).toBe(pwd.json.session_id);

    const logout = await send('POST', '/cis/v1/auth/session/logout', `{"session_id":"${pwd.json.session_id}"}`);
    expect(logout.status).toBe(204);
    const after = await send('POST', '/cis/v1/auth/token/refresh', `{"refresh_token":"${refreshed.json.refresh_token}"}`);
    expect(after.status).toBe(400);
    expect(after.json.error_code).toBe('invalid_grant');
  });
});
