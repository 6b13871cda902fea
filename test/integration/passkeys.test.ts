/**
 * Passkeys through the handlers, against the embedded DynamoDB, with a
 * software authenticator playing the browser (and the attacker).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { handler as registerStart } from '../../functions/handlers/auth-webauthn-register-start.js';
import { handler as register } from '../../functions/handlers/auth-webauthn-register.js';
import { handler as authStart } from '../../functions/handlers/auth-webauthn-authenticate-start.js';
import { handler as authenticate } from '../../functions/handlers/auth-webauthn-authenticate.js';
import { handler as listPasskeys } from '../../functions/handlers/users-webauthn-credentials-list.js';
import { handler as deletePasskey } from '../../functions/handlers/users-webauthn-credentials-delete.js';
import { handler as getUser } from '../../functions/handlers/users-get.js';
import { keys, type ClientRecord, type UserRecord } from '../../functions/core/model.js';
import { updateClient } from '../../functions/core/clients.js';
import { counterAdvances } from '../../functions/core/webauthn.js';
import { webauthnSettingsProblems } from '../../functions/core/webauthn-settings.js';
import { createTestClient, createTestDeps, idTokenClaims, invoke, slowSigning, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';
import { SoftAuthenticator } from '../support/soft-authenticator.js';
import { proxyStore } from '../support/store-proxy.js';

const ORIGIN = 'https://app.example';
const RP_ID = 'app.example';

let ctx: TestContext;
let client: ClientRecord;
let clientToken: string;
let ada: UserRecord;
let bob: UserRecord;

beforeEach(async () => {
  ctx = await createTestDeps();
  ({ client, token: clientToken } = await createTestClient(ctx.deps, { webauthn_rp_id: RP_ID, webauthn_rp_name: 'App', webauthn_origins: [ORIGIN] }));
  ada = await seedUser(ctx.deps, { email: 'ada@example.com', username: 'ada' });
  bob = await seedUser(ctx.deps, { email: 'bob@example.com', username: 'bob' });
});

/** A password session of `user`: its tokens (access_token is the user token). */
async function passwordSession(user: UserRecord, options: { clientAttributes?: { ip_address: string } } = {}) {
  return seedAuthentication(ctx.deps, client, user, 'pwd', options);
}

async function startRegistration(userToken: string, body: Record<string, unknown> = {}) {
  const res = await invoke(registerStart, { token: userToken, body });
  expect(res.status).toBe(200);
  return res.body.credential_creation_options;
}

/** Registers a passkey for `user` on `authenticator`; returns the user's password session. */
async function registerPasskey(user: UserRecord, authenticator: SoftAuthenticator) {
  let session = await passwordSession(user);
  // A user who holds a passkey proves it before adding another (the enrolment rule, factor-enrolment.test.ts).
  const held = (await ctx.store.get<UserRecord>(keys.user(user.user_id)))!.value.webauthn_credentials ?? [];
  if (held.length > 0) session = await seedAuthentication(ctx.deps, client, user, 'webauthn', { sessionId: session.session_id });
  const options = await startRegistration(session.access_token);
  const res = await invoke(register, { token: session.access_token, body: { webauthn_encoded_result: authenticator.create(options) } });
  expect(res.status).toBe(201);
  return session;
}

async function startLogin(body: Record<string, unknown> = {}) {
  const res = await invoke(authStart, { token: clientToken, body });
  expect(res.status).toBe(200);
  return res.body.credential_request_options;
}

async function login(result: string, extra: Record<string, unknown> = {}) {
  return invoke(authenticate, { token: clientToken, body: { webauthn_encoded_result: result, ...extra } });
}

function expectRefused(res: { status: number; body: any }) {
  expect(res.status).toBe(400);
  expect(res.body.error_code).toBe('auth_invalid_credentials');
}

describe('registering a passkey', () => {
  it('offers creation options for the token user, bound to nothing personal in the user handle', async () => {
    const session = await passwordSession(ada);
    const res = await invoke(registerStart, { token: session.access_token, body: { display_name: 'Ada L.' } });
    expect(res.status).toBe(200);
    expect(res.body.webauthn_session_id).toEqual(expect.any(String));
    const options = res.body.credential_creation_options;
    expect(options).toMatchObject({
      rp: { id: RP_ID, name: 'App' },
      user: { name: 'ada', displayName: 'Ada L.' },
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }, { type: 'public-key', alg: -257 }],
      // Logins list no credentials, so every passkey must be discoverable.
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
      attestation: 'none',
      excludeCredentials: [],
    });
    expect(Buffer.from(options.user.id, 'base64url').toString()).toBe(ada.user_id);
    expect(Buffer.from(options.challenge, 'base64url')).toHaveLength(32);
  });

  it('stores the passkey; the users API lists it without its key and the user view never shows it', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    authenticator.synced = true;
    const session = await passwordSession(ada);
    const options = await startRegistration(session.access_token, { display_name: 'Ada' });
    const res = await invoke(register, { token: session.access_token, body: { webauthn_encoded_result: authenticator.create(options) } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: authenticator.credentials[0]!.id, status: 'active', passkey_type: 'synced', sync_status: 'synced', display_name: 'Ada', transports: ['internal', 'hybrid'] });

    const listed = await invoke(listPasskeys, { token: clientToken, params: { user_id: ada.user_id } });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([res.body]);
    expect(JSON.stringify(listed.body)).not.toContain(authenticator.credentials[0]!.publicKeySpki);
    const view = await invoke(getUser, { token: clientToken, params: { user_id: ada.user_id } });
    expect(JSON.stringify(view.body)).not.toContain('webauthn');

    // The next registration (after proving the passkey: the enrolment rule) excludes the passkey already there.
    const proved = await seedAuthentication(ctx.deps, client, ada, 'webauthn', { sessionId: session.session_id });
    expect((await startRegistration(proved.access_token)).excludeCredentials).toEqual([{ type: 'public-key', id: res.body.id, transports: ['internal', 'hybrid'] }]);
  });

  it('refuses a passkey the browser reports as not discoverable (logins list no credentials, so it could never sign in)', async () => {
    const session = await passwordSession(ada);
    const encoded = new SoftAuthenticator(ORIGIN).create(await startRegistration(session.access_token));
    const result = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    const notDiscoverable = Buffer.from(JSON.stringify({ ...result, clientExtensionResults: { credProps: { rk: false } } })).toString('base64url');
    expectRefused(await invoke(register, { token: session.access_token, body: { webauthn_encoded_result: notDiscoverable } }));
    const discoverable = Buffer.from(JSON.stringify({ ...result, clientExtensionResults: { credProps: { rk: true } } })).toString('base64url');
    expect((await invoke(register, { token: session.access_token, body: { webauthn_encoded_result: discoverable } })).status).toBe(201);
  });

  it('needs a user token: a client token is 401', async () => {
    const res = await invoke(registerStart, { token: clientToken, body: {} });
    expect(res.status).toBe(401);
  });

  it('refuses a result from another origin, for another RP ID, or from a cross-origin frame', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    const session = await passwordSession(ada);
    for (const attack of [{ origin: 'https://evil.example' }, { origin: 'https://app.example:8443' }, { rpId: 'evil.example' }, { crossOrigin: true }]) {
      const options = await startRegistration(session.access_token);
      expectRefused(await invoke(register, { token: session.access_token, body: { webauthn_encoded_result: authenticator.create(options, attack) } }));
    }
    expect((await invoke(listPasskeys, { token: clientToken, params: { user_id: ada.user_id } })).body).toEqual([]);
  });

  it('refuses an authenticator that did not verify the user while the client requires it, and accepts it when preferred', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    const session = await passwordSession(ada);
    let options = await startRegistration(session.access_token);
    expectRefused(await invoke(register, { token: session.access_token, body: { webauthn_encoded_result: authenticator.create(options, { userVerified: false }) } }));

    await updateClient(ctx.store, client.client_id, { webauthn_user_verification: 'preferred' });
    options = await startRegistration(session.access_token);
    expect(options.authenticatorSelection.userVerification).toBe('preferred');
    expect((await invoke(register, { token: session.access_token, body: { webauthn_encoded_result: authenticator.create(options, { userVerified: false }) } })).status).toBe(201);
  });

  it('refuses a result without user presence', async () => {
    const session = await passwordSession(ada);
    const options = await startRegistration(session.access_token);
    expectRefused(await invoke(register, { token: session.access_token, body: { webauthn_encoded_result: new SoftAuthenticator(ORIGIN).create(options, { userPresent: false }) } }));
  });

  it("refuses a challenge issued to another session or user, a used one, an expired one and a login challenge", async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    const adaSession = await passwordSession(ada);
    const adaOther = await passwordSession(ada);
    const bobSession = await passwordSession(bob);

    const options = await startRegistration(adaSession.access_token);
    const result = authenticator.create(options);
    expectRefused(await invoke(register, { token: bobSession.access_token, body: { webauthn_encoded_result: result } }));
    expectRefused(await invoke(register, { token: adaOther.access_token, body: { webauthn_encoded_result: result } }));
    expect((await invoke(register, { token: adaSession.access_token, body: { webauthn_encoded_result: result } })).status).toBe(201);
    // Ada now holds a passkey: the session proves it before anything else is judged (the enrolment rule).
    const proved = (await seedAuthentication(ctx.deps, client, ada, 'webauthn', { sessionId: adaSession.session_id })).access_token;
    expectRefused(await invoke(register, { token: proved, body: { webauthn_encoded_result: authenticator.create(options) } }));

    const late = await startRegistration(proved);
    ctx.clock.advanceSeconds(300);
    expectRefused(await invoke(register, { token: proved, body: { webauthn_encoded_result: authenticator.create(late) } }));

    const loginOptions = await startLogin();
    const asRegistration = authenticator.create({ ...options, challenge: loginOptions.challenge });
    expectRefused(await invoke(register, { token: proved, body: { webauthn_encoded_result: asRegistration } }));
  });

  it('never lets a second user claim a registered credential ID', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, authenticator);
    const bobSession = await passwordSession(bob);
    const options = await startRegistration(bobSession.access_token);
    // A made-up registration reusing Ada's credential ID (registration results carry no signature).
    const forged = JSON.parse(Buffer.from(authenticator.create(options), 'base64url').toString());
    forged.id = forged.rawId = authenticator.credentials[0]!.id;
    expectRefused(await invoke(register, { token: bobSession.access_token, body: { webauthn_encoded_result: Buffer.from(JSON.stringify(forged)).toString('base64url') } }));
    expect((await invoke(listPasskeys, { token: clientToken, params: { user_id: bob.user_id } })).body).toEqual([]);
  });

  it('answers 403 forbidden for a client without passkey settings', async () => {
    const plain = await createTestClient(ctx.deps);
    const session = await seedAuthentication(ctx.deps, plain.client, ada, 'pwd');
    const res = await invoke(registerStart, { token: session.access_token, body: {} });
    expect(res.status).toBe(403);
    expect(res.body.error_code).toBe('forbidden');
    expect((await invoke(authStart, { token: plain.token, body: {} })).status).toBe(403);
  });

  it('refuses garbage in webauthn_encoded_result with auth_invalid_credentials', async () => {
    const session = await passwordSession(ada);
    for (const junk of ['aGVsbG8', Buffer.from('{"id":"a","rawId":"a","type":"public-key","response":{}}').toString('base64url')]) {
      expectRefused(await invoke(register, { token: session.access_token, body: { webauthn_encoded_result: junk } }));
      expectRefused(await login(junk));
    }
  });
});

describe('logging in with a passkey', () => {
  it('adds webauthn to a password session, which makes it MFA', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    const session = await registerPasskey(ada, authenticator);
    const options = await startLogin({ username: 'ada' });
    expect(options).toMatchObject({ rpId: RP_ID, userVerification: 'required', allowCredentials: [] });
    const res = await login(authenticator.get(options), { session_id: session.session_id });
    expect(res.status).toBe(200);
    expect(res.body.session_id).toBe(session.session_id);
    const claims = await idTokenClaims(ctx.deps, res.body.id_token, client.client_id);
    expect(claims.amr).toEqual(['pwd', 'webauthn', 'mfa']);
    expect(claims.sub).toBe(ada.user_id);

    const listed = await invoke(listPasskeys, { token: clientToken, params: { user_id: ada.user_id } });
    expect(listed.body[0].last_seen).toBe(new Date(ctx.clock.now()).toISOString());
  });

  it('logs in without a username with a discoverable passkey (a single factor)', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, authenticator);
    const options = await startLogin();
    expect(options.allowCredentials).toEqual([]);
    const res = await login(authenticator.get(options));
    expect(res.status).toBe(200);
    expect((await idTokenClaims(ctx.deps, res.body.id_token, client.client_id)).amr).toEqual(['webauthn']);
  });

  it('answers a user with two passkeys, one without, a disabled one and an unknown name byte for byte alike, apart from the challenge', async () => {
    const adaKey = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, adaKey);
    await registerPasskey(ada, adaKey);
    const carol = await seedUser(ctx.deps, { username: 'carol' });
    await registerPasskey(carol, new SoftAuthenticator(ORIGIN));
    const stored = (await ctx.store.get<UserRecord>(keys.user(carol.user_id)))!;
    await ctx.store.put(keys.user(carol.user_id), { ...stored.value, status: 'Disabled' }, { expectVersion: stored.version });
    const answer = async (body: Record<string, unknown>) => {
      const res = await invoke(authStart, { token: clientToken, body });
      expect(res.status).toBe(200);
      const { webauthn_session_id, credential_request_options } = res.body;
      // Only the random parts differ, and only in value: same length, same alphabet.
      expect(webauthn_session_id).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(credential_request_options.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
      return JSON.stringify({ ...res.body, webauthn_session_id: webauthn_session_id.length, credential_request_options: { ...credential_request_options, challenge: '' } });
    };
    const known = await answer({ username: 'ada' });
    for (const body of [{ username: 'nobody' }, { username: 'bob' }, { username: 'carol' }, { username: 'ada@example.com' }, { username: '+15550009999' }, {}]) {
      expect(await answer(body)).toBe(known);
    }
    expect(JSON.parse(known).credential_request_options.allowCredentials).toEqual([]);
  });

  it('reads and writes the store alike for a known and an unknown username', async () => {
    await registerPasskey(ada, new SoftAuthenticator(ORIGIN));
    await registerPasskey(ada, new SoftAuthenticator(ORIGIN));
    const trace = async (username: string) => {
      const calls: string[] = [];
      const store = ctx.store;
      ctx.deps.store = proxyStore(store, (op, key) => void calls.push(`${op} ${key.split('#')[0]}`));
      try {
        await startLogin({ username });
      } finally {
        ctx.deps.store = store;
      }
      return calls;
    };
    await trace('ada'); // the first call reads the client record; the rest take it from the cache alike
    const known = await trace('ada');
    expect(known.length).toBeGreaterThan(1);
    expect(await trace('nobody')).toEqual(known);
    expect(await trace('bob')).toEqual(known);
  });

  it("checks after the assertion that the passkey is the named user's: an unknown name or another user's name is refused", async () => {
    const adaKey = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, adaKey);
    await registerPasskey(bob, new SoftAuthenticator(ORIGIN));
    expectRefused(await login(adaKey.get(await startLogin({ username: 'nobody' }))));
    expectRefused(await login(adaKey.get(await startLogin({ username: 'bob' }))));
    // The passkey was not burned by the refusals; for its own user it works, by any of their identifiers.
    for (const username of ['ada', 'ADA@example.com']) {
      const res = await login(adaKey.get(await startLogin({ username })));
      expect(res.status).toBe(200);
      expect((await idTokenClaims(ctx.deps, res.body.id_token, client.client_id)).sub).toBe(ada.user_id);
    }
  });

  it('refuses an assertion without a user handle (a discoverable login must name its user)', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, authenticator);
    const result = authenticator.get(await startLogin({ username: 'ada' }), { credential: { ...authenticator.credentials[0]!, userHandle: '' } });
    expectRefused(await login(result));
  });

  it('refuses another origin, another RP ID, and a missing user verification', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, authenticator);
    for (const attack of [{ origin: 'https://evil.example' }, { origin: 'http://app.example' }, { rpId: 'evil.example' }, { userVerified: false }, { userPresent: false }, { crossOrigin: true }]) {
      expectRefused(await login(authenticator.get(await startLogin({ username: 'ada' }), attack)));
    }
    // None of the refusals burned the passkey: a good assertion still works.
    expect((await login(authenticator.get(await startLogin({ username: 'ada' })))).status).toBe(200);
  });

  it('refuses an assertion whose counter went backwards (a cloned authenticator), and one that stood still', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, authenticator);
    expect((await login(authenticator.get(await startLogin({ username: 'ada' }), { counter: 7 }))).status).toBe(200);
    expectRefused(await login(authenticator.get(await startLogin({ username: 'ada' }), { counter: 3 })));
    expectRefused(await login(authenticator.get(await startLogin({ username: 'ada' }), { counter: 7 })));
    expect((await login(authenticator.get(await startLogin({ username: 'ada' }), { counter: 8 }))).status).toBe(200);
  });

  it('accepts a genuine signature whose r or s is shorter than 32 bytes (about 1 login in 128)', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, authenticator);
    for (let i = 0; i < 3; i++) {
      expect((await login(authenticator.get(await startLogin({ username: 'ada' }), { shortSignatureInteger: true }))).status).toBe(200);
    }
  });

  it('accepts an authenticator without a counter (always 0)', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, authenticator);
    for (let i = 0; i < 2; i++) expect((await login(authenticator.get(await startLogin({ username: 'ada' }), { counter: 0 }))).status).toBe(200);
  });

  it('accepts a challenge once, and an assertion once, when replayed', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, authenticator);
    const options = await startLogin({ username: 'ada' });
    const result = authenticator.get(options, { counter: 0 });
    expect((await login(result)).status).toBe(200);
    expectRefused(await login(result));
    expectRefused(await login(authenticator.get(options, { counter: 0 })));
  });

  it('lets exactly one of 50 parallel submissions of one assertion through', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, authenticator);
    const result = authenticator.get(await startLogin({ username: 'ada' }));
    slowSigning(ctx.deps);
    const answers = await Promise.all(Array.from({ length: 50 }, () => login(result)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const refused of answers.filter((a) => a.status !== 200)) expectRefused(refused);
  });

  it('refuses an expired challenge', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, authenticator);
    const options = await startLogin({ username: 'ada' });
    ctx.clock.advanceSeconds(300);
    expectRefused(await login(authenticator.get(options)));
  });

  it('refuses a forged authenticator holding the credential ID under another key', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, authenticator);
    expectRefused(await login(authenticator.forgeClone().get(await startLogin({ username: 'ada' }))));
  });

  it("refuses another user's passkey for a username, and a passkey of another user than the session's", async () => {
    const adaKey = new SoftAuthenticator(ORIGIN);
    const bobKey = new SoftAuthenticator(ORIGIN);
    const adaSession = await registerPasskey(ada, adaKey);
    await registerPasskey(bob, bobKey);

    // Bob's genuine passkey against a login started for Ada.
    expectRefused(await login(bobKey.get(await startLogin({ username: 'ada' }), { credential: bobKey.credentials[0]! })));
    // Bob's genuine passkey added to Ada's session: the session rules apply.
    const mismatch = await login(bobKey.get(await startLogin()), { session_id: adaSession.session_id });
    expect(mismatch.status).toBe(403);
    expect(mismatch.body.error_code).toBe('session_user_mismatch');
    // Ada's credential presented with Bob's user handle.
    const swapped = adaKey.get(await startLogin({ username: 'ada' }), { credential: { ...adaKey.credentials[0]!, userHandle: Buffer.from(bob.user_id).toString('base64url') } });
    expectRefused(await login(swapped));
  });

  it('keeps the session rules: IP binding and unknown sessions', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, authenticator);
    const bound = await passwordSession(ada, { clientAttributes: { ip_address: '203.0.113.5' } });
    const options = await startLogin({ username: 'ada' });
    const result = authenticator.get(options);
    const wrongIp = await login(result, { session_id: bound.session_id, client_attributes: { ip_address: '198.51.100.7' } });
    expect(wrongIp.status).toBe(403);
    expect(wrongIp.body.error_code).toBe('session_binding_mismatch');
    const unknown = await login(result, { session_id: 'no-such-session' });
    expect(unknown.body.error_code).toBe('session_not_found');
    // The failed calls did not consume the challenge.
    const ok = await login(result, { session_id: bound.session_id, client_attributes: { ip_address: '203.0.113.5' } });
    expect(ok.status).toBe(200);
  });

  it('refuses a challenge of another client', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, authenticator);
    const other = await createTestClient(ctx.deps, { webauthn_rp_id: RP_ID, webauthn_origins: [ORIGIN] });
    const result = authenticator.get(await startLogin({ username: 'ada' }));
    expectRefused(await invoke(authenticate, { token: other.token, body: { webauthn_encoded_result: result } }));
  });

  it('refuses a passkey of a disabled user', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, authenticator);
    const stored = (await ctx.store.get<UserRecord>(keys.user(ada.user_id)))!;
    await ctx.store.put(keys.user(ada.user_id), { ...stored.value, status: 'Disabled' }, { expectVersion: stored.version });
    expectRefused(await login(authenticator.get(await startLogin())));
  });
});

describe('deleting a passkey', () => {
  it('stops it working at once; deleting it again is 404', async () => {
    const authenticator = new SoftAuthenticator(ORIGIN);
    await registerPasskey(ada, authenticator);
    const id = authenticator.credentials[0]!.id;
    const options = await startLogin({ username: 'ada' });
    const res = await invoke(deletePasskey, { token: clientToken, params: { user_id: ada.user_id, credential_id: id } });
    expect(res.status).toBe(204);
    expectRefused(await login(authenticator.get(options)));
    const again = await invoke(deletePasskey, { token: clientToken, params: { user_id: ada.user_id, credential_id: id } });
    expect(again.status).toBe(404);
    expect(again.body.error_code).toBe('webauthn_credential_not_found');
    expect((await invoke(listPasskeys, { token: clientToken, params: { user_id: 'nobody' } })).body.error_code).toBe('user_not_found');
    // The released ID may be registered again (from a new login: removing a factor ended the user's sessions).
    await registerPasskey((await ctx.store.get<UserRecord>(keys.user(ada.user_id)))!.value, authenticator);
  });
});

describe('passkey rules', () => {
  it('a counter must advance unless it stays 0', () => {
    expect(counterAdvances(0, 0)).toBe(true);
    expect(counterAdvances(0, 1)).toBe(true);
    expect(counterAdvances(5, 6)).toBe(true);
    expect(counterAdvances(5, 5)).toBe(false);
    expect(counterAdvances(5, 0)).toBe(false);
  });

  it('client settings: an RP ID host and exact origins on it, https except localhost', () => {
    expect(webauthnSettingsProblems('localhost', ['http://localhost:3000'])).toEqual([]);
    expect(webauthnSettingsProblems('shop.example', ['https://shop.example', 'https://login.shop.example'])).toEqual([]);
    expect(webauthnSettingsProblems('https://shop.example', [])).toHaveLength(1);
    expect(webauthnSettingsProblems('shop.example', ['http://shop.example'])).toHaveLength(1);
    expect(webauthnSettingsProblems('shop.example', ['https://shop.example/'])).toHaveLength(1);
    expect(webauthnSettingsProblems('shop.example', ['https://evil.example'])).toHaveLength(1);
    expect(webauthnSettingsProblems('shop.example', ['https://notshop.example'])).toHaveLength(1);
    expect(webauthnSettingsProblems(undefined, ['https://shop.example'])).toHaveLength(1);
  });
});
