/** Small, audited-by-eye primitives over node:crypto. Secrets never leave here in logs. */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

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

/** A 256-bit key for `purpose`, derived from the service's hash key (HKDF-SHA-256). */
function derivedKey(key: Uint8Array, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `twofold:${purpose}`, 32));
}

/**
 * Encrypts a secret the service must read back (a TOTP seed cannot be
 * hashed): AES-256-GCM under a key derived for `purpose`, as
 * `v1.<iv>.<ciphertext>.<tag>` in base64url. The purpose is also bound as
 * associated data, so a value sealed for one purpose never opens as another.
 */
export function sealSecret(key: Uint8Array, purpose: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', derivedKey(key, purpose), iv);
  cipher.setAAD(Buffer.from(purpose, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv, ciphertext, cipher.getAuthTag()].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

/** Opens a value of `sealSecret`; throws if it was tampered with or sealed under another key or purpose. */
export function openSecret(key: Uint8Array, purpose: string, sealed: string): string {
  const [version, iv, ciphertext, tag] = sealed.split('.');
  if (version !== 'v1' || !iv || ciphertext === undefined || !tag) throw new Error('not a sealed secret');
  const decipher = createDecipheriv('aes-256-gcm', derivedKey(key, purpose), Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(purpose, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}
