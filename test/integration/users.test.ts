import { beforeEach, describe, expect, it } from 'vitest';
import type { ClaimRecord, ClientRecord, UserRecord } from '../../functions/core/model.js';
import { keys } from '../../functions/core/model.js';
import { CLAIM_GRACE_MS } from '../../functions/core/users.js';
import { handler as authPassword } from '../../functions/handlers/auth-password.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { handler as createUser } from '../../functions/handlers/users-create.js';
import { handler as deleteUser } from '../../functions/handlers/users-delete.js';
import { handler as getByEmail } from '../../functions/handlers/users-get-by-email.js';
import { handler as getByPhone } from '../../functions/handlers/users-get-by-phone.js';
import { handler as getByUsername } from '../../functions/handlers/users-get-by-username.js';
import { handler as getUser } from '../../functions/handlers/users-get.js';
import { handler as createPassword } from '../../functions/handlers/users-password-create.js';
import { handler as replacePassword } from '../../functions/handlers/users-password-update.js';
import { handler as updateUser } from '../../functions/handlers/users-update.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedAuthentication } from '../support/seed.js';

const PASSWORD = 'correct horse battery';

let t: TestContext;
let client: ClientRecord;
let token: string;

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps));
});

async function create(body: unknown) {
  return invoke(createUser, { token, body });
}

async function createOk(body: Record<string, unknown>) {
  const res = await create(body);
  expect(res.status).toBe(201);
  return res.body.result as { user_id: string; [k: string]: any };
}

async function stored(userId: string): Promise<UserRecord | undefined> {
  return (await t.store.get<UserRecord>(keys.user(userId)))?.value;
}

async function login(username: string, password = PASSWORD, extra: Record<string, unknown> = {}) {
  return invoke(authPassword, { token, body: { username, password, ...extra } });
}

describe('creating a user', () => {
  it('returns 201 with the user, contacts unverified, and never a hash', async () => {
    const res = await create({
      email: ' Ada@Example.COM ',
      phone_number: '+15551234567',
      username: 'Ada',
      name: { first_name: 'Ada', last_name: 'Lovelace' },
      credentials: { password: PASSWORD, force_replace: false },
    });
    expect(res.status).toBe(201);
    const user = res.body.result;
    expect(user).toEqual({
      user_id: expect.any(String),
      email: { value: 'ada@example.com', email_verified: false },
      phone_number: { value: '+15551234567', phone_number_verified: false },
      username: 'Ada',
      name: { first_name: 'Ada', last_name: 'Lovelace' },
      status: 'Active',
      created_at: t.clock.now(),
      updated_at: t.clock.now(),
    });
    const raw = JSON.stringify(res.body);
    expect(raw).not.toContain('scrypt');
    expect(raw).not.toContain(PASSWORD);
    expect(raw).not.toContain('password');
  });

  it('stores only a salted scrypt hash of the password, never the password', async () => {
    const user = await createOk({ email: 'ada@example.com', credentials: { password: PASSWORD } });
    const record = await stored(user.user_id);
    expect(record?.password?.hash).toMatch(/^scrypt\$4096\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(JSON.stringify(record)).not.toContain(PASSWORD);
  });

  it('creates a username-only user, as the upstream password sample does', async () => {
    const user = await createOk({ username: 'ada', credentials: { password: PASSWORD } });
    expect(user).toEqual({ user_id: expect.any(String), username: 'ada', status: 'Active', created_at: t.clock.now(), updated_at: t.clock.now() });
    expect((await login('ada')).status).toBe(200);
  });

  it('accepts an upstream name object and a user with only a phone number', async () => {
    const user = await createOk({ phone_number: '+15550000001', name: { first_name: 'Grace', last_name: 'Hopper' } });
    expect(user.name).toEqual({ first_name: 'Grace', last_name: 'Hopper' });
    expect(user.email).toBeUndefined();
    expect(user.phone_number).toEqual({ value: '+15550000001', phone_number_verified: false });
  });

  it.each([
    ['none of email, phone number and username', { name: { first_name: 'Ada' } }],
    ['a name that is a bare string (upstream names are objects)', { email: 'ada@example.com', name: 'Ada Lovelace' }],
    ['an upstream profile field Twofold does not keep', { email: 'ada@example.com', birthday: '1815-12-10T00:00:00Z' }],
    ['custom data', { email: 'ada@example.com', custom_data: { tier: 'gold' } }],
    ['an email of the wrong type', { email: 12345 }],
    ['a malformed email', { email: 'not-an-email' }],
    ['a phone number that is not E.164', { phone_number: '555-1234' }],
    ['an over-long username', { email: 'ada@example.com', username: 'a'.repeat(129) }],
    ['credentials without a password', { email: 'ada@example.com', credentials: {} }],
    ['a password of the wrong type', { email: 'ada@example.com', credentials: { password: 12345678 } }],
  ])('refuses %s with 400 system_invalid_input', async (_, body) => {
    const res = await create(body);
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('system_invalid_input');
  });

  it('refuses a body that is not JSON, an array, or larger than 16 KiB', async () => {
    for (const rawBody of ['{"email": ', '[]', JSON.stringify({ email: 'ada@example.com', name: 'x'.repeat(17 * 1024) })]) {
      const res = await invoke(createUser, { token, rawBody });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('system_invalid_input');
    }
  });

  it('refuses a short, common or temporary password without echoing it, and creates nothing', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ password: 'short1!' }, 'auth_password_weak'],
      [{ password: 'iloveyou123' }, 'auth_password_breached'],
      [{ password: 'PASSWORD1' }, 'auth_password_breached'],
      [{ password: 'correct horse battery', force_replace: true }, 'system_invalid_input'],
    ];
    for (const [credentials, code] of cases) {
      const res = await create({ email: 'ada@example.com', credentials });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe(code);
      expect(res.body.message).not.toContain(credentials.password);
    }
    expect(await t.store.get(keys.emailClaim('ada@example.com'))).toBeUndefined();
  });

  it('needs a valid client token: 401 without one or with a bad one', async () => {
    const none = await invoke(createUser, { body: { email: 'ada@example.com' } });
    expect(none.status).toBe(401);
    expect(none.body.error_code).toBe('unauthorized');
    const bad = await invoke(createUser, { token: `${token.slice(0, -4)}AAAA`, body: { email: 'ada@example.com' } });
    expect(bad.status).toBe(401);
    expect(bad.body.error_code).toBe('unauthorized');
  });
});

describe('unique contacts and usernames', () => {
  beforeEach(async () => {
    await createOk({ email: 'ada@example.com', phone_number: '+15551234567', username: 'ada' });
  });

  it.each([
    ['the same email in another case', { email: '  ADA@example.com' }, /email/],
    ['the same phone number', { phone_number: '+15551234567' }, /phone number/],
    ['the same username in another case', { email: 'other@example.com', username: 'ADA' }, /username/],
  ])('refuses %s with 409 user_already_exists', async (_, body, message) => {
    const res = await create(body);
    expect(res.status).toBe(409);
    expect(res.body.error_code).toBe('user_already_exists');
    expect(res.body.message).toMatch(message);
  });

  it('a refused user leaves none of its new values claimed', async () => {
    // The email is claimed first, then the phone number collides: the email must be free again.
    const refused = await create({ email: 'grace@example.com', phone_number: '+15551234567' });
    expect(refused.status).toBe(409);
    expect(await t.store.get(keys.emailClaim('grace@example.com'))).toBeUndefined();
    await createOk({ email: 'grace@example.com' });
  });

  it('a stale claim left by a crash is taken over once it is past the grace period', async () => {
    // A crash between claiming and writing the user leaves a claim whose user does not exist.
    await t.store.put<ClaimRecord>(keys.emailClaim('ghost@example.com'), { user_id: 'never-written', created_at: t.clock.now() }, { expectVersion: null });
    const young = await create({ email: 'ghost@example.com' });
    expect(young.status).toBe(409);
    t.clock.advance(CLAIM_GRACE_MS);
    ({ token } = await createTestClient(t.deps));
    const user = await createOk({ email: 'ghost@example.com' });
    expect((await t.store.get<ClaimRecord>(keys.emailClaim('ghost@example.com')))?.value.user_id).toBe(user.user_id);
  });

  it('a claim whose user no longer holds that contact is taken over', async () => {
    const grace = await createOk({ email: 'grace@example.com' });
    // As if an update crashed before releasing the old value: the claim still names grace, who now holds another email.
    const record = await t.store.get<UserRecord>(keys.user(grace.user_id));
    await t.store.put(keys.user(grace.user_id), { ...record!.value, email: 'hopper@example.com' }, { expectVersion: record!.version });
    t.clock.advance(CLAIM_GRACE_MS);
    ({ token } = await createTestClient(t.deps));
    await createOk({ email: 'grace@example.com' });
  });
});

describe('getting a user', () => {
  let ada: { user_id: string };
  beforeEach(async () => {
    ada = await createOk({ email: 'ada@example.com', phone_number: '+15551234567', username: 'Ada' });
  });

  it('finds the user by id, username, email and phone number', async () => {
    const byId = await invoke(getUser, { token, params: { user_id: ada.user_id } });
    expect(byId.status).toBe(200);
    expect(byId.body.result).toEqual(ada);
    for (const [handler, params] of [
      [getByUsername, { username: 'ada' }],
      [getByUsername, { username: 'ADA' }],
      [getByEmail, { email: 'ADA@example.com' }],
      [getByPhone, { phone_number: '+15551234567' }],
    ] as const) {
      const res = await invoke(handler, { token, params });
      expect(res.status, JSON.stringify(params)).toBe(200);
      expect(res.body.result.user_id).toBe(ada.user_id);
    }
  });

  it('answers 404 user_not_found for an unknown user', async () => {
    for (const [handler, params] of [
      [getUser, { user_id: 'no-such-user' }],
      [getByUsername, { username: 'grace' }],
      [getByEmail, { email: 'grace@example.com' }],
      [getByPhone, { phone_number: '+15559999999' }],
    ] as const) {
      const res = await invoke(handler, { token, params });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error_code: 'user_not_found', message: expect.any(String) });
    }
  });

  it('refuses a malformed email or phone number with 400', async () => {
    const email = await invoke(getByEmail, { token, params: { email: 'nope' } });
    expect(email.status).toBe(400);
    expect(email.body.error_code).toBe('system_invalid_input');
    const phone = await invoke(getByPhone, { token, params: { phone_number: '5551234567' } });
    expect(phone.status).toBe(400);
    expect(phone.body.error_code).toBe('system_invalid_input');
  });

  it('needs a client token', async () => {
    const res = await invoke(getUser, { params: { user_id: ada.user_id } });
    expect(res.status).toBe(401);
  });
});

describe('creating a password (POST)', () => {
  it("creates a first password: 201 {result: {message: 'Password registered'}}, and the user can log in with it", async () => {
    const user = await createOk({ username: 'ada', email: 'ada@example.com' });
    const res = await invoke(createPassword, { token, params: { user_id: user.user_id }, body: { password: PASSWORD } });
    expect(res).toMatchObject({ status: 201, body: { result: { message: 'Password registered' } } });
    expect((await login('ada')).status).toBe(200);
    expect(JSON.stringify(await stored(user.user_id))).not.toContain(PASSWORD);
  });

  it('a first password does not end the sessions the user already has', async () => {
    const user = await createOk({ email: 'ada@example.com' });
    const session = await seedAuthentication(t.deps, client, (await stored(user.user_id))!, 'eotp');
    t.clock.advanceSeconds(5);
    await invoke(createPassword, { token, params: { user_id: user.user_id }, body: { password: PASSWORD } });
    const res = await invoke(sessionAuthenticate, { token, body: { session_id: session.session_id } });
    expect(res.status).toBe(200);
  });

  it('refuses a second password with 409 auth_password_already_configured; the first keeps working', async () => {
    const user = await createOk({ username: 'ada', email: 'ada@example.com', credentials: { password: PASSWORD } });
    const res = await invoke(createPassword, { token, params: { user_id: user.user_id }, body: { password: 'a brand new passphrase' } });
    expect(res.status).toBe(409);
    expect(res.body.error_code).toBe('auth_password_already_configured');
    expect((await login('ada')).status).toBe(200);
  });

  it('of two concurrent creates exactly one wins (201), the other gets 409, and the winner is the password that works', async () => {
    const user = await createOk({ username: 'ada', email: 'ada@example.com' });
    const passwords = ['first concurrent passphrase', 'second concurrent passphrase'];
    const results = await Promise.all(passwords.map((password) => invoke(createPassword, { token, params: { user_id: user.user_id }, body: { password } })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const winner = passwords[results.findIndex((r) => r.status === 201)]!;
    const loser = passwords.find((p) => p !== winner)!;
    expect((await login('ada', loser)).status).toBe(400);
    t.clock.advanceSeconds(1);
    expect((await login('ada', winner)).status).toBe(200);
  });

  it('sets the username it is given, which the user then logs in with', async () => {
    const user = await createOk({ email: 'ada@example.com' });
    const res = await invoke(createPassword, { token, params: { user_id: user.user_id }, body: { password: PASSWORD, username: 'countess' } });
    expect(res.status).toBe(201);
    expect((await invoke(getUser, { token, params: { user_id: user.user_id } })).body.result.username).toBe('countess');
    expect((await login('countess')).status).toBe(200);
  });

  it("refuses another user's username with 409 user_already_exists and sets no password", async () => {
    await createOk({ email: 'grace@example.com', username: 'grace' });
    const user = await createOk({ email: 'ada@example.com' });
    const res = await invoke(createPassword, { token, params: { user_id: user.user_id }, body: { password: PASSWORD, username: 'GRACE' } });
    expect(res.status).toBe(409);
    expect(res.body.error_code).toBe('user_already_exists');
    expect((await stored(user.user_id))?.password).toBeUndefined();
  });

  it('accepts force_replace false, device_id and enforce_complexity; refuses force_replace true (no temporary passwords)', async () => {
    const user = await createOk({ username: 'ada', email: 'ada@example.com' });
    const temporary = await invoke(createPassword, { token, params: { user_id: user.user_id }, body: { password: PASSWORD, force_replace: true } });
    expect(temporary.status).toBe(400);
    expect(temporary.body.error_code).toBe('system_invalid_input');
    expect(temporary.body.message).toMatch(/force_replace/);
    expect((await stored(user.user_id))?.password).toBeUndefined();
    const res = await invoke(createPassword, {
      token,
      params: { user_id: user.user_id },
      body: { password: PASSWORD, force_replace: false, device_id: 'device-1', enforce_complexity: false },
    });
    expect(res.status).toBe(201);
    expect((await login('ada')).status).toBe(200);
  });

  it('refuses a weak, common or malformed password with the code Transmit documents, and answers 404 for an unknown user', async () => {
    const user = await createOk({ email: 'ada@example.com' });
    const cases: Array<[unknown, string]> = [
      [{ password: 'short' }, 'auth_password_weak'],
      [{ password: 'qwertyuiop' }, 'auth_password_breached'],
      [{ password: 'x'.repeat(257) }, 'system_invalid_input'],
      [{ password: 12345678 }, 'system_invalid_input'],
      [{}, 'system_invalid_input'],
    ];
    for (const [body, code] of cases) {
      const res = await invoke(createPassword, { token, params: { user_id: user.user_id }, body });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe(code);
    }
    expect((await stored(user.user_id))?.password).toBeUndefined();
    const missing = await invoke(createPassword, { token, params: { user_id: 'no-such-user' }, body: { password: PASSWORD } });
    expect(missing.status).toBe(404);
    expect(missing.body.error_code).toBe('user_not_found');
    const anonymous = await invoke(createPassword, { params: { user_id: user.user_id }, body: { password: PASSWORD } });
    expect(anonymous.status).toBe(401);
  });
});

describe('replacing a password (PUT)', () => {
  it("answers 200 {result: {message}}, ends the user's existing sessions, and the old password stops working", async () => {
    const user = await createOk({ username: 'ada', email: 'ada@example.com', credentials: { password: PASSWORD } });
    const first = await login('ada');
    expect(first.status).toBe(200);
    t.clock.advanceSeconds(5);
    const res = await invoke(replacePassword, { token, params: { user_id: user.user_id }, body: { password: 'a brand new passphrase' } });
    expect(res).toMatchObject({ status: 200, body: { result: { message: 'Password registered' } } });
    const ended = await invoke(sessionAuthenticate, { token, body: { session_id: first.body.session_id } });
    expect(ended.status).toBe(400);
    expect(ended.body.error_code).toBe('session_not_found');
    t.clock.advanceSeconds(1);
    expect((await login('ada')).body.error_code).toBe('auth_invalid_credentials');
    const fresh = await login('ada', 'a brand new passphrase');
    expect(fresh.status).toBe(200);
    expect((await invoke(sessionAuthenticate, { token, body: { session_id: fresh.body.session_id } })).status).toBe(200);
  });

  it('a new password lifts a password lock', async () => {
    const user = await createOk({ username: 'ada', email: 'ada@example.com', credentials: { password: PASSWORD } });
    for (let i = 0; i < 10; i++) await login('ada', 'wrong password!');
    expect((await login('ada')).status).toBe(403);
    await invoke(replacePassword, { token, params: { user_id: user.user_id }, body: { password: 'a brand new passphrase' } });
    t.clock.advanceSeconds(1);
    expect((await login('ada', 'a brand new passphrase')).status).toBe(200);
  });

  it('answers 409 auth_password_already_configured for a user without a password, and sets none', async () => {
    const user = await createOk({ username: 'ada', email: 'ada@example.com' });
    const res = await invoke(replacePassword, { token, params: { user_id: user.user_id }, body: { password: PASSWORD } });
    expect(res.status).toBe(409);
    expect(res.body.error_code).toBe('auth_password_already_configured');
    expect((await stored(user.user_id))?.password).toBeUndefined();
  });

  it('refuses a weak or common password and force_replace true, and keeps the old password', async () => {
    const user = await createOk({ username: 'ada', email: 'ada@example.com', credentials: { password: PASSWORD } });
    const cases: Array<[unknown, string]> = [
      [{ password: 'short' }, 'auth_password_weak'],
      [{ password: 'iloveyou123' }, 'auth_password_breached'],
      [{ password: 'a brand new passphrase', force_replace: true }, 'system_invalid_input'],
    ];
    for (const [body, code] of cases) {
      const res = await invoke(replacePassword, { token, params: { user_id: user.user_id }, body });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe(code);
    }
    expect((await login('ada')).status).toBe(200);
    const missing = await invoke(replacePassword, { token, params: { user_id: 'no-such-user' }, body: { password: PASSWORD } });
    expect(missing.status).toBe(404);
  });
});

const EMAIL_VERIFIED_AT = Date.UTC(2026, 0, 1, 9, 30, 0);
const PHONE_VERIFIED_AT = Date.UTC(2026, 0, 2, 18, 0, 0, 250);

describe('updating a user', () => {
  let ada: { user_id: string };
  beforeEach(async () => {
    ada = await createOk({ email: 'ada@example.com', phone_number: '+15551234567', username: 'ada' });
    // Mark both contacts verified, as a successful OTP would.
    const record = await t.store.get<UserRecord>(keys.user(ada.user_id));
    await t.store.put(
      keys.user(ada.user_id),
      { ...record!.value, email_verified: true, email_verified_at: EMAIL_VERIFIED_AT, phone_number_verified: true, phone_number_verified_at: PHONE_VERIFIED_AT },
      { expectVersion: record!.version },
    );
    t.clock.advanceSeconds(60);
  });

  it('a changed contact becomes unverified; an unchanged one stays verified', async () => {
    const res = await invoke(updateUser, { token, params: { user_id: ada.user_id }, body: { email: 'Lovelace@Example.com', name: { first_name: 'Ada' } } });
    expect(res.status).toBe(200);
    expect(res.body.result).toMatchObject({
      email: { value: 'lovelace@example.com', email_verified: false },
      // verified_at is an ISO 8601 date-time, as upstream's ApiUser types it.
      phone_number: { value: '+15551234567', phone_number_verified: true, verified_at: '2026-01-02T18:00:00.250Z' },
      name: { first_name: 'Ada' },
      updated_at: t.clock.now(),
    });
    expect(res.body.result.email.verified_at).toBeUndefined();
    const record = await stored(ada.user_id);
    expect(record).toMatchObject({ email: 'lovelace@example.com', email_verified: false, phone_number_verified: true });
    expect(record?.email_verified_at).toBeUndefined();

    const phone = await invoke(updateUser, { token, params: { user_id: ada.user_id }, body: { phone_number: '+15557654321' } });
    expect(phone.body.result.phone_number).toEqual({ value: '+15557654321', phone_number_verified: false });
  });

  it('the same email in another case is not a change', async () => {
    const res = await invoke(updateUser, { token, params: { user_id: ada.user_id }, body: { email: 'ADA@example.com' } });
    expect(res.status).toBe(200);
    expect(res.body.result.email).toEqual({ value: 'ada@example.com', email_verified: true, verified_at: '2026-01-01T09:30:00.000Z' });
  });

  it('frees the old values for another user and moves the lookups', async () => {
    const res = await invoke(updateUser, {
      token,
      params: { user_id: ada.user_id },
      body: { email: 'lovelace@example.com', phone_number: '+15557654321', username: 'lovelace' },
    });
    expect(res.status).toBe(200);
    expect((await invoke(getByEmail, { token, params: { email: 'ada@example.com' } })).status).toBe(404);
    expect((await invoke(getByEmail, { token, params: { email: 'lovelace@example.com' } })).body.result.user_id).toBe(ada.user_id);
    expect((await invoke(getByUsername, { token, params: { username: 'lovelace' } })).body.result.user_id).toBe(ada.user_id);
    const other = await createOk({ email: 'ada@example.com', phone_number: '+15551234567', username: 'ada' });
    expect(other.user_id).not.toBe(ada.user_id);
  });

  it('a username change in case only keeps the claim', async () => {
    const res = await invoke(updateUser, { token, params: { user_id: ada.user_id }, body: { username: 'Ada' } });
    expect(res.body.result.username).toBe('Ada');
    expect((await invoke(getByUsername, { token, params: { username: 'ada' } })).body.result.user_id).toBe(ada.user_id);
    expect((await create({ email: 'x@example.com', username: 'ADA' })).status).toBe(409);
  });

  it("refuses another user's email, phone or username with 409 and changes nothing", async () => {
    await createOk({ email: 'grace@example.com', phone_number: '+15550000001', username: 'grace' });
    for (const body of [
      { email: 'GRACE@example.com' },
      { phone_number: '+15550000001' },
      { username: 'Grace' },
      // The free email is claimed first, then the phone collides: the email must be released again.
      { email: 'free@example.com', phone_number: '+15550000001' },
    ]) {
      const res = await invoke(updateUser, { token, params: { user_id: ada.user_id }, body });
      expect(res.status).toBe(409);
      expect(res.body.error_code).toBe('user_already_exists');
    }
    expect(await stored(ada.user_id)).toMatchObject({ email: 'ada@example.com', email_verified: true, phone_number: '+15551234567', username: 'ada' });
    expect(await t.store.get(keys.emailClaim('free@example.com'))).toBeUndefined();
  });

  it('answers 404 for an unknown user and 400 for bad input', async () => {
    const missing = await invoke(updateUser, { token, params: { user_id: 'no-such-user' }, body: { name: { first_name: 'x' } } });
    expect(missing.status).toBe(404);
    expect(missing.body.error_code).toBe('user_not_found');
    for (const body of [{ email: 'nope' }, { phone_number: 15551234567 }, { name: { first_name: 'x'.repeat(257) } }, { name: 'Ada' }, { status: 'Pending' }, { status: 'disabled' }]) {
      const res = await invoke(updateUser, { token, params: { user_id: ada.user_id }, body });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('system_invalid_input');
    }
    expect((await invoke(updateUser, { token, rawBody: '{', params: { user_id: ada.user_id } })).body.error_code).toBe('system_invalid_input');
  });

  it('never answers 200 for a field it did not apply: unsupported upstream fields are 400 and change nothing', async () => {
    const before = await stored(ada.user_id);
    for (const body of [
      { birthday: '1815-12-10T00:00:00Z' },
      { secondary_emails: ['ada@work.example'] },
      { address: { city: 'London' } },
      { custom_data: { tier: 'gold' } },
      { external_user_id: 'ext-1' },
      { name: { first_name: 'Augusta' }, picture: 'https://example.com/ada.png' },
    ]) {
      const res = await invoke(updateUser, { token, params: { user_id: ada.user_id }, body });
      expect(res).toMatchObject({ status: 400, body: { error_code: 'system_invalid_input' } });
    }
    expect(await stored(ada.user_id)).toEqual(before);
  });

  it('replaces the name object as a whole', async () => {
    await invoke(updateUser, { token, params: { user_id: ada.user_id }, body: { name: { first_name: 'Ada', last_name: 'Byron' } } });
    const res = await invoke(updateUser, { token, params: { user_id: ada.user_id }, body: { name: { last_name: 'Lovelace' } } });
    expect(res.body.result.name).toEqual({ last_name: 'Lovelace' });
  });
});

describe('deleting a user', () => {
  it("answers 204, removes the user and its claims, and ends the user's sessions", async () => {
    const ada = await createOk({ email: 'ada@example.com', phone_number: '+15551234567', username: 'ada', credentials: { password: PASSWORD } });
    const session = await login('ada');
    expect(session.status).toBe(200);
    expect((await invoke(sessionAuthenticate, { token, body: { session_id: session.body.session_id } })).status).toBe(200);

    const res = await invoke(deleteUser, { token, params: { user_id: ada.user_id } });
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();

    const ended = await invoke(sessionAuthenticate, { token, body: { session_id: session.body.session_id } });
    expect(ended.status).toBe(400);
    expect(ended.body.error_code).toBe('session_not_found');
    expect((await invoke(getUser, { token, params: { user_id: ada.user_id } })).status).toBe(404);
    expect(await t.store.get(keys.emailClaim('ada@example.com'))).toBeUndefined();
    expect(await t.store.get(keys.phoneClaim('+15551234567'))).toBeUndefined();
    expect(await t.store.get(keys.usernameClaim('ada'))).toBeUndefined();
    expect((await login('ada')).body.error_code).toBe('auth_invalid_credentials');
    // The contacts are free for a new user at once.
    await createOk({ email: 'ada@example.com', phone_number: '+15551234567', username: 'ada' });
  });

  it('answers 404 for an unknown or already deleted user', async () => {
    const ada = await createOk({ email: 'ada@example.com' });
    expect((await invoke(deleteUser, { token, params: { user_id: ada.user_id } })).status).toBe(204);
    const again = await invoke(deleteUser, { token, params: { user_id: ada.user_id } });
    expect(again.status).toBe(404);
    expect(again.body.error_code).toBe('user_not_found');
    expect((await invoke(deleteUser, { params: { user_id: ada.user_id } })).status).toBe(401);
  });
});
