/**
 * Response time must not tell a registered identifier from an unknown one,
 * and nothing may sleep to make it so. A send stores its code and puts its
 * delivery on the queue; SES and SNS are called later by the delivery
 * sender, never on the response path. So a send to a registered user and a
 * send to nobody must make the same requests, the queue included: that is
 * asserted request by request, with the node:crypto calls of each, and then
 * timed with realistic latencies on every request (a store round trip, an SQS
 * SendMessage on a mocked SQSClient through the real SQS adapter). Medians of
 * many paired runs are compared (test/support/timing.ts): within 10%.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('node:crypto', async (original) => (await import('../support/crypto-trace.js')).tracedCrypto(await original()));
import { SqsDeliveryQueue } from '../../functions/adapters/aws/sqs-queue.js';
import { kindOfKey } from '../../functions/access.js';
import { handler as linkSend } from '../../functions/handlers/auth-link-send.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import type { Store } from '../../functions/ports.js';
import type { ClientRecord } from '../../functions/core/model.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { handler as usersCreate } from '../../functions/handlers/users-create.js';
import { proxyStore } from '../support/store-proxy.js';
import { cryptoCalls } from '../support/crypto-trace.js';
import { medianParity } from '../support/timing.js';

const STORE_MS = 5;
const SQS_MS = 15;
const RUNS = 31;
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/twofold-deliveries';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sqs = mockClient(SQSClient);
const userIds: string[] = [];
afterEach(() => sqs.reset());

/** Every request a send makes, in order: store operations by the kind of record, and SQS sends. */
type Trace = string[];

async function setUp(latency: boolean): Promise<{ t: TestContext; client: ClientRecord; token: string; trace: Trace }> {
  const t = await createTestDeps();
  const { client, token } = await createTestClient(t.deps);
  // Created through the API, so their claims are today's (a claim carries its user's status).
  for (let i = 0; i < RUNS + 1; i++) {
    const created = await invoke(usersCreate, { token, body: { email: `user${i}@example.com`, phone_number: `+1555000${1000 + i}`, username: `user${i}` } });
    userIds[i] = created.body.result.user_id;
  }
  const trace: Trace = [];
  // Seeded through the plain store; from here every request is traced (and slowed).
  t.deps.store = proxyStore(t.store as Store, async (op, key) => {
    trace.push(`${op} ${kindOfKey(key) === 'otpDecoy' || kindOfKey(key) === 'otp' ? 'otp|otpDecoy' : kindOfKey(key)}`);
    if (latency) await pause(STORE_MS);
  });
  sqs.on(SendMessageCommand).callsFake(async () => {
    trace.push('sqs SendMessage');
    if (latency) await pause(SQS_MS);
    return { MessageId: 'm' };
  });
  t.deps.queue = new SqsDeliveryQueue(new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }), QUEUE_URL);
  return { t, client, token, trace };
}

type Body = (i: number, known: boolean) => Record<string, unknown>;

const CASES: Array<[string, typeof otpSend, Body]> = [
  ['otp email by email', otpSend, (i, known) => ({ channel: 'email', identifier_type: 'email', identifier: known ? `user${i}@example.com` : `stranger${i}@example.com` })],
  ['otp sms by phone number', otpSend, (i, known) => ({ channel: 'sms', identifier_type: 'phone_number', identifier: known ? `+1555000${1000 + i}` : `+1555999${1000 + i}` })],
  ['otp sms by username', otpSend, (i, known) => ({ channel: 'sms', identifier_type: 'username', identifier: known ? `user${i}` : `stranger${i}` })],
  ['link by email', linkSend, (i, known) => ({ identifier_type: 'email', identifier: known ? `user${i}@example.com` : `x${i}@example.com`, redirect_uri: 'https://app.example/callback' })],
  ['link by user_id', linkSend, (i, known) => ({ identifier_type: 'user_id', identifier: known ? userIds[i] : `x${i}`, redirect_uri: 'https://app.example/callback' })],
];

describe('send requests and timing: a registered user and nobody alike, with no waiting', () => {
  it.each(CASES)('%s: the same requests and crypto, in the same order, one message on the queue each', async (_name, handler, body) => {
    const { token, trace } = await setUp(false);
    await invoke(handler, { token, body: body(RUNS, true) }); // reads the client into the function's cache
    trace.length = 0;
    sqs.resetHistory();
    const knownCrypto = await cryptoCalls(() => invoke(handler, { token, body: body(0, true) }));
    const known = trace.splice(0);
    const unknownCrypto = await cryptoCalls(() => invoke(handler, { token, body: body(0, false) }));
    const unknown = trace.splice(0);
    expect(unknown).toEqual(known);
    expect(unknownCrypto).toEqual(knownCrypto);
    expect(knownCrypto).toContain('createCipheriv aes-256-gcm'); // the queued message is sealed
    expect(known.filter((r) => r === 'sqs SendMessage')).toHaveLength(1);
    // Only SQS: the send itself calls neither SES nor SNS.
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(2);
    for (const call of sqs.commandCalls(SendMessageCommand)) {
      expect(call.args[0].input.QueueUrl).toBe(QUEUE_URL);
      // Sealed: no contact, no code, no link in the message.
      expect(call.args[0].input.MessageBody).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(call.args[0].input.MessageBody).not.toMatch(/example\.com|\+1555|callback/);
    }
  });

  it.each(CASES)('%s: registered and unknown identifiers answer in the same median time', async (_name, handler, body) => {
    const { token } = await setUp(true);
    await invoke(handler, { token, body: body(RUNS, true) }); // reads the client into the function's cache
    const sent = async (i: number, known: boolean) => expect((await invoke(handler, { token, body: body(i, known) })).status).toBe(200);
    const parity = await medianParity(RUNS, (i) => sent(i, true), (i) => sent(i, false));
    expect(parity.spread).toBeLessThanOrEqual(0.1);
  });
});
