import { decodeJwt } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ClientRecord, SessionRecord, UserRecord } from '../../functions/core/model.js';
import { keys } from '../../functions/core/model.js';
import { passwordAttemptsKey } from '../../functions/core/password-auth.js';
import { replaceUserPassword } from '../../functions/core/user-passwords.js';
import { handler as authPassword } from '../../functions/handlers/auth-password.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { handler as createUser } from '../../functions/handlers/users-create.js';
import { createTestClient, createTestDeps, idTokenClaims, invoke, type TestContext } from '../support/harness.js';
import { seedAuthentication } from '../support/seed.js';

const PASSWORD = 'correct horse battery';

let t: TestContext;
let client: ClientRecord;
let token: string;
let ada: { user_id: string };

async function create(body: Record<string, unknown>) {
  const res = await invoke(createUser, { token, body });
  expect(res.status).toBe(201);
  return res.body.result as { user_id: string };
}

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps));
  ada = await create({ email: 'ada@example.com', phone_number: '+15551234567', username: 'Ada', credentials: { password: PASSWORD } });
});

async function login(body: Record<string, unknown>) {
  return invoke(authPassword, { token, body: { username: 'ada', password: PASSWORD, ...body } });
}

/** Ada's password guess counter. */
async function attemptsKey(): Promise<string> {
  return passwordAttemptsKey(await stored(ada.user_id), 'username', 'ada');
}

async function stored(userId: string): Promise<UserRecord> {
  return (await t.store.get<UserRecord>(keys.user(userId)))!.value;
}

describe('password authentication', () => {
  it('returns the token response, and the ID token is signed by the service with amr [pwd]', async () => {
    const res = await login({});
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      access_token: expect.any(String),
      id_token: expect.any(String),
      refresh_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 3600,
      session_id: expect.any(String),
    });
    const claims = decodeJwt(res.body.id_token);
    expect(claims).toMatchObject({ sub: ada.user_id, aud: client.client_id, sid: res.body.session_id, amr: ['pwd'] });
    const payload = await idTokenClaims(t.deps, res.body.id_token, client.client_id);
    expect(payload.amr).toEqual(['pwd']);
    expect(payload.email).toBe('ada@example.com');
    expect(JSON.stringify(res.body)).not.toContain('scrypt');
  });

  it('finds the user by username (any case), email (any case) or phone number', async () => {
    for (const body of [
      { username: 'ADA' },
      { username: 'Ada', username_type: 'username' },
      { username: 'ADA@Example.com', username_type: 'email' },
      { username: '+15551234567', username_type: 'phone_number' },
    ]) {
      const res = await login(body);
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(decodeJwt(res.body.id_token).sub).toBe(ada.user_id);
    }
  });

  it('accepts the password in another Unicode normalisation form', async () => {
    await create({ email: 'zoe@example.com', username: 'zoe', credentials: { password: 'cafe\u0301 au lait' } });
    expect((await login({ username: 'zoe', password: 'caf\u00e9 au lait' })).status).toBe(200);
  });

  it('answers a wrong password, an unknown user, a user without a password and a disabled user alike', async () => {
    const wrong = await login({ password: 'not the password' });
    const unknown = await login({ username: 'nobody' });
    const unknownEmail = await login({ username: 'nobody@example.com', username_type: 'email' });
    const grace = await create({ email: 'grace@example.com', username: 'grace' });
    const noPassword = await login({ username: 'grace' });
    const record = await t.store.get<UserRecord>(keys.user(ada.user_id));
    await t.store.put(keys.user(ada.user_id), { ...record!.value, status: 'Disabled' }, { expectVersion: record!.version });
    const disabled = await login({});
    for (const res of [wrong, unknown, unknownEmail, noPassword, disabled]) {
      expect(res.status).toBe(400);
      expect(res.body).toEqual(wrong.body);
    }
    expect(wrong.body).toEqual({ error_code: 'auth_invalid_credentials', message: expect.any(String) });
    expect(grace.user_id).toBeDefined();
  });

  it('the user record never contains the plain password, before or after logins', async () => {
    await login({});
    await login({ password: 'not the password' });
    const raw = JSON.stringify(await stored(ada.user_id));
    expect(raw).not.toContain(PASSWORD);
    expect(raw).not.toContain('not the password');
  });

  it('refuses bad input with 400 system_invalid_input, and no client token with 401', async () => {
    for (const body of [
      { username: 'ada' },
      { password: PASSWORD },
      { username: 'ada', password: 12345678 },
      { username: 'ada', password: PASSWORD, username_type: 'nickname' },
      { username: 'ada', password: PASSWORD, client_attributes: { ip_address: 'not-an-ip' } },
      { username: 'ada', password: 'x'.repeat(1025) },
    ]) {
      const res = await invoke(authPassword, { token, body });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.error_code).toBe('system_invalid_input');
    }
    for (const rawBody of ['not json', JSON.stringify({ username: 'ada', password: PASSWORD, pad: 'x'.repeat(16 * 1024) })]) {
      const res = await invoke(authPassword, { token, rawBody });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('system_invalid_input');
    }
    const anonymous = await invoke(authPassword, { body: { username: 'ada', password: PASSWORD } });
    expect(anonymous.status).toBe(401);
    const forged = await invoke(authPassword, { token: 'a.b.c', body: { username: 'ada', password: PASSWORD } });
    expect(forged.status).toBe(401);
  });
});

describe('password lockout', () => {
  async function fail(times: number) {
    for (let i = 0; i < times; i++) {
      const res = await login({ password: 'not the password' });
      expect(res.body.error_code).toBe('auth_invalid_credentials');
    }
  }

  it('10 consecutive failures lock password login for 15 minutes, even for the right password', async () => {
    await fail(10);
    const locked = await login({});
    expect(locked.status).toBe(403);
    expect(locked.body.error_code).toBe('auth_locked');
    expect(locked.headers['Retry-After']).toBe('900');
    expect(JSON.stringify(locked.body)).not.toContain(PASSWORD);

    t.clock.advance(15 * 60 * 1000 - 1000);
    const stillLocked = await login({});
    expect(stillLocked.status).toBe(403);
    expect(stillLocked.headers['Retry-After']).toBe('1');

    t.clock.advance(1000);
    expect((await login({})).status).toBe(200);
    expect(await t.store.getAttempts(await attemptsKey())).toBeUndefined(); // a success forgets the failures
  });

  it('the lock counts failures by user, whichever identifier names it', async () => {
    await fail(5);
    for (let i = 0; i < 5; i++) await login({ username: 'ada@example.com', username_type: 'email', password: 'nope nope nope' });
    expect((await login({ username: '+15551234567', username_type: 'phone_number' })).body.error_code).toBe('auth_locked');
  });

  it('a success resets the count: failures must be consecutive', async () => {
    await fail(9);
    expect((await login({})).status).toBe(200);
    await fail(9);
    expect((await login({})).status).toBe(200);
    expect(await t.store.getAttempts(await attemptsKey())).toBeUndefined();
  });

  it("locking one user's password does not lock another's", async () => {
    await create({ email: 'grace@example.com', username: 'grace', credentials: { password: PASSWORD } });
    await fail(10);
    expect((await login({})).status).toBe(403);
    expect((await login({ username: 'grace' })).status).toBe(200);
  });

  it('parallel wrong guesses cannot slip past the limit', async () => {
    const results = await Promise.all(Array.from({ length: 16 }, () => login({ password: 'not the password' })));
    const codes = results.map((r) => r.body.error_code);
    // Every attempt is counted by one atomic write before the password is compared, so exactly 10 are.
    expect(codes.filter((c) => c === 'auth_invalid_credentials')).toHaveLength(10);
    expect(codes.filter((c) => c === 'auth_locked')).toHaveLength(6);
    expect(await t.store.getAttempts(await attemptsKey())).toMatchObject({ count: 10, last_at: t.clock.now() });
    expect((await login({})).body.error_code).toBe('auth_locked');
  });

  it('a new password lifts the lock', async () => {
    await fail(10);
    expect((await login({})).body.error_code).toBe('auth_locked');
    await replaceUserPassword(t.deps, ada.user_id, { password: 'a brand new passphrase' });
    expect((await login({ password: 'a brand new passphrase' })).status).toBe(200);
  });

  it('a new password starts the count afresh: failures at the old one do not carry over', async () => {
    await fail(9);
    await replaceUserPassword(t.deps, ada.user_id, { password: 'a brand new passphrase' });
    expect(await t.store.getAttempts(await attemptsKey())).toBeUndefined();
    await fail(9);
    expect((await login({ password: 'a brand new passphrase' })).status).toBe(200);
  });

  it('a claim that outlived a change names no one: its guesses count as at an unknown identifier, not on the user', async () => {
    await t.store.put(keys.emailClaim('stale@example.com'), { user_id: ada.user_id, created_at: t.clock.now() }, { expectVersion: null });
    const res = await login({ username: 'stale@example.com', username_type: 'email' });
    expect(res.body.error_code).toBe('auth_invalid_credentials');
    expect((await t.store.getAttempts(await attemptsKey()))?.count ?? 0).toBe(0); // counted on the user's record, then given back
    expect(await t.store.getAttempts(passwordAttemptsKey(undefined, 'email', 'stale@example.com'))).toMatchObject({ count: 1 });
  });

  it("counting a guess leaves the user record's version alone", async () => {
    const before = (await t.store.get(keys.user(ada.user_id)))!.version;
    await fail(3);
    expect((await login({})).status).toBe(200);
    expect((await t.store.get(keys.user(ada.user_id)))!.version).toBe(before);
  });

  it('an unknown user locks exactly like a known one, so the lock tells nothing', async () => {
    const answers = async (username: string) => {
      const out: Array<{ status: number; body: unknown; retry?: string }> = [];
      for (let i = 0; i < 11; i++) {
        const res = await login({ username, password: 'not the password' });
        out.push({ status: res.status, body: res.body, retry: res.headers['Retry-After'] });
      }
      return out;
    };
    expect(await answers('nobody')).toEqual(await answers('ada'));
  });
});

describe('adding a password authentication to a session', () => {
  it('adds pwd to a session of the same user: amr counts it once, the session is the same', async () => {
    const first = await login({});
    t.clock.advanceSeconds(30);
    const second = await login({ session_id: first.body.session_id });
    expect(second.status).toBe(200);
    expect(second.body.session_id).toBe(first.body.session_id);
    expect(decodeJwt(second.body.id_token).amr).toEqual(['pwd']);
  });

  it('password on top of an SMS OTP session satisfies MFA', async () => {
    const sms = await seedAuthentication(t.deps, client, await stored(ada.user_id), 'sms');
    const res = await login({ session_id: sms.session_id });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.id_token).amr).toEqual(['pwd', 'sms', 'mfa']);
  });

  it('session_not_found for an unknown, ended or foreign session', async () => {
    const unknown = await login({ session_id: 'no-such-session' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error_code).toBe('session_not_found');

    const other = await createTestClient(t.deps);
    const foreign = await seedAuthentication(t.deps, other.client, await stored(ada.user_id), 'sms');
    const res = await login({ session_id: foreign.session_id });
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('session_not_found');
  });

  it("session_user_mismatch for another user's session, also when the named user is unknown", async () => {
    const grace = await create({ email: 'grace@example.com', username: 'grace', credentials: { password: PASSWORD } });
    const graceSession = await seedAuthentication(t.deps, client, await stored(grace.user_id), 'sms');
    for (const username of ['ada', 'nobody']) {
      const res = await login({ username, session_id: graceSession.session_id });
      expect(res.status).toBe(403);
      expect(res.body.error_code).toBe('session_user_mismatch');
    }
  });

  it('session_binding_mismatch when the session is bound to another IP', async () => {
    const bound = await login({ client_attributes: { ip_address: '203.0.113.7' } });
    expect(bound.status).toBe(200);
    const elsewhere = await login({ session_id: bound.body.session_id, client_attributes: { ip_address: '198.51.100.1' } });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.error_code).toBe('session_binding_mismatch');
    const same = await login({ session_id: bound.body.session_id, client_attributes: { ip_address: '203.0.113.7' } });
    expect(same.status).toBe(200);
  });

  it('a failed password never changes the session', async () => {
    const first = await login({});
    const before = await t.store.get<SessionRecord>(keys.session(first.body.session_id));
    t.clock.advanceSeconds(10);
    const res = await login({ session_id: first.body.session_id, password: 'not the password' });
    expect(res.body.error_code).toBe('auth_invalid_credentials');
    expect(await t.store.get<SessionRecord>(keys.session(first.body.session_id))).toEqual(before);
    const live = await invoke(sessionAuthenticate, { token, body: { session_id: first.body.session_id } });
    expect(live.status).toBe(200);
  });
});
