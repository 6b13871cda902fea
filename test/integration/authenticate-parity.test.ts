/**
 * Every authenticate call, tried as an attacker probing who is registered: a
 * wrong guess at a registered identifier and at one naming no one, with no
 * session and with the attacker's own session (someone else's, for the
 * victim), must answer the same and make the same requests: the same store
 * operations on records of the same kinds, in the same order, and the same
 * node:crypto calls. One table read fewer for nobody is a few milliseconds an
 * attacker can average out over the guesses the limits allow. (The answers,
 * headers included, over every identifier type: authenticate-enumeration.)
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('node:crypto', async (original) => (await import('../support/crypto-trace.js')).tracedCrypto(await original()));

import { kindOfKey } from '../../functions/access.js';
import { forgetCachedClients } from '../../functions/core/clients.js';
import type { UserRecord } from '../../functions/core/model.js';
import { registerTotp } from '../../functions/core/totp.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as passwordAuthenticate } from '../../functions/handlers/auth-password.js';
import { handler as recoveryAuthenticate } from '../../functions/handlers/auth-recovery-codes-authenticate.js';
import { handler as recoveryGenerate } from '../../functions/handlers/auth-recovery-codes-generate.js';
import { handler as totpAuthenticate } from '../../functions/handlers/auth-totp-authenticate.js';
import { handler as passkeyStart } from '../../functions/handlers/auth-webauthn-authenticate-start.js';
import { handler as usersCreate } from '../../functions/handlers/users-create.js';
import type { Store } from '../../functions/ports.js';
import { cryptoCalls } from '../support/crypto-trace.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedAuthentication } from '../support/seed.js';
import { proxyStore } from '../support/store-proxy.js';

const PASSWORD = 'correct horse battery staple';
const VICTIM = { email: 'ada@example.com', username: 'ada', phone_number: '+15551234567' };
const NOBODY = { email: 'nobody@example.com', username: 'nobody', phone_number: '+15557654321' };

let t: TestContext;
let token: string;
let attackerSession: string;

beforeEach(async () => {
  t = await createTestDeps();
  const created = await createTestClient(t.deps, { webauthn_rp_id: 'app.example', webauthn_origins: ['https://app.example'] });
  token = created.token;
  const ada = await invoke(usersCreate, { token, body: { ...VICTIM, credentials: { password: PASSWORD } } });
  expect(ada.status).toBe(201);
  const adaRecord = (await t.store.get<UserRecord>(`user#${ada.body.result.user_id}`))?.value;
  // The victim holds every factor: an authenticator app and recovery codes too.
  await registerTotp(t.deps, ada.body.result.user_id);
  const first = await seedAuthentication(t.deps, created.client, adaRecord!, 'pwd');
  const mfa = await seedAuthentication(t.deps, created.client, adaRecord!, 'sms', { sessionId: first.session_id });
  expect((await invoke(recoveryGenerate, { token: mfa.access_token })).status).toBe(201);
  // The attacker is a user of the same service, with a session of their own.
  const mallory = await invoke(usersCreate, { token, body: { email: 'mallory@example.com', credentials: { password: PASSWORD } } });
  const malloryRecord = (await t.store.get<UserRecord>(`user#${mallory.body.result.user_id}`))?.value;
  attackerSession = (await seedAuthentication(t.deps, created.client, malloryRecord!, 'pwd')).session_id;
  // Codes were sent to both identifiers, by each name guessed below, as an attacker would before guessing.
  for (const who of [VICTIM, NOBODY]) {
    expect((await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: who.email } })).status).toBe(200);
    t.clock.advanceSeconds(31); // past the resend cooldown of the address
    expect((await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'username', identifier: who.username } })).status).toBe(200);
  }
});

type Who = typeof VICTIM;
type Attempt = (who: Who, session: string | undefined) => Promise<{ status: number; body: unknown }>;

const CASES: Array<[string, Attempt]> = [
  ['password by username', (who, session_id) => invoke(passwordAuthenticate, { token, body: { username: who.username, password: 'not the password', session_id } })],
  ['password by email', (who, session_id) => invoke(passwordAuthenticate, { token, body: { username: who.email, username_type: 'email', password: 'not the password', session_id } })],
  ['email OTP by email', (who, session_id) => invoke(otpAuthenticate, { token, body: { identifier_type: 'email', identifier: who.email, passcode: '000000', session_id } })],
  ['OTP by username', (who, session_id) => invoke(otpAuthenticate, { token, body: { identifier_type: 'username', identifier: who.username, passcode: '000000', session_id } })],
  ['TOTP by phone number', (who, session_id) => invoke(totpAuthenticate, { token, body: { identifier_type: 'phone_number', identifier: who.phone_number, token: '000000', session_id } })],
  ['recovery code by email', (who, session_id) => invoke(recoveryAuthenticate, { token, body: { identifier_type: 'email', identifier: who.email, code: '0000-0000-0000', session_id } })],
];

/**
 * Records that stand in for each other: a guess at nobody is counted and
 * compared on the submitted identifier's records where a user's is counted
 * and compared on theirs, with the same operation (one conditional write).
 */
const STANDS_FOR: Record<string, string> = {
  'countAttempt passwordAttempts': 'countGuess user', // the password run: on the user's record, or on the identifier's counter
  'countGuess otpDecoy': 'countGuess otp', // the code: the user's, or the decoy the identifier's sends left
  'get otpDecoy': 'get otp',
};

/** What one attempt answers and does: its answer, its store requests by kind of record, its crypto calls. */
async function observe(attempt: () => Promise<{ status: number; body: unknown }>) {
  const store: string[] = [];
  const real = t.deps.store as Store;
  forgetCachedClients(); // both read the client once, as a cold instance would
  t.deps.store = proxyStore(real, (op, key) => {
    const request = `${op} ${kindOfKey(key) ?? '?'}`;
    store.push(STANDS_FOR[request] ?? request);
  });
  try {
    let answer: { status: number; body: unknown } | undefined;
    const crypto = await cryptoCalls(async () => (answer = await attempt()));
    return { status: answer!.status, body: answer!.body, store, crypto };
  } finally {
    t.deps.store = real;
  }
}

describe('authenticate: a registered identifier and one naming no one make the same requests', () => {
  for (const [name, attempt] of CASES) {
    it(`${name}, no session: the same answer, store requests and crypto`, async () => {
      await attempt(NOBODY, undefined); // an instance's first unknown identifier may prepare its decoys once
      const known = await observe(() => attempt(VICTIM, undefined));
      expect(known.status).toBe(400);
      expect(await observe(() => attempt(NOBODY, undefined))).toEqual(known);
    });

    it(`${name}, with the attacker's own session: the same session_user_mismatch, store requests and crypto`, async () => {
      await attempt(NOBODY, undefined);
      const known = await observe(() => attempt(VICTIM, attackerSession));
      expect(known.body).toMatchObject({ error_code: 'session_user_mismatch' });
      expect(await observe(() => attempt(NOBODY, attackerSession))).toEqual(known);
    });
  }

  for (const username of ['ada', 'ada@example.com', '+15551234567']) {
    it(`passkey start by ${username}: the same requests as for a name no one holds`, async () => {
      const nobody = username.replace('ada', 'nobody').replace('1234567', '7654321');
      const start = (name: string) => invoke(passkeyStart, { token, body: { username: name } });
      const known = await observe(() => start(username));
      const unknown = await observe(() => start(nobody));
      expect(known.status).toBe(200);
      expect(unknown.status).toBe(200);
      expect(unknown.store).toEqual(known.store);
      expect(unknown.crypto).toEqual(known.crypto);
    });
  }
});
