/**
 * TOTP authenticate must not tell an identifier naming no one from a user
 * with an authenticator: the same store requests on records of the same
 * kinds and the same node:crypto calls (a sealed seed opened, the codes of
 * the drift window compared), both asserted exactly, and so the same median
 * time with realistic store latency (test/support/timing.ts).
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('node:crypto', async (original) => (await import('../support/crypto-trace.js')).tracedCrypto(await original()));
import { kindOfKey } from '../../functions/access.js';
import { forgetCachedClients } from '../../functions/core/clients.js';
import type { ClientRecord } from '../../functions/core/model.js';
import { registerTotp, totpCodeForStep, totpStep } from '../../functions/core/totp.js';
import { handler as totpAuthenticate } from '../../functions/handlers/auth-totp-authenticate.js';
import type { Store } from '../../functions/ports.js';
import { cryptoCalls } from '../support/crypto-trace.js';
import { createTestClient, createTestDeps, invoke, otherCode, type TestContext } from '../support/harness.js';
import { seedUser } from '../support/seed.js';
import { proxyStore } from '../support/store-proxy.js';
import { medianParity } from '../support/timing.js';

const STORE_MS = 5;
const RUNS = 31;

let t: TestContext;
let client: ClientRecord;
let token: string;
let real: Store;
const secrets: string[] = [];

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps));
  real = t.store;
  secrets.length = 0;
});

/** Users u0… with a confirmed authenticator each, one per run. */
async function seedUsers(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const user = await seedUser(t.deps, { user_id: `u${i}`, email: `user${i}@example.com`, username: `user${i}` });
    const { secret } = await registerTotp(t.deps, user.user_id);
    // Confirm the authenticator, so it is a working one.
    expect((await invoke(totpAuthenticate, { token, body: { token: totpCodeForStep(secret, totpStep(t.clock.now())), identifier_type: 'user_id', identifier: user.user_id } })).status).toBe(200);
    t.clock.advanceSeconds(30);
    secrets.push(secret);
  }
  void client;
}

/** A code no step of the drift window accepts for user `i`. */
function wrongCode(i: number): string {
  const window = [-1, 0, 1].map((o) => totpCodeForStep(secrets[i]!, totpStep(t.clock.now()) + o));
  let code = otherCode(window[1]!);
  while (window.includes(code)) code = otherCode(code);
  return code;
}

type Who = 'registered' | 'unknown';
const identifierOf = (type: 'email' | 'username' | 'user_id', who: Who, i: number) =>
  type === 'user_id' ? (who === 'registered' ? `u${i}` : `x${i}`) : type === 'email' ? `${who === 'registered' ? 'user' : 'stranger'}${i}@example.com` : `${who === 'registered' ? 'user' : 'stranger'}${i}`;
const guess = (type: 'email' | 'username' | 'user_id', who: Who, i: number) =>
  invoke(totpAuthenticate, { token, body: { token: wrongCode(i), identifier_type: type, identifier: identifierOf(type, who, i) } });

describe('TOTP authenticate for an unknown identifier and for a user with an authenticator', () => {
  for (const type of ['email', 'username', 'user_id'] as const) {
    it(`by ${type}: the same store requests on records of the same kinds, and the same crypto`, async () => {
      await seedUsers(1);
      // A running instance seals its decoy seed once, at its first unknown identifier: this is that one.
      await guess(type, 'unknown', 0);
      const trace = async (who: Who) => {
        const calls: string[] = [];
        forgetCachedClients(); // both traces read the client record once, as a cold instance would
        t.deps.store = proxyStore(real, (op, key) => void calls.push(`${op} ${kindOfKey(key) ?? '?'}`));
        try {
          const crypto = await cryptoCalls(async () => expect((await guess(type, who, 0)).body.error_code).toBe('auth_invalid_credentials'));
          return { store: calls, crypto };
        } finally {
          t.deps.store = real;
        }
      };
      const known = await trace('registered');
      expect(known.store.filter((c) => c === 'get user').length).toBeGreaterThanOrEqual(1);
      // The seed is opened and the submitted code compared in constant time with each step of the drift window.
      expect(known.crypto.filter((c) => c === 'createDecipheriv aes-256-gcm')).toHaveLength(1);
      expect(known.crypto.filter((c) => c === 'timingSafeEqual').length).toBeGreaterThanOrEqual(3);
      expect(await trace('unknown')).toEqual(known);
    });
  }

  it('by email: the same median time with a store round trip of a few milliseconds', async () => {
    await seedUsers(RUNS);
    t.deps.store = proxyStore(real, () => new Promise((resolve) => setTimeout(resolve, STORE_MS)));
    const refused = async (who: Who, i: number) => expect((await guess('email', who, i)).status).toBe(400);
    const parity = await medianParity(RUNS, (i) => refused('registered', i), (i) => refused('unknown', i));
    expect(parity.spread).toBeLessThanOrEqual(0.1);
  });
});
