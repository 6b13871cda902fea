/**
 * Adding a factor needs the factors the user already holds (docs/api.md,
 * "Factor lifecycle"): attacks first. An attacker who learned only the
 * password must not bind a passkey, an authenticator app or a set of
 * recovery codes of their own to an account that already has a second
 * factor, and so skip it. Through the real handlers, the embedded DynamoDB
 * and a software passkey authenticator.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { keys, type ClientRecord, type UserRecord } from '../../functions/core/model.js';
import type { RecoveryCodeSet } from '../../functions/core/recovery-codes.js';
import { totpCodeForStep, totpStep } from '../../functions/core/totp.js';
import { createUserPassword } from '../../functions/core/user-passwords.js';
import { handler as recoveryAuthenticate } from '../../functions/handlers/auth-recovery-codes-authenticate.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { handler as recoveryGenerate } from '../../functions/handlers/auth-recovery-codes-generate.js';
import { handler as totpAuthenticate } from '../../functions/handlers/auth-totp-authenticate.js';
import { handler as totpRegister } from '../../functions/handlers/auth-totp-register.js';
import { handler as registerStart } from '../../functions/handlers/auth-webauthn-register-start.js';
import { handler as register } from '../../functions/handlers/auth-webauthn-register.js';
import { createTestClient, createTestDeps, idTokenClaims, invoke, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';
import { SoftAuthenticator } from '../support/soft-authenticator.js';

const ORIGIN = 'https://app.example';
const PASSWORD = 'correct horse battery staple';
const IP = '203.0.113.7';

let t: TestContext;
let client: ClientRecord;
let clientToken: string;

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token: clientToken } = await createTestClient(t.deps, { webauthn_rp_id: 'app.example', webauthn_origins: [ORIGIN] }));
});

async function stored(user: UserRecord): Promise<UserRecord> {
  return (await t.store.get<UserRecord>(keys.user(user.user_id)))!.value;
}

/** A user with a password (and whatever else `fields` gives). */
async function userWithPassword(fields: Partial<UserRecord> = {}): Promise<UserRecord> {
  const user = await seedUser(t.deps, { username: `u${Math.random().toString(36).slice(2, 8)}`, ...fields });
  await createUserPassword(t.deps, user.user_id, { password: PASSWORD });
  return stored(user);
}

/** A session of `user` holding `methods`, authenticated in that order now; its token response. */
async function sessionWith(user: UserRecord, methods: Array<Parameters<typeof seedAuthentication>[3]>, at = client) {
  let tokens = await seedAuthentication(t.deps, at, user, methods[0]!);
  for (const method of methods.slice(1)) tokens = await seedAuthentication(t.deps, at, user, method, { sessionId: tokens.session_id });
  return tokens;
}

const startPasskey = (userToken: string, body: Record<string, unknown> = {}) => invoke(registerStart, { token: userToken, body });
const finishPasskey = (userToken: string, encoded: string, body: Record<string, unknown> = {}) =>
  invoke(register, { token: userToken, body: { webauthn_encoded_result: encoded, ...body } });
const registerTotp = (userToken: string, body: Record<string, unknown> = {}) => invoke(totpRegister, { token: userToken, body });
const generateCodes = (userToken: string, body?: Record<string, unknown>) => invoke(recoveryGenerate, { token: userToken, ...(body && { body }) });

/** Registers a passkey with the session's token; returns the response of the finish. */
async function addPasskey(userToken: string, authenticator = new SoftAuthenticator(ORIGIN)) {
  const started = await startPasskey(userToken);
  if (started.status !== 200) return started;
  return finishPasskey(userToken, authenticator.create(started.body.credential_creation_options));
}

/** Gives `user` a working authenticator app (a code from it accepted); returns its secret. */
async function activeTotp(user: UserRecord): Promise<string> {
  const session = await sessionWith(user, ['pwd']);
  const registered = await registerTotp(session.access_token);
  expect(registered.status).toBe(201);
  const code = totpCodeForStep(registered.body.secret, totpStep(t.clock.now()));
  const login = await invoke(totpAuthenticate, { token: clientToken, body: { identifier_type: 'user_id', identifier: user.user_id, token: code } });
  expect(login.status).toBe(200);
  t.clock.advanceSeconds(31); // the next code is a new step
  return registered.body.secret;
}

function expectStepUp(res: { status: number; body: any }) {
  expect(res.status).toBe(403);
  expect(res.body).toEqual({ error_code: 'auth_mfa_required', message: expect.stringMatching(/second factor|MFA/) });
}

function auditOf(event: string): Array<Record<string, any>> {
  return t.logLines.map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.msg === 'audit' && l.event === event);
}

describe('the attack: only the password of a user with an authenticator app', () => {
  let victim: UserRecord;
  let attacker: Awaited<ReturnType<typeof sessionWith>>;

  beforeEach(async () => {
    victim = await userWithPassword();
    await activeTotp(victim);
    victim = await stored(victim);
    attacker = await sessionWith(victim, ['pwd']);
  });

  it('cannot start registering a passkey: 403 auth_mfa_required', async () => {
    expectStepUp(await startPasskey(attacker.access_token));
  });

  it('cannot finish one started by a challenge it never got either, and no passkey is stored', async () => {
    // A challenge the victim's own MFA session obtained does not help the attacker's session.
    const mfa = await sessionWith(victim, ['pwd', 'otp']);
    const started = await startPasskey(mfa.access_token);
    expect(started.status).toBe(200);
    const res = await finishPasskey(attacker.access_token, new SoftAuthenticator(ORIGIN).create(started.body.credential_creation_options));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect((await stored(victim)).webauthn_credentials ?? []).toEqual([]);
  });

  it('cannot replace the authenticator app with allow_override, and the working one stays', async () => {
    const before = (await stored(victim)).totp;
    expectStepUp(await registerTotp(attacker.access_token, { allow_override: true }));
    expect((await stored(victim)).totp).toEqual(before);
  });

  it('cannot generate recovery codes, and no set is stored', async () => {
    expectStepUp(await generateCodes(attacker.access_token));
    expect(await t.store.get(keys.recoveryCodes(victim.user_id))).toBeUndefined();
  });

  it('the user, after proving the authenticator app, adds a passkey, replaces the app and generates codes', async () => {
    const mfa = await sessionWith(victim, ['pwd', 'otp']);
    expect((await addPasskey(mfa.access_token)).status).toBe(201);
    expect((await registerTotp(mfa.access_token, { allow_override: true })).status).toBe(201);
    expect((await generateCodes(mfa.access_token)).status).toBe(201);
  });

  it('each refusal is an audit event with the session amr', async () => {
    await startPasskey(attacker.access_token);
    await registerTotp(attacker.access_token, { allow_override: true });
    await generateCodes(attacker.access_token);
    const refused = auditOf('factor_enrolment').filter((e) => e.outcome === 'auth_mfa_required');
    expect(refused.map((e) => e.method).sort()).toEqual(['otp', 'recovery_code', 'webauthn']);
    for (const e of refused) expect(e).toMatchObject({ user_id: victim.user_id, client_id: client.client_id, amr: ['pwd'] });
  });
});

describe('replacing a factor ends the sessions proved with the old one, but not the session replacing it', () => {
  // A thief who logged in with a leaked authenticator seed (or a recovery code) keeps a session: when the owner
  // replaces the app or the codes, that session must end as it would had the owner removed them.
  const live = async (session: { session_id: string }) => (await invoke(sessionAuthenticate, { token: clientToken, body: { session_id: session.session_id } })).status;

  it("allow_override on a working authenticator app: the thief's session ends, the owner's lives on and can enrol again", async () => {
    const victim = await userWithPassword();
    await activeTotp(victim);
    const thief = await sessionWith(await stored(victim), ['pwd', 'otp']);
    const owner = await sessionWith(await stored(victim), ['pwd', 'otp']);
    expect((await registerTotp(owner.access_token, { allow_override: true })).status).toBe(201);
    expect(await live(thief)).toBe(400);
    expect(await live(owner)).toBe(200);
    expect((await generateCodes(owner.access_token)).status).toBe(201);
  });

  it("a new set of recovery codes replacing one: the session that used an old code ends, the owner's lives on", async () => {
    const victim = await userWithPassword({ phone_number: '+15551234567', phone_number_verified: true });
    const owner = await sessionWith(victim, ['pwd', 'sms']);
    const first = await generateCodes(owner.access_token);
    expect(first.status).toBe(201);
    const thief = await invoke(recoveryAuthenticate, { token: clientToken, body: { identifier_type: 'user_id', identifier: victim.user_id, code: first.body.codes[0] } });
    expect(thief.status).toBe(200);
    expect((await generateCodes(owner.access_token)).status).toBe(201);
    expect(await live(thief.body)).toBe(400);
    expect(await live(owner)).toBe(200);
  });

  it('nothing is replaced, nothing ends: a pending app replaced, a first set of codes', async () => {
    const user = await userWithPassword();
    const bystander = await sessionWith(user, ['pwd']);
    const session = await sessionWith(user, ['pwd']);
    expect((await registerTotp(session.access_token)).status).toBe(201);
    expect((await registerTotp(session.access_token)).status).toBe(201); // the pending one, replaced
    expect(await live(bystander)).toBe(200);
    const other = await userWithPassword({ phone_number: '+15557654321', phone_number_verified: true });
    const otherBystander = await sessionWith(other, ['pwd']);
    expect((await generateCodes((await sessionWith(other, ['pwd', 'sms'])).access_token)).status).toBe(201);
    expect(await live(otherBystander)).toBe(200);
  });
});

describe('which factors count', () => {
  it('a verified email: a password session must step up with it before adding a passkey', async () => {
    const ada = await userWithPassword({ email: 'ada@example.com', email_verified: true, email_verified_at: t.clock.now() });
    expectStepUp(await startPasskey((await sessionWith(ada, ['pwd'])).access_token));
    expect((await addPasskey((await sessionWith(ada, ['pwd', 'eotp'])).access_token)).status).toBe(201);
  });

  it('a verified phone: likewise for an authenticator app', async () => {
    const ada = await userWithPassword({ phone_number: '+15551234567', phone_number_verified: true, phone_number_verified_at: t.clock.now() });
    expectStepUp(await registerTotp((await sessionWith(ada, ['pwd'])).access_token));
    expect((await registerTotp((await sessionWith(ada, ['pwd', 'sms'])).access_token)).status).toBe(201);
  });

  it('recovery codes: a password session of a user holding some must step up', async () => {
    const ada = await userWithPassword({ phone_number: '+15551234567', phone_number_verified: true });
    expect((await generateCodes((await sessionWith(ada, ['pwd', 'sms'])).access_token)).status).toBe(201);
    // The phone is gone (changed, unverified): the codes alone still count.
    await t.store.put(keys.user(ada.user_id), { ...(await stored(ada)), phone_number_verified: false }, { expectVersion: (await t.store.get(keys.user(ada.user_id)))!.version });
    expectStepUp(await startPasskey((await sessionWith(ada, ['pwd'])).access_token));
  });

  it('an unverified email or phone proves nothing yet: a password-only user bootstraps', async () => {
    const ada = await userWithPassword({ email: 'ada@example.com', phone_number: '+15551234567' });
    expect((await addPasskey((await sessionWith(ada, ['pwd'])).access_token)).status).toBe(201);
  });
});

describe('a first second factor from a password session (bootstrap), once', () => {
  it('a password-only user adds a passkey; the same session cannot add a second factor after it', async () => {
    const ada = await userWithPassword();
    const session = await sessionWith(ada, ['pwd']);
    expect((await addPasskey(session.access_token)).status).toBe(201);
    expectStepUp(await startPasskey(session.access_token));
    expectStepUp(await registerTotp(session.access_token));
    // With the passkey proved, the next one goes in.
    const mfa = await seedAuthentication(t.deps, client, ada, 'webauthn', { sessionId: session.session_id });
    expect((await addPasskey(mfa.access_token)).status).toBe(201);
  });

  it('a password-only user registers an authenticator app; pending, it already counts against other factors (its first code logs in)', async () => {
    const ada = await userWithPassword();
    const session = await sessionWith(ada, ['pwd']);
    expect((await registerTotp(session.access_token)).status).toBe(201);
    expectStepUp(await startPasskey(session.access_token));
    expectStepUp(await generateCodes(session.access_token));
    // Registering again replaces the pending app (a QR code lost before use): still one factor.
    const registered = await registerTotp(session.access_token);
    expect(registered.status).toBe(201);
    // Its first code joins the session: password + app is MFA, and a passkey goes in.
    const code = totpCodeForStep(registered.body.secret, totpStep(t.clock.now()));
    const joined = await invoke(totpAuthenticate, { token: clientToken, body: { identifier_type: 'user_id', identifier: ada.user_id, token: code, session_id: session.session_id } });
    expect(joined.status).toBe(200);
    expect((await idTokenClaims(t.deps, joined.body.id_token, client.client_id)).amr).toEqual(['pwd', 'otp', 'mfa']);
    expect((await addPasskey(joined.body.access_token)).status).toBe(201);
  });

  it('the gate is judged again at the write: two registrations started together, only the first finish is a bootstrap', async () => {
    const ada = await userWithPassword();
    const session = await sessionWith(ada, ['pwd']);
    const first = await startPasskey(session.access_token);
    const second = await startPasskey(session.access_token);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect((await finishPasskey(session.access_token, new SoftAuthenticator(ORIGIN).create(first.body.credential_creation_options))).status).toBe(201);
    expectStepUp(await finishPasskey(session.access_token, new SoftAuthenticator(ORIGIN).create(second.body.credential_creation_options)));
    expect((await stored(ada)).webauthn_credentials).toHaveLength(1);
  });

  it('the race: parallel first enrolments from one password session, at most one bootstrap wins', async () => {
    const ada = await userWithPassword();
    const session = await sessionWith(ada, ['pwd']);
    const starts = await Promise.all([0, 1, 2].map(() => startPasskey(session.access_token)));
    for (const s of starts) expect(s.status).toBe(200);
    const results = await Promise.all([
      ...starts.map((s) => finishPasskey(session.access_token, new SoftAuthenticator(ORIGIN).create(s.body.credential_creation_options))),
      registerTotp(session.access_token),
    ]);
    const won = results.filter((r) => r.status === 201);
    expect(won).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 201)) expectStepUp(r);
    const after = await stored(ada);
    expect((after.webauthn_credentials?.length ?? 0) + (after.totp ? 1 : 0)).toBe(1);
  });
});

describe('freshness: an MFA session from long ago is not proof today', () => {
  it("MFA proved within the client's enrolment_max_age_seconds (default 900) passes; one second older is refused", async () => {
    const ada = await userWithPassword({ phone_number: '+15551234567', phone_number_verified: true });
    const mfa = await sessionWith(ada, ['pwd', 'sms']);
    t.clock.advanceSeconds(900);
    expect((await registerTotp(mfa.access_token)).status).toBe(201);
    t.clock.advanceSeconds(1);
    // The pending app from the call above counts now too; refused either way.
    expectStepUp(await registerTotp(mfa.access_token, { allow_override: true }));
    expectStepUp(await generateCodes(mfa.access_token));
    expectStepUp(await startPasskey(mfa.access_token));
    // A fresh SMS code in the same session is proof again (pwd is stale, so two fresh classes are needed: sms + otp).
    const again = await seedAuthentication(t.deps, client, ada, 'sms', { sessionId: mfa.session_id });
    expectStepUp(await generateCodes(again.access_token));
    const pwd = await seedAuthentication(t.deps, client, ada, 'pwd', { sessionId: mfa.session_id });
    expect((await generateCodes(pwd.access_token)).status).toBe(201);
  });

  it('a client may set its own window', async () => {
    const { client: strict } = await createTestClient(t.deps, { name: 'strict', enrolment_max_age_seconds: 60 });
    const ada = await userWithPassword({ phone_number: '+15551234567', phone_number_verified: true });
    const mfa = await sessionWith(ada, ['pwd', 'sms'], strict);
    t.clock.advanceSeconds(61);
    expectStepUp(await generateCodes(mfa.access_token));
  });
});

describe('recovery codes follow the strictest policy', () => {
  it('a distinct_methods client: email OTP + magic link is its MFA, but it mints no recovery codes', async () => {
    const { client: loose } = await createTestClient(t.deps, { name: 'loose', mfa_policy: 'distinct_methods' });
    const ada = await userWithPassword({ email: 'ada@example.com', email_verified: true });
    const sameClass = await sessionWith(ada, ['eotp', 'eml'], loose);
    expect((await idTokenClaims(t.deps, sameClass.id_token, loose.client_id)).amr).toContain('mfa');
    expectStepUp(await generateCodes(sameClass.access_token));
    expect(await t.store.get(keys.recoveryCodes(ada.user_id))).toBeUndefined();
  });

  it('codes minted at a distinct_methods client with two factor classes are MFA at a factor_classes client', async () => {
    const { client: loose } = await createTestClient(t.deps, { name: 'loose', mfa_policy: 'distinct_methods' });
    const ada = await userWithPassword({ email: 'ada@example.com', email_verified: true });
    const generated = await generateCodes((await sessionWith(ada, ['pwd', 'eotp'], loose)).access_token);
    expect(generated.status).toBe(201);
    const session = await sessionWith(ada, ['pwd']);
    const res = await invoke(recoveryAuthenticate, {
      token: clientToken,
      body: { identifier_type: 'user_id', identifier: ada.user_id, code: generated.body.codes[0], session_id: session.session_id },
    });
    expect(res.status).toBe(200);
    expect((await idTokenClaims(t.deps, res.body.id_token, client.client_id)).amr).toEqual(['pwd', 'recovery_code', 'mfa']);
    expect((await t.store.get<RecoveryCodeSet>(keys.recoveryCodes(ada.user_id)))!.value.codes).toHaveLength(10);
  });

  it('enrolling a passkey is judged by factor classes too: same-class MFA of a loose client does not add a factor to a user who holds two', async () => {
    const { client: loose } = await createTestClient(t.deps, { name: 'loose', mfa_policy: 'distinct_methods', webauthn_rp_id: 'app.example', webauthn_origins: [ORIGIN] });
    const ada = await userWithPassword({ email: 'ada@example.com', email_verified: true });
    expectStepUp(await startPasskey((await sessionWith(ada, ['eotp', 'eml'], loose)).access_token));
    expect((await startPasskey((await sessionWith(ada, ['pwd', 'eml'], loose)).access_token)).status).toBe(200);
  });
});

describe('user-token routes honour IP binding', () => {
  let ada: UserRecord;
  let bound: Awaited<ReturnType<typeof seedAuthentication>>;

  beforeEach(async () => {
    ada = await userWithPassword();
    bound = await seedAuthentication(t.deps, client, ada, 'pwd', { clientAttributes: { ip_address: IP } });
  });

  const elsewhere = { client_attributes: { ip_address: '198.51.100.9' } };
  const here = { client_attributes: { ip_address: IP } };

  function expectMismatch(res: { status: number; body: any }) {
    expect(res.status).toBe(403);
    expect(res.body.error_code).toBe('session_binding_mismatch');
  }

  it('a stolen token used from another IP, or with no IP, enrols nothing', async () => {
    expectMismatch(await startPasskey(bound.access_token, elsewhere));
    expectMismatch(await startPasskey(bound.access_token));
    expectMismatch(await registerTotp(bound.access_token, elsewhere));
    expectMismatch(await registerTotp(bound.access_token));
    expectMismatch(await generateCodes(bound.access_token, elsewhere));
    expectMismatch(await generateCodes(bound.access_token));
    const after = await stored(ada);
    expect(after.totp).toBeUndefined();
    expect(after.webauthn_credentials ?? []).toEqual([]);
  });

  it('the finish of a passkey registration is checked too', async () => {
    const started = await startPasskey(bound.access_token, here);
    expect(started.status).toBe(200);
    const encoded = new SoftAuthenticator(ORIGIN).create(started.body.credential_creation_options);
    expectMismatch(await finishPasskey(bound.access_token, encoded, elsewhere));
    expect((await finishPasskey(bound.access_token, encoded, here)).status).toBe(201);
  });

  it('from the bound IP the token works', async () => {
    expect((await registerTotp(bound.access_token, here)).status).toBe(201);
  });
});

describe('audit', () => {
  it('a successful enrolment is an event with the session amr', async () => {
    const ada = await userWithPassword();
    const session = await sessionWith(ada, ['pwd']);
    expect((await addPasskey(session.access_token)).status).toBe(201);
    expect(auditOf('factor_enrolment')).toEqual([
      expect.objectContaining({ user_id: ada.user_id, client_id: client.client_id, method: 'webauthn', outcome: 'success', amr: ['pwd'] }),
    ]);
  });
});
