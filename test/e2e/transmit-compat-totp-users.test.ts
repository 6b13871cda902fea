/**
 * Transmit compatibility of the TOTP, user and claims routes: each request is
 * a body as Transmit's public docs give it, sent byte for byte (values filled
 * in, field names, nesting and order kept) to the local server over HTTP, and
 * each test asserts what a client written for Transmit reads from the answer.
 */
import { decodeJwt } from 'jose';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../functions/adapters/local/server.js';
import { startCompatServer } from '../support/compat-server.js';

let server: LocalServer;
let clientToken: string;

beforeAll(async () => {
  ({ server, clientToken } = await startCompatServer());
});

afterAll(async () => {
  await server?.close();
});

/** Sends `raw` exactly as given. */
async function send(method: string, path: string, raw: string | undefined, bearer = clientToken): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    ...(raw !== undefined && { body: raw }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

let counter = 0;
const unique = (prefix: string) => `${prefix}${Date.now()}${++counter}`;

/**
 * The password sample's user: a username and a password, nothing else
 * (Create user, https://developer.transmitsecurity.com/openapi/user/user.openapi/other/createuser:
 * `username`, `credentials: {password, force_replace}`).
 */
async function createUsernameOnlyUser(username: string): Promise<string> {
  const created = await send(
    'POST',
    '/cis/v1/users',
    `{
  "username": "${username}",
  "credentials": {
    "password": "correct horse battery staple",
    "force_replace": false
  }
}`,
  );
  expect(created.status).toBe(201);
  return created.body.result.user_id;
}

/** Password login asking for the username claim, as the password sample does. */
async function passwordLogin(username: string) {
  return send(
    'POST',
    '/cis/v1/auth/password/authenticate',
    `{
  "username": "${username}",
  "password": "correct horse battery staple",
  "claims": {
    "id_token": {
      "username": null
    }
  }
}`,
  );
}

describe('users and claims (password sample)', () => {
  it('a username-only user logs in and its ID token shows the requested username', async () => {
    const username = unique('sample');
    const userId = await createUsernameOnlyUser(username);
    const login = await passwordLogin(username);
    expect(login.status).toBe(200);
    expect(Object.keys(login.body).sort()).toEqual(['access_token', 'expires_in', 'id_token', 'refresh_token', 'session_id', 'token_type']);
    const idToken = decodeJwt(login.body.id_token);
    expect(idToken).toMatchObject({ sub: userId, username, amr: ['pwd'] });
  });

  it('get user answers in ApiUser formats: result.status, numeric created_at, ISO verified_at', async () => {
    const email = `${unique('u')}@example.com`;
    const created = await send('POST', '/cis/v1/users', `{
  "email": "${email}",
  "name": {
    "title": "Countess",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "middle_name": "King"
  }
}`);
    const userId = created.body.result.user_id;
    // A successful email OTP verifies the address.
    await send('POST', '/cis/v1/auth/otp/send', `{"channel":"email","identifier_type":"email","identifier":"${email}"}`);
    const messages = (await (await fetch(`${server.url}/local/outbox?to=${encodeURIComponent(email)}`)).json()) as { messages: Array<{ code: string }> };
    const otp = await send('POST', '/cis/v1/auth/otp/authenticate', `{"passcode":"${messages.messages[0]!.code}","identifier_type":"email","identifier":"${email}"}`);
    expect(otp.status).toBe(200);

    const user = (await send('GET', `/cis/v1/users/${userId}`, undefined)).body.result;
    expect(user.status).toBe('Active');
    expect(typeof user.created_at).toBe('number');
    expect(typeof user.updated_at).toBe('number');
    expect(user.email.email_verified).toBe(true);
    expect(new Date(user.email.verified_at).toISOString()).toBe(user.email.verified_at);
    expect(user.name).toEqual({ title: 'Countess', first_name: 'Ada', last_name: 'Lovelace', middle_name: 'King' });
  });

  it('update user (ApiUpdateUserInput) with status Disabled ends the sessions; a profile field Twofold does not keep is 400', async () => {
    // https://developer.transmitsecurity.com/openapi/user/user.openapi (Update user: PUT /v1/users/{user_id}, ApiUpdateUserInput)
    const username = unique('dis');
    const userId = await createUsernameOnlyUser(username);
    const login = await passwordLogin(username);

    const disabled = await send('PUT', `/cis/v1/users/${userId}`, `{
  "status": "Disabled"
}`);
    expect(disabled.status).toBe(200);
    expect(disabled.body.result).toMatchObject({ user_id: userId, status: 'Disabled' });
    expect(typeof disabled.body.result.status_changed_at).toBe('string');
    expect((await passwordLogin(username)).body.error_code).toBe('auth_invalid_credentials');
    const refreshed = await send('POST', '/cis/v1/auth/token/refresh', `{"refresh_token":"${login.body.refresh_token}"}`);
    expect(refreshed.body.error_code).toBe('invalid_grant');

    // Twofold does not keep a birthday: refused, so a 200 never hides a dropped field.
    const birthday = await send('PUT', `/cis/v1/users/${userId}`, `{
  "birthday": "2019-08-24T14:15:22Z",
  "status": "Active"
}`);
    expect(birthday).toMatchObject({ status: 400, body: { error_code: 'system_invalid_input' } });
    expect((await send('GET', `/cis/v1/users/${userId}`, undefined)).body.result.status).toBe('Disabled');
  });
});

describe('TOTP', () => {
  it('register (user access token) then authenticate with the documented bodies: MFA in one session', async () => {
    const username = unique('totp');
    const email = `${username}@example.com`;
    const created = await send('POST', '/cis/v1/users', `{"email":"${email}","username":"${username}","credentials":{"password":"correct horse battery staple","force_replace":false}}`);
    const userId = created.body.result.user_id;
    const login = await passwordLogin(username);

    // Register TOTP, https://developer.transmitsecurity.com/openapi/user/backend-totp.openapi/other/registertotpauth
    const registered = await send(
      'POST',
      '/cis/v1/auth/totp/register',
      `{
  "device_id": "device-1",
  "label": "John Doe",
  "allow_override": true
}`,
      login.body.access_token,
    );
    expect(registered.status).toBe(201);
    expect(registered.body.secret).toMatch(/^[A-Z2-7]+$/);
    expect(registered.body.uri).toMatch(/^otpauth:\/\/totp\/.+John%20Doe\?/);
    expect(new URL(registered.body.uri).searchParams.get('secret')).toBe(registered.body.secret);

    // The same call with the client token: a user access token is required.
    expect((await send('POST', '/cis/v1/auth/totp/register', '{}')).status).toBe(401);

    // Authenticate TOTP, https://developer.transmitsecurity.com/openapi/user/backend-totp.openapi/other/authenticatetotp
    const code = generateSync({ secret: registered.body.secret });
    const totp = await send(
      'POST',
      '/cis/v1/auth/totp/authenticate',
      `{
  "resource": "https://api.example.com",
  "claims": {
    "id_token": {
      "roles": null
    }
  },
  "org_id": "org-1",
  "client_attributes": {
    "user_agent": "Mozilla/5.0",
    "ip_address": "203.0.113.7"
  },
  "device_id": "device-1",
  "session_id": "${login.body.session_id}",
  "token": "${code}",
  "identifier_type": "email",
  "identifier": "${email}"
}`,
    );
    expect(totp.status).toBe(200);
    expect(totp.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, session_id: login.body.session_id });
    expect(decodeJwt(totp.body.id_token)).toMatchObject({ sub: userId, amr: ['pwd', 'otp', 'mfa'] });

    // identifier_type is optional and defaults to email; a replayed code is refused.
    const replay = await send('POST', '/cis/v1/auth/totp/authenticate', `{"token":"${code}","identifier":"${email}"}`);
    expect(replay).toMatchObject({ status: 400, body: { error_code: 'auth_invalid_credentials' } });

    // The authenticator works now: registering again needs allow_override.
    const again = await send('POST', '/cis/v1/auth/totp/register', `{"label":"John Doe"}`, login.body.access_token);
    expect(again).toMatchObject({ status: 409, body: { error_code: 'auth_totp_already_configured' } });
  });
});
