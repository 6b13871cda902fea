/**
 * OTP codes are uniform (contract section 8: "from a CSPRNG without bias"):
 * Pearson's chi-square over 100,000 codes from generateNumericCode, on the
 * digits overall, on each of the six positions, and on pairs of neighbouring
 * positions (which a generator correlating its digits would fail).
 *
 * Fixed significance alpha = 1e-4 per check, against the chi-square critical
 * values for that alpha (df 9: 33.720; df 99: 160.056). With eight checks a
 * correct generator fails a run about once in 1,250 runs; a generator with the
 * classic modulo bias (a byte % 10) fails every run, as the last test shows.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateNumericCode } from '../../functions/core/crypto.js';
import { OTP_DIGITS } from '../../functions/core/otp.js';

const CODES = 100_000;
/** Chi-square critical values at alpha = 1e-4. */
const CRITICAL = { df9: 33.72, df99: 160.056 } as const;

/** Pearson's statistic of observed counts against a uniform expectation. */
function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
}

function digitCounts(codes: readonly string[], position?: number): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const code of codes) {
    if (position === undefined) for (const ch of code) counts[ch.charCodeAt(0) - 48]! += 1;
    else counts[code.charCodeAt(position) - 48]! += 1;
  }
  return counts;
}

function pairCounts(codes: readonly string[], position: number): number[] {
  const counts = new Array<number>(100).fill(0);
  for (const code of codes) counts[Number(code.slice(position, position + 2))]! += 1;
  return counts;
}

let codes: string[];
beforeAll(() => {
  codes = Array.from({ length: CODES }, () => generateNumericCode(OTP_DIGITS));
});

describe('OTP digits from generateNumericCode', () => {
  it('are six decimal digits each', () => {
    expect(codes.every((code) => /^\d{6}$/.test(code))).toBe(true);
  });

  it('are uniform over all positions together (chi-square, 9 degrees of freedom)', () => {
    expect(chiSquare(digitCounts(codes))).toBeLessThan(CRITICAL.df9);
  });

  it.each(Array.from({ length: OTP_DIGITS }, (_, i) => i))('are uniform at position %i (chi-square, 9 degrees of freedom)', (position) => {
    expect(chiSquare(digitCounts(codes, position))).toBeLessThan(CRITICAL.df9);
  });

  it('show no dependence between neighbouring positions (pairs, chi-square, 99 degrees of freedom)', () => {
    // One pair position per run keeps the number of checks (and false alarms) small; the
    // middle pair is where a generator building codes from two halves would show.
    expect(chiSquare(pairCounts(codes, 2))).toBeLessThan(CRITICAL.df99);
  });
});

describe('the chi-square check itself', () => {
  it('rejects the modulo bias of digits taken as a random byte % 10', () => {
    const bytes = randomBytes(CODES * OTP_DIGITS);
    const biased = Array.from({ length: CODES }, (_, i) =>
      Array.from(bytes.subarray(i * OTP_DIGITS, (i + 1) * OTP_DIGITS), (b) => String(b % 10)).join(''),
    );
    expect(chiSquare(digitCounts(biased))).toBeGreaterThan(CRITICAL.df9);
  });
});
