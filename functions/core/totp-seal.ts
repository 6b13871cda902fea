/**
 * TOTP seeds at rest. A seed cannot be hashed (codes are computed from it),
 * so it is sealed (AES-256-GCM) under the TOTP keyring: its own versioned
 * keys, apart from the hash key, so rotating either never breaks the other.
 * Each sealed seed names its key version; rotation (docs/deploy.md) adds a
 * version, makes it current, re-seals every seed with `resealUser`, and only
 * then retires the old version.
 */
import { ConflictError } from '../errors.js';
import type { Store } from '../ports.js';
import { openWithKeyring, parseKeyring, sealedKeyId, sealWithKeyring, type SealKeyring } from './crypto.js';
import type { Deps } from './deps.js';
import { keys, type UserRecord } from './model.js';

export const TOTP_SEAL_PURPOSE = 'totp';
/** HMAC and AES keys shorter than 256 bits would weaken them. */
export const MIN_TOTP_KEY_BYTES = 32;
const MAX_WRITE_ATTEMPTS = 4;

export function sealTotpSeed(deps: Pick<Deps, 'totpKeys'>, seed: string): string {
  return sealWithKeyring(deps.totpKeys, TOTP_SEAL_PURPOSE, seed);
}

export function openTotpSeed(deps: Pick<Deps, 'totpKeys'>, sealed: string): string {
  return openWithKeyring(deps.totpKeys, TOTP_SEAL_PURPOSE, sealed);
}

/**
 * The keyring from its stored form, a JSON object of key versions
 * (`{"1": "<at least 32 bytes>", "2": "..."}`, the Secrets Manager secret),
 * with `ids` the versions in use: the first seals, all open. A listed version
 * missing from the secret is a deployment mistake, reported as such.
 */
export function parseTotpKeyring(stored: string, ids: readonly string[]): SealKeyring {
  return parseKeyring(stored, ids, 'TOTP', MIN_TOTP_KEY_BYTES);
}

/** A new random key version, in the stored form (64 letters and digits, about 381 bits). */
export function newTotpKeyMaterial(random: (size: number) => Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  // Rejection sampling: 248 is the largest multiple of 62 below 256, so no letter is likelier than another.
  while (out.length < 64) for (const byte of random(64)) if (byte < 248 && out.length < 64) out += alphabet[byte % 62];
  return out;
}

/** Every sealed seed in a user record that is not under the current version: the TOTP record and any other field a flow seals. */
function resealed(value: unknown, keyring: SealKeyring): { value: unknown; changed: number } {
  if (typeof value === 'string') {
    const keyId = sealedKeyId(value);
    if (keyId === undefined || keyId === keyring.current) return { value, changed: 0 };
    return { value: sealWithKeyring(keyring, TOTP_SEAL_PURPOSE, openWithKeyring(keyring, TOTP_SEAL_PURPOSE, value)), changed: 1 };
  }
  if (Array.isArray(value)) {
    let changed = 0;
    const items = value.map((item) => {
      const r = resealed(item, keyring);
      changed += r.changed;
      return r.value;
    });
    return { value: items, changed };
  }
  if (value && typeof value === 'object') {
    let changed = 0;
    const entries = Object.entries(value).map(([k, v]) => {
      const r = resealed(v, keyring);
      changed += r.changed;
      return [k, r.value] as const;
    });
    return { value: Object.fromEntries(entries), changed };
  }
  return { value, changed: 0 };
}

/**
 * Re-seals every seed of one user under the current key version (one
 * conditional write; re-read and redone if the user changed meanwhile).
 * Returns how many seeds it re-sealed. Throws if a seed is under a version the
 * keyring no longer holds.
 */
export async function resealUser(store: Store, keyring: SealKeyring, userId: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const record = await store.get<UserRecord>(keys.user(userId));
    if (!record) return 0;
    const { value, changed } = resealed(record.value, keyring);
    if (!changed) return 0;
    try {
      await store.put(keys.user(userId), value as UserRecord, { expectVersion: record.version });
      return changed;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
    }
  }
}

/** The key versions the seeds of a user record are sealed under. */
export function sealedKeyIdsOf(user: unknown): Set<string> {
  const ids = new Set<string>();
  const walk = (value: unknown) => {
    if (typeof value === 'string') {
      const id = sealedKeyId(value);
      if (id) ids.add(id);
    } else if (value && typeof value === 'object') {
      for (const child of Object.values(value)) walk(child);
    }
  };
  walk(user);
  return ids;
}
