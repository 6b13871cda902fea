import { hkdfSync } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler as logout } from '../../functions/handlers/auth-logout.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { handler as refresh } from '../../functions/handlers/auth-token-refresh.js';
import type { ClientRecord, SessionRecord, UserRecord } from '../../functions/core/model.js';
import { keys } from '../../functions/core/model.js';
import { issueClientToken } from '../../functions/core/tokens.js';
import { USER_ACCESS_TOKEN_TYP } from '../../functions/core/user-access-tokens.js';
import { createTestClient, createTestDeps, invoke, verifyIdToken as verifyIdTokenWith, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';

let t: TestContext;
let client: ClientRecord;
let token: string;
let user: UserRecord;

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps));
  user = await seedUser(t.deps, { email: 'ada@example.com', email_verified: true, phone_number: '+15551234567' });
});

/** Client tokens live an hour: tests that move the clock further fetch a fresh one. */
async function freshToken(): Promise<string> {
  return (await issueClientToken(t.deps, client)).access_token;
}

const verifyIdToken = (idToken: string) => verifyIdTokenWith(t.deps, idToken, client.client_id);

describe('session tokens', () => {
  it('an ID token carries the contract claims and the session amr', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd');
    t.clock.advanceSeconds(10);
    const second = await seedAuthentication(t.deps, client, user, 'sms', { sessionId: first.session_id });
    expect(second.session_id).toBe(first.session_id);
    const { payload, protectedHeader } = await verifyIdToken(second.id_token);
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    expect(protectedHeader.kid).toBeTruthy();
    expect(payload).toMatchObject({
      iss: t.deps.settings.issuer,
      sub: user.user_id,
      aud: client.client_id,
      sid: first.session_id,
      amr: ['pwd', 'sms', 'mfa'],
      email: 'ada@example.com',
      email_verified: true,
      phone_number: '+15551234567',
      phone_number_verified: false,
      auth_time: Math.floor(t.clock.now() / 1000),
      iat: Math.floor(t.clock.now() / 1000),
      exp: Math.floor(t.clock.now() / 1000) + 3600,
    });
  });

  it('an access token is an HS256 JWT under the user-token key, for the client, with sid and jti, and no published key verifies it', async () => {
    const res = await seedAuthentication(t.deps, client, user, 'pwd');
    const keyring = t.deps.userTokenKeys;
    const macKey = new Uint8Array(hkdfSync('sha256', keyring.keys[keyring.current]!, new Uint8Array(0), 'twofold:user-access-token', 32));
    const { payload } = await jwtVerify(res.access_token, macKey, {
      algorithms: ['HS256'],
      typ: USER_ACCESS_TOKEN_TYP,
      audience: client.client_id,
      issuer: t.deps.settings.issuer,
      currentDate: new Date(t.clock.now()),
    });
    expect(payload).toMatchObject({ sub: user.user_id, client_id: client.client_id, sid: res.session_id });
    expect(typeof payload.jti).toBe('string');
    const jwks = createLocalJWKSet({ keys: await t.deps.signer.publicKeys() });
    await expect(jwtVerify(res.access_token, jwks)).rejects.toThrow();
  });

  it('refresh tokens are opaque, carry a 256-bit keyed hash, and nothing stored rebuilds them without the key', async () => {
    const res = await seedAuthentication(t.deps, client, user, 'pwd');
    const [sessionId, generation, tag] = res.refresh_token.split('.');
    expect(sessionId).toBe(res.session_id);
    expect(generation).toBe('0');
    expect(tag!.length).toBeGreaterThanOrEqual(43);
    const stored = await t.store.get<SessionRecord>(keys.session(res.session_id));
    expect(JSON.stringify(stored)).not.toContain(tag);
  });
});

describe('POST /cis/v1/auth/session/authenticate', () => {
  it('gives fresh tokens for a live session without adding an authentication', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd');
    t.clock.advanceSeconds(60);
    const res = await invoke(sessionAuthenticate, { token, body: { session_id: first.session_id } });
    expect(res.status).toBe(200);
    expect(res.body.session_id).toBe(first.session_id);
    const claims = decodeJwt(res.body.id_token);
    expect(claims.amr).toEqual(['pwd']);
    expect(claims.auth_time).toBe(Math.floor((t.clock.now() - 60_000) / 1000));
  });

  it('refuses an unknown session with session_not_found', async () => {
    const res = await invoke(sessionAuthenticate, { token, body: { session_id: 'nope' } });
    expect(res).toMatchObject({ status: 400, body: { error_code: 'session_not_found' } });
  });

  it("another client's session is invisible: session_not_found", async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd');
    const other = await createTestClient(t.deps, { name: 'other' });
    const res = await invoke(sessionAuthenticate, { token: other.token, body: { session_id: first.session_id } });
    expect(res).toMatchObject({ status: 400, body: { error_code: 'session_not_found' } });
  });

  it('ends a session after its idle timeout (24 h by default)', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd');
    t.clock.advanceSeconds(24 * 3600 - 1);
    expect((await invoke(sessionAuthenticate, { token: await freshToken(), body: { session_id: first.session_id } })).status).toBe(200);
    t.clock.advanceSeconds(24 * 3600);
    const res = await invoke(sessionAuthenticate, { token: await freshToken(), body: { session_id: first.session_id } });
    expect(res.body.error_code).toBe('session_not_found');
  });

  it('ends a session at its absolute lifetime (14 days by default) even when active', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd');
    for (let day = 0; day < 14; day++) {
      t.clock.advanceSeconds(23 * 3600);
      expect((await invoke(sessionAuthenticate, { token: await freshToken(), body: { session_id: first.session_id } })).status).toBe(200);
    }
    t.clock.advanceSeconds(23 * 3600);
    expect((await invoke(sessionAuthenticate, { token: await freshToken(), body: { session_id: first.session_id } })).body.error_code).toBe('session_not_found');
  });

  it('honours the client session lifetimes', async () => {
    const short = await createTestClient(t.deps, { name: 'short', session_idle_timeout_seconds: 60, session_absolute_lifetime_seconds: 120 });
    const first = await seedAuthentication(t.deps, short.client, user, 'pwd');
    t.clock.advanceSeconds(61);
    expect((await invoke(sessionAuthenticate, { token: short.token, body: { session_id: first.session_id } })).body.error_code).toBe('session_not_found');
  });

  it('binds a session to the IP it was created with', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd', { clientAttributes: { ip_address: '203.0.113.7' } });
    const same = await invoke(sessionAuthenticate, { token, body: { session_id: first.session_id, client_attributes: { ip_address: '203.0.113.7' } } });
    expect(same.status).toBe(200);
    const other = await invoke(sessionAuthenticate, { token, body: { session_id: first.session_id, client_attributes: { ip_address: '198.51.100.1' } } });
    expect(other).toMatchObject({ status: 403, body: { error_code: 'session_binding_mismatch' } });
    const missing = await invoke(sessionAuthenticate, { token, body: { session_id: first.session_id } });
    expect(missing.body.error_code).toBe('session_binding_mismatch');
  });

  it('does not bind when the client turned binding off', async () => {
    const loose = await createTestClient(t.deps, { name: 'loose', bind_sessions_to_ip: false });
    const first = await seedAuthentication(t.deps, loose.client, user, 'pwd', { clientAttributes: { ip_address: '203.0.113.7' } });
    const res = await invoke(sessionAuthenticate, { token: loose.token, body: { session_id: first.session_id, client_attributes: { ip_address: '198.51.100.1' } } });
    expect(res.status).toBe(200);
  });

  it('refuses adding another user to a session, and leaves the session unchanged', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd');
    const before = await t.store.get<SessionRecord>(keys.session(first.session_id));
    const mallory = await seedUser(t.deps, { email: 'mallory@example.com' });
    await expect(seedAuthentication(t.deps, client, mallory, 'sms', { sessionId: first.session_id })).rejects.toMatchObject({
      code: 'session_user_mismatch',
      status: 403,
    });
    expect(await t.store.get(keys.session(first.session_id))).toEqual(before);
  });

  it('rejects bad input with system_invalid_input and no change', async () => {
    for (const body of [{}, { session_id: 42 }, { session_id: '' }, { session_id: 'x', client_attributes: { ip_address: 'not-an-ip' } }]) {
      const res = await invoke(sessionAuthenticate, { token, body });
      expect(res).toMatchObject({ status: 400, body: { error_code: 'system_invalid_input' } });
    }
  });
});

describe('POST /cis/v1/auth/session/logout', () => {
  it('ends the session at once: no more tokens, no more refreshes', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd');
    const out = await invoke(logout, { token, body: { session_id: first.session_id } });
    expect(out.status).toBe(204);
    expect((await invoke(sessionAuthenticate, { token, body: { session_id: first.session_id } })).body.error_code).toBe('session_not_found');
    expect((await invoke(refresh, { token, body: { refresh_token: first.refresh_token } })).body.error_code).toBe('invalid_grant');
    await expect(seedAuthentication(t.deps, client, user, 'sms', { sessionId: first.session_id })).rejects.toMatchObject({ code: 'session_not_found' });
  });

  it('every refresh token of the session stops working', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd');
    const second = await seedAuthentication(t.deps, client, user, 'sms', { sessionId: first.session_id });
    await invoke(logout, { token, body: { session_id: first.session_id } });
    for (const rt of [first.refresh_token, second.refresh_token]) {
      expect((await invoke(refresh, { token, body: { refresh_token: rt } })).body.error_code).toBe('invalid_grant');
    }
  });

  it('is idempotent for the own client and session_not_found for others', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd');
    expect((await invoke(logout, { token, body: { session_id: first.session_id } })).status).toBe(204);
    expect((await invoke(logout, { token, body: { session_id: first.session_id } })).status).toBe(204);
    const other = await createTestClient(t.deps, { name: 'other' });
    const second = await seedAuthentication(t.deps, client, user, 'pwd');
    expect((await invoke(logout, { token: other.token, body: { session_id: second.session_id } })).body.error_code).toBe('session_not_found');
    expect((await invoke(logout, { token, body: { session_id: 'unknown' } })).body.error_code).toBe('session_not_found');
    expect((await invoke(sessionAuthenticate, { token, body: { session_id: second.session_id } })).status).toBe(200);
  });
});

describe('POST /cis/v1/auth/token/refresh', () => {
  it('rotates: new tokens with the current amr, and the old refresh token stops working', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd');
    const second = await seedAuthentication(t.deps, client, user, 'sms', { sessionId: first.session_id });
    const res = await invoke(refresh, { token, body: { refresh_token: first.refresh_token } });
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('session_id');
    expect(res.body.token_type).toBe('Bearer');
    expect(res.body.refresh_token).not.toBe(first.refresh_token);
    const { payload } = await verifyIdToken(res.body.id_token);
    expect(payload.amr).toEqual(['pwd', 'sms', 'mfa']);
    // A join does not rotate: it handed out the session's current token, the one the login gave.
    expect(second.refresh_token).toBe(first.refresh_token);
    expect((await invoke(refresh, { token, body: { refresh_token: res.body.refresh_token } })).status).toBe(200);
  });

  it('a reused old refresh token ends the whole session', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd');
    const rotated = await invoke(refresh, { token, body: { refresh_token: first.refresh_token } });
    t.clock.advanceSeconds(11);
    const reuse = await invoke(refresh, { token, body: { refresh_token: first.refresh_token } });
    expect(reuse).toMatchObject({ status: 400, body: { error_code: 'invalid_grant' } });
    expect((await invoke(refresh, { token, body: { refresh_token: rotated.body.refresh_token } })).body.error_code).toBe('invalid_grant');
    expect((await invoke(sessionAuthenticate, { token, body: { session_id: first.session_id } })).body.error_code).toBe('session_not_found');
    const stored = await t.store.get<SessionRecord>(keys.session(first.session_id));
    expect(stored?.value.end_reason).toBe('refresh_token_reuse');
  });

  it('refuses unknown, malformed, foreign and expired-session refresh tokens', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd');
    const other = await createTestClient(t.deps, { name: 'other' });
    expect((await invoke(refresh, { token: other.token, body: { refresh_token: first.refresh_token } })).body.error_code).toBe('invalid_grant');
    expect((await invoke(refresh, { token, body: { refresh_token: 'garbage' } })).body.error_code).toBe('invalid_grant');
    expect((await invoke(refresh, { token, body: { refresh_token: `${first.session_id}.forged` } })).body.error_code).toBe('invalid_grant');
    // A guessed token for a live session does not end it.
    expect((await invoke(sessionAuthenticate, { token, body: { session_id: first.session_id } })).status).toBe(200);
    t.clock.advanceSeconds(25 * 3600);
    expect((await invoke(refresh, { token: await freshToken(), body: { refresh_token: first.refresh_token } })).body.error_code).toBe('invalid_grant');
    expect((await invoke(refresh, { token: await freshToken(), body: {} })).body.error_code).toBe("system_invalid_input");
  });
});

describe('a session joined again and again', () => {
  it('keeps a bounded record: the latest 10 authentications of each method, and the same claims', async () => {
    // Every step-up appends to the session record; unbounded, a caller with one credential could grow it to
    // DynamoDB's 400 KB item limit, after which no refresh, logout or reuse detection could write it.
    const first = await seedAuthentication(t.deps, client, user, 'sms');
    let last = first;
    for (let i = 0; i < 25; i++) {
      t.clock.advanceSeconds(1);
      last = await seedAuthentication(t.deps, client, user, 'pwd', { sessionId: first.session_id });
    }
    const session = (await t.store.get<SessionRecord>(keys.session(first.session_id)))!.value;
    expect(session.authentications.filter((a) => a.method === 'sms')).toHaveLength(1);
    const passwords = session.authentications.filter((a) => a.method === 'pwd').map((a) => a.at);
    expect(passwords).toEqual(Array.from({ length: 10 }, (_, i) => t.clock.now() - (9 - i) * 1000));
    const { payload } = await verifyIdToken(last.id_token);
    expect(payload.amr).toEqual(['pwd', 'sms', 'mfa']);
    expect(payload.auth_time).toBe(Math.floor(t.clock.now() / 1000));
  });
});
