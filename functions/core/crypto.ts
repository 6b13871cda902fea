/** Small, audited-by-eye primitives over node:crypto. Secrets never leave here in logs. */
import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

export function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** `bytes` random bytes, base64url-encoded (32 bytes = 256 bits by default). */
export function randomToken(bytes = 32): string {
  return base64url(randomBytes(bytes));
}

/** An opaque identifier with 128 random bits. */
export function randomId(): string {
  return randomToken(16);
}

/**
 * A numeric code of `digits` digits from the CSPRNG. `crypto.randomInt` draws
 * by rejection sampling, so every code is equally likely (no modulo bias).
 */
export function generateNumericCode(digits = 6): string {
  return String(randomInt(0, 10 ** digits)).padStart(digits, '0');
}

export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

/** Keyed hash (HMAC-SHA-256) for low-entropy secrets such as OTPs. */
export function keyedHash(key: Uint8Array, value: string): string {
  return createHmac('sha256', key).update(value, 'utf8').digest('base64url');
}

/**
 * Constant-time comparison of two strings. Inputs are hashed first so the
 * comparison does not leak their lengths either.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}
