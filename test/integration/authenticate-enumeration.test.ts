/**
 * Probing the authenticate routes for who is registered. For every route that
 * names a user, a registered identifier and an unregistered one must get
 * byte-identical answers (status, body, headers) — with no session, and with
 * a session the caller holds for some other user (someone else's, or one of
 * the caller's own users): the session check comes first and an unknown user
 * is simply "not the session's user". Nothing is compared or counted when
 * the session refuses.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ClientRecord, UserRecord } from '../../functions/core/model.js';
import { hashPassword } from '../../functions/core/passwords.js';
import { totpCodeForStep, totpStep } from '../../functions/core/totp.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as passwordAuthenticate } from '../../functions/handlers/auth-password.js';
import { handler as totpAuthenticate } from '../../functions/handlers/auth-totp-authenticate.js';
import { registerTotp } from '../../functions/core/totp.js';
import { createTestClient, createTestDeps, invoke, lastCode, otherCode, TEST_SCRYPT, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';

const PASSWORD = 'correct horse battery';
const VICTIM = { email: 'victim@example.com', phone_number: '+15551230001', username: 'victim' };
const NOBODY = { email: 'nobody@example.com', phone_number: '+15551230002', username: 'nobody' };

let t: TestContext;
let client: ClientRecord;
let token: string;
let victim: UserRecord;
let attacker: UserRecord;
let otpCode: string;
let totpSecret: string;

async function setUp(): Promise<void> {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps));
  const hash = await hashPassword(PASSWORD, TEST_SCRYPT);
  victim = await seedUser(t.deps, { ...VICTIM, password: { hash, updated_at: t.clock.now() } });
  attacker = await seedUser(t.deps, { email: 'mallory@example.com', username: 'mallory' });
  // The victim has a live email code and an authenticator, so every secret a guess could hit exists.
  expect((await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: VICTIM.email } })).status).toBe(200);
  otpCode = lastCode(t.outbox, VICTIM.email);
  totpSecret = (await registerTotp(t.deps, victim.user_id)).secret;
}

/** A code no step of the drift window accepts now. */
function wrongTotp(): string {
  const window = [-1, 0, 1].map((o) => totpCodeForStep(totpSecret, totpStep(t.clock.now()) + o));
  let code = otherCode(window[1]!);
  while (window.includes(code)) code = otherCode(code);
  return code;
}

type Who = 'registered' | 'unregistered';
const user = (who: Who) => (who === 'registered' ? { ...VICTIM, user_id: victim.user_id } : { ...NOBODY, user_id: 'u-nobody' });

/** Every authenticate route that names a user, with a wrong secret for the named user. */
const routes: Array<{ name: string; call: (who: Who, extra: Record<string, unknown>) => ReturnType<typeof invoke> }> = [
  ...(['username', 'email', 'phone_number'] as const).map((username_type) => ({
    name: `password by ${username_type}`,
    call: (who: Who, extra: Record<string, unknown>) =>
      invoke(passwordAuthenticate, { token, body: { username: user(who)[username_type], username_type, password: 'not the password', ...extra } }),
  })),
  ...(['email', 'phone_number', 'username', 'user_id'] as const).map((identifier_type) => ({
    name: `OTP by ${identifier_type}`,
    call: (who: Who, extra: Record<string, unknown>) =>
      invoke(otpAuthenticate, { token, body: { passcode: otherCode(otpCode), identifier_type, identifier: user(who)[identifier_type], ...extra } }),
  })),
  ...(['email', 'phone_number', 'username', 'user_id'] as const).map((identifier_type) => ({
    name: `TOTP by ${identifier_type}`,
    call: (who: Who, extra: Record<string, unknown>) =>
      invoke(totpAuthenticate, { token, body: { token: wrongTotp(), identifier_type, identifier: user(who)[identifier_type], ...extra } }),
  })),
];

/** Sessions an attacker could present, none of them the named user's. */
const sessions: Array<{ name: string; extra: () => Promise<Record<string, unknown>> }> = [
  { name: 'no session', extra: async () => ({}) },
  { name: "the attacker's own user's session", extra: async () => ({ session_id: (await seedAuthentication(t.deps, client, attacker, 'eotp')).session_id }) },
  {
    name: "the attacker's own user's session, bound to the attacker's IP",
    extra: async () => {
      const attrs = { ip_address: '203.0.113.9' };
      return { session_id: (await seedAuthentication(t.deps, client, attacker, 'eotp', { clientAttributes: attrs })).session_id, client_attributes: attrs };
    },
  },
  {
    name: "someone else's session, from another IP",
    extra: async () => {
      const other = await seedUser(t.deps);
      const session = await seedAuthentication(t.deps, client, other, 'sms', { clientAttributes: { ip_address: '198.51.100.4' } });
      return { session_id: session.session_id, client_attributes: { ip_address: '203.0.113.9' } };
    },
  },
  { name: 'an unknown session', extra: async () => ({ session_id: 'no-such-session' }) },
  {
    name: "another client's session",
    extra: async () => ({ session_id: (await seedAuthentication(t.deps, (await createTestClient(t.deps)).client, attacker, 'eotp')).session_id }),
  },
];

describe('a registered and an unregistered identifier get byte-identical answers', () => {
  // One victim for the whole table: each row makes at most one wrong guess, fewer than any limit.
  beforeAll(setUp);
  for (const route of routes) {
    for (const session of sessions) {
      it(`${route.name}, ${session.name}`, async () => {
        const extra = await session.extra();
        const registered = await route.call('registered', extra);
        const unregistered = await route.call('unregistered', extra);
        expect(registered.status).toBeGreaterThanOrEqual(400);
        expect(unregistered).toEqual(registered);
      });
    }
  }
});

describe('the session is checked before any secret', () => {
  beforeEach(setUp);
  it("with another user's session, no guess is counted: the victim's right secrets still work after many tries", async () => {
    const extra = await sessions[1]!.extra();
    for (let i = 0; i < 12; i++) {
      for (const route of routes) expect((await route.call('registered', extra)).body.error_code).toBe('session_user_mismatch');
    }
    expect((await invoke(passwordAuthenticate, { token, body: { username: VICTIM.username, password: PASSWORD } })).status).toBe(200);
    expect((await invoke(otpAuthenticate, { token, body: { passcode: otpCode, identifier_type: 'email', identifier: VICTIM.email } })).status).toBe(200);
    const totp = totpCodeForStep(totpSecret, totpStep(t.clock.now()));
    expect((await invoke(totpAuthenticate, { token, body: { token: totp, identifier_type: 'email', identifier: VICTIM.email } })).status).toBe(200);
  });

  it("a user without an authenticator answers like a registered one with a session that is not theirs", async () => {
    const extra = await sessions[1]!.extra();
    const withTotp = await invoke(totpAuthenticate, { token, body: { token: '123456', identifier_type: 'username', identifier: VICTIM.username, ...extra } });
    const withoutTotp = await invoke(totpAuthenticate, { token, body: { token: '123456', identifier_type: 'email', identifier: 'other-user@example.com', ...extra } });
    await seedUser(t.deps, { email: 'other-user@example.com' });
    const registeredWithout = await invoke(totpAuthenticate, { token, body: { token: '123456', identifier_type: 'email', identifier: 'other-user@example.com', ...extra } });
    expect(withoutTotp).toEqual(withTotp);
    expect(registeredWithout).toEqual(withTotp);
  });
});

describe('locks tell nothing either', () => {
  beforeEach(setUp);

  it('TOTP guesses at an unknown identifier, or at a user without an authenticator, lock exactly like guesses at a registered one', async () => {
    await seedUser(t.deps, { email: 'no-authenticator@example.com' });
    const answers = async (identifier: string) => {
      const out: Array<{ status: number; body: unknown; retry?: string }> = [];
      for (let i = 0; i < 11; i++) {
        const res = await invoke(totpAuthenticate, { token, body: { token: wrongTotp(), identifier_type: 'email', identifier } });
        out.push({ status: res.status, body: res.body, retry: res.headers['Retry-After'] });
      }
      return out;
    };
    const registered = await answers(VICTIM.email);
    expect(registered.at(-1)).toMatchObject({ status: 403, retry: '900' });
    expect(await answers(NOBODY.email)).toEqual(registered);
    expect(await answers('no-authenticator@example.com')).toEqual(registered);
  });
});
