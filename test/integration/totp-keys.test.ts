/**
 * TOTP seeds are sealed under their own versioned keys: rotating the hash key
 * leaves every enrolment working, and a TOTP key rotation (add a version, seal
 * with it, re-seal every seed, retire the old one) never refuses a good code.
 * The admin command is run as an operator would (`tsx bin/totp-keys.ts`).
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { sealedKeyId } from '../../functions/core/crypto.js';
import { keys, type UserRecord } from '../../functions/core/model.js';
import { totpCodeForStep, totpStep, TOTP_PERIOD_SECONDS } from '../../functions/core/totp.js';
import { newTotpKeyMaterial, parseTotpKeyring } from '../../functions/core/totp-seal.js';
import { handler as totpAuthenticate } from '../../functions/handlers/auth-totp-authenticate.js';
import { registerTotp } from '../../functions/core/totp.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedUser } from '../support/seed.js';

const run = promisify(execFile);

let t: TestContext;
let token: string;
let keysFile: string;
let table: string;

async function totpKeys(...args: string[]) {
  return run('npx', ['tsx', 'bin/totp-keys.ts', ...args, '--keys-file', keysFile, '--table', table], {
    env: { ...process.env, DYNAMODB_ENDPOINT: inject('dynamoEndpoint') },
  });
}

/** The functions' keyring as the stack would configure it: `ids` in use, the first sealing. */
async function useVersions(...ids: string[]) {
  t.deps.totpKeys = parseTotpKeyring(await readFile(keysFile, 'utf8'), ids);
}

async function enrol(email: string): Promise<{ userId: string; secret: string }> {
  const user = await seedUser(t.deps, { email });
  const { secret } = await registerTotp(t.deps, user.user_id);
  return { userId: user.user_id, secret };
}

/** Authenticates with the current code, then moves to the next step (a code is accepted once per step). */
async function signIn(email: string, secret: string) {
  const res = await invoke(totpAuthenticate, {
    token,
    body: { identifier_type: 'email', identifier: email, token: totpCodeForStep(secret, totpStep(t.clock.now())) },
  });
  t.clock.advanceSeconds(TOTP_PERIOD_SECONDS);
  return res.status;
}

async function sealedUnder(userId: string): Promise<string | undefined> {
  const user = (await t.store.get<UserRecord>(keys.user(userId)))!.value;
  return sealedKeyId(user.totp!.sealed_secret);
}

beforeEach(async () => {
  t = await createTestDeps();
  ({ token } = await createTestClient(t.deps));
  table = (t.store as unknown as { tableName: string }).tableName;
  keysFile = join(await mkdtemp(join(tmpdir(), 'twofold-totp-')), 'keys.json');
  await writeFile(keysFile, JSON.stringify({ '1': newTotpKeyMaterial(randomBytes) }));
  await useVersions('1');
});

describe('TOTP seeds and the hash key', () => {
  it('a new hash key leaves every authenticator working', async () => {
    const ada = await enrol('ada@example.com');
    t.deps.hashKey = randomBytes(32);
    expect(await signIn('ada@example.com', ada.secret)).toBe(200);
  });
});

describe('rotating the TOTP key', () => {
  it('adds a version, seals with it, re-seals every seed and retires the old one without refusing a good code', async () => {
    const ada = await enrol('ada@example.com');
    expect(await sealedUnder(ada.userId)).toBe('1');

    // Phase 1: version 2 exists and every function can open it; 1 still seals.
    expect((await totpKeys('add')).stdout).toContain('added TOTP key version 2');
    await useVersions('1', '2');
    expect(await signIn('ada@example.com', ada.secret)).toBe(200);

    // Phase 2: 2 seals; seeds under 1 still open.
    await useVersions('2', '1');
    const bob = await enrol('bob@example.com');
    expect(await sealedUnder(bob.userId)).toBe('2');
    expect(await signIn('ada@example.com', ada.secret)).toBe(200);

    // Version 1 cannot be retired while a seed uses it.
    const refused = await totpKeys('retire', '--version', '1').catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('1 user(s) still have seeds sealed under version 1') });

    expect((await totpKeys('reseal', '--current', '2')).stdout).toContain('re-sealed 1 TOTP seed(s) under version 2; 2 user(s) checked');
    expect(await sealedUnder(ada.userId)).toBe('2');

    // Phase 3: only version 2 is left, and both authenticators still work.
    expect((await totpKeys('retire', '--version', '1')).stdout).toContain('retired TOTP key version 1');
    expect(Object.keys(JSON.parse(await readFile(keysFile, 'utf8')) as object)).toEqual(['2']);
    await useVersions('2');
    expect(await signIn('ada@example.com', ada.secret)).toBe(200);
    expect(await signIn('bob@example.com', bob.secret)).toBe(200);
  });

  it('a keyring without the version a seed names refuses to open it rather than guess', async () => {
    const ada = await enrol('ada@example.com');
    t.deps.totpKeys = { current: '9', keys: { '9': randomBytes(32) } };
    expect(await signIn('ada@example.com', ada.secret)).toBe(500);
  });
});

describe('the TOTP key secret', () => {
  const material = 'x'.repeat(64);

  it('names the versions in use, the first sealing', () => {
    const keyring = parseTotpKeyring(JSON.stringify({ '1': material, '2': material }), ['2', '1']);
    expect(keyring.current).toBe('2');
    expect(Object.keys(keyring.keys).sort()).toEqual(['1', '2']);
  });

  it('refuses a missing version, a short key, a bad version id and a secret that is not a JSON object, never echoing it', () => {
    expect(() => parseTotpKeyring(JSON.stringify({ '1': material }), ['2'])).toThrow(/version 2 is not in/);
    expect(() => parseTotpKeyring(JSON.stringify({ '1': 'short' }), ['1'])).toThrow(/at least 32/);
    expect(() => parseTotpKeyring(JSON.stringify({ 'a.b': material }), ['a.b'])).toThrow(/letters, digits/);
    const notJson = `not json ${randomUUID()}`;
    expect(() => parseTotpKeyring(notJson, ['1'])).toThrow(/not a JSON object/);
    try {
      parseTotpKeyring(notJson, ['1']);
    } catch (error) {
      expect((error as Error).message).not.toContain(notJson);
    }
  });

  it('new key versions are 64 letters and digits', () => {
    expect(newTotpKeyMaterial(randomBytes)).toMatch(/^[A-Za-z0-9]{64}$/);
  });
});
