/**
 * One send-log mechanism (kept on a record, Store.logSendOnRecord), and what
 * it must keep from before: a submitted identifier's log written in the old
 * standalone layout (`{pk, v, s, l, ttl}`) is honoured by the first send
 * after the deploy; a log written on an old code record never shortens, nor
 * is shortened by, that record's TTL; and a budget unit given back never
 * takes the counter below zero.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { TTL_ATTRIBUTE } from '../../functions/adapters/aws/dynamodb-store.js';
import { keyedHash } from '../../functions/core/crypto.js';
import { keys, type UserRecord } from '../../functions/core/model.js';
import { giveBackUnit } from '../../functions/core/send-budget.js';
import { SEND_WINDOW_MS } from '../../functions/core/rate-limits.js';
import { handler as linkSend } from '../../functions/handlers/auth-link-send.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedUser } from '../support/seed.js';

const EMAIL = 'ada@example.com';
let t: TestContext;
let token: string;
let user: UserRecord;

beforeEach(async () => {
  t = await createTestDeps();
  ({ token } = await createTestClient(t.deps, { redirect_uris: ['https://app.example/callback'] }));
  user = await seedUser(t.deps, { email: EMAIL });
});

const rawPut = (item: Record<string, unknown>) => t.store.client.send(new PutItemCommand({ TableName: t.store.tableName, Item: marshall(item) }));
const rawGet = async (key: string) => (await t.store.client.send(new GetItemCommand({ TableName: t.store.tableName, Key: { pk: { S: key } }, ConsistentRead: true }))).Item;
const submittedKey = (channel: string, type: string, identifier: string) => keys.sendRequestRate(keyedHash(t.deps.hashKey, `${channel}|${type}|${identifier}`));
const send = () => invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: EMAIL } });
const sendToNobody = () => invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: 'nobody@example.com' } });

describe('a submitted identifier\'s log in the layout written before the logs were unified', () => {
  it('its cooldown holds for the first send after the deploy (registered and unknown alike)', async () => {
    const now = t.clock.now();
    for (const identifier of [EMAIL, 'nobody@example.com']) {
      await rawPut({ pk: submittedKey('email', 'email', identifier), v: 1, s: [now - 10_000], l: now - 10_000, ttl: Math.ceil((now + SEND_WINDOW_MS) / 1000) });
    }
    const known = await send();
    const unknown = await sendToNobody();
    expect(known).toMatchObject({ status: 429, body: { error_code: 'rate_limited' } });
    expect(Number(known.headers['Retry-After'])).toBe(20);
    expect([unknown.status, unknown.headers['Retry-After']]).toEqual([known.status, known.headers['Retry-After']]);
    expect(t.outbox.list()).toHaveLength(0);
    // Once the cooldown has passed, the next send replaces it with today's layout, keeping its times.
    t.clock.advanceSeconds(20);
    expect((await send()).status).toBe(200);
    expect(await t.store.getRecordSendLog(submittedKey('email', 'email', EMAIL))).toEqual({ times: [now - 10_000, now + 20_000], version: 1 });
  });

  it('its window holds: five old sends in 15 minutes refuse a sixth', async () => {
    const now = t.clock.now();
    const times = [1, 2, 3, 4, 5].map((m) => now - m * 60_000);
    await rawPut({ pk: submittedKey('email', 'email', EMAIL), v: 5, s: times.reverse(), l: now - 60_000, ttl: Math.ceil((now + SEND_WINDOW_MS) / 1000) });
    const res = await send();
    expect(res.status).toBe(429);
    expect(Number(res.headers['Retry-After'])).toBe(10 * 60); // the oldest of the five leaves the window in 10 minutes
  });

  it('the oldest layout too (times in d.sent_at)', async () => {
    const now = t.clock.now();
    await rawPut({ pk: submittedKey('email', 'email', EMAIL), v: 1, d: { sent_at: [now - 5_000] } });
    expect((await send()).status).toBe(429);
  });
});

describe('a send log kept on an old code record', () => {
  it('a link send moves the record\'s TTL forward, so the address\'s log is not deleted with an old code', async () => {
    // An email code sent a day ago: its record may be deleted by the table in a minute.
    const key = keys.otp(user.user_id, 'email');
    const now = t.clock.now();
    await rawPut({ pk: key, v: 1, d: { user_id: user.user_id, channel: 'email' }, ttl: Math.ceil(now / 1000) + 60 });
    expect((await invoke(linkSend, { token, body: { identifier_type: 'email', identifier: EMAIL, redirect_uri: 'https://app.example/callback' } })).status).toBe(200);
    const item = await rawGet(key);
    // At least the log's window past its send (in fact the latest TTL any write to the record could set).
    expect(Number(item![TTL_ATTRIBUTE]!.N)).toBeGreaterThanOrEqual(Math.ceil((now + SEND_WINDOW_MS) / 1000));
    expect(item!.sa!.N).toBe(String(now));
  });

  it('nor does it shorten the TTL of a record with a fresh code', async () => {
    expect((await send()).status).toBe(200);
    const key = keys.otp(user.user_id, 'email');
    const before = Number((await rawGet(key))![TTL_ATTRIBUTE]!.N);
    t.clock.advanceSeconds(31);
    await invoke(linkSend, { token, body: { identifier_type: 'email', identifier: EMAIL, redirect_uri: 'https://app.example/callback' } });
    expect(Number((await rawGet(key))![TTL_ATTRIBUTE]!.N)).toBeGreaterThanOrEqual(before);
  });
});

describe('a budget unit given back', () => {
  it('never takes the counter below zero: a counter the table already deleted stays deleted', async () => {
    const key = `${keys.sendBudget('c', 1)}#3`;
    await giveBackUnit(t.deps, { key });
    expect(await rawGet(key)).toBeUndefined();
    expect(await t.store.increment(key, 1)).toBe(1);
    await giveBackUnit(t.deps, { key });
    await giveBackUnit(t.deps, { key }); // a second give-back of the same unit (an ambiguous retry) finds nothing to give
    expect(await t.store.increment(key, 0)).toBe(0);
  });
});
