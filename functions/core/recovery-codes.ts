/**
 * Recovery codes (contract sections 4, 6 and 7): the stand-in for a lost
 * possession factor. A session that holds MFA generates a set of 10 codes,
 * shown once; a new set replaces the old one with one write. Each code works
 * once and authenticates as `recovery_code`, a factor class of its own, so
 * password + recovery code is MFA.
 *
 * Codes are made to be typed and read aloud: 12 characters of Crockford's
 * base32 (no I, L, O or U; 60 random bits), shown as `XXXX-XXXX-XXXX`. Input
 * is case-insensitive, separators are ignored, and the letters Crockford maps
 * (O to 0, I and L to 1) are read as those digits.
 *
 * Storage: one record per user (`recovery#codes#<user_id>`) with the keyed
 * hash of each code and when it was used. Using a code is one conditional put
 * on the version read; of two concurrent uses of one code exactly one wins,
 * and a use that read a set which was replaced meanwhile is refused.
 *
 * Every attempt is counted (core/recovery-guesses.ts) before it is judged,
 * and an unknown user, a disabled one and one without codes are answered
 * exactly as a wrong code, after the same reads, writes and comparisons.
 */
import { randomInt } from 'node:crypto';
import { ConflictError, InvalidCredentialsError, LockedError, MfaRequiredError, ServiceUnavailableError, UserNotFoundError } from '../errors.js';
import type { StoredRecord } from '../ports.js';
import { constantTimeEqual, keyedHash, randomId, sha256 } from './crypto.js';
import type { Deps } from './deps.js';
import { enrolled, openEnrolment, sessionEnded, sessionStillLive } from './factor-enrolment.js';
import { endSessionsOfRemovedFactor, keepReplacingSession } from './factor-removal.js';
import { keys, type ClientRecord, type UserRecord } from './model.js';
import { unknownSubject } from './attempts.js';
import { emitAudit } from './audit.js';
import { reserveRecoveryGuess } from './recovery-guesses.js';
import { authenticate, findUserJoining, revertOwnWrite, type ClientAttributes, type CredentialCheck } from './sessions.js';
import type { ClaimsRequest, TokenResponse } from './tokens.js';
import type { UserPrincipal } from './user-tokens.js';
import { modifyUser, type IdentifierType } from './users.js';

/** Crockford's base32: digits and letters without I, L, O and U. */
export const RECOVERY_CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** 12 characters of 5 bits: 60 random bits per code. */
export const RECOVERY_CODE_LENGTH = 12;
export const RECOVERY_CODE_GROUP = 4;
export const RECOVERY_CODES_PER_SET = 10;
/** Concurrent uses of different codes of one set contend for its record; at most the guess limit get this far. */
const MAX_WRITE_ATTEMPTS = 12;

export interface RecoveryCodeSet {
  user_id: string;
  /** A regeneration makes a new set: a use that read an earlier one is refused. */
  set_id: string;
  created_at: number;
  client_id: string;
  codes: Array<{ hash: string; used_at?: number }>;
}

export interface RecoveryCodes {
  codes: string[];
}

// ---- the code format ---------------------------------------------------------

/** A new code from the CSPRNG (`randomInt` rejects, so no modulo bias), grouped as `XXXX-XXXX-XXXX`. */
export function generateRecoveryCode(): string {
  let raw = '';
  for (let i = 0; i < RECOVERY_CODE_LENGTH; i++) raw += RECOVERY_CODE_ALPHABET[randomInt(0, RECOVERY_CODE_ALPHABET.length)];
  return raw.match(new RegExp(`.{1,${RECOVERY_CODE_GROUP}}`, 'g'))!.join('-');
}

/**
 * The canonical form of a typed code: separators (spaces, dashes, dots,
 * underscores) dropped, upper-cased, O read as 0 and I, L as 1. Undefined when
 * what remains cannot be a code.
 */
export function normalizeRecoveryCode(input: string): string | undefined {
  const canonical = input
    .replace(/[\s\p{Pd}._]/gu, '')
    .toUpperCase()
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
  if (canonical.length !== RECOVERY_CODE_LENGTH) return undefined;
  for (const c of canonical) if (!RECOVERY_CODE_ALPHABET.includes(c)) return undefined;
  return canonical;
}

/** The stored form: a keyed hash bound to the user, so a set is worthless under another user or without the key. */
function hashCode(deps: Pick<Deps, 'hashKey'>, account: string, code: string): string {
  return keyedHash(deps.hashKey, `recovery_code:${account}:${code}`);
}

/** The position of `hash` in the set, comparing every entry so the position does not show in the timing; -1 if absent. */
function indexOfCode(codes: ReadonlyArray<{ hash: string }>, hash: string): number {
  return codes.reduce((found, code, i) => (constantTimeEqual(code.hash, hash) && found < 0 ? i : found), -1);
}

/** Stand-in hashes compared when there is no set, so a user without codes costs what a user with them does. */
const NO_CODES = Array.from({ length: RECOVERY_CODES_PER_SET }, (_, i) => ({ hash: sha256(`no recovery code ${i}`) }));

function remainingOf(set: RecoveryCodeSet): number {
  return set.codes.filter((c) => c.used_at === undefined).length;
}

// ---- audit -----------------------------------------------------------------------

type RecoveryAuditEvent = 'recovery_codes_generated' | 'recovery_code_used' | 'recovery_codes_exhausted';
type AuditOutcome = 'success' | 'failure' | 'locked' | 'refused';

/** One audit event through the Audit port (docs/audit.md); never a code or a hash. */
async function audit(deps: Deps, event: RecoveryAuditEvent, fields: { user_id?: string | undefined; client_id: string; outcome: AuditOutcome; ip?: string | undefined }): Promise<void> {
  await emitAudit(deps, { event, user_id: fields.user_id ?? null, client_id: fields.client_id, method: 'recovery_code', ip: fields.ip ?? null, outcome: fields.outcome });
}

// ---- generating --------------------------------------------------------------------

/**
 * `POST /cis/v1/auth/recovery-codes` (user token): a new set of 10 codes,
 * returned only here, replacing any earlier set at once. The token's session
 * must hold MFA of two factor classes, recently, whatever the client's policy
 * (core/factor-enrolment.ts): codes stand in for a lost possession factor at
 * every client, so a set is minted only under the strictest policy, and a
 * `distinct_methods` client's same-class MFA (email OTP + magic link) mints
 * none.
 */
export async function generateRecoveryCodes(deps: Deps, principal: UserPrincipal, clientAttributes?: ClientAttributes): Promise<RecoveryCodes> {
  const { client, user } = principal;
  let gate;
  try {
    gate = await openEnrolment(deps, principal, 'recovery_code', clientAttributes);
  } catch (error) {
    if (error instanceof MfaRequiredError) await audit(deps, 'recovery_codes_generated', { user_id: user.user_id, client_id: client.client_id, outcome: 'refused' });
    throw error;
  }
  const codes = await enrolled(gate, () => storeNewSet(deps, principal));
  await audit(deps, 'recovery_codes_generated', { user_id: user.user_id, client_id: client.client_id, outcome: 'success' });
  return { codes };
}

async function storeNewSet(deps: Deps, principal: UserPrincipal): Promise<string[]> {
  const { client, user } = principal;
  const codes = new Set<string>();
  while (codes.size < RECOVERY_CODES_PER_SET) codes.add(generateRecoveryCode());
  const set: RecoveryCodeSet = {
    user_id: user.user_id,
    set_id: randomId(),
    created_at: deps.clock.now(),
    client_id: client.client_id,
    codes: [...codes].map((code) => ({ hash: hashCode(deps, user.user_id, normalizeRecoveryCode(code)!) })),
  };
  const key = keys.recoveryCodes(user.user_id);
  const { version, replaced } = await putSet(deps, key, set);
  // The set is not the user's record, so no write of the user could refuse it: ask the session now.
  if (!(await sessionStillLive(deps, principal))) {
    await putBack(deps, key, version, replaced);
    throw sessionEnded();
  }
  if (replaced) await endSessionsOfReplacedSet(deps, principal);
  return [...codes];
}

/** Writes `set` over whatever set is stored now; the version written, and the set it replaced. */
async function putSet(deps: Deps, key: string, set: RecoveryCodeSet): Promise<{ version: number; replaced: StoredRecord<RecoveryCodeSet> | undefined }> {
  for (let attempt = 1; ; attempt++) {
    const current = await deps.store.get<RecoveryCodeSet>(key);
    try {
      return { version: await deps.store.put(key, set, { expectVersion: current?.version ?? null }), replaced: current };
    } catch (error) {
      // A concurrent use or regeneration wrote first: this set still replaces whatever is there now.
      if (!(error instanceof ConflictError)) throw error;
      if (attempt >= MAX_WRITE_ATTEMPTS) throw new ServiceUnavailableError('The recovery codes are being changed by other requests; retry');
    }
  }
}

/**
 * A set replaced is a factor removed: every session proved so far ends (a
 * login that used an old code wrote its session under the credential version
 * it read before this, as its use of the code came before the new set), and
 * the session that replaced it is carried past the change.
 */
async function endSessionsOfReplacedSet(deps: Deps, principal: UserPrincipal): Promise<void> {
  const updated = await modifyUser(deps, principal.user.user_id, (current, now) => endSessionsOfRemovedFactor({ ...current, updated_at: now }));
  if (!updated) throw new UserNotFoundError();
  await keepReplacingSession(deps, principal, updated);
}

/**
 * Undoes a new set whose session ended on its way: the set it replaced
 * (or none) is put back, unless something wrote the record since (another
 * generation or a removal, which is then what stands). No one has seen the
 * new codes yet, so none of them can have been used.
 */
async function putBack(deps: Deps, key: string, writtenVersion: number, replaced: StoredRecord<RecoveryCodeSet> | undefined): Promise<void> {
  try {
    if (replaced) await deps.store.put(key, replaced.value, { expectVersion: writtenVersion });
    else await deps.store.delete(key, { expectVersion: writtenVersion });
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
  }
}

// ---- authenticating ----------------------------------------------------------------

export interface RecoveryAuthenticateInput {
  identifier_type: IdentifierType;
  identifier: string;
  code: string;
  session_id?: string;
  client_attributes?: ClientAttributes;
  max_age?: number;
  claims?: ClaimsRequest;
}

export type RecoveryTokenResponse = TokenResponse & { recovery_codes_remaining: number };

/** `POST /cis/v1/auth/recovery-codes/authenticate`: method `recovery_code`. */
export async function authenticateRecoveryCode(deps: Deps, client: ClientRecord, input: RecoveryAuthenticateInput): Promise<RecoveryTokenResponse> {
  // The session a login joins is named up front: read with the identifier's first lookup, in one request.
  const { user: read, sessionRead } = await findUserJoining(deps, input.identifier_type, input.identifier, input.session_id);
  const found = read?.value;
  const user = found?.status === 'Active' ? found : undefined;
  // An identifier naming no active user is charged as itself, so unknown users lock exactly as known ones
  // (named for a user too, so a known and an unknown identifier do the same work).
  const nobody = unknownSubject(input.identifier_type, input.identifier);
  const account = user?.user_id ?? nobody;
  let remaining = 0;
  let tokens: TokenResponse;
  try {
    tokens = await authenticate(
      deps,
      // An unknown user cannot match any session: with a session_id it is session_user_mismatch, as for any other user.
      { client, userId: user?.user_id ?? '', user: found, sessionRead, method: 'recovery_code', sessionId: input.session_id, clientAttributes: input.client_attributes, maxAge: input.max_age, claims: input.claims },
      async () => {
        await reserveRecoveryGuess(deps, account);
        return checkRecoveryCode(deps, account, user, input.code, (left) => (remaining = left));
      },
    );
  } catch (error) {
    if (error instanceof InvalidCredentialsError || error instanceof LockedError) {
      await audit(deps, 'recovery_code_used', { user_id: user?.user_id, client_id: client.client_id, outcome: error instanceof LockedError ? 'locked' : 'failure', ip: input.client_attributes?.ip_address });
    }
    throw error;
  }
  const audited = { user_id: user!.user_id, client_id: client.client_id, outcome: 'success', ip: input.client_attributes?.ip_address } as const;
  await audit(deps, 'recovery_code_used', audited);
  if (remaining === 0) await audit(deps, 'recovery_codes_exhausted', audited);
  return { ...tokens, recovery_codes_remaining: remaining };
}

/**
 * Judges a code whose guess is already counted. The same read and the same
 * comparisons happen whether or not the user exists or has codes. A right,
 * unused code is consumed by `commit`, which reports how many remain.
 */
async function checkRecoveryCode(
  deps: Deps,
  account: string,
  user: UserRecord | undefined,
  typed: string,
  onConsumed: (remaining: number) => void,
): Promise<CredentialCheck> {
  const canonical = normalizeRecoveryCode(typed);
  const hash = hashCode(deps, account, canonical ?? typed);
  const stored = await deps.store.get<RecoveryCodeSet>(keys.recoveryCodes(account));
  const index = indexOfCode(stored?.value.codes ?? NO_CODES, hash);
  if (!user || !stored || canonical === undefined || index < 0 || stored.value.codes[index]!.used_at !== undefined) {
    throw new InvalidCredentialsError();
  }
  let consumed: { version: number; index: number } | undefined;
  return {
    user,
    commit: async () => {
      const result = await consumeCode(deps, stored, hash);
      consumed = result;
      onConsumed(result.remaining);
    },
    undo: async () => {
      if (!consumed) return;
      const { index } = consumed;
      await revertOwnWrite<RecoveryCodeSet>(deps, keys.recoveryCodes(stored.value.user_id), consumed.version, (set) => ({
        ...set,
        codes: set.codes.map((c, i) => (i === index ? { hash: c.hash } : c)),
      }));
    },
  };
}

/**
 * Marks the code used with a put on the version read, and returns how many
 * codes remain. If the set changed meanwhile, re-reads and re-judges: a
 * replaced set, or the code used by a concurrent call, refuses.
 */
async function consumeCode(deps: Deps, read: StoredRecord<RecoveryCodeSet>, hash: string): Promise<{ remaining: number; version: number; index: number }> {
  const key = keys.recoveryCodes(read.value.user_id);
  let record: StoredRecord<RecoveryCodeSet> | undefined = read;
  for (let attempt = 1; ; attempt++) {
    if (!record || record.value.set_id !== read.value.set_id) throw new InvalidCredentialsError();
    const index = indexOfCode(record.value.codes, hash);
    if (index < 0 || record.value.codes[index]!.used_at !== undefined) throw new InvalidCredentialsError();
    const now = deps.clock.now();
    const next: RecoveryCodeSet = { ...record.value, codes: record.value.codes.map((c, i) => (i === index ? { ...c, used_at: now } : c)) };
    try {
      const version = await deps.store.put(key, next, { expectVersion: record.version });
      return { remaining: remainingOf(next), version, index };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      if (attempt >= MAX_WRITE_ATTEMPTS) throw new ServiceUnavailableError('The recovery codes are being changed by other requests; retry');
    }
    record = await deps.store.get<RecoveryCodeSet>(key);
  }
}
