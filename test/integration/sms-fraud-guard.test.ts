/**
 * SMS fraud guard (core/sms-countries.ts): a client limited to some countries
 * never pays for an SMS elsewhere. A number the caller submits outside the
 * list is refused with 400 sms_country_not_allowed before anything is read,
 * stored or sent, identically whether it is registered or not; a stored
 * number the caller did not submit is dropped silently (its country stays
 * unsaid). SMS has an hourly budget of its own, apart from email.
 */
import { describe, expect, it } from 'vitest';
import { callingCodeOf, countriesOf } from '../../functions/core/calling-codes.js';
import type { CreateClientInput } from '../../functions/core/clients.js';
import { unknownSubject } from '../../functions/core/attempts.js';
import { keys } from '../../functions/core/model.js';
import { smsAllowedTo } from '../../functions/core/sms-countries.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as phoneVerificationSend } from '../../functions/handlers/users-phone-verification-send.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedUser } from '../support/seed.js';
import { proxyStore, type StoreOp } from '../support/store-proxy.js';

const UK = '+447700900123';
const JAMAICA = '+18765550123';
const US = '+15551234567';

describe('what a number is matched on', () => {
  it('the calling code, longest prefix first, and for +1 the area codes of NANP members other than the US and Canada', () => {
    expect(callingCodeOf(UK)).toBe('44');
    expect(callingCodeOf('+358401234567')).toBe('358');
    expect(callingCodeOf(JAMAICA)).toBe('1');
    expect(countriesOf(JAMAICA)).toEqual(['JM']);
    expect(countriesOf('+17875550123')).toEqual(['PR']);
    expect(countriesOf(US)).toEqual(['US', 'CA']);
    expect(countriesOf('+79161234567')).toEqual(['KZ', 'RU']);
    expect(countriesOf('+999123')).toEqual([]);
  });

  it('US allows Canadian numbers and the other way round, but not Jamaica; no list allows every number', () => {
    expect(smsAllowedTo({ sms_countries: ['CA'] }, US)).toBe(true);
    expect(smsAllowedTo({ sms_countries: ['US'] }, JAMAICA)).toBe(false);
    expect(smsAllowedTo({ sms_countries: ['US'] }, UK)).toBe(false);
    expect(smsAllowedTo({ sms_countries: ['GB'] }, UK)).toBe(true);
    expect(smsAllowedTo({ sms_countries: ['US'] }, '+999123')).toBe(false);
    expect(smsAllowedTo({}, '+999123')).toBe(true);
  });
});

interface Played {
  answers: Array<{ status: number; body: unknown; headers: Record<string, string> }>;
  t: TestContext;
  /** Every store operation the sends made past authenticating the client, with the kind of key. */
  ops: string[];
}

/** Plays the same sends on a fresh table, with the probed number registered or not. */
async function play(registered: boolean, sends: Array<Record<string, unknown>>, settings: Partial<CreateClientInput> = { sms_countries: ['US', 'CA'] }): Promise<Played> {
  const t = await createTestDeps();
  const ops: string[] = [];
  const { token } = await createTestClient(t.deps, settings);
  if (registered) await seedUser(t.deps, { user_id: 'u-ada', username: 'ada', phone_number: UK, email: 'ada@example.com' });
  const real = t.deps.store;
  t.deps.store = proxyStore(real, (op: StoreOp, key: string) => {
    if (!key.startsWith('client#')) ops.push(`${op} ${key.split('#')[0]}`);
  });
  const answers: Played['answers'] = [];
  for (const body of sends) {
    const res = await invoke(otpSend, { token, body });
    answers.push({ status: res.status, body: res.body, headers: res.headers });
  }
  t.deps.store = real;
  return { answers, t, ops };
}

describe('a submitted number outside the list', () => {
  const bySms = { channel: 'sms', identifier_type: 'phone_number', identifier: UK };

  it('is refused with 400 sms_country_not_allowed, identically for a registered and an unknown number, with nothing read, stored or sent', async () => {
    const known = await play(true, [bySms, bySms]);
    const unknown = await play(false, [bySms, bySms]);
    expect(known.answers).toEqual(unknown.answers);
    expect(JSON.stringify(known.answers)).toBe(JSON.stringify(unknown.answers));
    expect(known.answers[0]).toMatchObject({ status: 400, body: { error_code: 'sms_country_not_allowed' } });
    // Never a 429: a refused send records nothing, so the second answers as the first.
    expect(known.answers[1]!.status).toBe(400);
    expect(known.ops).toEqual([]);
    expect(unknown.ops).toEqual([]);
    expect(known.t.outbox.list(UK)).toHaveLength(0);
    expect(await known.t.store.get(keys.otp('u-ada', 'sms'))).toBeUndefined();
  });

  it('is counted as a refused SMS send, by calling code, without the number', async () => {
    const { t } = await play(false, [bySms]);
    const lines = t.logLines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'send');
    expect(lines).toEqual([expect.objectContaining({ channel: 'sms', outcome: 'refused', calling_code: '44', Sends: 1 })]);
    expect(t.logLines.join('\n')).not.toContain(UK);
  });

  it('inside the list goes out as before, and a client without a list sends anywhere', async () => {
    const limited = await play(true, [{ channel: 'sms', identifier_type: 'phone_number', identifier: UK }], { sms_countries: ['GB'] });
    expect(limited.answers[0]!.status).toBe(200);
    expect(limited.t.outbox.list(UK)).toHaveLength(1);
    const open = await play(true, [{ channel: 'sms', identifier_type: 'phone_number', identifier: UK }], {});
    expect(open.t.outbox.list(UK)).toHaveLength(1);
  });

  it('by email, or direct, is not an SMS and is not judged', async () => {
    const played = await play(true, [{ channel: 'email', identifier_type: 'phone_number', identifier: UK }, { channel: 'direct', identifier_type: 'phone_number', identifier: UK }], { sms_countries: ['US'], allow_direct_delivery: true });
    expect(played.answers.map((a) => a.status)).toEqual([200, 200]);
  });

  it('on phone verification is refused the same way, before the user is looked at', async () => {
    const t = await createTestDeps();
    const { token } = await createTestClient(t.deps, { sms_countries: ['US'] });
    await seedUser(t.deps, { user_id: 'u-ada', phone_number: UK });
    const registered = await invoke(phoneVerificationSend, { token, params: { user_id: 'u-ada' }, body: { phone_number: UK } });
    const nobody = await invoke(phoneVerificationSend, { token, params: { user_id: 'u-nobody' }, body: { phone_number: UK } });
    const someoneElses = await invoke(phoneVerificationSend, { token, params: { user_id: 'u-ada' }, body: { phone_number: '+447700900999' } });
    expect(registered).toEqual(nobody);
    expect(someoneElses).toEqual(nobody);
    expect(registered).toMatchObject({ status: 400, body: { error_code: 'sms_country_not_allowed' } });
    expect(t.outbox.list(UK)).toHaveLength(0);
    expect(await t.store.get(keys.otp('u-ada', 'sms'))).toBeUndefined();
  });
});

describe('a stored number the caller did not submit', () => {
  it('outside the list: the same answers and the same store requests as a send to nobody, so nothing tells where the number is', async () => {
    const sends = [
      { channel: 'sms', identifier_type: 'username', identifier: 'ada' },
      { channel: 'sms', identifier_type: 'email', identifier: 'ada@example.com' },
    ];
    const known = await play(true, sends);
    const unknown = await play(false, sends);
    expect(known.answers).toEqual(unknown.answers);
    expect(known.ops).toEqual(unknown.ops);
    expect(known.t.outbox.list(UK)).toHaveLength(0);
  });

  it('outside the list: the send answers 200 as for anyone else, and nothing is sent, and no code stored (a send to nobody\'s decoy instead)', async () => {
    const t = await createTestDeps();
    const { token } = await createTestClient(t.deps, { sms_countries: ['US'] });
    await seedUser(t.deps, { user_id: 'u-ada', username: 'ada', phone_number: UK });
    await seedUser(t.deps, { user_id: 'u-bob', username: 'bob', phone_number: US });
    const ada = await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'username', identifier: 'ada' } });
    const bob = await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'username', identifier: 'bob' } });
    const nobody = await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'username', identifier: 'nobody' } });
    expect(ada).toEqual(bob);
    expect(ada).toEqual(nobody);
    expect(t.outbox.list(UK)).toHaveLength(0);
    expect(t.outbox.list(US)).toHaveLength(1);
    expect(await t.store.get(keys.otp('u-ada', 'sms'))).toBeUndefined();
    const sends = t.logLines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'send');
    expect(sends.map((line) => [line.outcome, line.calling_code])).toEqual([['dropped', '44'], ['delivered', '1'], ['queued', '1'], ['unknown', undefined]]);
    // What it stored is what a send to nobody stores: a decoy under what was submitted, never a code of the user's.
    expect(await t.store.get(keys.otpDecoy(unknownSubject('username', 'ada'), 'sms'))).toBeDefined();
  });
});

describe("the client's SMS budget", () => {
  it('is its own: used-up SMS refuse SMS (known and unknown alike) while email still goes out', async () => {
    const t = await createTestDeps();
    const { token } = await createTestClient(t.deps, { sms_budget_per_hour: 1, send_budget_per_hour: 5 });
    await seedUser(t.deps, { user_id: 'u-ada', username: 'ada', phone_number: US, email: 'ada@example.com' });
    await seedUser(t.deps, { user_id: 'u-bob', username: 'bob', phone_number: '+15551112222', email: 'bob@example.com' });
    expect((await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'username', identifier: 'ada' } })).status).toBe(200);
    const known = await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'username', identifier: 'bob' } });
    const unknown = await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'username', identifier: 'nobody' } });
    expect(known).toEqual(unknown);
    expect(known.status).toBe(429);
    expect((await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'username', identifier: 'bob' } })).status).toBe(200);
    expect(t.outbox.list('bob@example.com')).toHaveLength(1);
    const limited = t.logLines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'send' && line.outcome === 'limited');
    expect(limited.map((line) => line.channel)).toEqual(['sms', 'sms']);
  });
});
