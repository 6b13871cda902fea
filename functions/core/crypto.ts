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

/**
 * Versioned sealing keys: `current` seals; every listed version opens, so a
 * rotation adds a version first and retires the old one only once nothing is
 * sealed under it any more.
 */
export interface SealKeyring {
  current: string;
  keys: Readonly<Record<string, Uint8Array>>;
}

/** Key version ids: short, and free of the `.` that separates the sealed parts. */
export const SEAL_KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * A keyring from its stored form, a JSON object of key versions
 * (`{"1": "<at least minBytes bytes>", "2": "..."}`, a Secrets Manager
 * secret), with `ids` the versions in use: the first is current, all are
 * usable. `name` names the key in errors ("TOTP": "the TOTP key secret").
 * A listed version missing from the secret is a deployment mistake, reported
 * as such.
 */
export function parseKeyring(stored: string, ids: readonly string[], name: string, minBytes: number): SealKeyring {
  let versions: unknown;
  try {
    versions = JSON.parse(stored);
  } catch {
    throw new Error(`the ${name} key secret is not a JSON object of key versions`);
  }
  if (!versions || typeof versions !== 'object' || Array.isArray(versions)) throw new Error(`the ${name} key secret is not a JSON object of key versions`);
  if (!ids.length) throw new Error(`no ${name} key version is in use`);
  const keyring: Record<string, Uint8Array> = {};
  for (const id of ids) {
    if (!SEAL_KEY_ID.test(id)) throw new Error(`${name} key version "${id}" must be 1 to 32 letters, digits, _ or -`);
    const value = Object.prototype.hasOwnProperty.call(versions, id) ? (versions as Record<string, unknown>)[id] : undefined;
    if (typeof value !== 'string') throw new Error(`${name} key version ${id} is not in the ${name} key secret`);
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length < minBytes) throw new Error(`${name} key version ${id} holds ${bytes.length} bytes; at least ${minBytes} are needed`);
    keyring[id] = bytes;
  }
  return { current: ids[0]!, keys: keyring };
}

/**
 * Like `sealSecret`, under the keyring's current version, as
 * `v2.<key id>.<iv>.<ciphertext>.<tag>`: the key id travels with the value and
 * is bound into the associated data with the purpose.
 */
export function sealWithKeyring(keyring: SealKeyring, purpose: string, plaintext: string): string {
  const keyId = keyring.current;
  const key = keyring.keys[keyId];
  if (!key) throw new Error(`the current sealing key ${keyId} is not in the keyring`);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', derivedKey(key, purpose), iv);
  cipher.setAAD(Buffer.from(`${purpose}.${keyId}`, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v2', keyId, ...[iv, ciphertext, cipher.getAuthTag()].map((p) => p.toString('base64url'))].join('.');
}

/** The key version a `sealWithKeyring` value was sealed under, or undefined for anything else. */
export function sealedKeyId(sealed: string): string | undefined {
  const [version, keyId] = sealed.split('.');
  return version === 'v2' && keyId && SEAL_KEY_ID.test(keyId) ? keyId : undefined;
}

/** Opens a `sealWithKeyring` value with the version named in it; throws if that version is gone or the value was tampered with. */
export function openWithKeyring(keyring: SealKeyring, purpose: string, sealed: string): string {
  const [version, keyId, iv, ciphertext, tag, ...rest] = sealed.split('.');
  if (version !== 'v2' || !keyId || !iv || ciphertext === undefined || !tag || rest.length) throw new Error('not a versioned sealed secret');
  const key = keyring.keys[keyId];
  if (!key) throw new Error(`sealing key ${keyId} is not in the keyring`);
  const decipher = createDecipheriv('aes-256-gcm', derivedKey(key, purpose), Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(`${purpose}.${keyId}`, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}
