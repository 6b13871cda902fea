/**
 * Password policy and hashing (contract section 8). Passwords are compared
 * after NFC normalisation, must be 8 to 256 characters (code points), have no
 * composition rules and are refused when they appear on the shipped list of
 * common passwords. They are stored as a self-describing scrypt hash,
 * `scrypt$N$r$p$<salt>$<hash>`, so hashes made with older cost parameters keep
 * verifying after the defaults change.
 *
 * Nothing here logs, and no error message ever contains the password.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { BreachedPasswordError, InvalidInputError, WeakPasswordError } from '../errors.js';
import { decodeCommonPasswords } from './common-passwords.js';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/** Bounds on the parameters a stored hash may name, so a corrupt record cannot make one verification exhaust memory. */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

function scrypt(password: string, salt: Buffer, keyLength: number, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = {
    N: params.N,
    r: params.r,
    p: params.p,
    // scrypt needs about 128·N·r bytes; node refuses anything over 32 MiB unless told.
    maxmem: 256 * params.N * params.r + 1024 * 1024,
  };
  return new Promise((resolve, reject) =>
    scryptCallback(password.normalize('NFC'), salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

function assertParams({ N, r, p }: ScryptParams): void {
  const ok =
    Number.isInteger(N) && N >= 2 && N <= MAX_N && (N & (N - 1)) === 0 &&
    Number.isInteger(r) && r >= 1 && r <= MAX_R &&
    Number.isInteger(p) && p >= 1 && p <= MAX_P;
  if (!ok) throw new Error(`scrypt parameters out of range: N=${N} r=${r} p=${p}`);
}

let commonPasswords: Promise<Set<string>> | undefined;

/**
 * The shipped common-password list (built from zxcvbn-ts's, entries of 8
 * characters or more, lower-cased), decoded on first use from its compact
 * form (common-passwords.ts): exact, so no strong password is ever refused by
 * mistake, and routes that never see a password do not pay for it at cold start.
 */
function loadCommonPasswords(): Promise<Set<string>> {
  commonPasswords ??= import('./common-passwords.data.js').then(({ COMMON_PASSWORDS }) => decodeCommonPasswords(COMMON_PASSWORDS));
  return commonPasswords;
}

/** Whether the password (any case) is on the common-password list. */
export async function isCommonPassword(password: string): Promise<boolean> {
  return (await loadCommonPasswords()).has(password.normalize('NFC').toLowerCase());
}

/**
 * Checks a new password against the policy and returns it NFC-normalised.
 * Too short: 400 `auth_password_weak`; on the common-password list (built from
 * leaked password sets): 400 `auth_password_breached`; over the length limit:
 * 400 `system_invalid_input`. No message ever echoes the password.
 */
export async function checkPasswordPolicy(password: string): Promise<string> {
  const normalized = password.normalize('NFC');
  const length = [...normalized].length;
  if (length < PASSWORD_MIN_LENGTH) {
    throw new WeakPasswordError(`password: must be at least ${PASSWORD_MIN_LENGTH} characters`);
  }
  if (length > PASSWORD_MAX_LENGTH) {
    throw new InvalidInputError(`password: must be at most ${PASSWORD_MAX_LENGTH} characters`);
  }
  if (await isCommonPassword(normalized)) {
    throw new BreachedPasswordError('password: is on the list of commonly used, leaked passwords; choose another');
  }
  return normalized;
}

/** What the password routes and `credentials` on user create take (Transmit's field names). */
export interface PasswordInput {
  password: string;
  /** Transmit's temporary password. Twofold has no reset-at-next-login flow, so only `false` (or absent) is accepted. */
  force_replace?: boolean;
}

/**
 * The hash to store for a new password: refuses `force_replace: true` (Transmit
 * would make the password temporary, to be replaced at the next login; Twofold
 * has no such flow, and accepting it would silently turn a temporary password
 * into a permanent one), then checks the policy, then hashes. A refused
 * password never reaches the store.
 */
export async function newPasswordHash(input: PasswordInput, params: ScryptParams): Promise<string> {
  if (input.force_replace === true) {
    throw new InvalidInputError('force_replace: temporary passwords are not supported; every password set through the API is permanent (send false or omit it)');
  }
  return hashPassword(await checkPasswordPolicy(input.password), params);
}

/** Hashes a password (NFC-normalised) with a fresh 16-byte salt: `scrypt$N$r$p$<salt>$<hash>`. */
export async function hashPassword(password: string, params: ScryptParams): Promise<string> {
  assertParams(params);
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, KEY_BYTES, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

function parseHash(encoded: string): ParsedHash | undefined {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map((x) => (/^\d{1,10}$/.test(x!) ? Number(x) : NaN)) as [number, number, number];
  const params = { N, r, p };
  try {
    assertParams(params);
  } catch {
    return undefined;
  }
  const salt = Buffer.from(parts[4]!, 'base64url');
  const key = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 8 || key.length < 16 || key.length > 64) return undefined;
  return { params, salt, key };
}

/** The cost parameters a stored hash was made with, or undefined when it is not a hash of ours. */
export function hashParams(encoded: string): ScryptParams | undefined {
  return parseHash(encoded)?.params;
}

/**
 * Verifies a password against a stored hash with the parameters the hash
 * carries; the derived keys are compared in constant time. An unreadable hash
 * never verifies.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (!parsed) return false;
  const candidate = await scrypt(password, parsed.salt, parsed.key.length, parsed.params);
  return timingSafeEqual(candidate, parsed.key);
}

const dummyHashes = new Map<string, Promise<string>>();

/**
 * Spends the same work as verifying a real password at the current cost, for
 * unknown users and users without a password, so the answer time does not
 * reveal whether the user exists. Always false.
 */
export async function verifyDummyPassword(password: string, params: ScryptParams): Promise<false> {
  const id = `${params.N}$${params.r}$${params.p}`;
  let dummy = dummyHashes.get(id);
  if (!dummy) {
    dummy = hashPassword(randomBytes(24).toString('base64url'), params);
    dummyHashes.set(id, dummy);
    dummy.catch(() => dummyHashes.delete(id));
  }
  await verifyPassword(password, await dummy);
  return false;
}
