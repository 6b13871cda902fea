import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { openSecret, openWithKeyring, sealedKeyId } from '../../functions/core/crypto.js';
import { keys, type ClientRecord, type UserRecord } from '../../functions/core/model.js';
import { issueClientToken } from '../../functions/core/tokens.js';
import { logoutSession } from '../../functions/core/sessions.js';
import { isTotpActive, totpCodeForStep, totpStep } from '../../functions/core/totp.js';
import { toUserView } from '../../functions/core/users.js';
import { handler as linkAuthenticate } from '../../functions/handlers/auth-link-authenticate.js';
import { handler as linkSend } from '../../functions/handlers/auth-link-send.js';
import { handler as totpAuthenticate } from '../../functions/handlers/auth-totp-authenticate.js';
import { handler as totpRegister } from '../../functions/handlers/auth-totp-register.js';
import { createTestClient, createTestDeps, idTokenClaims, invoke, slowSigning, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';
import { proxyStore } from '../support/store-proxy.js';
import { kindOfKey } from '../../functions/access.js';

const REDIRECT = 'https://app.example/callback';

let t: TestContext;
let client: ClientRecord;
let token: string;
let ada: UserRecord;
/** Ada's user access token: registering needs a user who has just authenticated. */
let adaToken: string;

async function register(body: Record<string, unknown> = {}, as = adaToken) {
  return invoke(totpRegister, { token: as, body });
}

async function userTokenOf(user: UserRecord): Promise<string> {
  return (await seedAuthentication(t.deps, client, user, 'pwd')).access_token;
}

/** The user token of a session that just proved password + authenticator app: it may replace the app. */
async function mfaTokenOf(user: UserRecord): Promise<string> {
  const first = await seedAuthentication(t.deps, client, user, 'pwd');
  return (await seedAuthentication(t.deps, client, user, 'otp', { sessionId: first.session_id })).access_token;
}

/** The code an authenticator app would show now (by the test clock), `offset` steps away. */
function codeNow(secret: string, offset = 0): string {
  return totpCodeForStep(secret, totpStep(t.clock.now()) + offset);
}

async function authenticateTotp(code: string, extra: Record<string, unknown> = {}, as = token) {
  return invoke(totpAuthenticate, { token: as, body: { identifier_type: 'email', identifier: 'ada@example.com', token: code, ...extra } });
}

async function storedAda(): Promise<UserRecord> {
  return (await t.store.get<UserRecord>(keys.user(ada.user_id)))!.value;
}

const verifyIdToken = (idToken: string) => idTokenClaims(t.deps, idToken, client.client_id);

/** A wrong code for now: one that matches no step of the window. */
function wrongCode(secret: string): string {
  const window = new Set([-1, 0, 1].map((o) => codeNow(secret, o)));
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(6, '0');
    if (!window.has(candidate)) return candidate;
  }
}


beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps, { redirect_uris: [REDIRECT] }));
  ada = await seedUser(t.deps, { user_id: 'u-ada', email: 'ada@example.com' });
  adaToken = await userTokenOf(ada);
});

describe('registering an authenticator', () => {
  it('returns a base32 secret of 160 bits and an otpauth URI naming the app and the account', async () => {
    const res = await register();
    expect(res.status).toBe(201);
    expect(res.body.secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(res.body.uri);
    expect(res.body.uri.startsWith('otpauth://totp/')).toBe(true);
    expect(decodeURIComponent(uri.pathname.slice(1))).toBe(`${t.deps.settings.appName}:ada@example.com`);
    expect(uri.searchParams.get('secret')).toBe(res.body.secret);
    expect(uri.searchParams.get('issuer')).toBe(t.deps.settings.appName);
    const stored = (await storedAda()).totp!;
    expect(stored.created_at).toBe(t.clock.now());
    // Stored sealed under the TOTP key it names, never in clear; it opens only with that key, never with the hash key.
    expect(JSON.stringify(stored)).not.toContain(res.body.secret);
    expect(sealedKeyId(stored.sealed_secret)).toBe('1');
    expect(openWithKeyring(t.deps.totpKeys, 'totp', stored.sealed_secret)).toBe(res.body.secret);
    expect(() => openWithKeyring({ current: '1', keys: { '1': randomBytes(32) } }, 'totp', stored.sealed_secret)).toThrow();
    expect(() => openSecret(t.deps.hashKey, 'totp', stored.sealed_secret)).toThrow();
  });

  it('the secret never appears in the user view', async () => {
    const { body } = await register();
    expect(JSON.stringify(toUserView(await storedAda()))).not.toContain(body.secret);
  });

  it('names the account by user id when the user has no email, phone or username', async () => {
    const bare = await seedUser(t.deps, { user_id: 'u-bare', phone_number: undefined });
    const res = await register({}, await userTokenOf(bare));
    expect(decodeURIComponent(new URL(res.body.uri).pathname.slice(1))).toBe(`${t.deps.settings.appName}:u-bare`);
  });

  it('prefers the username to the phone number, and a label to both', async () => {
    const grace = await seedUser(t.deps, { user_id: 'u-grace', username: 'grace', phone_number: '+15550000009' });
    const graceToken = await userTokenOf(grace);
    const account = (uri: string) => decodeURIComponent(new URL(uri).pathname.slice(1));
    expect(account((await register({}, graceToken)).body.uri)).toBe(`${t.deps.settings.appName}:grace`);
    expect(account((await register({ label: 'Grace Hopper' }, graceToken)).body.uri)).toBe(`${t.deps.settings.appName}:Grace Hopper`);
  });

  it('registers for the user of the token only, whatever the body says', async () => {
    const bob = await seedUser(t.deps, { user_id: 'u-bob', email: 'bob@example.com' });
    const res = await register({ user_id: ada.user_id, identifier: 'ada@example.com' }, await userTokenOf(bob));
    expect(res.status).toBe(201);
    expect((await t.store.get<UserRecord>(keys.user(bob.user_id)))!.value.totp).toBeDefined();
    expect((await storedAda()).totp).toBeUndefined();
  });

  it('accepts a request without a body', async () => {
    const res = await invoke(totpRegister, { token: adaToken });
    expect(res.status).toBe(201);
  });

  it('a client access token, an ID token, a foreign or missing token are 401', async () => {
    const idToken = (await seedAuthentication(t.deps, client, ada, 'pwd')).id_token;
    for (const as of [token, idToken, 'not.a.token', undefined]) {
      const res = await invoke(totpRegister, { ...(as !== undefined && { token: as }), body: {} });
      expect(res).toMatchObject({ status: 401, body: { error_code: 'unauthorized' } });
    }
    expect((await storedAda()).totp).toBeUndefined();
  });

  it('the user token of a logged-out session is 401 and registers nothing', async () => {
    const tokens = await seedAuthentication(t.deps, client, ada, 'pwd');
    await logoutSession(t.deps, client, tokens.session_id);
    const res = await register({}, tokens.access_token);
    expect(res).toMatchObject({ status: 401, body: { error_code: 'unauthorized' } });
    expect((await storedAda()).totp).toBeUndefined();
  });

  it('a new authenticator is pending: registering again replaces it without allow_override', async () => {
    const first = (await register()).body.secret;
    const again = await register();
    expect(again.status).toBe(201);
    expect(again.body.secret).not.toBe(first);
    // Only the latest pending secret works.
    const firstCode = codeNow(first);
    if (firstCode !== codeNow(again.body.secret)) expect((await authenticateTotp(firstCode)).body.error_code).toBe('auth_invalid_credentials');
    expect((await authenticateTotp(codeNow(again.body.secret))).status).toBe(200);
  });

  it('the first accepted code activates it: a working authenticator is never replaced without allow_override', async () => {
    const first = (await register()).body.secret;
    expect(isTotpActive((await storedAda()).totp)).toBe(false);
    expect((await authenticateTotp(codeNow(first))).status).toBe(200);
    expect(isTotpActive((await storedAda()).totp)).toBe(true);

    // A session that proved the app (the enrolment rule) is told it exists; a password session is not even that far.
    expect(await register({})).toMatchObject({ status: 403, body: { error_code: 'auth_mfa_required' } });
    const mfa = await mfaTokenOf(ada);
    for (const body of [{}, { allow_override: false }]) {
      const refused = await register(body, mfa);
      expect(refused).toMatchObject({ status: 409, body: { error_code: 'auth_totp_already_configured' } });
    }
    t.clock.advanceSeconds(30);
    // The working one still works.
    expect((await authenticateTotp(codeNow(first))).status).toBe(200);
  });

  it('allow_override replaces a working authenticator with a pending one and forgets the last used step', async () => {
    const first = (await register()).body.secret;
    const firstCode = codeNow(first);
    expect((await authenticateTotp(firstCode)).status).toBe(200);
    const second = await register({ allow_override: true }, await mfaTokenOf(ada));
    expect(second.status).toBe(201);
    expect(second.body.secret).not.toBe(first);
    expect(isTotpActive((await storedAda()).totp)).toBe(false);
    if (firstCode !== codeNow(second.body.secret)) expect((await authenticateTotp(firstCode)).body.error_code).toBe('auth_invalid_credentials');
    expect((await authenticateTotp(codeNow(second.body.secret))).status).toBe(200);
    expect(isTotpActive((await storedAda()).totp)).toBe(true);
  });
});

describe('the authenticate body (Transmit field names)', () => {
  it('identifier_type defaults to email', async () => {
    const secret = (await register()).body.secret;
    const res = await invoke(totpAuthenticate, { token, body: { token: codeNow(secret), identifier: 'ada@example.com' } });
    expect(res.status).toBe(200);
  });

  it('the code is `token`: a body without it is 400 system_invalid_input', async () => {
    const secret = (await register()).body.secret;
    const res = await invoke(totpAuthenticate, { token, body: { passcode: codeNow(secret), identifier: 'ada@example.com' } });
    expect(res).toMatchObject({ status: 400, body: { error_code: 'system_invalid_input' } });
  });
});

describe('authenticating with TOTP', () => {
  let secret: string;
  beforeEach(async () => {
    secret = (await register()).body.secret;
  });

  it('accepts the current code: token response with amr otp', async () => {
    const res = await authenticateTotp(codeNow(secret));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const payload = await verifyIdToken(res.body.id_token);
    expect(payload).toMatchObject({ sub: ada.user_id, amr: ['otp'], sid: res.body.session_id });
    expect((await storedAda()).totp?.last_used_step).toBe(totpStep(t.clock.now()));
  });

  it('uses the injected clock, not the wall clock', async () => {
    t.clock.current = Date.UTC(2001, 8, 9, 1, 46, 40);
    const fresh = (await issueClientToken(t.deps, client)).access_token;
    expect((await authenticateTotp(codeNow(secret), {}, fresh)).status).toBe(200);
  });

  it('finds the user by user_id too', async () => {
    const res = await authenticateTotp(codeNow(secret), { identifier_type: 'user_id', identifier: ada.user_id });
    expect(res.status).toBe(200);
  });

  it('a code is accepted once per time step: a replay is auth_invalid_credentials', async () => {
    const code = codeNow(secret);
    expect((await authenticateTotp(code)).status).toBe(200);
    t.clock.advanceSeconds(5);
    const replay = await authenticateTotp(code);
    expect(replay).toMatchObject({ status: 400, body: { error_code: 'auth_invalid_credentials' } });
  });

  it('accepts the previous and the next step (clock drift), each once', async () => {
    expect((await authenticateTotp(codeNow(secret, -1))).status).toBe(200);
    expect((await authenticateTotp(codeNow(secret, 1))).status).toBe(200);
    // The next step is now used, so the current one is a replay too.
    expect((await authenticateTotp(codeNow(secret, 0))).body.error_code).toBe('auth_invalid_credentials');
  });

  it('refuses codes two steps away', async () => {
    for (const offset of [-2, 2]) {
      const res = await authenticateTotp(codeNow(secret, offset));
      expect(res).toMatchObject({ status: 400, body: { error_code: 'auth_invalid_credentials' } });
    }
    expect((await t.store.getAttempts(keys.totpAttempts(ada.user_id)))?.count).toBe(2);
  });

  it('a wrong code, an unknown user and a user without an authenticator are the same auth_invalid_credentials', async () => {
    await seedUser(t.deps, { user_id: 'u-bob', email: 'bob@example.com' });
    const answers = [
      await authenticateTotp(wrongCode(secret)),
      await authenticateTotp(codeNow(secret), { identifier: 'nobody@example.com' }),
      await authenticateTotp(codeNow(secret), { identifier: 'bob@example.com' }),
    ];
    for (const res of answers) expect(res).toMatchObject({ status: 400, body: { error_code: 'auth_invalid_credentials', message: 'Invalid credentials' } });
  });

  it('of two concurrent uses of one code exactly one wins', async () => {
    const code = codeNow(secret);
    slowSigning(t.deps);
    const results = await Promise.all([authenticateTotp(code), authenticateTotp(code), authenticateTotp(code)]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) expect(r.body.error_code).toBe('auth_invalid_credentials');
    expect((await storedAda()).totp?.last_used_step).toBe(totpStep(t.clock.now()));
  });

  it('10 failures within 15 minutes lock TOTP for 15 minutes, then it works again', async () => {
    for (let i = 1; i <= 9; i++) {
      const res = await authenticateTotp(wrongCode(secret));
      expect(res.body.error_code).toBe('auth_invalid_credentials');
      t.clock.advanceSeconds(10);
    }
    const tenth = await authenticateTotp(wrongCode(secret));
    expect(tenth).toMatchObject({ status: 403, body: { error_code: 'auth_locked' } });
    expect(tenth.headers['Retry-After']).toBe('900');

    t.clock.advanceSeconds(60);
    const locked = await authenticateTotp(codeNow(secret));
    expect(locked).toMatchObject({ status: 403, body: { error_code: 'auth_locked' } });
    expect(locked.headers['Retry-After']).toBe('840');
    expect((await storedAda()).totp?.last_used_step).toBeUndefined();

    t.clock.advanceSeconds(840);
    const unlocked = await authenticateTotp(codeNow(secret));
    expect(unlocked.status).toBe(200);
    // The lock's end started a new run, and the success gave its attempt back.
    expect((await t.store.getAttempts(keys.totpAttempts(ada.user_id)))?.count).toBe(0);
  });

  it('a 15-minute pause forgets earlier failures', async () => {
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 9; i++) expect((await authenticateTotp(wrongCode(secret))).body.error_code).toBe('auth_invalid_credentials');
      t.clock.advanceSeconds(15 * 60);
    }
    const fresh = (await issueClientToken(t.deps, client)).access_token;
    expect((await authenticateTotp(codeNow(secret), {}, fresh)).status).toBe(200);
  });

  it('failures less than 15 minutes apart keep counting, so no 15 minutes ever hold more than 10', async () => {
    const answers: string[] = [];
    for (let i = 0; i < 10; i++) {
      const fresh = (await issueClientToken(t.deps, client)).access_token; // client tokens live an hour
      answers.push((await authenticateTotp(wrongCode(secret), {}, fresh)).body.error_code);
      t.clock.advanceSeconds(14 * 60);
    }
    expect(answers.at(-1)).toBe('auth_locked');
    expect(answers.slice(0, 9)).toEqual(Array(9).fill('auth_invalid_credentials'));
  });

  it('a call with an unknown session_id fails without using the step', async () => {
    const code = codeNow(secret);
    expect((await authenticateTotp(code, { session_id: 'no-such-session' })).body.error_code).toBe('session_not_found');
    expect((await authenticateTotp(code)).status).toBe(200);
  });
});

describe('MFA across methods', () => {
  it('adding TOTP to a session reads the claim and the session in one request, then neither again', async () => {
    const secret = (await register()).body.secret;
    const first = await seedAuthentication(t.deps, client, ada, 'pwd');
    const calls: string[] = [];
    const store = t.deps.store;
    t.deps.store = proxyStore(store, (op, key) => void (kindOfKey(key) !== 'client' && calls.push(`${op} ${kindOfKey(key)}`)));
    try {
      expect((await authenticateTotp(codeNow(secret), { session_id: first.session_id })).status).toBe(200);
    } finally {
      t.deps.store = store;
    }
    const reads = calls.filter((call) => call.startsWith('get'));
    // getMany runs the proxy once per key, in the order asked: the claim, then the session.
    expect(reads.slice(0, 2)).toEqual(['getMany emailClaim', 'getMany session']);
    expect(reads.filter((call) => call === 'get session' || call === 'get emailClaim')).toEqual([]);
    expect(calls).toContain('put session');
  });

  it('a magic link then TOTP in the same session satisfies MFA: amr eml, otp, mfa', async () => {
    const secret = (await register()).body.secret;
    expect((await invoke(linkSend, { token, body: { identifier_type: 'email', identifier: 'ada@example.com', redirect_uri: REDIRECT } })).status).toBe(200);
    const code = new URL(t.outbox.last('ada@example.com')!.link!).searchParams.get('code')!;
    const first = await invoke(linkAuthenticate, { token, body: { code } });
    expect(first.status).toBe(200);
    expect((await verifyIdToken(first.body.id_token)).amr).toEqual(['eml']);

    t.clock.advanceSeconds(20);
    const second = await authenticateTotp(codeNow(secret), { session_id: first.body.session_id });
    expect(second.status).toBe(200);
    expect(second.body.session_id).toBe(first.body.session_id);
    const payload = await verifyIdToken(second.body.id_token);
    expect(payload.amr).toEqual(['eml', 'otp', 'mfa']);
    expect(payload.email_verified).toBe(true);
  });
});
