import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, generateNumericCode, keyedHash, openSecret, randomToken, sealSecret } from '../../functions/core/crypto.js';

describe('sealed secrets (TOTP seeds at rest)', () => {
  const key = randomBytes(32);

  it('round-trips, with a fresh IV each time', () => {
    const a = sealSecret(key, 'totp', 'JBSWY3DPEHPK3PXP');
    const b = sealSecret(key, 'totp', 'JBSWY3DPEHPK3PXP');
    expect(a).not.toBe(b);
    expect(a).not.toContain('JBSWY3DPEHPK3PXP');
    expect(openSecret(key, 'totp', a)).toBe('JBSWY3DPEHPK3PXP');
  });

  it('refuses another key, another purpose, or any flipped byte', () => {
    const sealed = sealSecret(key, 'totp', 'seed');
    expect(() => openSecret(randomBytes(32), 'totp', sealed)).toThrow();
    expect(() => openSecret(key, 'other', sealed)).toThrow();
    const [v, iv, ct, tag] = sealed.split('.') as [string, string, string, string];
    const flipped = Buffer.from(ct, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => openSecret(key, 'totp', [v, iv, flipped.toString('base64url'), tag].join('.'))).toThrow();
    expect(() => openSecret(key, 'totp', 'plain-seed')).toThrow();
  });
});

describe('secret primitives', () => {
  it('random tokens carry 256 bits by default', () => {
    expect(Buffer.from(randomToken(), 'base64url')).toHaveLength(32);
  });

  it('keyed hashes depend on the key', () => {
    expect(keyedHash(key(1), '123456')).not.toBe(keyedHash(key(2), '123456'));
    expect(keyedHash(key(1), '123456')).toBe(keyedHash(key(1), '123456'));
  });

  it('constant-time comparison compares values of any length', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });

  it('numeric codes are zero-padded to their length', () => {
    for (let i = 0; i < 1000; i++) expect(generateNumericCode(6)).toMatch(/^\d{6}$/);
  });
});

function key(seed: number): Uint8Array {
  return Buffer.alloc(32, seed);
}
