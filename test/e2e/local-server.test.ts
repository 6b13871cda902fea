/**
 * End to end over HTTP against the local server (`npm start`'s code), with
 * the embedded DynamoDB, the local key and the outbox. ID tokens are verified
 * with jose against the served JWKS, as a relying party would.
 */
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startLocalServer, type LocalServer } from '../../functions/adapters/local/server.js';
import { jsonLogger } from '../../functions/adapters/logger.js';

let server: LocalServer;
let clientToken: string;

beforeAll(async () => {
  server = await startLocalServer({ port: 0, dynamoEndpoint: inject('dynamoEndpoint'), tableName: `e2e-${Date.now()}`, logger: jsonLogger(process.env.E2E_LOG ? 'info' : 'silent') });
  const res = await fetch(`${server.url}/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&client_id=local-client&client_secret=local-secret',
  });
  expect(res.status).toBe(200);
  clientToken = ((await res.json()) as { access_token: string }).access_token;
});

afterAll(async () => {
  await server?.close();
});

async function api(path: string, body?: unknown, method = 'POST'): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${clientToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

async function outbox(to: string): Promise<Array<{ code?: string; link?: string; channel: string; text: string }>> {
  const res = await fetch(`${server.url}/local/outbox?to=${encodeURIComponent(to)}`);
  return ((await res.json()) as { messages: Array<{ code?: string; link?: string; channel: string; text: string }> }).messages;
}

async function verifyIdToken(idToken: string) {
  const jwks = createRemoteJWKSet(new URL(`${server.url}/cis/oidc/jwks`));
  const { payload } = await jwtVerify(idToken, jwks, { algorithms: ['ES256'], issuer: server.url, audience: 'local-client', typ: 'JWT' });
  return payload;
}

let counter = 0;
async function newUser() {
  counter += 1;
  const email = `user${counter}@example.com`;
  const phone = `+1555000${String(1000 + counter)}`;
  const created = await api('/cis/v1/users', { email, phone_number: phone, username: `user${counter}`, credentials: { password: 'correct horse battery staple' } });
  expect(created.status).toBe(201);
  return { email, phone, username: `user${counter}`, userId: created.body.result.user_id as string };
}

describe('the README walkthrough: password, then SMS OTP in the same session', () => {
  it('ends with an ID token whose amr holds pwd, sms and mfa', async () => {
    const user = await newUser();
    const pwd = await api('/cis/v1/auth/password/authenticate', { username: user.username, password: 'correct horse battery staple' });
    expect(pwd.status).toBe(200);
    expect((await verifyIdToken(pwd.body.id_token)).amr).toEqual(['pwd']);

    const sent = await api('/cis/v1/auth/otp/send', { channel: 'sms', identifier_type: 'phone_number', identifier: user.phone });
    expect(sent).toMatchObject({ status: 200, body: { message: 'OTP sent' } });
    const [sms] = await outbox(user.phone);
    expect(sms?.channel).toBe('sms');
    expect(sms?.code).toMatch(/^\d{6}$/);

    const otp = await api('/cis/v1/auth/otp/authenticate', {
      passcode: sms!.code,
      identifier_type: 'phone_number',
      identifier: user.phone,
      session_id: pwd.body.session_id,
    });
    expect(otp.status).toBe(200);
    expect(otp.body.session_id).toBe(pwd.body.session_id);
    const claims = await verifyIdToken(otp.body.id_token);
    expect(claims.amr).toEqual(['pwd', 'sms', 'mfa']);
    expect(claims).toMatchObject({ sub: user.userId, sid: pwd.body.session_id, phone_number: user.phone, phone_number_verified: true });
  });
});

describe('each method over HTTP', () => {
  it('email OTP gives amr eotp and verifies the email', async () => {
    const user = await newUser();
    expect((await api('/cis/v1/auth/otp/send', { channel: 'email', identifier_type: 'email', identifier: user.email.toUpperCase() })).status).toBe(200);
    const [mail] = await outbox(user.email);
    const res = await api('/cis/v1/auth/otp/authenticate', { passcode: mail!.code, identifier_type: 'email', identifier: user.email });
    const claims = await verifyIdToken(res.body.id_token);
    expect(claims).toMatchObject({ amr: ['eotp'], email: user.email, email_verified: true });
  });

  it('magic link, then TOTP in the same session: eml + otp is MFA', async () => {
    const user = await newUser();
    const sent = await api('/cis/v1/auth/link/email/send', { identifier_type: 'email', identifier: user.email, redirect_uri: 'http://localhost:3000/callback', state: 'xyz' });
    expect(sent).toMatchObject({ status: 200, body: { message: 'Email sent successfully' } });
    const [mail] = await outbox(user.email);
    const link = new URL(mail!.link!);
    expect(`${link.origin}${link.pathname}`).toBe('http://localhost:3000/callback');
    expect(link.searchParams.get('state')).toBe('xyz');
    const eml = await api('/cis/v1/auth/link/email/authenticate', { code: link.searchParams.get('code') });
    expect((await verifyIdToken(eml.body.id_token)).amr).toEqual(['eml']);
    expect((await api('/cis/v1/auth/link/email/authenticate', { code: link.searchParams.get('code') })).body.error_code).toBe('invalid_magic_link_code');

    // Registering takes the user access token of a session that proved the user's factors: the link
    // verified the email, so with the password the user holds two classes, and the session proves both.
    const emlOnly = await fetch(`${server.url}/cis/v1/auth/totp/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${eml.body.access_token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(emlOnly.status).toBe(403);
    expect(((await emlOnly.json()) as { error_code: string }).error_code).toBe('auth_mfa_required');
    const pwd = await api('/cis/v1/auth/password/authenticate', { username: user.username, password: 'correct horse battery staple', session_id: eml.body.session_id });
    expect(pwd.status).toBe(200);
    const registeredRes = await fetch(`${server.url}/cis/v1/auth/totp/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pwd.body.access_token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(registeredRes.status).toBe(201);
    const registered = (await registeredRes.json()) as { secret: string; uri: string };
    expect(registered.uri).toMatch(/^otpauth:\/\/totp\//);
    const code = generateSync({ secret: registered.secret });
    const totp = await api('/cis/v1/auth/totp/authenticate', { identifier_type: 'user_id', identifier: user.userId, token: code, session_id: eml.body.session_id });
    expect(totp.status).toBe(200);
    expect((await verifyIdToken(totp.body.id_token)).amr).toEqual(['pwd', 'eml', 'otp', 'mfa']);
    const replay = await api('/cis/v1/auth/totp/authenticate', { identifier_type: 'user_id', identifier: user.userId, token: code });
    expect(replay.body.error_code).toBe('auth_invalid_credentials');
  });

  it('refresh rotates, logout ends the session and its refresh tokens', async () => {
    const user = await newUser();
    const pwd = await api('/cis/v1/auth/password/authenticate', { username: user.email, username_type: 'email', password: 'correct horse battery staple' });
    const refreshed = await api('/cis/v1/auth/token/refresh', { refresh_token: pwd.body.refresh_token });
    expect(refreshed.status).toBe(200);
    expect((await verifyIdToken(refreshed.body.id_token)).sid).toBe(pwd.body.session_id);
    const session = await api('/cis/v1/auth/session/authenticate', { session_id: pwd.body.session_id });
    expect(session.status).toBe(200);
    expect((await api('/cis/v1/auth/session/logout', { session_id: pwd.body.session_id })).status).toBe(204);
    expect((await api('/cis/v1/auth/token/refresh', { refresh_token: refreshed.body.refresh_token })).body.error_code).toBe('invalid_grant');
    expect((await api('/cis/v1/auth/session/authenticate', { session_id: pwd.body.session_id })).body.error_code).toBe('session_not_found');
  });

  it('users are found by id, username, email and phone number', async () => {
    const user = await newUser();
    for (const path of [
      `/cis/v1/users/${user.userId}`,
      `/cis/v1/users/username/${user.username}`,
      `/cis/v1/users/email/${encodeURIComponent(user.email)}`,
      `/cis/v1/users/phone-number/${encodeURIComponent(user.phone)}`,
    ]) {
      const res = await api(path, undefined, 'GET');
      expect(res.status, path).toBe(200);
      expect(res.body.result.user_id).toBe(user.userId);
      expect(JSON.stringify(res.body)).not.toMatch(/scrypt|password/);
    }
  });
});

describe('the HTTP edge', () => {
  it('bad input of any shape is a 400 system_invalid_input, never a 5xx', async () => {
    const raw = async (body: string) => {
      const res = await fetch(`${server.url}/cis/v1/auth/otp/send`, { method: 'POST', headers: { authorization: `Bearer ${clientToken}`, 'content-type': 'application/json' }, body });
      return { status: res.status, body: (await res.json()) as { error_code: string } };
    };
    for (const body of ['{', '[]', 'null', '"x"', '{"channel":1}', JSON.stringify({ channel: 'sms', identifier_type: 'email', identifier: 'x'.repeat(20_000) }), 'x'.repeat(100_000)]) {
      const res = await raw(body);
      expect(res.status, body.slice(0, 40)).toBe(400);
      expect(res.body.error_code).toBe('system_invalid_input');
    }
  });

  it('unknown routes are 404 and calls without a client token are 401', async () => {
    expect((await fetch(`${server.url}/cis/v1/nope`)).status).toBe(404);
    const res = await fetch(`${server.url}/cis/v1/users/abc`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error_code: 'unauthorized' });
  });

  it('serves discovery, JWKS and the OpenAPI document without a token', async () => {
    const discovery = (await (await fetch(`${server.url}/cis/oidc/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({ issuer: server.url, jwks_uri: `${server.url}/cis/oidc/jwks` });
    const openapi = (await (await fetch(`${server.url}/cis/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(openapi.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.paths)).toContain('/cis/v1/auth/otp/send');
  });

  it('serves the same discovery document at {iss}/.well-known/openid-configuration, where standard clients look, with issuer equal to iss', async () => {
    const transmitPath = await fetch(`${server.url}/cis/oidc/.well-known/openid-configuration`);
    const document = (await transmitPath.json()) as { issuer: string };
    const iss = (decodeJwt(clientToken).iss)!;
    expect(document.issuer).toBe(iss);
    const standard = await fetch(`${iss}/.well-known/openid-configuration`);
    expect(standard.status).toBe(200);
    expect(standard.headers.get('content-type')).toBe('application/json');
    expect(await standard.json()).toEqual(document);
  });
});
