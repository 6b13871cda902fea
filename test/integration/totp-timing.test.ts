/**
 * TOTP authenticate must not tell an identifier naming no one from a user
 * with an authenticator: the same store requests on records of the same
 * kinds, the same crypto (a sealed seed opened, the codes of the drift window
 * computed), and so the same median time with realistic store latency.
 * Medians of paired runs are compared (never an absolute threshold), as in
 * the send timing test.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { kindOfKey } from '../../functions/access.js';
import { forgetCachedClients } from '../../functions/core/clients.js';
import type { ClientRecord } from '../../functions/core/model.js';
import { registerTotp, totpCodeForStep, totpStep } from '../../functions/core/totp.js';
import { handler as totpAuthenticate } from '../../functions/handlers/auth-totp-authenticate.js';
import type { Store } from '../../functions/ports.js';
import { createTestClient, createTestDeps, invoke, otherCode, type TestContext } from '../support/harness.js';
import { seedUser } from '../support/seed.js';
import { proxyStore } from '../support/store-proxy.js';

const STORE_MS = 3;
const RUNS = 9;

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
  for (let i = 0; i < RUNS; i++) {
    const user = await seedUser(t.deps, { user_id: `u${i}`, email: `user${i}@example.com`, username: `user${i}` });
    const { secret } = await registerTotp(t.deps, user.user_id);
    // Confirm the authenticator, so it is a working one.
    expect((await invoke(totpAuthenticate, { token, body: { token: totpCodeForStep(secret, totpStep(t.clock.now())), identifier_type: 'user_id', identifier: user.user_id } })).status).toBe(200);
    t.clock.advanceSeconds(30);
    secrets.push(secret);
  }
  void client;
});

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
    it(`by ${type}: the same store requests on records of the same kinds`, async () => {
      const trace = async (who: Who) => {
        const calls: string[] = [];
        forgetCachedClients(); // both traces read the client record once, as a cold instance would
        t.deps.store = proxyStore(real, (op, key) => void calls.push(`${op} ${kindOfKey(key) ?? '?'}`));
        try {
          expect((await guess(type, who, 0)).body.error_code).toBe('auth_invalid_credentials');
        } finally {
          t.deps.store = real;
        }
        return calls;
      };
      const known = await trace('registered');
      expect(known.filter((c) => c === 'get user').length).toBeGreaterThanOrEqual(1);
      expect(await trace('unknown')).toEqual(known);
    });
  }

  it('by email: the same median time with a store round trip of a few milliseconds', async () => {
    t.deps.store = proxyStore(real, () => new Promise((resolve) => setTimeout(resolve, STORE_MS)));
    const timed = async (run: () => Promise<{ status: number }>) => {
      const started = performance.now();
      expect((await run()).status).toBe(400);
      return performance.now() - started;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // Each pair runs side by side, so both see the same load on the machine.
      const [k, u] = await Promise.all([timed(() => guess('email', 'registered', i)), timed(() => guess('email', 'unknown', i))]);
      known.push(k);
      unknown.push(u);
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const [mk, mu] = [median(known), median(unknown)];
    expect(Math.abs(mk - mu) / Math.max(mk, mu)).toBeLessThanOrEqual(0.1);
  });
});
