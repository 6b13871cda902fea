import { describe, expect, it } from 'vitest';
import {
  generateRecoveryCode,
  normalizeRecoveryCode,
  RECOVERY_CODE_ALPHABET,
  RECOVERY_CODE_LENGTH,
} from '../../functions/core/recovery-codes.js';

describe('recovery code format', () => {
  it('is 12 characters of Crockford base32 in groups of four: 60 random bits', () => {
    expect(RECOVERY_CODE_ALPHABET).toHaveLength(32);
    expect(RECOVERY_CODE_LENGTH * Math.log2(RECOVERY_CODE_ALPHABET.length)).toBeGreaterThanOrEqual(50);
    for (let i = 0; i < 200; i++) expect(generateRecoveryCode()).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
  });

  it('never uses the ambiguous letters I, L, O or U', () => {
    expect(RECOVERY_CODE_ALPHABET).not.toMatch(/[ILOU]/);
    const seen = new Set(Array.from({ length: 300 }, generateRecoveryCode).join('').replace(/-/g, ''));
    expect([...seen].sort().join('')).toBe(RECOVERY_CODE_ALPHABET);
  });

  it('draws characters evenly', () => {
    const counts = new Map<string, number>();
    const draws = 4000;
    for (let i = 0; i < draws / RECOVERY_CODE_LENGTH; i++) {
      for (const c of generateRecoveryCode().replace(/-/g, '')) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    const expected = (Math.floor(draws / RECOVERY_CODE_LENGTH) * RECOVERY_CODE_LENGTH) / 32;
    // chi-square with 31 degrees of freedom: a biased draw lands far above it; 95 is beyond the 1 - 1e-7 quantile, so no flakes
    const chi = [...RECOVERY_CODE_ALPHABET].reduce((sum, c) => sum + ((counts.get(c) ?? 0) - expected) ** 2 / expected, 0);
    expect(chi).toBeLessThan(95);
  });

  it('reads a code typed in any case, with or without separators', () => {
    for (const typed of ['7K3M-Q9TX-2D4H', '7k3m-q9tx-2d4h', '7K3MQ9TX2D4H', ' 7k3m q9tx 2d4h ', '7K3M.Q9TX.2D4H', '7K3M–Q9TX—2D4H', '7K3M_Q9TX_2D4H']) {
      expect(normalizeRecoveryCode(typed), typed).toBe('7K3MQ9TX2D4H');
    }
  });

  it('reads O as 0 and I, L as 1, as Crockford decoding does', () => {
    expect(normalizeRecoveryCode('O1IL-oiLl-0000')).toBe('011101110000');
  });

  it('refuses what cannot be a code', () => {
    for (const typed of ['', '7K3M-Q9TX-2D4', '7K3M-Q9TX-2D4HH', '7K3M-Q9TX-2D4U', '7K3M-Q9TX-2D4*', '７K3M-Q9TX-2D4H']) {
      expect(normalizeRecoveryCode(typed), typed).toBeUndefined();
    }
  });
});
