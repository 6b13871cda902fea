/**
 * The fault suites (test/integration/faults.test.ts): every flow under a
 * failing or stalled port at each of its steps, and wrong guesses under the
 * same faults. A failed send still counts against the per-destination send
 * limits (it may have reached the provider), so a send is retried after the
 * 30 s cooldown.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClientRecord, UserRecord } from '../../functions/core/model.js';
import { hashPassword } from '../../functions/core/passwords.js';
import { SEND_COOLDOWN_MS } from '../../functions/core/rate-limits.js';
import { totpCodeForStep, totpStep } from '../../functions/core/totp.js';
import { handler as linkAuthenticate } from '../../functions/handlers/auth-link-authenticate.js';
import { handler as linkSend } from '../../functions/handlers/auth-link-send.js';
import { handler as logout } from '../../functions/handlers/auth-logout.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as passwordAuthenticate } from '../../functions/handlers/auth-password.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { handler as refresh } from '../../functions/handlers/auth-token-refresh.js';
import { handler as totpAuthenticate } from '../../functions/handlers/auth-totp-authenticate.js';
import { handler as oidcToken } from '../../functions/handlers/oidc-token.js';
import { handler as emailVerifySend } from '../../functions/handlers/users-email-verification-send.js';
import { handler as emailVerify } from '../../functions/handlers/users-email-verification-verify.js';
import { handler as phoneVerifySend } from '../../functions/handlers/users-phone-verification-send.js';
import { handler as phoneVerify } from '../../functions/handlers/users-phone-verification-verify.js';
import { registerTotp } from '../../functions/core/totp.js';
import { createTestClient, createTestDeps, invoke, lastCode, otherCode, TEST_SCRYPT, type TestContext } from './harness.js';
import { FaultInjector, MODES, PORTS, type FaultMode } from './faults.js';
import { seedAuthentication, seedUser } from './seed.js';

type Result = Awaited<ReturnType<typeof invoke>>;

interface Prepared {
  /** The request under fault; run again, healthy, as the retry. */
  act: () => Promise<Result>;
  status: number;
  /** A send waits out the cooldown before its retry. */
  retryAfterMs?: number;
}

const REDIRECT = 'https://app.example/callback';
const PASSWORD = 'correct horse battery staple';

let t: TestContext;
let faults: FaultInjector;
let client: ClientRecord;
let secret: string;
let token: string;
let serial = 0;
/** PASSWORD's hash, computed once: the password flows seed it instead of setting it through the API each time. */
let passwordHash: string;

/** A fresh user with a password for each scenario, so no scenario shares a code, a lock or a send limit with another. */
async function freshUser(extra: Partial<UserRecord> = {}): Promise<UserRecord> {
  serial += 1;
  return seedUser(t.deps, {
    email: `user${serial}@example.com`,
    phone_number: `+1555${String(serial).padStart(7, '0')}`,
    username: `user${serial}`,
    password: { hash: passwordHash, updated_at: t.clock.now() },
    ...extra,
  });
}

const flows = {
  'client credentials': async () => ({
    act: () =>
      invoke(oidcToken, {
        rawBody: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: secret }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
    status: 200,
  }),
  'password login': async () => {
    const user = await freshUser();
    return { act: () => invoke(passwordAuthenticate, { token, body: { username: user.username, password: PASSWORD } }), status: 200 };
  },
  'password added to a session': async () => {
    const user = await freshUser();
    const session = await seedAuthentication(t.deps, client, user, 'eotp');
    return { act: () => invoke(passwordAuthenticate, { token, body: { username: user.username, password: PASSWORD, session_id: session.session_id } }), status: 200 };
  },
  'email OTP send': async () => {
    const user = await freshUser();
    return { act: () => invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: user.email } }), status: 200, retryAfterMs: SEND_COOLDOWN_MS };
  },
  'SMS OTP send': async () => {
    const user = await freshUser();
    return { act: () => invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'user_id', identifier: user.user_id } }), status: 200, retryAfterMs: SEND_COOLDOWN_MS };
  },
  'email OTP login': async () => {
    const user = await freshUser();
    await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: user.email } });
    const passcode = lastCode(t.outbox, user.email!);
    return { act: () => invoke(otpAuthenticate, { token, body: { identifier_type: 'email', identifier: user.email, passcode } }), status: 200 };
  },
  'SMS OTP added to a session': async () => {
    const user = await freshUser();
    const session = await seedAuthentication(t.deps, client, user, 'pwd');
    await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'phone_number', identifier: user.phone_number } });
    const passcode = lastCode(t.outbox, user.phone_number!);
    const body = { identifier_type: 'phone_number', identifier: user.phone_number, passcode, session_id: session.session_id };
    return { act: () => invoke(otpAuthenticate, { token, body }), status: 200 };
  },
  'magic link send': async () => {
    const user = await freshUser();
    return { act: () => invoke(linkSend, { token, body: { identifier_type: 'email', identifier: user.email, redirect_uri: REDIRECT } }), status: 200, retryAfterMs: SEND_COOLDOWN_MS };
  },
  'magic link login': async () => {
    const user = await freshUser();
    await invoke(linkSend, { token, body: { identifier_type: 'email', identifier: user.email, redirect_uri: REDIRECT } });
    const code = new URL(t.outbox.last(user.email!)!.link!).searchParams.get('code');
    return { act: () => invoke(linkAuthenticate, { token, body: { code } }), status: 200 };
  },
  'TOTP login': async () => {
    const user = await freshUser();
    const body = await registerTotp(t.deps, user.user_id);
    const passcode = totpCodeForStep(body.secret, totpStep(t.clock.now()));
    return { act: () => invoke(totpAuthenticate, { token, body: { identifier_type: 'user_id', identifier: user.user_id, token: passcode } }), status: 200 };
  },
  'email verification send': async () => {
    const user = await freshUser();
    return { act: () => invoke(emailVerifySend, { token, params: { user_id: user.user_id }, body: { email: user.email } }), status: 200, retryAfterMs: SEND_COOLDOWN_MS };
  },
  'phone verification': async () => {
    const user = await freshUser();
    await invoke(phoneVerifySend, { token, params: { user_id: user.user_id }, body: { phone_number: user.phone_number } });
    const passcode = lastCode(t.outbox, user.phone_number!);
    return { act: () => invoke(phoneVerify, { token, params: { user_id: user.user_id }, body: { phone_number: user.phone_number, passcode } }), status: 200 };
  },
  'session authenticate': async () => {
    const session = await seedAuthentication(t.deps, client, await freshUser(), 'pwd');
    return { act: () => invoke(sessionAuthenticate, { token, body: { session_id: session.session_id } }), status: 200 };
  },
  refresh: async () => {
    const session = await seedAuthentication(t.deps, client, await freshUser(), 'pwd');
    return { act: () => invoke(refresh, { token, body: { refresh_token: session.refresh_token } }), status: 200 };
  },
  logout: async () => {
    const session = await seedAuthentication(t.deps, client, await freshUser(), 'pwd');
    return { act: () => invoke(logout, { token, body: { session_id: session.session_id } }), status: 204 };
  },
} satisfies Record<string, () => Promise<Prepared>>;

export type FaultFlow = keyof typeof flows;
export const FAULT_FLOWS = Object.keys(flows) as FaultFlow[];

async function setUp(): Promise<void> {
  t = await createTestDeps();
  ({ client, secret, token } = await createTestClient(t.deps, { redirect_uris: [REDIRECT], bind_sessions_to_ip: false }));
  faults = new FaultInjector(t.deps, t.clock);
  passwordHash ??= await hashPassword(PASSWORD, TEST_SCRYPT);
}

/**
 * For each flow: each port fails, or times out, at each of its steps in turn
 * (the census of a healthy run says how many there are). Each time the caller
 * gets 503 with Retry-After, no session is written, and the same request,
 * retried once the dependency is back, succeeds: the same code, link or
 * refresh token still works, so the credential was not consumed.
 */
export function describeFaults(names: readonly FaultFlow[]): void {
  beforeAll(setUp);
  describe.each(names)('%s', (flow) => {
    it.each(MODES)('a dependency that %s at any step answers 503, leaves no session and no consumed credential, and a retry succeeds', async (mode: FaultMode) => {
      // A healthy run of the act (the preparation is never faulted) counts its steps per port.
      const healthy: Prepared = await flows[flow]();
      const { counts, result } = await faults.census(healthy.act);
      expect(result.status).toBe(healthy.status);
      let scenarios = 0;
      for (const port of PORTS) {
        for (let call = 1; call <= counts[port]; call++) {
          const where = `${port} call ${call} of ${counts[port]} ${mode}`;
          const prepared: Prepared = await flows[flow]();
          const res = await faults.during({ port, call, mode }, prepared.act);
          expect(res.status, where).toBe(503);
          expect(res.body, where).toEqual({ error_code: 'service_unavailable', message: expect.any(String) });
          expect(Number(res.headers['Retry-After']), where).toBeGreaterThanOrEqual(1);
          expect(faults.writes.filter((key) => key.startsWith('session#')), `${where}: session written`).toEqual([]);

          t.clock.advance(prepared.retryAfterMs ?? 0);
          const retried = await prepared.act();
          expect(retried.status, `${where}: retry`).toBe(prepared.status);
          scenarios += 1;
        }
      }
      expect(scenarios).toBeGreaterThan(1);
    });
  });
}

// ---- wrong guesses under faults ------------------------------------------------

export type GuessMethod = 'password' | 'email OTP' | 'TOTP' | 'email verification';

/** A user to guess at, and a wrong guess at it (a new wrong value on each call). */
const guessers: Record<GuessMethod, () => Promise<() => Promise<Result>>> = {
  password: async () => {
    const user = await freshUser();
    let n = 0;
    return () => invoke(passwordAuthenticate, { token, body: { username: user.username, password: `wrong password ${(n += 1)}` } });
  },
  'email OTP': async () => {
    const user = await freshUser();
    await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: user.email } });
    let wrong = lastCode(t.outbox, user.email!);
    return () => invoke(otpAuthenticate, { token, body: { identifier_type: 'email', identifier: user.email, passcode: (wrong = otherCode(wrong)) } });
  },
  TOTP: async () => {
    const user = await freshUser();
    const body = await registerTotp(t.deps, user.user_id);
    let n = 0;
    return () => {
      const window = new Set([-1, 0, 1].map((offset) => totpCodeForStep(body.secret, totpStep(t.clock.now()) + offset)));
      let passcode: string;
      do passcode = String((n += 7919) % 1_000_000).padStart(6, '0');
      while (window.has(passcode));
      return invoke(totpAuthenticate, { token, body: { identifier_type: 'user_id', identifier: user.user_id, token: passcode } });
    };
  },
  'email verification': async () => {
    const user = await freshUser();
    await invoke(emailVerifySend, { token, params: { user_id: user.user_id }, body: { email: user.email } });
    let wrong = lastCode(t.outbox, user.email!);
    return () => invoke(emailVerify, { token, params: { user_id: user.user_id }, body: { email: user.email, passcode: (wrong = otherCode(wrong)) } });
  },
};

/** Wrong guesses answered 400 before the first 403 (the lock): what is left of the guess budget. */
async function budget(wrong: () => Promise<Result>): Promise<number> {
  for (let answered = 0; answered < 30; answered++) {
    const res = await wrong();
    if (res.status === 403) return answered;
    if (res.status !== 400) throw new Error(`a wrong guess got ${res.status}`);
  }
  throw new Error('never locked');
}

/**
 * For each counted method: a wrong guess while a port fails or times out at
 * any step is answered 503, and if it was compared at all (`comparisons`
 * counts calls of the comparison function) it was counted: the budget of
 * wrong guesses left afterwards is one less than a fresh user's. A guess that
 * could not be counted must not have been compared.
 */
export function describeGuessFaults(methods: readonly GuessMethod[], comparisons: () => number): void {
  beforeAll(setUp);
  describe.each(methods)('wrong %s guesses', (method) => {
    it.each(MODES)('a guess while a dependency %s at any step is never compared without being counted', async (mode: FaultMode) => {
      const full = await budget(await guessers[method]());
      const { counts } = await faults.census(await guessers[method]());
      let scenarios = 0;
      for (const port of PORTS) {
        for (let call = 1; call <= counts[port]; call++) {
          const where = `${port} call ${call} of ${counts[port]} ${mode}`;
          const wrong = await guessers[method]();
          const before = comparisons();
          const res = await faults.during({ port, call, mode }, wrong);
          const compared = comparisons() > before;
          expect(res.status, where).toBe(503);
          const left = await budget(wrong);
          expect(left, `${where}: budget left`).toBeGreaterThanOrEqual(full - 1);
          expect(left, `${where}: budget left`).toBeLessThanOrEqual(full);
          if (compared) expect(left, `${where}: compared but not counted`).toBe(full - 1);
          scenarios += 1;
        }
      }
      expect(scenarios).toBeGreaterThan(1);
    });
  });
}
