/**
 * Attacks on guesses and sends now counted on the records they guess at (the
 * user record for passwords, the code or decoy record for passcodes, one
 * conditional add for a send's budget unit): parallel guesses interleaved
 * with the writes that share those records (user updates, renames, password
 * changes, resends, right codes giving their attempt back), and refused or
 * dropped sends giving their budget unit back. Whatever the interleaving, no
 * more guesses than the limit are compared per secret and per lock window, no
 * write resets a lock it should not, and no counter leaves its bounds.
 *
 * "Compared" is measured: the comparisons are spies (scrypt verification for
 * passwords, constant-time equality for passcodes).
 */
import { BUDGET_SHARDS, budgetShardKey } from '../../functions/core/send-budget.js';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as crypto from '../../functions/core/crypto.js';
import { keys, type ClientRecord, type UserRecord } from '../../functions/core/model.js';
import * as passwords from '../../functions/core/passwords.js';
import { replaceUserPassword } from '../../functions/core/user-passwords.js';
import { updateUser } from '../../functions/core/users.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as passwordAuthenticate } from '../../functions/handlers/auth-password.js';
import { createTestClient, createTestDeps, invoke, lastCode, TEST_SCRYPT, type TestContext } from '../support/harness.js';
import { seedUser } from '../support/seed.js';
import { proxyStore } from '../support/store-proxy.js';

vi.mock('../../functions/core/crypto.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../functions/core/crypto.js')>();
  return { ...actual, constantTimeEqual: vi.fn(actual.constantTimeEqual) };
});
vi.mock('../../functions/core/passwords.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../functions/core/passwords.js')>();
  return { ...actual, verifyPassword: vi.fn(actual.verifyPassword) };
});

const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a fresh staple battery';
const MINUTE = 60_000;
const LOCK_MS = 15 * MINUTE;

let t: TestContext;
let client: ClientRecord;
let token: string;
let ada: UserRecord;
/** Codes issued so far in this test (issueCode). */
let issued = 0;

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps, { allow_direct_delivery: true }));
  issued = 0;
  const hash = await passwords.hashPassword(PASSWORD, TEST_SCRYPT);
  ada = await seedUser(t.deps, { user_id: 'u-ada', email: EMAIL, username: 'ada', password: { hash, updated_at: t.clock.now() } });
  vi.mocked(crypto.constantTimeEqual).mockClear();
  vi.mocked(passwords.verifyPassword).mockClear();
});

type Answer = Awaited<ReturnType<typeof invoke>>;

const login = (password: string, username = 'ada') => invoke(passwordAuthenticate, { token, body: { username, password } });
const sendCode = () => invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: EMAIL } });
const otpLogin = (passcode: string) => invoke(otpAuthenticate, { token, body: { passcode, identifier_type: 'email', identifier: EMAIL } });

/**
 * Sends Ada a new email code and returns it: 5 direct sends, then 5 sends by
 * username (two request logs, and direct skips the address's log), so up to
 * 10 codes fit one 15-minute window. The caller moves the clock past the
 * 30-second cooldown between sends.
 */
async function issueCode(): Promise<string> {
  const direct = issued++ < 5;
  const res = await invoke(otpSend, { token, body: direct ? { channel: 'direct', identifier_type: 'email', identifier: EMAIL } : { channel: 'email', identifier_type: 'username', identifier: 'ada' } });
  expect(res.status).toBe(200);
  return direct ? res.body.code : lastCode(t.outbox, EMAIL);
}

function expectOnlyRefusals(answers: Answer[]): void {
  for (const a of answers) expect(['400 auth_invalid_credentials', '403 auth_locked']).toContain(`${a.status} ${a.body?.error_code}`);
}

function expectLocked(answer: Answer): void {
  expect([answer.status, answer.body.error_code]).toEqual([403, 'auth_locked']);
}

/** Distinct six-digit codes that are none of `avoid`. */
function wrongCodes(avoid: string[], count: number, seed = 0): string[] {
  const codes: string[] = [];
  for (let i = seed; codes.length < count; i++) {
    const code = String((i * 7919 + 104_729) % 1_000_000).padStart(6, '0');
    if (!avoid.includes(code) && !codes.includes(code)) codes.push(code);
  }
  return codes;
}

/** Password comparisons per stored hash (the second argument of verifyPassword). */
function passwordComparisonsByHash(): Map<string, number> {
  const byHash = new Map<string, number>();
  for (const [, hash] of vi.mocked(passwords.verifyPassword).mock.calls) byHash.set(hash, (byHash.get(hash) ?? 0) + 1);
  return byHash;
}

/** Distinct passcodes compared, per stored code hash (constantTimeEqual's first argument), leaving out `right`. */
function wrongPasscodesByCode(right: string[]): Map<string, Set<string>> {
  const rightHashes = new Set(right.map((code) => crypto.keyedHash(t.deps.hashKey, code)));
  const byCode = new Map<string, Set<string>>();
  for (const [stored, presented] of vi.mocked(crypto.constantTimeEqual).mock.calls) {
    if (rightHashes.has(presented as string)) continue;
    if (!byCode.has(stored as string)) byCode.set(stored as string, new Set());
    byCode.get(stored as string)!.add(presented as string);
  }
  return byCode;
}

const totalOf = (byCode: Map<string, Set<string>>) => [...byCode.values()].reduce((n, s) => n + s.size, 0);

// ---- passwords, counted on the user record ----------------------------------------

describe('password guesses counted on the user record', { timeout: 60_000 }, () => {
  it('counting a guess leaves the user record version alone, so admin writes never lose to guessing', async () => {
    const before = (await t.store.get<UserRecord>(keys.user(ada.user_id)))!;
    expectOnlyRefusals(await Promise.all(Array.from({ length: 5 }, (_, i) => login(`wrong ${i}`))));
    const after = (await t.store.get<UserRecord>(keys.user(ada.user_id)))!;
    expect(after.version).toBe(before.version);
    expect(after.value).toEqual(before.value);
    expect(after.attempts?.count).toBe(5);
  });

  it('user updates and status changes racing 100 parallel guesses never conflict with them, lose a count or lift the lock', async () => {
    const guesses = Array.from({ length: 100 }, (_, i) => login(`wrong ${i}`));
    // Six updates one after another while the guesses run: each writes once, as guessing never moves the version.
    const userWrites: string[] = [];
    const admin = { ...t.deps, store: proxyStore(t.store, (op, key) => void (op === 'put' && key === keys.user(ada.user_id) && userWrites.push(op))) };
    const updates = (async () => {
      for (let i = 0; i < 6; i++) await updateUser(admin, ada.user_id, i % 2 ? { name: { first_name: `Ada ${i}` } } : { status: i % 4 ? 'Active' : 'Disabled' });
    })();
    const [answers] = await Promise.all([Promise.all(guesses), updates]);
    expect(userWrites).toHaveLength(6);
    expectOnlyRefusals(answers);
    await updateUser(t.deps, ada.user_id, { status: 'Active' });
    // Compared, or dummy-verified while disabled: every guess on the record counted, at most 10 of them.
    expect(vi.mocked(passwords.verifyPassword).mock.calls.length).toBeLessThanOrEqual(10);
    expect((await t.store.get<UserRecord>(keys.user(ada.user_id)))!.attempts?.count).toBe(10);
    expectLocked(await login(PASSWORD));
    await updateUser(t.deps, ada.user_id, { name: { first_name: 'Ada' } });
    expectLocked(await login(PASSWORD));
    t.clock.advance(LOCK_MS);
    expect((await login(PASSWORD)).status).toBe(200);
  });

  it('a rename racing guesses by the old name: the user is compared at most 10 times across both names, and stays locked', async () => {
    const byOld = Array.from({ length: 60 }, (_, i) => login(`old name guess ${i}`, 'ada'));
    const rename = updateUser(t.deps, ada.user_id, { username: 'ada2' });
    const [answers] = await Promise.all([Promise.all(byOld), rename]);
    expectOnlyRefusals(answers);
    expectOnlyRefusals(await Promise.all(Array.from({ length: 30 }, (_, i) => login(`new name guess ${i}`, 'ada2'))));
    expect(passwordComparisonsByHash().get(ada.password!.hash) ?? 0).toBeLessThanOrEqual(10);
    expectLocked(await login(PASSWORD, 'ada2'));
    // The old name now names no one: its guesses lock like any unknown identifier's, apart from Ada's count.
    const count = (await t.store.get<UserRecord>(keys.user(ada.user_id)))!.attempts?.count ?? 0;
    expect(count).toBeLessThanOrEqual(10);
  });

  it('a password change racing 100 guesses: at most 10 compared against each password, and the new one counts afresh', async () => {
    const guesses = Array.from({ length: 100 }, (_, i) => login(`wrong ${i}`));
    const change = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await replaceUserPassword(t.deps, ada.user_id, { password: NEW_PASSWORD });
    })();
    const [answers] = await Promise.all([Promise.all(guesses), change]);
    expectOnlyRefusals(answers);
    for (const [, compared] of passwordComparisonsByHash()) expect(compared).toBeLessThanOrEqual(10);
    const stored = (await t.store.get<UserRecord>(keys.user(ada.user_id)))!;
    expect(stored.value.password!.hash).not.toBe(ada.password!.hash);
    expect(stored.attempts?.count ?? 0).toBeLessThanOrEqual(10);
    expect(stored.attempts?.count ?? 0).toBeGreaterThanOrEqual(0);
  });

  it('a success during 60 parallel guesses never leaves the count negative, and the count still locks at 10', async () => {
    const answers = await Promise.all([...Array.from({ length: 30 }, (_, i) => login(`wrong ${i}`)), login(PASSWORD), ...Array.from({ length: 30 }, (_, i) => login(`later ${i}`))]);
    for (const a of answers) expect([200, 400, 403]).toContain(a.status);
    const count = (await t.store.get<UserRecord>(keys.user(ada.user_id)))!.attempts?.count ?? 0;
    expect(count).toBeGreaterThanOrEqual(0);
    expect(count).toBeLessThanOrEqual(10);
    // Whatever the success reset, exactly 10 more failures lock (and never fewer).
    vi.mocked(passwords.verifyPassword).mockClear();
    for (let i = 0; i < 10 - count; i++) expect((await login(`after ${i}`)).status).toBe(400);
    expectLocked(await login(PASSWORD));
  });
});

// ---- passcodes, counted on the code record --------------------------------------

describe('passcode guesses counted on the code record', { timeout: 60_000 }, () => {
  it('guesses interleaved with resends: at most 5 compared per code and 10 per channel, then the right code of a resend is locked for the window', async () => {
    const sent: string[] = [];
    for (let wave = 0; wave < 2; wave++) {
      sent.push(await issueCode());
      const guesses = wrongCodes(sent, 30, wave * 100).map((c) => otpLogin(c));
      // A resend lands in the middle of the wave (the send cooldown is past).
      t.clock.advanceSeconds(31);
      const resend = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        sent.push(await issueCode());
      })();
      const [answers] = await Promise.all([Promise.all(guesses), resend]);
      expectOnlyRefusals(answers);
      t.clock.advanceSeconds(31);
    }
    const byCode = wrongPasscodesByCode(sent);
    for (const [, guesses] of byCode) expect(guesses.size).toBeLessThanOrEqual(5);
    expect(totalOf(byCode)).toBeLessThanOrEqual(10);

    // The channel is locked: a resend does not lift it, even for the right new code.
    t.clock.advanceSeconds(31);
    const lockedAt = t.clock.now();
    t.clock.advance(MINUTE);
    const refused = await otpLogin(await issueCode());
    expectLocked(refused);
    expect(Number(refused.headers['Retry-After'])).toBeGreaterThan(0);
    t.clock.current = lockedAt + LOCK_MS;
    expect((await otpLogin(await issueCode())).status).toBe(200);
  });

  it('a right code racing wrong guesses gives back only its own attempt: exactly 10 wrong passcodes lock the channel, never fewer or more', async () => {
    const right: string[] = [];
    let status = 0;
    // Rounds of: a fresh code, its right passcode fired together with wrong ones (the code's 5 guesses shared).
    for (let round = 0; round < 3; round++) {
      t.clock.advanceSeconds(31);
      const code = await issueCode();
      right.push(code);
      const answers = await Promise.all([otpLogin(code), ...wrongCodes(right, round === 0 ? 1 : 2, round * 50).map((c) => otpLogin(c))]);
      for (const a of answers) expect([200, 400, 403]).toContain(a.status);
      const record = await t.store.get(keys.otp(ada.user_id, 'email'));
      expect(record?.attempts?.count ?? 0).toBeGreaterThanOrEqual(0);
      status = answers[0]!.status;
    }
    expect(status).not.toBe(0);
    // Then wrong passcodes one by one, a fresh code every 4, until the channel locks.
    let seed = 1000;
    for (let i = 0; i < 40; i++) {
      if (i % 4 === 0) {
        t.clock.advanceSeconds(31);
        right.push(await issueCode());
      }
      const [guess] = wrongCodes(right, 1, seed++);
      const answer = await otpLogin(guess!);
      if (answer.status === 403) break;
      expect(answer.status).toBe(400);
    }
    // Every wrong passcode compared is a failure on the channel: the lock came at exactly the 10th.
    expect(totalOf(wrongPasscodesByCode(right))).toBe(10);
    t.clock.advanceSeconds(31);
    expectLocked(await otpLogin(await issueCode()));
  });

  it('many parallel uses of a right code with wrong guesses never drive the channel count below zero', async () => {
    for (let round = 0; round < 4; round++) {
      t.clock.advanceSeconds(31);
      const code = await issueCode();
      const answers = await Promise.all([...Array.from({ length: 8 }, () => otpLogin(code)), ...wrongCodes([code], 2, round * 10).map((c) => otpLogin(c))]);
      expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(1);
      const run = (await t.store.get(keys.otp(ada.user_id, 'email')))?.attempts;
      expect(run?.count ?? 0).toBeGreaterThanOrEqual(0);
      expect(run?.count ?? 0).toBeLessThanOrEqual(10);
    }
  });
});

// ---- the client's send budget -----------------------------------------------------

describe("a client's send budget, taken by the write that checks it", { timeout: 60_000 }, () => {
  // The budget is split into shards (core/send-budget.ts): what is used is their sum.
  const budgetUsed = async (clientId: string) => {
    const window = Math.floor(t.clock.now() / 3_600_000);
    const shards = await Promise.all(Array.from({ length: BUDGET_SHARDS }, (_, shard) => t.store.increment(budgetShardKey(clientId, window, shard), 0)));
    return shards.reduce((sum, n) => sum + n, 0);
  };

  it('parallel sends, refused and dropped ones among them, take at most the budget and give every refused unit back', async () => {
    const small = await createTestClient(t.deps, { send_budget_per_hour: 3 });
    const people = await Promise.all(Array.from({ length: 6 }, (_, i) => seedUser(t.deps, { email: `p${i}@example.com`, username: `p${i}` })));
    const send = (body: Record<string, unknown>) => invoke(otpSend, { token: small.token, body: { channel: 'email', ...body } });
    // Each person by email and by username at once: one of each pair is refused or dropped by a limit.
    const answers = await Promise.all(people.flatMap((p) => [send({ identifier_type: 'email', identifier: p.email }), send({ identifier_type: 'username', identifier: p.username })]));
    for (const a of answers) expect([200, 429]).toContain(a.status);
    const delivered = () => people.filter((p) => t.outbox.last(p.email!) !== undefined).length;
    // A unit held by a send that a limit then refuses can refuse a concurrent send; never more than the budget goes out.
    expect(delivered()).toBeGreaterThan(0);
    expect(delivered()).toBeLessThanOrEqual(3);
    // Every unit a refused or dropped send took was given back: the counter holds exactly the deliveries.
    expect(await budgetUsed(small.client.client_id)).toBe(delivered());
    for (const p of people.slice(0, 5)) if (t.outbox.last(p.email!) === undefined && delivered() < 3) expect((await send({ identifier_type: 'user_id', identifier: p.user_id })).status).toBe(200);
    expect(delivered()).toBe(3);
    expect(await budgetUsed(small.client.client_id)).toBe(3);

    // Used up: known and unknown answer alike, and nothing pushes the counter past its limit or below zero.
    const known = await send({ identifier_type: 'email', identifier: people[5]!.email });
    const unknown = await send({ identifier_type: 'email', identifier: 'nobody@example.com' });
    expect([known.status, known.body, known.headers]).toEqual([unknown.status, unknown.body, unknown.headers]);
    expect(known.status).toBe(429);
    expect(await budgetUsed(small.client.client_id)).toBe(3);
    // Another client's sends never touch it, nor it theirs.
    const other = await seedUser(t.deps, { email: 'other@example.com' });
    expect((await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: other.email } })).status).toBe(200);
    expect(t.outbox.last(other.email!)).toBeDefined();
    expect(await budgetUsed(small.client.client_id)).toBe(3);
    expect(await budgetUsed(client.client_id)).toBe(1);
  });

  it('a burst of refused sends to one address gives back exactly what it took: the counter ends at the deliveries', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, () => sendCode()));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const a of answers.filter((a) => a.status !== 200)) expect(a.status).toBe(429);
    expect(await budgetUsed(client.client_id)).toBe(1);
  });
});

// ---- known and unknown identifiers, at the DynamoDB requests ------------------------

describe('password guesses at a known and an unknown identifier', { timeout: 60_000 }, () => {
  /** Each request's DynamoDB commands, in order, by name (what its latency is made of). */
  async function commandsOf(request: () => Promise<Answer>): Promise<{ answer: Answer; commands: string[] }> {
    const commands: string[] = [];
    const name = `record-${Math.random()}`;
    t.store.client.middlewareStack.add(
      (next, context) => async (args) => {
        // The command's name: GetItemCommand, UpdateItemCommand, PutItemCommand …
        commands.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name },
    );
    try {
      return { answer: await request(), commands };
    } finally {
      t.store.client.middlewareStack.remove(name);
    }
  }

  it('make the same DynamoDB requests and answers through the first guess, the lock, and the restart after it', async () => {
    const script = async (username: string) => {
      const seen: Array<{ answer: Omit<Answer, 'body'> & { body: unknown }; commands: string[] }> = [];
      const start = t.clock.now();
      for (let i = 0; i < 12; i++) seen.push(await commandsOf(() => login(`wrong ${i}`, username)));
      t.clock.advance(LOCK_MS);
      seen.push(await commandsOf(() => login('wrong after the lock', username)));
      t.clock.current = start;
      return seen.map(({ answer, commands }) => ({ status: answer.status, body: answer.body, headers: answer.headers, commands }));
    };
    const known = await script('ada');
    const unknown = await script('nobody');
    expect(known.map((k) => k.status)).toEqual([...Array(10).fill(400), 403, 403, 400]);
    expect(unknown).toEqual(known);
  });
});
