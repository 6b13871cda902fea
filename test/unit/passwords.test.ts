import { describe, expect, it } from 'vitest';
import { OWASP_SCRYPT } from '../../functions/adapters/local/server.js';
import { passwordAttemptsKey } from '../../functions/core/password-auth.js';
import { keys } from '../../functions/core/model.js';
import {
  checkPasswordPolicy,
  hashParams,
  hashPassword,
  isCommonPassword,
  verifyDummyPassword,
  verifyPassword,
} from '../../functions/core/passwords.js';
import type { UserRecord } from '../../functions/core/model.js';
import { newUserRecord } from '../../functions/core/users.js';
import { TwofoldError } from '../../functions/errors.js';
import { TEST_SCRYPT } from '../support/harness.js';

async function policyError(password: string): Promise<TwofoldError> {
  const error = await checkPasswordPolicy(password).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TwofoldError);
  expect((error as TwofoldError).status).toBe(400);
  return error as TwofoldError;
}

describe('password policy', () => {
  it('refuses 7 characters as auth_password_weak and accepts 8', async () => {
    const error = await policyError('Zq7#kLm');
    expect(error.code).toBe('auth_password_weak');
    expect(error.message).toMatch(/at least 8/);
    await expect(checkPasswordPolicy('Zq7#kLmP')).resolves.toBe('Zq7#kLmP');
  });

  it('accepts 256 characters and refuses 257', async () => {
    const max = 'xK9'.repeat(86).slice(0, 256);
    await expect(checkPasswordPolicy(max)).resolves.toBe(max);
    const error = await policyError(`${max}q`);
    expect(error.code).toBe('system_invalid_input');
    expect(error.message).toMatch(/at most 256/);
  });

  it('counts characters (code points), not UTF-16 units', async () => {
    // Eight emoji are 16 UTF-16 units but 8 characters; 257 emoji are 514 units.
    await expect(checkPasswordPolicy('🔑🐙🌵🎲🚲🧭🪁🎻')).resolves.toBeDefined();
    await policyError('🔑🐙🌵🎲🚲🧭🪁'); // 7
    await policyError('🔑'.repeat(257));
  });

  it('measures length after NFC normalisation', async () => {
    // 'e' + combining acute is two code points before NFC, one after: 4 x (e + U+0301) + "abc" = 7 after NFC.
    await policyError('e\u0301e\u0301e\u0301e\u0301abc');
    await expect(checkPasswordPolicy('e\u0301e\u0301e\u0301e\u0301abcd')).resolves.toBe('\u00e9\u00e9\u00e9\u00e9abcd');
  });

  it('refuses a password on the common-password list, in any case, as auth_password_breached', async () => {
    for (const common of ['password1', 'iloveyou', 'qwertyuiop', 'PassWord1', 'ILOVEYOU']) {
      const error = await policyError(common);
      expect(error.code).toBe('auth_password_breached');
      expect(error.message).toMatch(/commonly used/);
      expect(error.message).not.toContain(common);
    }
    expect(await isCommonPassword('correct horse battery staple')).toBe(false);
  });

  it('never echoes the password in its messages', async () => {
    for (const bad of ['s3cr3t!', 'qwertyuiop', `${'Lo9'.repeat(90)}`]) {
      const error = await policyError(bad);
      expect(error.message).not.toContain(bad);
    }
  });
});

describe('password hashing', () => {
  it('stores a self-describing scrypt hash that carries its parameters', async () => {
    const hash = await hashPassword('correct horse battery', TEST_SCRYPT);
    const parts = hash.split('$');
    expect(parts).toHaveLength(6);
    expect(parts.slice(0, 4)).toEqual(['scrypt', String(TEST_SCRYPT.N), String(TEST_SCRYPT.r), String(TEST_SCRYPT.p)]);
    expect(Buffer.from(parts[4]!, 'base64url')).toHaveLength(16);
    expect(Buffer.from(parts[5]!, 'base64url')).toHaveLength(32);
    expect(hashParams(hash)).toEqual(TEST_SCRYPT);
    expect(hash).not.toContain('correct horse');
  });

  it('salts every hash: the same password never hashes the same twice', async () => {
    const [a, b] = await Promise.all([hashPassword('same password', TEST_SCRYPT), hashPassword('same password', TEST_SCRYPT)]);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same password', a)).toBe(true);
    expect(await verifyPassword('same password', b)).toBe(true);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await hashPassword('correct horse battery', TEST_SCRYPT);
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await verifyPassword('correct horse batterY', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('a hash made with other parameters still verifies after the defaults change', async () => {
    const old = await hashPassword('correct horse battery', { N: 2 ** 10, r: 4, p: 2 });
    expect(hashParams(old)).toEqual({ N: 2 ** 10, r: 4, p: 2 });
    // Verification reads the parameters from the hash, whatever the current default is.
    expect(await verifyPassword('correct horse battery', old)).toBe(true);
    expect(await verifyPassword('wrong horse battery', old)).toBe(false);
  });

  it('NFC-equivalent spellings of a password verify alike', async () => {
    const composed = 'caf\u00e9 au lait';
    const decomposed = 'cafe\u0301 au lait';
    expect(composed).not.toBe(decomposed);
    const hash = await hashPassword(decomposed, TEST_SCRYPT);
    expect(await verifyPassword(composed, hash)).toBe(true);
    expect(await verifyPassword(decomposed, hash)).toBe(true);
  });

  it('an unreadable or tampered hash never verifies', async () => {
    const hash = await hashPassword('correct horse battery', TEST_SCRYPT);
    const parts = hash.split('$');
    expect(await verifyPassword('correct horse battery', 'plaintext')).toBe(false);
    expect(await verifyPassword('correct horse battery', ['bcrypt', ...parts.slice(1)].join('$'))).toBe(false);
    // Absurd cost parameters are refused rather than attempted.
    expect(await verifyPassword('correct horse battery', ['scrypt', String(2 ** 30), '8', '1', parts[4], parts[5]].join('$'))).toBe(false);
    const flipped = Buffer.from(parts[5]!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(await verifyPassword('correct horse battery', [...parts.slice(0, 5), flipped.toString('base64url')].join('$'))).toBe(false);
  });

  it('refuses to hash with out-of-range parameters', async () => {
    await expect(hashPassword('correct horse battery', { N: 1000, r: 8, p: 1 })).rejects.toThrow(/out of range/);
  });

  it('the constant-time path for unknown users does a real verification and never succeeds', async () => {
    const hash = await hashPassword('warm-up password', TEST_SCRYPT);
    // Warm the dummy hash once, then compare one real verification with one dummy one.
    expect(await verifyDummyPassword('anything at all', TEST_SCRYPT)).toBe(false);
    const timeOf = async (run: () => Promise<unknown>) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < 3; i++) await run();
      return Number(process.hrtime.bigint() - start) / 3;
    };
    const real = await timeOf(() => verifyPassword('wrong password', hash));
    const dummy = await timeOf(() => verifyDummyPassword('wrong password', TEST_SCRYPT));
    expect(await verifyDummyPassword('warm-up password', TEST_SCRYPT)).toBe(false);
    // Same scrypt work: the dummy path costs the same order of time as a real verification.
    expect(dummy).toBeGreaterThan(real / 4);
  });

  it('the OWASP default parameters produce a verifiable hash', async () => {
    expect(OWASP_SCRYPT).toEqual({ N: 2 ** 17, r: 8, p: 1 });
    const hash = await hashPassword('correct horse battery', OWASP_SCRYPT);
    expect(hash.startsWith(`scrypt$${2 ** 17}$8$1$`)).toBe(true);
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
  });
});

describe('password guess counting', () => {
  const now = Date.UTC(2026, 0, 15, 12);
  const user: UserRecord = { ...newUserRecord('u1', now), email: 'ada@example.com', password: { hash: 'h', updated_at: now } };

  it("counts a user's guesses on the user's own record, whichever identifier names the user", () => {
    // A new password starts afresh by ending the run on the record (test/integration/password-auth.test.ts).
    expect(passwordAttemptsKey(user, 'email', 'ada@example.com')).toBe(passwordAttemptsKey(user, 'username', 'ada'));
    expect(passwordAttemptsKey(user, 'email', 'ada@example.com')).toBe(keys.user('u1'));
  });

  it('counts per normalised identifier when it names no user, without storing the identifier', () => {
    expect(passwordAttemptsKey(undefined, 'username', ' Nobody ')).toBe(passwordAttemptsKey(undefined, 'username', 'nobody'));
    expect(passwordAttemptsKey(undefined, 'username', 'nobody')).not.toBe(passwordAttemptsKey(undefined, 'email', 'nobody'));
    expect(passwordAttemptsKey(undefined, 'username', 'nobody')).not.toContain('nobody');
  });
});
