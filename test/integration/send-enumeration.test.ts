/**
 * The send routes must not tell a registered identifier from an unknown one.
 * Each case plays the same sequence of sends twice, from the same instant on a
 * fresh table: once naming a registered user, once naming nobody. The two
 * transcripts (status, body, headers, including every 429 and its
 * Retry-After) must be identical, byte for byte up to the random values a
 * body carries (a direct code, a link's code, a request_id).
 */
import { describe, expect, it } from 'vitest';
import type { CreateClientInput } from '../../functions/core/clients.js';
import { handler as linkSend } from '../../functions/handlers/auth-link-send.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as emailVerificationSend } from '../../functions/handlers/users-email-verification-send.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedUser } from '../support/seed.js';

const REDIRECT = 'https://app.example/callback';

interface Ids {
  email: string;
  phone: string;
  username: string;
  user_id: string;
}

/** The probed identity: registered in the "known" transcript, nobody in the "unknown" one. */
const ADA: Ids = { email: 'ada@example.com', phone: '+15551234567', username: 'ada', user_id: 'u-ada' };
const NOBODY: Ids = { email: 'nobody@example.com', phone: '+15557654321', username: 'nobody', user_id: 'u-nobody' };
/** A second probed identity, for sequences that name two people. */
const BOB: Ids = { email: 'bob@example.com', phone: '+15551112222', username: 'bob', user_id: 'u-bob' };
const NOBODY2: Ids = { email: 'nobody2@example.com', phone: '+15553334444', username: 'nobody2', user_id: 'u-nobody2' };
/** Registered in both transcripts: the client's other traffic. */
const CAROL: Ids = { email: 'carol@example.com', phone: '+15550001111', username: 'carol', user_id: 'u-carol' };

type Type = 'email' | 'phone_number' | 'username' | 'user_id';
const value = (ids: Ids, type: Type) => (type === 'phone_number' ? ids.phone : ids[type]);

type Route = 'otp' | 'link';
interface Step {
  /** Seconds the clock moves before this send. */
  after?: number;
  route: Route;
  body: (who: { probe: Ids; second: Ids }) => Record<string, unknown>;
}

const otp = (channel: 'email' | 'sms' | 'direct', type: Type, pick: 'probe' | 'second' | 'carol' = 'probe', after?: number): Step => ({
  after,
  route: 'otp',
  body: (who) => ({ channel, identifier_type: type, identifier: value(pick === 'carol' ? CAROL : who[pick], type) }),
});
const link = (type: Type | 'legacy', channel: 'email' | 'direct' = 'email', pick: 'probe' | 'second' | 'carol' = 'probe', after?: number): Step => ({
  after,
  route: 'link',
  body: (who) => {
    const ids = pick === 'carol' ? CAROL : who[pick];
    const target = type === 'legacy' ? { email: ids.email } : { identifier_type: type, identifier: value(ids, type) };
    return { ...target, redirect_uri: REDIRECT, state: 's', channel };
  },
});
const later = (after: number, step: Step): Step => ({ ...step, after });

/** Replaces the random values of a body with their shape, so two bodies compare byte for byte. */
function normalize(body: unknown): string {
  return JSON.stringify(body, (key, v) => {
    if (key === 'code' && typeof v === 'string') return /^\d{6}$/.test(v) ? '<6 digits>' : v;
    if (key === 'request_id' && typeof v === 'string') return '<request_id>';
    if (key === 'link' && typeof v === 'string') return v.replace(/code=[A-Za-z0-9_-]{43}/, 'code=<256 bits>');
    return v;
  });
}

interface Transcript {
  answers: Array<{ status: number; body: string; headers: Record<string, string> }>;
  t: TestContext;
}

async function play(known: boolean, steps: Step[], settings: Partial<CreateClientInput> = {}): Promise<Transcript> {
  const t = await createTestDeps();
  const { token } = await createTestClient(t.deps, { allow_direct_delivery: true, redirect_uris: [REDIRECT], ...settings });
  await seedUser(t.deps, { ...fields(CAROL), email_verified: true });
  if (known) {
    await seedUser(t.deps, fields(ADA));
    await seedUser(t.deps, fields(BOB));
  }
  const who = known ? { probe: ADA, second: BOB } : { probe: NOBODY, second: NOBODY2 };
  const answers: Transcript['answers'] = [];
  for (const step of steps) {
    if (step.after) t.clock.advanceSeconds(step.after);
    const res = await invoke(step.route === 'otp' ? otpSend : linkSend, { token, body: step.body(who) });
    answers.push({ status: res.status, body: normalize(res.body), headers: res.headers });
  }
  return { answers, t };
}

function fields(ids: Ids) {
  return { user_id: ids.user_id, email: ids.email, phone_number: ids.phone, username: ids.username };
}

async function expectIndistinguishable(steps: Step[], settings: Partial<CreateClientInput> = {}) {
  const known = await play(true, steps, settings);
  const unknown = await play(false, steps, settings);
  expect(unknown.answers).toEqual(known.answers);
  return { known, unknown };
}

/**
 * Five sends in 15 minutes at most, one per 30 s: a refused one, the window
 * filling, the sixth refused, then the window's boundary to the millisecond.
 */
function cooldownAndWindow(step: Step): Step[] {
  return [step, later(10, step), later(20, step), later(30, step), later(30, step), later(30, step), later(30, step), later(749, step), later(1, step)];
}

/** Every route, channel and identifier type: a send, a refused one 10 s later, an accepted one at exactly 30 s. */
const EVERY_FORM: Array<[string, Step]> = [
  ['otp email by email', otp('email', 'email')],
  ['otp email by phone_number', otp('email', 'phone_number')],
  ['otp email by username', otp('email', 'username')],
  ['otp email by user_id', otp('email', 'user_id')],
  ['otp sms by phone_number', otp('sms', 'phone_number')],
  ['otp sms by email', otp('sms', 'email')],
  ['otp sms by username', otp('sms', 'username')],
  ['otp sms by user_id', otp('sms', 'user_id')],
  ['otp direct by email', otp('direct', 'email')],
  ['otp direct by phone_number', otp('direct', 'phone_number')],
  ['link by email', link('email')],
  ['link by legacy email field', link('legacy')],
  ['link by username', link('username')],
  ['link by user_id', link('user_id')],
  ['link by phone_number', link('phone_number')],
  ['link direct by email', link('email', 'direct')],
];

/** One form per route and channel also goes through the whole 15-minute window. */
const WINDOW_FORMS: Array<[string, Step]> = [
  ['otp email by username', otp('email', 'username')],
  ['otp sms by user_id', otp('sms', 'user_id')],
  ['otp direct by phone_number', otp('direct', 'phone_number')],
  ['link by email', link('email')],
];

describe('a registered and an unregistered identifier get identical answers', () => {
  it.each(EVERY_FORM)('%s: a repeated send and the 30 s cooldown', async (_name, step) => {
    const { known } = await expectIndistinguishable([step, later(10, step), later(20, step)]);
    expect(known.answers.map((a) => a.status)).toEqual([200, 429, 200]);
    expect(known.answers[1]!.headers['Retry-After']).toBe('20');
  });

  it.each(WINDOW_FORMS)('%s: five sends in 15 minutes, to the millisecond', async (_name, step) => {
    const { known } = await expectIndistinguishable(cooldownAndWindow(step));
    expect(known.answers.map((a) => a.status)).toEqual([200, 429, 200, 200, 200, 200, 429, 429, 200]);
    expect(known.answers[1]!.headers['Retry-After']).toBe('20');
    expect(known.answers[6]!.headers['Retry-After']).toBe('750');
    expect(known.answers[7]!.headers['Retry-After']).toBe('1');
  });

  it.each([
    ['otp direct by username', otp('direct', 'username')],
    ['otp direct by user_id', otp('direct', 'user_id')],
  ])('%s: the same 400, whoever it names', async (_name, step) => {
    const { known } = await expectIndistinguishable([step, step]);
    expect(known.answers.map((a) => a.status)).toEqual([400, 400]);
  });

  it('an email send named by a phone number, then an SMS send to that phone number', async () => {
    const { known } = await expectIndistinguishable([otp('email', 'phone_number'), otp('sms', 'phone_number'), later(5, otp('sms', 'phone_number'))]);
    expect(known.answers.map((a) => a.status)).toEqual([200, 200, 429]);
  });

  it('two sends by username, then by every other name of the same person', async () => {
    await expectIndistinguishable([otp('email', 'username'), otp('email', 'username'), otp('email', 'email'), otp('email', 'user_id'), otp('email', 'phone_number')]);
  });

  it('every route, channel and identifier type in a row, then all again 10 s later', async () => {
    const all: Step[] = [
      otp('email', 'email'), otp('email', 'username'), otp('email', 'user_id'), otp('email', 'phone_number'),
      otp('sms', 'phone_number'), otp('sms', 'email'), otp('sms', 'username'), otp('sms', 'user_id'),
      otp('direct', 'email'), otp('direct', 'phone_number'),
      link('email'), link('username'), link('user_id'), link('phone_number'), link('legacy'),
    ];
    const { known } = await expectIndistinguishable([...all, later(10, all[0]!), ...all.slice(1)]);
    // What the caller submitted decides: a second route on the same channel and identifier shares the limit.
    expect(known.answers.slice(all.length).every((a) => a.status === 429)).toBe(true);
  });

  it('two different people sent to alternately', async () => {
    await expectIndistinguishable([otp('email', 'email'), otp('email', 'email', 'second'), later(30, otp('sms', 'username')), otp('sms', 'username', 'second'), link('user_id'), link('user_id', 'email', 'second')]);
  });

  it("the client's hourly budgets (email and SMS each), used up by real deliveries to someone else, refuse both alike", async () => {
    const { known } = await expectIndistinguishable(
      [otp('email', 'email', 'carol'), otp('sms', 'username', 'carol'), otp('email', 'email'), link('username'), later(60, otp('sms', 'user_id'))],
      { send_budget_per_hour: 1, sms_budget_per_hour: 1 },
    );
    expect(known.answers.map((a) => a.status)).toEqual([200, 200, 429, 429, 429]);
    // Retry-After runs to the end of the hour window the clock is in.
    expect(known.answers[2]!.headers['Retry-After']).toBe(known.answers[3]!.headers['Retry-After']);
  });
});

describe('limits on the real destination fail silently', () => {
  it('a second send to the same address by another name answers 200 and sends nothing, and the log does not name the address', async () => {
    const { known } = await expectIndistinguishable([otp('email', 'email'), otp('email', 'username'), link('user_id')]);
    expect(known.answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(known.t.outbox.list(ADA.email)).toHaveLength(1);
    const warnings = known.t.logLines.filter((line) => line.includes('"level":"warn"'));
    expect(warnings.length).toBeGreaterThan(0);
    expect(known.t.logLines.join('\n')).not.toContain(ADA.email);
  });

  it('the 5-per-15-minutes limit of an address holds across its names, silently', async () => {
    const names: Step[] = [otp('email', 'email'), otp('email', 'username'), otp('email', 'user_id'), otp('email', 'phone_number'), link('email'), link('username'), link('user_id')];
    const { known } = await expectIndistinguishable(names.map((step, i) => (i === 0 ? step : later(30, step))));
    expect(known.answers.every((a) => a.status === 200)).toBe(true);
    expect(known.t.outbox.list(ADA.email)).toHaveLength(5);
  });
});

describe("the client's hourly send budget", () => {
  it('is not used up by sends to unknown identifiers', async () => {
    const t = await createTestDeps();
    const { token } = await createTestClient(t.deps, { send_budget_per_hour: 2, sms_budget_per_hour: 2 });
    await seedUser(t.deps, fields(ADA));
    await seedUser(t.deps, fields(BOB));
    for (let i = 0; i < 10; i++) {
      const res = await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: `stranger${i}@example.com` } });
      expect(res.status).toBe(200);
    }
    for (const ids of [ADA, BOB]) {
      expect((await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'user_id', identifier: ids.user_id } })).status).toBe(200);
      expect(t.outbox.list(ids.phone)).toHaveLength(1);
    }
    // Two real SMS deliveries used the SMS budget up: now every SMS send is refused, whoever it names.
    const refused = await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'phone_number', identifier: '+15550009999' } });
    expect(refused.status).toBe(429);
  });

  it('is not used up by sends that a limit refused or dropped: the unit each took is given back', async () => {
    const t = await createTestDeps();
    const { token } = await createTestClient(t.deps, { send_budget_per_hour: 2 });
    await seedUser(t.deps, fields(ADA));
    await seedUser(t.deps, fields(BOB));
    const send = (identifier_type: string, identifier: string) => invoke(otpSend, { token, body: { channel: 'email', identifier_type, identifier } });
    expect((await send('email', ADA.email)).status).toBe(200);
    expect((await send('email', ADA.email)).status).toBe(429); // the request's cooldown
    expect((await send('username', ADA.username)).status).toBe(200); // the address's cooldown: dropped silently
    expect(t.outbox.list(ADA.email)).toHaveLength(1);
    expect((await send('email', BOB.email)).status).toBe(200);
    expect(t.outbox.list(BOB.email)).toHaveLength(1);
    // Two real deliveries used it up.
    expect((await send('email', 'stranger@example.com')).status).toBe(429);
  });

  it('is not used up by direct delivery, which reaches no one', async () => {
    const t = await createTestDeps();
    const { token } = await createTestClient(t.deps, { send_budget_per_hour: 1, allow_direct_delivery: true });
    await seedUser(t.deps, fields(ADA));
    await seedUser(t.deps, fields(BOB));
    expect((await invoke(otpSend, { token, body: { channel: 'direct', identifier_type: 'email', identifier: ADA.email } })).status).toBe(200);
    expect((await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: BOB.email } })).status).toBe(200);
    expect(t.outbox.list(BOB.email)).toHaveLength(1);
  });
});

describe('contact verification sends', () => {
  it('answer 429 only on what the caller submitted; a recent send to the address by another name drops the code silently', async () => {
    const t = await createTestDeps();
    const { token } = await createTestClient(t.deps);
    await seedUser(t.deps, fields(ADA));
    expect((await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'username', identifier: ADA.username } })).status).toBe(200);
    const verify = () => invoke(emailVerificationSend, { token, params: { user_id: ADA.user_id }, body: { email: ADA.email } });
    expect(await verify()).toMatchObject({ status: 200, body: { result: true } });
    expect(t.outbox.list(ADA.email)).toHaveLength(1);
    t.clock.advanceSeconds(10);
    const again = await verify();
    expect(again).toMatchObject({ status: 429, body: { error_code: 'rate_limited' } });
    expect(again.headers['Retry-After']).toBe('20');
    t.clock.advanceSeconds(20);
    expect((await verify()).status).toBe(200);
    expect(t.outbox.list(ADA.email)).toHaveLength(2);
  });
});
