/**
 * Recovery codes through the real handlers and the embedded DynamoDB: shown
 * once, stored only as keyed hashes, single use, replaced at once by a new
 * set, every attempt counted before it is judged, and unknown users answered
 * exactly as known ones.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { keyedHash } from '../../functions/core/crypto.js';
import { keys, type ClientRecord, type SessionRecord, type UserRecord } from '../../functions/core/model.js';
import { RECOVERY_LOCK_MS } from '../../functions/core/recovery-guesses.js';
import type { RecoveryCodeSet } from '../../functions/core/recovery-codes.js';
import { deleteUser } from '../../functions/core/users.js';
import { createUserPassword } from '../../functions/core/user-passwords.js';
import { handler as passwordAuthenticate } from '../../functions/handlers/auth-password.js';
import { handler as recoveryAuthenticate } from '../../functions/handlers/auth-recovery-codes-authenticate.js';
import { handler as recoveryGenerate } from '../../functions/handlers/auth-recovery-codes-generate.js';
import type { Deps } from '../../functions/core/deps.js';
import { createTestClient, createTestDeps, idTokenClaims, invoke, slowSigning, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';

const PASSWORD = 'correct horse battery staple';
const CODE_FORMAT = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

let t: TestContext;
let client: ClientRecord;
let token: string;
let ada: UserRecord;
let grace: UserRecord;

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps));
  ada = await seedUser(t.deps, { email: 'ada@example.com', phone_number: '+15551234567', username: 'ada' });
  grace = await seedUser(t.deps, { email: 'grace@example.com' });
});

/** A user access token of a session holding MFA (password + SMS). */
async function mfaUserToken(user: UserRecord = ada): Promise<string> {
  const first = await seedAuthentication(t.deps, client, user, 'pwd');
  return (await seedAuthentication(t.deps, client, user, 'sms', { sessionId: first.session_id })).access_token;
}

async function generate(userToken: string) {
  return invoke(recoveryGenerate, { token: userToken });
}

async function codesFor(user: UserRecord = ada): Promise<string[]> {
  const res = await generate(await mfaUserToken(user));
  expect(res.status).toBe(201);
  return res.body.codes;
}

async function useCode(code: string, extra: Record<string, unknown> = {}) {
  return invoke(recoveryAuthenticate, { token, body: { identifier_type: 'email', identifier: 'ada@example.com', code, ...extra } });
}

async function storedSet(user: UserRecord = ada) {
  return (await t.store.get<RecoveryCodeSet>(keys.recoveryCodes(user.user_id)))?.value;
}

function auditLines(): Array<Record<string, unknown>> {
  return t.logLines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === 'audit' && String(line.event).startsWith('recovery_'));
}

/** Holds every signature until `open()`: a call that reaches signing has checked its code and waits to commit. */
function gateSigning(deps: Deps) {
  const sign = deps.signer.sign.bind(deps.signer);
  let open!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const signing = new Promise<void>((resolve) => (reached = resolve));
  deps.signer.sign = async (input) => {
    reached();
    await gate;
    return sign(input);
  };
  return {
    signing,
    open: () => {
      deps.signer.sign = sign;
      open();
    },
  };
}

describe('generating recovery codes', () => {
  it('gives 10 distinct codes of 60 bits, grouped and unambiguous, with 201', async () => {
    const res = await generate(await mfaUserToken());
    expect(res.status).toBe(201);
    expect(res.headers['Cache-Control']).toBe('no-store');
    expect(res.body.codes).toHaveLength(10);
    expect(new Set(res.body.codes).size).toBe(10);
    for (const code of res.body.codes) expect(code).toMatch(CODE_FORMAT);
  });

  it('stores only keyed hashes: no code appears in the record in any form', async () => {
    const codes = await codesFor();
    const raw = JSON.stringify(await t.store.get(keys.recoveryCodes(ada.user_id)));
    for (const code of codes) {
      expect(raw).not.toContain(code);
      expect(raw).not.toContain(code.replace(/-/g, ''));
    }
    const set = (await storedSet())!;
    expect(set.codes).toHaveLength(10);
    const expected = codes.map((c) => keyedHash(t.deps.hashKey, `recovery_code:${ada.user_id}:${c.replace(/-/g, '')}`));
    expect(set.codes.map((c) => c.hash)).toEqual(expected);
  });

  it('is refused with 403 auth_mfa_required for a session without MFA, and writes nothing', async () => {
    const single = await seedAuthentication(t.deps, client, ada, 'pwd');
    const res = await generate(single.access_token);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error_code: 'auth_mfa_required', message: expect.any(String) });
    expect(await storedSet()).toBeUndefined();
  });

  it('follows the strictest policy: email OTP + magic link mints no codes, even where the client counts it as MFA (distinct_methods)', async () => {
    const strict = await seedAuthentication(t.deps, client, ada, 'eotp');
    await seedAuthentication(t.deps, client, ada, 'eml', { sessionId: strict.session_id });
    expect((await generate(strict.access_token)).body.error_code).toBe('auth_mfa_required');
    const loose = await createTestClient(t.deps, { mfa_policy: 'distinct_methods' });
    const first = await seedAuthentication(t.deps, loose.client, ada, 'eotp');
    const sameClass = await seedAuthentication(t.deps, loose.client, ada, 'eml', { sessionId: first.session_id });
    expect((await idTokenClaims(t.deps, sameClass.id_token, loose.client.client_id)).amr).toContain('mfa');
    expect((await generate(first.access_token)).body.error_code).toBe('auth_mfa_required');
    const twoClasses = await seedAuthentication(t.deps, loose.client, ada, 'sms', { sessionId: first.session_id });
    expect((await generate(twoClasses.access_token)).status).toBe(201);
  });

  it('needs a user access token: a client token, none, or one of an ended session is 401', async () => {
    expect((await generate(token)).status).toBe(401);
    expect((await invoke(recoveryGenerate, {})).status).toBe(401);
    const first = await seedAuthentication(t.deps, client, ada, 'pwd');
    const mfa = await seedAuthentication(t.deps, client, ada, 'sms', { sessionId: first.session_id });
    const session = (await t.store.get<SessionRecord>(keys.session(first.session_id)))!;
    await t.store.put(keys.session(first.session_id), { ...session.value, ended_at: t.clock.now() }, { expectVersion: session.version });
    expect((await generate(mfa.access_token)).status).toBe(401);
  });

  it('is an audit event that never carries a code', async () => {
    const codes = await codesFor();
    const single = await seedAuthentication(t.deps, client, ada, 'pwd');
    await generate(single.access_token);
    expect(auditLines()).toEqual([
      expect.objectContaining({ event: 'recovery_codes_generated', user_id: ada.user_id, client_id: client.client_id, outcome: 'success' }),
      expect.objectContaining({ event: 'recovery_codes_generated', user_id: ada.user_id, client_id: client.client_id, outcome: 'refused' }),
    ]);
    const log = t.logLines.join('\n');
    for (const code of codes) expect(log).not.toContain(code.replace(/-/g, '').slice(0, 8));
  });
});

describe('authenticating with a recovery code', () => {
  it('password + recovery code is MFA: amr ["pwd", "recovery_code", "mfa"], with amr_at for each', async () => {
    await createUserPassword(t.deps, ada.user_id, { password: PASSWORD });
    const [code] = await codesFor();
    const login = await invoke(passwordAuthenticate, { token, body: { username: 'ada', password: PASSWORD } });
    expect(login.status).toBe(200);
    t.clock.advanceSeconds(20);
    const res = await useCode(code!, { session_id: login.body.session_id });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', session_id: login.body.session_id, recovery_codes_remaining: 9 });
    const claims = await idTokenClaims(t.deps, res.body.id_token, client.client_id);
    const now = Math.floor(t.clock.now() / 1000);
    expect(claims).toMatchObject({ sub: ada.user_id, amr: ['pwd', 'recovery_code', 'mfa'], amr_at: { pwd: now - 20, recovery_code: now }, auth_time: now });
  });

  it('a recovery code alone opens a session with amr ["recovery_code"]', async () => {
    const [code] = await codesFor();
    const res = await useCode(code!);
    expect(res.status).toBe(200);
    expect((await idTokenClaims(t.deps, res.body.id_token, client.client_id)).amr).toEqual(['recovery_code']);
  });

  it('each code works once: a used code is 400 auth_invalid_credentials, the others still work', async () => {
    const codes = await codesFor();
    expect((await useCode(codes[0]!)).status).toBe(200);
    const again = await useCode(codes[0]!);
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ error_code: 'auth_invalid_credentials', message: expect.any(String) });
    const next = await useCode(codes[1]!);
    expect(next.body.recovery_codes_remaining).toBe(8);
  });

  it('is read in any case, without separators, and by any identifier of the user', async () => {
    const codes = await codesFor();
    expect((await useCode(codes[0]!.toLowerCase())).status).toBe(200);
    expect((await useCode(` ${codes[1]!.replace(/-/g, ' ')} `)).status).toBe(200);
    expect((await useCode(codes[2]!.replace(/-/g, ''), { identifier_type: 'username', identifier: 'ADA' })).status).toBe(200);
    expect((await useCode(codes[3]!, { identifier_type: 'phone_number', identifier: '+15551234567' })).status).toBe(200);
    expect((await useCode(codes[4]!, { identifier_type: 'user_id', identifier: ada.user_id })).body.recovery_codes_remaining).toBe(5);
  });

  it('a new set replaces the old one at once: every old code is refused, the new ones work', async () => {
    const old = await codesFor();
    expect((await useCode(old[0]!)).status).toBe(200);
    const fresh = await codesFor();
    for (const code of old.slice(1, 4)) expect((await useCode(code)).body.error_code).toBe('auth_invalid_credentials');
    const res = await useCode(fresh[0]!);
    expect(res.status).toBe(200);
    expect(res.body.recovery_codes_remaining).toBe(9);
  });

  it("one user's code does not work for another user", async () => {
    const [adaCode] = await codesFor(ada);
    await codesFor(grace);
    const res = await useCode(adaCode!, { identifier: 'grace@example.com' });
    expect(res.body.error_code).toBe('auth_invalid_credentials');
    expect((await useCode(adaCode!)).status).toBe(200);
  });

  it('answers a wrong code, an unknown user, a user without codes and a disabled user exactly alike', async () => {
    const [code] = await codesFor();
    await seedUser(t.deps, { email: 'off@example.com', status: 'Disabled' });
    const answers = [
      await useCode('AAAA-BBBB-CCCC'),
      await useCode('not even a code'),
      await useCode(code!, { identifier: 'nobody@example.com' }),
      await useCode(code!, { identifier_type: 'user_id', identifier: 'nobody' }),
      await useCode(code!, { identifier: 'grace@example.com' }),
      await useCode(code!, { identifier: 'off@example.com' }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(400);
      expect(res.body).toEqual(answers[0]!.body);
      expect(res.headers).toEqual(answers[0]!.headers);
    }
    expect(answers[0]!.body.error_code).toBe('auth_invalid_credentials');
  });

  it("with someone else's session_id, an unknown user gets the same session_user_mismatch as a known one", async () => {
    const [code] = await codesFor();
    const graces = await seedAuthentication(t.deps, client, grace, 'pwd');
    const known = await useCode(code!, { session_id: graces.session_id });
    const unknown = await useCode(code!, { identifier: 'nobody@example.com', session_id: graces.session_id });
    expect(known.status).toBe(403);
    expect(known.body.error_code).toBe('session_user_mismatch');
    expect(unknown.status).toBe(known.status);
    expect(unknown.body).toEqual(known.body);
    expect(unknown.headers).toEqual(known.headers);
    // The refused call did not use the code.
    expect((await useCode(code!)).status).toBe(200);
  });

  it('a failed use never changes the session it names', async () => {
    const session = await seedAuthentication(t.deps, client, ada, 'pwd');
    await codesFor();
    const before = await t.store.get(keys.session(session.session_id));
    expect((await useCode('AAAA-BBBB-CCCC', { session_id: session.session_id })).status).toBe(400);
    expect(await t.store.get(keys.session(session.session_id))).toEqual(before);
  });

  it('using, failing and exhausting codes are audit events that never carry a code', async () => {
    const codes = await codesFor();
    t.clock.advance(RECOVERY_LOCK_MS);
    expect((await useCode('AAAA-BBBB-CCCC')).status).toBe(400);
    for (const code of codes.slice(0, 9)) expect((await useCode(code)).status).toBe(200);
    t.clock.advance(RECOVERY_LOCK_MS);
    const last = await useCode(codes[9]!);
    expect(last.body.recovery_codes_remaining).toBe(0);
    const events = auditLines().map(({ event, outcome, user_id, client_id }) => ({ event, outcome, user_id, client_id }));
    const who = { user_id: ada.user_id, client_id: client.client_id };
    expect(events).toEqual([
      { event: 'recovery_codes_generated', outcome: 'success', ...who },
      { event: 'recovery_code_used', outcome: 'failure', ...who },
      ...Array.from({ length: 10 }, () => ({ event: 'recovery_code_used', outcome: 'success', ...who })),
      { event: 'recovery_codes_exhausted', outcome: 'success', ...who },
    ]);
    const log = t.logLines.join('\n');
    for (const code of codes) expect(log).not.toContain(code.replace(/-/g, '').slice(0, 8));
  });

  it('deleting the user deletes its codes', async () => {
    await codesFor();
    await deleteUser(t.deps, ada.user_id);
    expect(await storedSet()).toBeUndefined();
  });

  it('refuses bad input with 400 system_invalid_input', async () => {
    for (const body of [{}, { identifier_type: 'email', identifier: 'ada@example.com' }, { identifier_type: 'email', identifier: 'ada@example.com', code: 'x'.repeat(65) }]) {
      const res = await invoke(recoveryAuthenticate, { token, body });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('system_invalid_input');
    }
  });
});

describe('counting recovery-code guesses', () => {
  it('10 attempts per 15-minute window, then even the right code is 403 auth_locked until the window ends', async () => {
    const [code] = await codesFor();
    for (let i = 0; i < 10; i++) expect((await useCode('AAAA-BBBB-CCCC')).status).toBe(400);
    t.clock.advanceSeconds(60);
    const locked = await useCode(code!);
    expect(locked.status).toBe(403);
    expect(locked.body.error_code).toBe('auth_locked');
    expect(locked.headers['Retry-After']).toBe(String(15 * 60 - 60));
    t.clock.advanceSeconds(15 * 60 - 61);
    expect((await useCode(code!)).status).toBe(403);
    t.clock.advanceSeconds(1);
    expect((await useCode(code!)).status).toBe(200);
  });

  it('an unknown user locks exactly as a known one: same answers, same Retry-After', async () => {
    await codesFor();
    const known: Array<Awaited<ReturnType<typeof useCode>>> = [];
    const unknown: typeof known = [];
    for (let i = 0; i < 11; i++) {
      known.push(await useCode('AAAA-BBBB-CCCC'));
      unknown.push(await useCode('AAAA-BBBB-CCCC', { identifier: 'nobody@example.com' }));
    }
    for (let i = 0; i < 11; i++) {
      expect(unknown[i]!.status).toBe(known[i]!.status);
      expect(unknown[i]!.body).toEqual(known[i]!.body);
      expect(unknown[i]!.headers).toEqual(known[i]!.headers);
    }
    expect(known[10]!.body.error_code).toBe('auth_locked');
  });

  it('counts by user, whichever identifier names it; another user is not locked', async () => {
    const [code] = await codesFor();
    const [graceCode] = await codesFor(grace);
    for (let i = 0; i < 5; i++) await useCode('AAAA-BBBB-CCCC');
    for (let i = 0; i < 5; i++) await useCode('AAAA-BBBB-CCCC', { identifier_type: 'username', identifier: 'ada' });
    expect((await useCode(code!, { identifier_type: 'user_id', identifier: ada.user_id })).body.error_code).toBe('auth_locked');
    expect((await useCode(graceCode!, { identifier: 'grace@example.com' })).status).toBe(200);
  });

  it('200 parallel wrong guesses: at most 10 are compared, the rest are locked without a look at the codes', async () => {
    await codesFor();
    const get = t.store.get.bind(t.store);
    let reads = 0;
    t.store.get = async <T,>(key: string) => {
      if (key === keys.recoveryCodes(ada.user_id)) reads++;
      return get<T>(key);
    };
    const results = await Promise.all(Array.from({ length: 200 }, () => useCode('AAAA-BBBB-CCCC')));
    const codes = results.map((r) => r.body.error_code);
    expect(codes.filter((c) => c === 'auth_invalid_credentials')).toHaveLength(10);
    expect(codes.filter((c) => c === 'auth_locked')).toHaveLength(190);
    expect(reads).toBe(10);
  });

  it('a guess that cannot be counted is never compared', async () => {
    const [code] = await codesFor();
    const countAttempt = t.store.countAttempt.bind(t.store);
    t.store.countAttempt = async () => {
      throw new (await import('../../functions/errors.js')).DependencyError('DynamoDB');
    };
    const res = await useCode(code!);
    expect(res.status).toBe(503);
    t.store.countAttempt = countAttempt;
    expect((await storedSet())!.codes.every((c) => c.used_at === undefined)).toBe(true);
  });
});

describe('races', () => {
  it('50 parallel uses of one code: exactly one succeeds', async () => {
    const [code] = await codesFor();
    slowSigning(t.deps);
    const results = await Promise.all(Array.from({ length: 50 }, () => useCode(code!)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const res of results.filter((r) => r.status !== 200)) expect(['auth_invalid_credentials', 'auth_locked']).toContain(res.body.error_code);
    expect(results.find((r) => r.status === 200)!.body.recovery_codes_remaining).toBe(9);
    expect((await storedSet())!.codes.filter((c) => c.used_at !== undefined)).toHaveLength(1);
  });

  it('parallel uses of different codes of one set all succeed', async () => {
    const codes = await codesFor();
    slowSigning(t.deps);
    const results = await Promise.all(codes.slice(0, 6).map((code) => useCode(code)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(results.map((r) => r.body.recovery_codes_remaining).sort()).toEqual([4, 5, 6, 7, 8, 9]);
    expect((await storedSet())!.codes.filter((c) => c.used_at === undefined)).toHaveLength(4);
  });

  it('a use that checked its code before a regeneration, and commits after it, is refused', async () => {
    const old = await codesFor();
    const userToken = await mfaUserToken();
    const gate = gateSigning(t.deps);
    const use = useCode(old[0]!);
    await gate.signing; // the use has read the old set and matched its code
    const regenerated = await generate(userToken);
    expect(regenerated.status).toBe(201);
    gate.open();
    const res = await use;
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('auth_invalid_credentials');
    const set = (await storedSet())!;
    expect(set.codes.every((c) => c.used_at === undefined)).toBe(true);
    expect((await useCode(regenerated.body.codes[0])).body.recovery_codes_remaining).toBe(9);
  });

  it('a use that commits before a regeneration stands, and the new set is whole', async () => {
    const old = await codesFor();
    const userToken = await mfaUserToken();
    expect((await useCode(old[0]!)).status).toBe(200);
    const regenerated = await generate(userToken);
    expect((await storedSet())!.codes.every((c) => c.used_at === undefined)).toBe(true);
    expect((await useCode(old[1]!)).status).toBe(400);
    expect((await useCode(regenerated.body.codes[1])).body.recovery_codes_remaining).toBe(9);
  });

  it('uses racing a regeneration in parallel: afterwards no old code works and the new set is whole', async () => {
    const old = await codesFor();
    const userToken = await mfaUserToken();
    slowSigning(t.deps);
    const [regenerated, ...uses] = await Promise.all([generate(userToken), ...old.slice(0, 5).map((code) => useCode(code))]);
    expect(regenerated!.status).toBe(201);
    for (const res of uses) expect([200, 400]).toContain(res.status);
    const set = (await storedSet())!;
    expect(set.codes.every((c) => c.used_at === undefined)).toBe(true);
    t.clock.advance(RECOVERY_LOCK_MS);
    for (const code of old.slice(5)) expect((await useCode(code)).status).toBe(400);
    expect((await useCode(regenerated!.body.codes[0])).status).toBe(200);
  });
});
