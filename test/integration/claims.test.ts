/**
 * The OIDC claims request on every authenticate call:
 * `claims: {id_token: {<claim>: null, ...}}` adds the user claims Twofold
 * holds to the ID token. One shared path (core/tokens.ts) serves every
 * method, so each method is checked through its own endpoint, with the ID
 * token verified as a relying party would (jose, ES256, pinned iss/aud/typ).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { ClientRecord } from '../../functions/core/model.js';
import { totpCodeForStep, totpStep } from '../../functions/core/totp.js';
import { handler as linkAuthenticate } from '../../functions/handlers/auth-link-authenticate.js';
import { handler as linkSend } from '../../functions/handlers/auth-link-send.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as authPassword } from '../../functions/handlers/auth-password.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { handler as totpAuthenticate } from '../../functions/handlers/auth-totp-authenticate.js';
import { handler as totpRegister } from '../../functions/handlers/auth-totp-register.js';
import { handler as createUser } from '../../functions/handlers/users-create.js';
import { createTestClient, createTestDeps, idTokenClaims, invoke, lastCode, type TestContext } from '../support/harness.js';

const PASSWORD = 'correct horse battery';
const EMAIL = 'ada@example.com';
const REDIRECT = 'https://app.example/callback';
const ALL = { username: null, name: null, email: null, email_verified: null, phone_number: null, phone_number_verified: null };

let t: TestContext;
let client: ClientRecord;
let token: string;

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps, { redirect_uris: [REDIRECT] }));
  const res = await invoke(createUser, {
    token,
    body: {
      email: EMAIL,
      phone_number: '+15551234567',
      username: 'ada',
      name: { title: 'Countess', first_name: 'Augusta', middle_name: 'Ada', last_name: 'King' },
      credentials: { password: PASSWORD },
    },
  });
  expect(res.status).toBe(201);
});

type Claims = Record<string, unknown> | undefined;
const withClaims = (claims: Claims) => (claims === undefined ? {} : { claims });

/** Each authenticate endpoint, called with `claims`; the setup it needs happens first. */
const METHODS: Record<string, (claims: Claims) => Promise<{ status: number; body: any }>> = {
  password: (claims) => invoke(authPassword, { token, body: { username: 'ada', password: PASSWORD, ...withClaims(claims) } }),
  otp: async (claims) => {
    t.clock.advanceSeconds(31); // past the per-destination send cooldown
    await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: EMAIL } });
    return invoke(otpAuthenticate, { token, body: { passcode: lastCode(t.outbox, EMAIL), identifier_type: 'email', identifier: EMAIL, ...withClaims(claims) } });
  },
  link: async (claims) => {
    t.clock.advanceSeconds(31);
    await invoke(linkSend, { token, body: { identifier_type: 'email', identifier: EMAIL, redirect_uri: REDIRECT } });
    const code = new URL(t.outbox.last(EMAIL)!.link!).searchParams.get('code')!;
    return invoke(linkAuthenticate, { token, body: { code, ...withClaims(claims) } });
  },
  totp: async (claims) => {
    const login = await METHODS.password!(undefined);
    const secret = (await invoke(totpRegister, { token: login.body.access_token, body: { allow_override: true } })).body.secret;
    t.clock.advanceSeconds(30); // a fresh step
    const code = totpCodeForStep(secret, totpStep(t.clock.now()));
    return invoke(totpAuthenticate, { token, body: { token: code, identifier: EMAIL, ...withClaims(claims) } });
  },
  session: async (claims) => {
    const login = await METHODS.password!(undefined);
    return invoke(sessionAuthenticate, { token, body: { session_id: login.body.session_id, ...withClaims(claims) } });
  },
};

async function idToken(res: { status: number; body: any }) {
  expect(res.status).toBe(200);
  return idTokenClaims(t.deps, res.body.id_token, client.client_id);
}

describe.each(Object.keys(METHODS))('claims on %s authenticate', (method) => {
  const call = (claims: Claims) => METHODS[method]!(claims);

  it('adds every requested claim we hold: username, name, contacts and their verified flags', async () => {
    const payload = await idToken(await call({ id_token: ALL }));
    expect(payload).toMatchObject({
      username: 'ada',
      name: 'Countess Augusta Ada King',
      email: EMAIL,
      email_verified: expect.any(Boolean),
      phone_number: '+15551234567',
      phone_number_verified: false,
    });
  });

  it('without a claims request the ID token has no username or name', async () => {
    const payload = await idToken(await call(undefined));
    expect(payload.username).toBeUndefined();
    expect(payload.name).toBeUndefined();
    expect(payload.email).toBe(EMAIL);
  });

  it('adds only what was asked for; unknown claims and access_token requests are ignored', async () => {
    const payload = await idToken(await call({ id_token: { username: { essential: true }, roles: null }, access_token: { roles: null } }));
    expect(payload.username).toBe('ada');
    expect(payload.name).toBeUndefined();
    expect(payload.roles).toBeUndefined();
  });
});

describe('claims requests', () => {
  it('asking for a claim the user does not have adds nothing', async () => {
    await invoke(createUser, { token, body: { username: 'grace', credentials: { password: PASSWORD } } });
    const res = await invoke(authPassword, { token, body: { username: 'grace', password: PASSWORD, claims: { id_token: ALL } } });
    const payload = await idToken(res);
    expect(payload.username).toBe('grace');
    for (const claim of ['name', 'email', 'email_verified', 'phone_number', 'phone_number_verified']) expect(payload[claim]).toBeUndefined();
  });

  it('a claims value that is not an object is 400 system_invalid_input', async () => {
    for (const claims of ['username', { id_token: ['username'] }, { id_token: 'username' }]) {
      const res = await invoke(authPassword, { token, body: { username: 'ada', password: PASSWORD, claims } });
      expect(res).toMatchObject({ status: 400, body: { error_code: 'system_invalid_input' } });
    }
  });
});
