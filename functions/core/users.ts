/**
 * Users (contract section 3). Users are shared by all clients of a
 * deployment; contacts and usernames are unique, claimed by lookup records
 * (`email#…`, `phone#…`, `username#…`).
 *
 * Uniqueness without transactions: a claim is written with attribute_not_exists
 * BEFORE the user record that holds the value, and released (conditional delete
 * on its version) only AFTER the user record stopped holding it. A crash in
 * between leaves a stale claim — its user is gone or holds another value — and
 * such a claim may be taken over by a conditional put on its version once it
 * is older than CLAIM_GRACE_MS (younger ones may belong to a call still in
 * flight, whose user record is not written yet).
 */
import { ConflictError, InvalidInputError, ServiceUnavailableError, UserAlreadyExistsError, UserNotFoundError } from '../errors.js';
import type { StoredRecord } from '../ports.js';
import { emitAudit } from './audit.js';
import { withCredentialsChanged } from './credential-changes.js';
import { randomId } from './crypto.js';
import type { Deps } from './deps.js';
import { keys, normalizeEmail, normalizeUsername, type ClaimRecord, type UserRecord } from './model.js';
import { newPasswordHash, type PasswordInput } from './passwords.js';

export type IdentifierType = 'email' | 'phone_number' | 'user_id' | 'username';

/** Times in the user view: epoch ms for created/updated, ISO 8601 for the rest, as upstream's `ApiUser`. */
function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

export interface UserView {
  user_id: string;
  email?: { value: string; email_verified: boolean; verified_at?: string };
  phone_number?: { value: string; phone_number_verified: boolean; verified_at?: string };
  username?: string;
  name?: UserRecord['name'];
  status: UserRecord['status'];
  status_changed_at?: string;
  created_at: number;
  updated_at: number;
}

/** The public view of a user: never a password hash, TOTP secret or counter. */
export function toUserView(user: UserRecord): UserView {
  return {
    user_id: user.user_id,
    ...(user.email !== undefined && {
      email: {
        value: user.email,
        email_verified: user.email_verified,
        ...(user.email_verified_at !== undefined && { verified_at: isoTime(user.email_verified_at) }),
      },
    }),
    ...(user.phone_number !== undefined && {
      phone_number: {
        value: user.phone_number,
        phone_number_verified: user.phone_number_verified,
        ...(user.phone_number_verified_at !== undefined && { verified_at: isoTime(user.phone_number_verified_at) }),
      },
    }),
    ...(user.username !== undefined && { username: user.username }),
    ...(user.name !== undefined && { name: user.name }),
    status: user.status,
    ...(user.status_changed_at !== undefined && { status_changed_at: isoTime(user.status_changed_at) }),
    created_at: user.created_at,
    updated_at: user.updated_at,
  };
}

const E164 = /^\+[1-9]\d{6,14}$/;

/** The claim key an identifier resolves through, or the user key itself for user_id. */
function lookupKey(type: IdentifierType, identifier: string): string {
  switch (type) {
    case 'user_id':
      return keys.user(identifier);
    case 'email':
      return keys.emailClaim(normalizeEmail(identifier));
    case 'phone_number': {
      const phone = identifier.trim();
      if (!E164.test(phone)) throw new InvalidInputError('identifier: must be an E.164 phone number such as +15551234567');
      return keys.phoneClaim(phone);
    }
    case 'username':
      return keys.usernameClaim(normalizeUsername(identifier));
  }
}

/**
 * An identifier as lookups compare it (emails and usernames trimmed and
 * lower-cased, the rest trimmed), so spellings of one name share one send
 * limit, one guess counter and one decoy.
 */
export function normalizeIdentifier(type: IdentifierType, identifier: string): string {
  if (type === 'email') return normalizeEmail(identifier);
  if (type === 'username') return normalizeUsername(identifier);
  return identifier.trim();
}

/** A user key no user ever has (user ids are never empty): read where no user is named, as a named one is read. */
export const NO_USER = keys.user('');

/**
 * Finds a user by any identifier; `undefined` when there is none. A claim
 * whose user no longer exists or no longer holds that contact is ignored.
 * A name no claim holds still reads a user record (one that cannot exist),
 * as a held name reads its user: two requests either way (one for a
 * user_id), so a name that is nobody's is not one table read quicker.
 */
export async function findUser(deps: Pick<Deps, 'store'>, type: IdentifierType, identifier: string) {
  if (type === 'user_id') return deps.store.get<UserRecord>(keys.user(identifier));
  const userId = await claimedUserId(deps, type, identifier);
  const user = await deps.store.get<UserRecord>(userId === undefined ? NO_USER : keys.user(userId));
  return userId !== undefined && user && holdsIdentifier(user.value, type, identifier) ? user : undefined;
}

/**
 * findUser, with the record at `alongside` read in the same request as its
 * first read (the claim, or the user itself for user_id): one request for two
 * reads a call knows it needs up front (the session a login joins). With
 * `likelyUserId` (the user a session id names), that user is read in the same
 * request too, and used when the claim names them; the user a claim names
 * otherwise is then read and checked as findUser does, and a name no claim
 * holds reads a user record that cannot exist, as findUser does: a known and
 * an unknown identifier make the same requests (but for a claim naming the
 * likely user, whom the caller already knows).
 */
export async function findUserAlongside<T>(
  deps: Pick<Deps, 'store'>,
  type: IdentifierType,
  identifier: string,
  alongside: string,
  likelyUserId?: string,
): Promise<{ user: StoredRecord<UserRecord> | undefined; alongside: StoredRecord<T> | undefined }> {
  const first = lookupKey(type, identifier);
  const likely = likelyUserId === undefined ? undefined : keys.user(likelyUserId);
  const read = await deps.store.getMany(likely === undefined || likely === first ? [first, alongside] : [first, alongside, likely]);
  const other = read.get(alongside) as StoredRecord<T> | undefined;
  if (type === 'user_id') return { user: read.get(first) as StoredRecord<UserRecord> | undefined, alongside: other };
  const userId = (read.get(first)?.value as ClaimRecord | undefined)?.user_id;
  const user =
    userId !== undefined && userId === likelyUserId
      ? (read.get(likely!) as StoredRecord<UserRecord> | undefined)
      : await deps.store.get<UserRecord>(userId === undefined ? NO_USER : keys.user(userId));
  return { user: userId !== undefined && user && holdsIdentifier(user.value, type, identifier) ? user : undefined, alongside: other };
}

/** What a send needs of the user a contact names: who they are, their status, and that contact. */
export type ContactHolder = Pick<UserRecord, 'user_id' | 'status' | 'email' | 'phone_number'>;

/**
 * Finds a user by an email address or phone number as a send needs them:
 * from the claim alone when it carries the user's status (stamped only while
 * the user holds the contact and is Active: see stampClaims), so the user is
 * not read; otherwise (no status, an older claim) as findUser does. Only the
 * contact named is known from a claim: a send on the other channel needs
 * findUser.
 */
export async function findContactHolder(deps: Pick<Deps, 'store'>, type: 'email' | 'phone_number', identifier: string): Promise<ContactHolder | undefined> {
  const claim = (await deps.store.get<ClaimRecord>(lookupKey(type, identifier)))?.value;
  if (!claim) return undefined;
  if (claim.status === 'Active') {
    const contact = normalizeIdentifier(type, identifier);
    return { user_id: claim.user_id, status: claim.status, ...(type === 'email' ? { email: contact } : { phone_number: contact }) };
  }
  const user = await deps.store.get<UserRecord>(keys.user(claim.user_id));
  return user && holdsIdentifier(user.value, type, identifier) ? user.value : undefined;
}

/** The user an email, phone number or username claim names, unread: findUser must still check that the user holds it. */
export async function claimedUserId(deps: Pick<Deps, 'store'>, type: Exclude<IdentifierType, 'user_id'>, identifier: string): Promise<string | undefined> {
  return (await deps.store.get<ClaimRecord>(lookupKey(type, identifier)))?.value.user_id;
}

/** Whether `user` still holds the identifier a claim named it by (a claim can outlive a change for a while). */
export function holdsIdentifier(user: UserRecord, type: IdentifierType, identifier: string): boolean {
  return (
    (type === 'user_id' && user.user_id === identifier) ||
    (type === 'email' && user.email === normalizeEmail(identifier)) ||
    (type === 'phone_number' && user.phone_number === identifier.trim()) ||
    (type === 'username' && user.username !== undefined && normalizeUsername(user.username) === normalizeUsername(identifier))
  );
}

/** Conditional-write retries before a contended user record gives up. */
const MAX_WRITE_ATTEMPTS = 5;
/** A claim younger than this may belong to a call still in flight and is never taken over. */
export const CLAIM_GRACE_MS = 5 * 60 * 1000;

/**
 * Reads the user, applies `change` (pure; may throw) and writes the result
 * with a conditional put on the version read, re-reading and re-deciding on a
 * lost race. Returns the record as written, or undefined when there is no
 * such user. When `change` returns the very record it got, nothing is written.
 */
export async function modifyUser(
  deps: Pick<Deps, 'store' | 'clock'>,
  userId: string,
  change: (user: UserRecord, now: number) => UserRecord,
  maxAttempts = MAX_WRITE_ATTEMPTS,
  read?: StoredRecord<UserRecord>,
): Promise<UserRecord | undefined> {
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) await backoff(attempt);
    // `read`: the record as this request already read it; a lost race reads afresh.
    const record = attempt === 1 && read?.value.user_id === userId ? read : await deps.store.get<UserRecord>(keys.user(userId));
    if (!record) return undefined;
    const next = change(record.value, deps.clock.now());
    if (next === record.value) return next;
    try {
      // A new password starts its guesses afresh (core/password-auth.ts counts them on this record).
      const endRun = next.password?.hash !== record.value.password?.hash;
      await deps.store.put(keys.user(userId), next, { expectVersion: record.version, ...(endRun && { endRun }) });
      return next;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      if (attempt >= maxAttempts) throw new ServiceUnavailableError('The user is being changed by other requests; retry');
    }
  }
}

/** A short random pause before retrying a lost conditional write, so contenders spread out. */
function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * Math.min(attempt, 8)));
}

// ---- unique claims -------------------------------------------------------

type ClaimKind = 'email' | 'phone_number' | 'username';
const CLAIM_KINDS: readonly ClaimKind[] = ['email', 'phone_number', 'username'];

const claimKey: Record<ClaimKind, (value: string) => string> = {
  email: keys.emailClaim,
  phone_number: keys.phoneClaim,
  username: keys.usernameClaim,
};

const claimLabel: Record<ClaimKind, string> = { email: 'email', phone_number: 'phone number', username: 'username' };

/** The normalised value the user holds for a kind of claim. */
function heldValue(user: UserRecord | undefined, kind: ClaimKind): string | undefined {
  if (!user) return undefined;
  if (kind === 'email') return user.email;
  if (kind === 'phone_number') return user.phone_number;
  return user.username === undefined ? undefined : normalizeUsername(user.username);
}

async function isClaimLive(deps: Pick<Deps, 'store'>, kind: ClaimKind, value: string, claim: ClaimRecord, now: number): Promise<boolean> {
  if (now - claim.created_at < CLAIM_GRACE_MS) return true;
  const holder = await deps.store.get<UserRecord>(keys.user(claim.user_id));
  return heldValue(holder?.value, kind) === value;
}

/**
 * Claims the unique record `key` for `userId`: a new claim is one conditional
 * put; an existing one is taken over on the version read unless `blocks`
 * says it still stands, then `refused()` is thrown. Shared by contact and
 * username claims and passkey credential IDs.
 */
export async function claimUnique(
  deps: Pick<Deps, 'store' | 'clock'>,
  key: string,
  userId: string,
  blocks: (existing: ClaimRecord, now: number) => Promise<boolean>,
  refused: () => Error,
  what: string,
): Promise<void> {
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const now = deps.clock.now();
    const claim: ClaimRecord = { user_id: userId, created_at: now };
    try {
      await deps.store.put(key, claim, { expectVersion: null });
      return;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
    const existing = await deps.store.get<ClaimRecord>(key);
    if (!existing) continue; // released meanwhile
    if (await blocks(existing.value, now)) throw refused();
    try {
      // A stale claim (or a leftover): take it over on the version read.
      await deps.store.put(key, claim, { expectVersion: existing.version });
      return;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  throw new ServiceUnavailableError(`The ${what} is being claimed by other requests; retry`);
}

/** Claims a unique value for `userId`, or throws 409 when a live claim of another user holds it. */
async function takeClaim(deps: Pick<Deps, 'store' | 'clock'>, kind: ClaimKind, value: string, userId: string): Promise<void> {
  await claimUnique(
    deps,
    claimKey[kind](value),
    userId,
    async (existing, now) => existing.user_id !== userId && (await isClaimLive(deps, kind, value, existing, now)),
    () => new UserAlreadyExistsError(`A user with this ${claimLabel[kind]} already exists`),
    claimLabel[kind],
  );
}

/**
 * Releases a claim of `userId` unless that user (still) holds the value. A
 * failure is only logged: a claim left behind is stale and can be taken over.
 */
async function releaseClaim(deps: Pick<Deps, 'store' | 'logger'>, kind: ClaimKind, value: string, userId: string): Promise<void> {
  const key = claimKey[kind](value);
  try {
    const claim = await deps.store.get<ClaimRecord>(key);
    if (!claim || claim.value.user_id !== userId) return;
    const user = await deps.store.get<UserRecord>(keys.user(userId));
    if (heldValue(user?.value, kind) === value) return;
    await deps.store.delete(key, { expectVersion: claim.version });
  } catch (error) {
    if (error instanceof ConflictError) return; // someone took it over or it changed: not ours to delete
    deps.logger.warn('claim release failed; left stale', { kind, user_id: userId, error: error instanceof Error ? error.name : String(error) });
  }
}

async function releaseClaims(deps: Pick<Deps, 'store' | 'logger'>, claims: Array<[ClaimKind, string]>, userId: string): Promise<void> {
  await Promise.all(claims.map(([kind, value]) => releaseClaim(deps, kind, value, userId)));
}

/** Takes the claims one by one; on the first failure releases those taken and rethrows. */
async function takeClaims(deps: Deps, claims: Array<[ClaimKind, string]>, userId: string): Promise<Array<[ClaimKind, string]>> {
  const taken: Array<[ClaimKind, string]> = [];
  try {
    for (const [kind, value] of claims) {
      await takeClaim(deps, kind, value, userId);
      taken.push([kind, value]);
    }
    return taken;
  } catch (error) {
    await releaseClaims(deps, taken, userId);
    throw error;
  }
}

// ---- the status a contact claim carries ----------------------------------

/**
 * Sets (`Active`) or removes the status that the claims of `userId` on
 * `held` carry, each by a conditional put on the version read (a claim
 * another user took, or one that changed meanwhile, is left alone).
 */
async function setClaimStatus(deps: Pick<Deps, 'store'>, held: Array<[ClaimKind, string]>, userId: string, status: 'Active' | undefined): Promise<void> {
  await Promise.all(
    held.map(async ([kind, value]) => {
      if (kind === 'username') return; // only contacts skip the user read (core/otp.ts sendOtp)
      const key = claimKey[kind](value);
      const claim = await deps.store.get<ClaimRecord>(key);
      if (!claim || claim.value.user_id !== userId || claim.value.status === status) return;
      const { status: _old, ...rest } = claim.value;
      try {
        await deps.store.put(key, { ...rest, ...(status && { status }) }, { expectVersion: claim.version });
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        if (status === undefined) throw new ServiceUnavailableError('The user is being changed by other requests; retry');
      }
    }),
  );
}

/**
 * Before a write that disables the user, deletes it or gives up contacts:
 * removes the status from the claims it holds, so until the write is done
 * and stamped again they send everyone to the user record. A failure throws
 * before the user is written (nothing changed that matters).
 */
async function unstampClaims(deps: Pick<Deps, 'store'>, user: UserRecord): Promise<void> {
  await setClaimStatus(deps, heldClaims(user), user.user_id, undefined);
}

/**
 * After a write that left the user Active (`written`, at `version`): stamps
 * Active on the contact claims it holds, best effort (a claim left without
 * it only costs a read). If the user changed meanwhile (a concurrent disable
 * or contact change), removes the stamp again: a claim may say Active of a
 * Disabled user only for that moment, and then a code sent on it is still
 * refused by authenticate, which reads the user.
 */
async function stampClaims(deps: Pick<Deps, 'store' | 'logger'>, written: UserRecord, version: number): Promise<void> {
  if (written.status !== 'Active') return;
  try {
    await setClaimStatus(deps, heldClaims(written), written.user_id, 'Active');
    const now = await deps.store.get<UserRecord>(keys.user(written.user_id));
    if (now?.version !== version) await setClaimStatus(deps, heldClaims(written), written.user_id, undefined);
  } catch (error) {
    deps.logger.warn('claim status not stamped', { user_id: written.user_id, error: error instanceof Error ? error.name : String(error) });
  }
}

function heldClaims(user: UserRecord): Array<[ClaimKind, string]> {
  return CLAIM_KINDS.flatMap((kind): Array<[ClaimKind, string]> => {
    const value = heldValue(user, kind);
    return value === undefined ? [] : [[kind, value]];
  });
}

// ---- lifecycle -----------------------------------------------------------

export interface UserFields {
  email?: string;
  phone_number?: string;
  username?: string;
  name?: UserRecord['name'];
}

export interface UpdateUserInput extends UserFields {
  status?: UserRecord['status'];
}

export interface CreateUserInput extends UserFields {
  credentials?: PasswordInput;
}

/** A user with no contacts, credentials or history yet. */
export function newUserRecord(userId: string, now: number): UserRecord {
  return {
    user_id: userId,
    email_verified: false,
    phone_number_verified: false,
    status: 'Active',
    created_at: now,
    updated_at: now,
  };
}

/** `POST /cis/v1/users`. */
export async function createUser(deps: Deps, input: CreateUserInput): Promise<UserView> {
  if (input.email === undefined && input.phone_number === undefined && input.username === undefined) {
    throw new InvalidInputError('at least one of email, phone_number and username is required');
  }
  // Policy and hashing first: a refused password must not hold claims even briefly.
  const passwordHash = input.credentials === undefined ? undefined : await newPasswordHash(input.credentials, deps.settings.scrypt);
  const now = deps.clock.now();
  const user = newUserRecord(randomId(), now);
  if (input.email !== undefined) user.email = normalizeEmail(input.email);
  if (input.phone_number !== undefined) user.phone_number = input.phone_number.trim();
  if (input.username !== undefined) user.username = input.username.trim();
  if (input.name !== undefined) user.name = input.name;
  if (passwordHash !== undefined) user.password = { hash: passwordHash, updated_at: now };

  const claims = CLAIM_KINDS.flatMap((kind): Array<[ClaimKind, string]> => {
    const value = heldValue(user, kind);
    return value === undefined ? [] : [[kind, value]];
  });
  const taken = await takeClaims(deps, claims, user.user_id);
  try {
    await deps.store.put(keys.user(user.user_id), user, { expectVersion: null });
  } catch (error) {
    await releaseClaims(deps, taken, user.user_id);
    throw error;
  }
  await stampClaims(deps, user, 1);
  return toUserView(user);
}

/** The get-user endpoints: the user's public view, or 404 `user_not_found`. */
export async function getUserView(deps: Pick<Deps, 'store'>, type: IdentifierType, identifier: string): Promise<UserView> {
  const user = await findUser(deps, type, identifier);
  if (!user) throw new UserNotFoundError();
  return toUserView(user.value);
}

/**
 * A status change. Disabling ends every session of the user at once, logins
 * in flight included (core/credential-changes.ts), and while disabled no
 * authentication succeeds. Re-enabling is a change too, so a login that read
 * the user before the disabling stays ended.
 */
function withStatus(user: UserRecord, status: UserRecord['status'], now: number): UserRecord {
  if (user.status === status) return user;
  return withCredentialsChanged({ ...user, status, status_changed_at: now });
}

/**
 * A verified contact replaced is a factor removed (core/mfa.ts: a verified
 * email and a verified phone are factor classes of their own): every session
 * of the user ends in the write that replaces it, logins in flight included,
 * as for any factor removal (core/factor-removal.ts). The case that matters:
 * the owner gets their number back after a SIM swap, or their address after
 * losing the mailbox, and the sessions proved with it must not outlive it.
 * An unverified contact proved nothing, so replacing it ends nothing.
 */
function endSessionsOfReplacedContact(before: UserRecord, after: UserRecord): UserRecord {
  const lost = (before.email_verified && after.email !== before.email) || (before.phone_number_verified && after.phone_number !== before.phone_number);
  return lost ? withCredentialsChanged(after) : after;
}

/**
 * `PUT /cis/v1/users/{user_id}`: changes contacts, username, name or status.
 * A changed contact becomes unverified, and a verified one replaced ends the
 * user's sessions (endSessionsOfReplacedContact). New values are claimed first
 * (409 if taken), the user is written on the version read, and only then are
 * old values released.
 */
export async function updateUser(deps: Deps, userId: string, changes: UpdateUserInput, clientId: string | null = null): Promise<UserView> {
  for (let attempt = 1; ; attempt++) {
    const record: StoredRecord<UserRecord> | undefined = await deps.store.get<UserRecord>(keys.user(userId));
    if (!record) throw new UserNotFoundError();
    const current = record.value;
    const now = deps.clock.now();
    let next: UserRecord = { ...current, updated_at: now };
    if (changes.status !== undefined) next = withStatus(next, changes.status, now);
    if (changes.email !== undefined && normalizeEmail(changes.email) !== current.email) {
      next.email = normalizeEmail(changes.email);
      next.email_verified = false;
      delete next.email_verified_at;
    }
    if (changes.phone_number !== undefined && changes.phone_number.trim() !== current.phone_number) {
      next.phone_number = changes.phone_number.trim();
      next.phone_number_verified = false;
      delete next.phone_number_verified_at;
    }
    if (changes.username !== undefined) next.username = changes.username.trim();
    if (changes.name !== undefined) next.name = changes.name;
    next = endSessionsOfReplacedContact(current, next);

    const claimed: Array<[ClaimKind, string]> = [];
    const released: Array<[ClaimKind, string]> = [];
    for (const kind of CLAIM_KINDS) {
      const before = heldValue(current, kind);
      const after = heldValue(next, kind);
      if (before === after) continue;
      if (after !== undefined) claimed.push([kind, after]);
      if (before !== undefined) released.push([kind, before]);
    }

    // A claim may say Active only of a user that holds it and is Active: remove the stamp first.
    if (next.status !== 'Active' || released.length > 0) await unstampClaims(deps, current);
    const taken = await takeClaims(deps, claimed, userId);
    let version: number;
    try {
      version = await deps.store.put(keys.user(userId), next, { expectVersion: record.version });
    } catch (error) {
      await releaseClaims(deps, taken, userId);
      if (!(error instanceof ConflictError)) throw error;
      if (attempt >= MAX_WRITE_ATTEMPTS) throw new ServiceUnavailableError('The user is being changed by other requests; retry');
      continue;
    }
    await releaseClaims(deps, released, userId);
    if (current.status !== next.status || claimed.length > 0 || released.length > 0) await stampClaims(deps, next, version);
    if (current.status === 'Active' && next.status === 'Disabled') await emitAudit(deps, { event: 'user_disabled', user_id: userId, client_id: clientId, method: null, ip: null, outcome: 'success' });
    return toUserView(next);
  }
}

/**
 * `DELETE /cis/v1/users/{user_id}`: deletes the user, then its claims. The
 * user's sessions stop working at once, since a session is live only while
 * its user exists (see isSessionLive).
 */
export async function deleteUser(deps: Deps, userId: string, clientId: string | null = null): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const record = await deps.store.get<UserRecord>(keys.user(userId));
    if (!record) throw new UserNotFoundError();
    await unstampClaims(deps, record.value); // a claim left behind must not speak for a deleted user
    try {
      await deps.store.delete(keys.user(userId), { expectVersion: record.version });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      if (attempt >= MAX_WRITE_ATTEMPTS) throw new ServiceUnavailableError('The user is being changed by other requests; retry');
      continue;
    }
    const held = CLAIM_KINDS.flatMap((kind): Array<[ClaimKind, string]> => {
      const value = heldValue(record.value, kind);
      return value === undefined ? [] : [[kind, value]];
    });
    await releaseClaims(deps, held, userId);
    await deps.store.delete(keys.recoveryCodes(userId));
    await emitAudit(deps, { event: 'user_deleted', user_id: userId, client_id: clientId, method: null, ip: null, outcome: 'success' });
    return;
  }
}
