/**
 * Response time must not tell a registered identifier from an unknown one.
 * The adapters get realistic fixed latencies (a store round trip, an SES
 * call, an SNS call), so a real delivery costs far more than the unknown
 * path's few reads; the client's response floor pads every send to the same
 * duration. Medians of many paired runs are compared (never an absolute
 * threshold): within 10%.
 *
 * The floor must exceed what a real delivery costs, as an operator sets it
 * above their provider's latency. This machine's cost is measured first
 * (deliveries with no floor), and the floor set well above it, so a loaded
 * test machine does not make the test flaky.
 */
import { describe, expect, it } from 'vitest';
import { handler as linkSend } from '../../functions/handlers/auth-link-send.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import type { Mailer, SmsSender, Store } from '../../functions/ports.js';
import { updateClient } from '../../functions/core/clients.js';
import type { ClientRecord } from '../../functions/core/model.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedUser } from '../support/seed.js';
import { proxyStore } from '../support/store-proxy.js';

const STORE_MS = 3;
const EMAIL_MS = 40;
const SMS_MS = 60;
const RUNS = 7;
const CALIBRATION_RUNS = 3;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function withStoreLatency(store: Store): Store {
  return proxyStore(store, async () => {
    await pause(STORE_MS);
  });
}

function withDeliveryLatency(target: Mailer & SmsSender): Mailer & SmsSender {
  return {
    sendEmail: async (message) => (await pause(EMAIL_MS), target.sendEmail(message)),
    sendSms: async (message) => (await pause(SMS_MS), target.sendSms(message)),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed(run: () => Promise<{ status: number }>): Promise<number> {
  const started = performance.now();
  const res = await run();
  expect(res.status).toBe(200);
  return performance.now() - started;
}

async function setUp(): Promise<{ t: TestContext; client: ClientRecord; token: string }> {
  const t = await createTestDeps();
  const { client, token } = await createTestClient(t.deps, { send_response_floor_ms: 0 });
  // Seed through the plain store, then slow every adapter the sends use.
  for (let i = 0; i < RUNS + CALIBRATION_RUNS; i++) {
    await seedUser(t.deps, { user_id: `u${i}`, email: `user${i}@example.com`, phone_number: `+1555000${1000 + i}`, username: `user${i}` });
  }
  t.deps.store = withStoreLatency(t.store);
  const slow = withDeliveryLatency(t.outbox);
  t.deps.mailer = slow;
  t.deps.sms = slow;
  return { t, client, token };
}

type Body = (i: number, known: boolean) => Record<string, unknown>;

const CASES: Array<[string, typeof otpSend, Body]> = [
  ['otp email by email', otpSend, (i, known) => ({ channel: 'email', identifier_type: 'email', identifier: known ? `user${i}@example.com` : `stranger${i}@example.com` })],
  ['otp sms by username', otpSend, (i, known) => ({ channel: 'sms', identifier_type: 'username', identifier: known ? `user${i}` : `stranger${i}` })],
  ['link by user_id', linkSend, (i, known) => ({ identifier_type: 'user_id', identifier: known ? `u${i}` : `x${i}`, redirect_uri: 'https://app.example/callback' })],
];

describe('send timing with realistic adapter latencies', () => {
  it.each(CASES)('%s: registered and unknown identifiers answer in the same median time', async (_name, handler, body) => {
    const { t, client, token } = await setUp();
    const cost: number[] = [];
    for (let i = RUNS; i < RUNS + CALIBRATION_RUNS; i++) cost.push(await timed(() => invoke(handler, { token, body: body(i, true) })));
    await updateClient(t.store, client.client_id, { send_response_floor_ms: Math.min(5000, Math.max(250, Math.ceil(2 * median(cost)) + 100)) });

    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // Each pair runs side by side, so both see the same load on the machine.
      const [k, u] = await Promise.all([
        timed(() => invoke(handler, { token, body: body(i, true) })),
        timed(() => invoke(handler, { token, body: body(i, false) })),
      ]);
      known.push(k);
      unknown.push(u);
    }
    // The known sends really delivered (and so really paid the provider latency).
    expect(t.outbox.list()).toHaveLength(RUNS + CALIBRATION_RUNS);
    const [mk, mu] = [median(known), median(unknown)];
    expect(Math.abs(mk - mu) / Math.max(mk, mu)).toBeLessThanOrEqual(0.1);
  });
});
