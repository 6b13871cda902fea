/**
 * One-time passcodes by email and SMS (contract sections 4 and 8), and the
 * code machinery that contact verification reuses (core/verification.ts).
 *
 * One record per user and channel (`otp#<user_id>#<channel>`) holds the
 * current code (keyed hash, expiry, used flag, request_id, client, purpose,
 * destination). Login and verification codes share this record on purpose: a
 * new send of either kind replaces the previous code, and both draw on one
 * failure budget per user and channel, whichever endpoint is guessed at.
 *
 * Guesses: every passcode is counted BEFORE it is compared by ONE atomic
 * conditional write on the code's own record (Store.countGuess) that counts
 * it twice: on the code (5 guesses, then the code is locked for its life; a
 * new send drops the count with the old code) and on the channel's run of
 * attempts kept on the same record (core/attempts.ts: 10, then the channel
 * is locked for 15 minutes; the run survives resends, and a 15-minute pause
 * forgets earlier failures). The write is conditioned on the code being
 * usable by this attempt and returns it, so the code is never read apart. A
 * passcode that could not be counted is never compared. A passcode with no
 * usable code to compare against (none sent, used, expired, another
 * client's) is refused without counting or comparing. A right passcode gives
 * its channel attempt back in the write that consumes the code.
 *
 * The code record is written only by sends (one unconditional write that
 * replaces the code and advances the version) and by the consume in the
 * CredentialCheck's `commit`: one conditional put on the version read
 * (which also gives the channel attempt back), so of
 * any number of concurrent right attempts exactly one wins, and none wins
 * over a resend.
 *
 * Unknown identifiers (OtpDecoy): a send that reaches no user on its channel
 * (none named, disabled, or without that contact) stores a decoy for what was
 * submitted (`otp-decoy#<unknownSubject(type, identifier)>#<channel>`: id,
 * client, request_id, sent_at, expiry; the same write and TTL as a code, a
 * resend replaces it). Guesses there run the very decision path of a
 * real code (countAndCompare) against the decoy, counted on the decoy record
 * (code and channel alike): no decoy → auth_invalid_credentials, expired →
 * auth_otp_passcode_expired, the 5th wrong guess and the 10th failure lock
 * alike; a decoy never matches.
 *
 * What remains: a decoy is keyed by the identifier as submitted, while a
 * real user's code and channel counter belong to the user. A code sent to a
 * registered user by username can be guessed at (and its channel locked) by
 * their email, user_id or phone number too; for an unknown identifier, a send
 * by one identifier leaves nothing for guesses by another. So an attacker who
 * already suspects that two identifiers name one account can confirm it
 * (send by one, guess by the other until locked). This reveals nothing about
 * an identifier on its own. Likewise, a send that a real destination's limit
 * dropped (sends under several names of one contact) keeps the previous code,
 * while a send to nobody always replaces its decoy.
 */
import {
  ConflictError,
  ForbiddenError,
  InvalidCredentialsError,
  InvalidInputError,
  LockedError,
  OtpExpiredError,
  ServiceUnavailableError,
  UserNotFoundError,
  type TwofoldError,
} from '../errors.js';
import type { AttemptCounter, StoredRecord, ValueConditions } from '../ports.js';
import { giveBackAttempt, judgeCounter, unknownSubject, type AttemptPolicy, type Reservation } from './attempts.js';
import { audited, auditLockout } from './audit.js';
import { constantTimeEqual, generateNumericCode, keyedHash, randomId } from './crypto.js';
import type { Deps } from './deps.js';
import { renderEmail, type EmailContent } from './email-template.js';
import { keys, type AuthMethod, type ClientRecord, type UserRecord } from './model.js';
import { admitDeliveryWith, guardSendRequest, type SendGuard } from './rate-limits.js';
import { countFailed, countLimited, recordSend } from './metrics.js';
import { withResponseFloor } from './send-pacing.js';
import { refuseSubmittedSmsCountry, smsAllowedOn } from './sms-countries.js';
import { authenticate, findUserJoining, revertOwnWrite, type ClientAttributes, type CredentialCheck } from './sessions.js';
import type { ClaimsRequest, TokenResponse } from './tokens.js';
import { findContactHolder, findUser, modifyUser, type IdentifierType } from './users.js';

export const OTP_DIGITS = 6;
export const DEFAULT_EXPIRY_MINUTES = 5;
export const MAX_EXPIRY_MINUTES = 10;
/** Wrong tries that lock one code. */
export const MAX_CODE_ATTEMPTS = 5;
/** Failures per user and channel that lock the channel, for CHANNEL_LOCK_MS; a pause that long forgets them. */
export const MAX_CHANNEL_FAILURES = 10;
export const CHANNEL_LOCK_MS = 15 * 60_000;
/** A code's attempts: locked for the code's life once used up (a new send makes a new code). */
export const CODE_ATTEMPTS: AttemptPolicy = { limit: MAX_CODE_ATTEMPTS };
export const CHANNEL_ATTEMPTS: AttemptPolicy = { limit: MAX_CHANNEL_FAILURES, idleMs: CHANNEL_LOCK_MS, lockMs: CHANNEL_LOCK_MS };
export const SMS_MAX_LENGTH = 140;
/** Conditional-write retries on a contended OTP or user record. */
const MAX_WRITE_ATTEMPTS = 5;
/** Rounds of counting a guess: each failed one means another attempt changed the record (counted, restarted, gave back, resent). */
const MAX_COUNT_ROUNDS = 8;

export type OtpChannel = 'email' | 'sms';
/** A login code authenticates; a verification code only verifies the contact. Neither works for the other. */
export type OtpPurpose = 'login' | 'verification';

export interface OtpCode {
  /** Identifies this code instance (a resend makes a new one). */
  id: string;
  /** keyedHash(hashKey, code) */
  hash: string;
  purpose: OtpPurpose;
  client_id: string;
  /** The email or phone number the code was sent to; it must still be the user's when used. */
  destination: string;
  request_id?: string;
  sent_at: number;
  expires_at: number;
  used_at?: number;
}

export interface OtpRecord {
  user_id: string;
  channel: OtpChannel;
  /** Absent when no code was sent, or when the last one could not be delivered. */
  code?: OtpCode;
}

/**
 * What a send to an identifier naming no reachable user leaves behind
 * (`otp-decoy#<subject>#<channel>`, subject: unknownSubject() of what was
 * submitted): the life of a code without a code. Guesses at that identifier
 * are judged against it exactly as a user's against their code (expiry,
 * request_id, client, the code's and the channel's counters), and never match.
 */
export interface OtpDecoy {
  subject: string;
  channel: OtpChannel;
  code: Pick<OtpCode, 'id' | 'client_id' | 'request_id' | 'sent_at' | 'expires_at'>;
}

export const AMR_OF_CHANNEL: Record<OtpChannel, AuthMethod> = { email: 'eotp', sms: 'sms' };

// ---- pure decisions --------------------------------------------------------

/** The channel an identifier type names, if it names one. */
export function channelOfIdentifier(type: IdentifierType): OtpChannel | undefined {
  if (type === 'email') return 'email';
  if (type === 'phone_number') return 'sms';
  return undefined;
}

/**
 * Which channel a send uses and whether the code is returned instead of sent.
 * `direct` needs the client's permission and an email or phone identifier,
 * which decides the code's channel.
 */
export function resolveSendChannel(
  channel: 'email' | 'sms' | 'direct',
  identifierType: IdentifierType,
  client: Pick<ClientRecord, 'allow_direct_delivery'>,
): { channel: OtpChannel; direct: boolean } {
  if (channel !== 'direct') return { channel, direct: false };
  if (!client.allow_direct_delivery) throw new ForbiddenError('direct delivery is not allowed for this client');
  const named = channelOfIdentifier(identifierType);
  if (!named) {
    throw new InvalidInputError('identifier_type: channel "direct" needs identifier_type "email" or "phone_number" (it decides the code\'s channel)');
  }
  return { channel: named, direct: true };
}

/**
 * The SMS text: the default, or the caller's template, which must contain
 * `{otp}` and `{app}` and be at most 140 characters once both are substituted.
 */
export function renderSmsText(appName: string, code: string, template?: string): string {
  if (template === undefined) return `${code} is your ${appName} verification code`;
  if (!template.includes('{otp}') || !template.includes('{app}')) {
    throw new InvalidInputError('custom_sms_input.custom_message: must contain {otp} and {app}');
  }
  const text = template.replaceAll('{otp}', code).replaceAll('{app}', appName);
  if (text.length > SMS_MAX_LENGTH) {
    throw new InvalidInputError(`custom_sms_input.custom_message: must be at most ${SMS_MAX_LENGTH} characters after substitution`);
  }
  return text;
}

export type NewCode = Pick<OtpCode, 'id' | 'hash' | 'purpose' | 'client_id' | 'destination' | 'request_id'> & { expiresInMinutes: number };

/** The record with `code` replacing any previous one (the channel's failures are counted apart, so they carry over). */
export function withNewCode(userId: string, channel: OtpChannel, code: NewCode, now: number): OtpRecord {
  return {
    user_id: userId,
    channel,
    code: {
      id: code.id,
      hash: code.hash,
      purpose: code.purpose,
      client_id: code.client_id,
      destination: code.destination,
      ...(code.request_id !== undefined && { request_id: code.request_id }),
      sent_at: now,
      expires_at: now + code.expiresInMinutes * 60_000,
    },
  };
}

/** The record without the code `codeId` (a failed delivery), or undefined when that code is no longer current. */
export function withoutCode(record: OtpRecord, codeId: string): OtpRecord | undefined {
  if (record.code?.id !== codeId) return undefined;
  const { code: _dropped, ...rest } = record;
  return rest;
}

/** A decoy replaced by a new send (a resend replaces it, as a code is replaced). */
export function newDecoy(subject: string, channel: OtpChannel, code: Pick<OtpCode, 'id' | 'client_id' | 'request_id'>, expiresInMinutes: number, now: number): OtpDecoy {
  return {
    subject,
    channel,
    code: {
      id: code.id,
      client_id: code.client_id,
      ...(code.request_id !== undefined && { request_id: code.request_id }),
      sent_at: now,
      expires_at: now + expiresInMinutes * 60_000,
    },
  };
}

/**
 * The decoy as the code record the decisions read: a login code to no
 * destination whose hash no passcode has (a keyed hash is 43 base64url
 * characters; this is not one), so the comparison runs and fails.
 */
export function decoyAsRecord(decoy: OtpDecoy): OtpRecord {
  return { user_id: decoy.subject, channel: decoy.channel, code: { ...decoy.code, hash: '!decoy', purpose: 'login', destination: '' } };
}

/** Epoch seconds after which the table may delete the record (or a code's attempt counter): a day after its code expired. */
export function otpRecordTtl(record: OtpRecord): number {
  return Math.ceil((record.code?.expires_at ?? 0) / 1000) + 86_400;
}

export interface Attempt {
  /** keyedHash(hashKey, passcode) */
  passcodeHash: string;
  purpose: OtpPurpose;
  client_id: string;
  /** The contact the code must have been sent to (the user's current one). */
  destination: string;
  request_id?: string;
}

/**
 * The code an attempt would be compared against, judged without comparing:
 * `no_code` when there is none it may use (none sent, used, undelivered,
 * another client's, purpose, destination or request_id), `expired` from its
 * expiry instant on. Neither is counted: nothing is compared.
 */
export function usableCode(record: OtpRecord | undefined, attempt: Omit<Attempt, 'passcodeHash'>, now: number): OtpCode | 'no_code' | 'expired' {
  const code = record?.code;
  if (
    !code ||
    code.used_at !== undefined ||
    code.client_id !== attempt.client_id ||
    code.purpose !== attempt.purpose ||
    code.destination !== attempt.destination ||
    (attempt.request_id !== undefined && code.request_id !== attempt.request_id)
  ) {
    return 'no_code';
  }
  if (now >= code.expires_at) return 'expired';
  return code;
}

export function channelLockedError(retryAfterMs: number): LockedError {
  return new LockedError('Too many failed passcodes for this user; try again later', retryAfterMs / 1000);
}

export function codeLockedError(): LockedError {
  return new LockedError('Too many wrong tries on this passcode; request a new one');
}

/**
 * The answer to a counted passcode that proved wrong: locked when it used up
 * the channel's or the code's last attempt, else auth_invalid_credentials.
 */
export function wrongPasscodeError(onCode: Reservation, onChannel: Reservation): TwofoldError {
  if (onChannel.reserved && onChannel.reachedLimit) return channelLockedError(CHANNEL_LOCK_MS);
  if (onCode.reserved && onCode.reachedLimit) return codeLockedError();
  return new InvalidCredentialsError();
}

/**
 * For user_id / username identifiers: the channel whose code carries
 * `requestId`, or else the channel of the most recently sent code this client
 * could still use (an unexpired one preferred).
 */
export function pickChannel(
  records: Partial<Record<OtpChannel, OtpRecord>>,
  clientId: string,
  requestId: string | undefined,
  now: number,
): OtpChannel | undefined {
  const candidates = (['email', 'sms'] as const)
    .map((channel) => ({ channel, code: records[channel]?.code }))
    .filter((c): c is { channel: OtpChannel; code: OtpCode } => c.code !== undefined && c.code.client_id === clientId && c.code.purpose === 'login');
  if (requestId !== undefined) return candidates.find((c) => c.code.request_id === requestId)?.channel;
  const unused = candidates.filter((c) => c.code.used_at === undefined);
  const live = unused.filter((c) => c.code.expires_at > now);
  const pool = live.length > 0 ? live : unused;
  return pool.sort((a, b) => b.code.sent_at - a.code.sent_at)[0]?.channel;
}

/** The user's current contact on a channel. */
export function contactOf(user: Pick<UserRecord, 'email' | 'phone_number'>, channel: OtpChannel): string | undefined {
  return channel === 'email' ? user.email : user.phone_number;
}

/** A user that can receive and use codes on `channel`, or undefined. */
export function reachableOn<U extends Pick<UserRecord, 'status' | 'email' | 'phone_number'>>(user: U | undefined, channel: OtpChannel): user is U {
  return user !== undefined && user.status === 'Active' && contactOf(user, channel) !== undefined;
}

/**
 * The user with the contact `destination` marked verified, or undefined when
 * there is nothing to change (already verified, or the contact changed since).
 */
export function withContactVerified(user: UserRecord, channel: OtpChannel, destination: string, now: number): UserRecord | undefined {
  if (contactOf(user, channel) !== destination) return undefined;
  if (channel === 'email') {
    if (user.email_verified) return undefined;
    return { ...user, email_verified: true, email_verified_at: now, updated_at: now };
  }
  if (user.phone_number_verified) return undefined;
  return { ...user, phone_number_verified: true, phone_number_verified_at: now, updated_at: now };
}

// ---- issuing and delivering codes ------------------------------------------

export interface IssueRequest {
  client: ClientRecord;
  user: Pick<UserRecord, 'user_id' | 'email' | 'phone_number'>;
  channel: OtpChannel;
  purpose: OtpPurpose;
  expiresInMinutes: number;
  requestId?: string;
}

/**
 * Generates a code and stores its hash for the user+channel, replacing any
 * previous code with one unconditional write. Returns the code (to deliver)
 * and its id.
 */
export async function issueCode(deps: Deps, request: IssueRequest): Promise<{ code: string; id: string }> {
  const code = newCode(deps, request);
  await deps.store.overwrite(code.key, code.next, { expiresAt: otpRecordTtl(code.next) });
  return { code: code.code, id: code.id };
}

/**
 * issueCode for a code that will be delivered, under the destination's send
 * limits (core/rate-limits.ts admitDeliveryWith): the user and channel's send
 * log is kept on the code record, and the one write that replaces the code
 * also appends to it, refused when a limit holds. A refusal
 * (`destination_limit`) writes nothing: the previous code stays, nothing is
 * to be sent, the budget unit is given back.
 */
export async function issuePacedCode(deps: Deps, request: IssueRequest, guard: SendGuard): Promise<{ code: string; id: string } | 'destination_limit'> {
  const code = newCode(deps, request);
  const verdict = await admitDeliveryWith(
    deps,
    guard,
    (log) => deps.store.overwrite(code.key, code.next, { expiresAt: otpRecordTtl(code.next), log }),
    () => deps.store.getRecordSendLog(code.key),
  );
  return verdict === 'destination_limit' ? verdict : { code: code.code, id: code.id };
}

function newCode(deps: Deps, request: IssueRequest): { key: string; next: OtpRecord; code: string; id: string } {
  const { user, channel } = request;
  const destination = contactOf(user, channel)!;
  const code = generateNumericCode(OTP_DIGITS);
  const id = randomId();
  const next = withNewCode(user.user_id, channel, {
    id,
    hash: keyedHash(deps.hashKey, code),
    purpose: request.purpose,
    client_id: request.client.client_id,
    destination,
    ...(request.requestId !== undefined && { request_id: request.requestId }),
    expiresInMinutes: request.expiresInMinutes,
  }, deps.clock.now());
  // The new code replaces whatever the record held, unread; a consume of the old code then loses on its version.
  return { key: keys.otp(user.user_id, channel), next, code, id };
}

/**
 * Stores a decoy for what a send to no reachable user submitted, replacing
 * the previous one, with one unconditional write and a real code's TTL, as a
 * code is stored.
 */
export async function issueDecoy(deps: Deps, subject: string, channel: OtpChannel, code: Pick<OtpCode, 'client_id' | 'request_id'>, expiresInMinutes: number): Promise<void> {
  const key = keys.otpDecoy(subject, channel);
  const next = newDecoy(subject, channel, { ...code, id: randomId() }, expiresInMinutes, deps.clock.now());
  await deps.store.overwrite(key, next, { expiresAt: otpRecordTtl(decoyAsRecord(next)) });
}

/**
 * Runs `send`; if it throws, the stored code `codeId` is removed (one
 * conditional put on the version read) so nothing half-sent can be used,
 * and the error is rethrown.
 */
export async function deliverOrRevoke(
  deps: Deps,
  userId: string,
  channel: OtpChannel,
  codeId: string,
  send: () => Promise<void>,
): Promise<void> {
  try {
    await send();
  } catch (error) {
    await revokeCode(deps, userId, channel, codeId).catch((revokeError: unknown) => {
      deps.logger.error('could not revoke an undelivered code', { user_id: userId, channel, error: String(revokeError) });
    });
    throw error;
  }
}

async function revokeCode(deps: Deps, userId: string, channel: OtpChannel, codeId: string): Promise<void> {
  const key = keys.otp(userId, channel);
  for (let attempt = 1; ; attempt++) {
    const stored = await deps.store.get<OtpRecord>(key);
    const next = stored && withoutCode(stored.value, codeId);
    if (!stored || !next) return; // already replaced or gone
    try {
      // The old code's TTL: the record keeps the channel's run of attempts, which must outlive the code.
      await deps.store.put(key, next, { expectVersion: stored.version, expiresAt: otpRecordTtl(stored.value) });
      return;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
    }
  }
}

export interface DeliveryContent {
  emailContent?: EmailContent;
  smsTemplate?: string;
}

/** Sends `code` to the user's contact on `channel`. */
export async function sendCode(deps: Deps, user: Pick<UserRecord, 'email' | 'phone_number'>, channel: OtpChannel, code: string, expiresInMinutes: number, content: DeliveryContent): Promise<void> {
  const appName = deps.settings.appName;
  if (channel === 'email') {
    const rendered = renderEmail(appName, content.emailContent, { code }, expiresInMinutes);
    await deps.mailer.sendEmail({ to: user.email!, ...rendered, code });
  } else {
    await deps.sms.sendSms({ to: user.phone_number!, text: renderSmsText(appName, code, content.smsTemplate), code });
  }
}

// ---- checking codes ---------------------------------------------------------

export interface CheckRequest {
  client: ClientRecord;
  user: UserRecord;
  channel: OtpChannel;
  purpose: OtpPurpose;
  passcode: string;
  requestId?: string;
  /** The user's record as this request read it (with its version), to write without reading it again. */
  read?: StoredRecord<UserRecord> | undefined;
}

/**
 * Counts the passcode on its code and its channel (refusing it uncompared if
 * either limit holds), then compares it. A wrong one is refused. A right one
 * returns the user as the commit will leave it (contact verified) and a
 * commit that verifies the contact, consumes the code with a put on the
 * version read (auth_invalid_credentials if a concurrent use won) and gives
 * the channel attempt back.
 */
export async function checkCode(deps: Deps, request: CheckRequest): Promise<CredentialCheck> {
  const { user, channel } = request;
  const key = keys.otp(user.user_id, channel);
  const attempt: Attempt = {
    passcodeHash: keyedHash(deps.hashKey, request.passcode),
    purpose: request.purpose,
    client_id: request.client.client_id,
    destination: contactOf(user, channel) ?? '',
    ...(request.requestId !== undefined && { request_id: request.requestId }),
  };
  const { stored, code, onCode, onChannel } = await countAndCompare<OtpRecord>(deps, key, (record) => record, attempt, { subject: user.user_id, channel, userId: user.user_id });
  const verified = withContactVerified(user, channel, attempt.destination, deps.clock.now());
  let consumedVersion: number | undefined;
  return {
    user: verified ?? user,
    commit: async () => {
      try {
        await markContactVerified(deps, user.user_id, channel, attempt.destination, request.read);
      } catch (error) {
        await giveBackAttempt(deps, onChannel); // the passcode was right
        throw error;
      }
      consumedVersion = await consumeCode(deps, key, code.id, stored, onChannel);
    },
    release: async () => {
      // Two writes on one record, one after the other: a given-back guess and the channel attempt.
      await giveBackGuess(deps, onCode);
      await giveBackAttempt(deps, onChannel);
    },
    undo: async () => {
      if (consumedVersion === undefined) return;
      await revertOwnWrite<OtpRecord>(deps, key, consumedVersion, (record) => {
        if (record.code?.id !== code.id) return record;
        const { used_at: _used, ...unused } = record.code;
        return { ...record, code: unused };
      });
    },
  };
}

/** A guess counted at the code held by the record `key` at `version` (Store.countGuess). */
interface CodeGuess {
  key: string;
  version: number;
  count: number;
}

/** Gives back a guess at a code that proved right or was never compared; best effort, as giveBackAttempt. */
async function giveBackGuess(deps: Deps, guess: CodeGuess): Promise<void> {
  await deps.store.uncountGuess(guess.key, guess.version).catch((error: unknown) => {
    deps.logger.warn('could not give back a counted guess', { error: error instanceof Error ? error.name : String(error) });
  });
}

/** What a record holding a usable code for `attempt` at `now` meets: the conditions of usableCode, for Store.countGuess. */
function usableWhere(attempt: Omit<Attempt, 'passcodeHash'>, now: number, decoy: boolean): ValueConditions {
  return {
    equal: {
      'code.client_id': attempt.client_id,
      // A decoy stands for a login code to no destination (decoyAsRecord): nothing to compare there.
      ...(!decoy && { 'code.purpose': attempt.purpose, 'code.destination': attempt.destination }),
      ...(attempt.request_id !== undefined && { 'code.request_id': attempt.request_id }),
    },
    absent: ['code.used_at'],
    above: { 'code.expires_at': now },
  };
}

/**
 * The one decision path of a passcode guess, for a user's code and for a
 * decoy alike: no usable code → auth_invalid_credentials, expired →
 * auth_otp_passcode_expired, both uncounted; else ONE conditional write on
 * the code's record counts the guess on the code and on the channel's run
 * kept there, and returns the code (never read apart); when either limit
 * holds it counts nothing and the guess is refused uncompared. Then it is
 * compared. A wrong passcode throws;
 * a right one returns the record as counted, the code and its reservations
 * (a decoy's never is).
 */
async function countAndCompare<V>(
  deps: Deps,
  key: string,
  asRecord: (value: V) => OtpRecord,
  attempt: Attempt,
  on: { subject: string; channel: OtpChannel; userId?: string },
): Promise<{ stored: StoredRecord<V>; code: OtpCode; onCode: CodeGuess; onChannel: Reservation }> {
  const decoy = on.userId === undefined;
  let counted: StoredRecord<V> | undefined;
  let restart: { seen: AttemptCounter | undefined } | undefined;
  let now = deps.clock.now();
  for (let round = 1; !counted; round++) {
    if (round > MAX_COUNT_ROUNDS) throw new ServiceUnavailableError('Too many concurrent attempts; retry'); // not counted, not compared
    now = deps.clock.now();
    counted = await deps.store.countGuess<V>(key, {
      limit: MAX_CODE_ATTEMPTS,
      where: usableWhere(attempt, now, decoy),
      run: {
        limit: CHANNEL_ATTEMPTS.limit,
        lastAfter: now - CHANNEL_ATTEMPTS.idleMs!,
        now,
        startRun: randomId(),
        ...(restart && { restart }),
      },
    });
    if (counted) break;
    // Not counted: read once to say why. Nothing was compared.
    const seen = await deps.store.get<V>(key);
    const code = usableCode(seen && asRecord(seen.value), attempt, now);
    if (code === 'no_code') throw new InvalidCredentialsError();
    if (code === 'expired') throw new OtpExpiredError();
    if ((seen!.guesses ?? 0) >= MAX_CODE_ATTEMPTS) throw codeLockedError();
    const verdict = judgeCounter(seen!.attempts, CHANNEL_ATTEMPTS, now);
    if (verdict.kind === 'locked') throw channelLockedError(verdict.retryAfterMs ?? CHANNEL_LOCK_MS);
    // A lapsed or unlocked run: the next write starts a new one, won by one of any concurrent starters.
    // A live one: the record changed between the write and the read (a resend, another guess); count again.
    restart = verdict.kind === 'restart' ? { seen: seen!.attempts } : undefined;
  }
  const run = counted.attempts!;
  const onCode: CodeGuess = { key, version: counted.version, count: counted.guesses ?? 0 };
  const onChannel: Reservation = { reserved: true, key, run: run.run, count: run.count, reachedLimit: run.count >= CHANNEL_ATTEMPTS.limit };
  const code = usableCode(asRecord(counted.value), attempt, now) as OtpCode; // what the write's condition held at `now`

  if (!constantTimeEqual(code.hash, attempt.passcodeHash)) {
    const error = wrongPasscodeError({ reserved: true, key, run: String(onCode.version), count: onCode.count, reachedLimit: onCode.count >= MAX_CODE_ATTEMPTS }, onChannel);
    const locked = error instanceof LockedError;
    deps.logger.info('otp failure', { user_id: on.userId ?? null, channel: on.channel, locked });
    throw locked && on.userId !== undefined ? await auditLockout(deps, on.userId, error) : error;
  }
  return { stored: counted, code, onCode, onChannel };
}

/**
 * Judges a guess at an identifier naming no reachable user against the decoy
 * its sends left, on the same path as a user's code: the same answers, the
 * same counters, the same reads; it never matches.
 */
async function checkDecoy(deps: Deps, request: { client: ClientRecord; subject: string; channel: OtpChannel; passcode: string; requestId?: string }): Promise<never> {
  const attempt: Attempt = {
    passcodeHash: keyedHash(deps.hashKey, request.passcode),
    purpose: 'login',
    client_id: request.client.client_id,
    destination: '',
    ...(request.requestId !== undefined && { request_id: request.requestId }),
  };
  await countAndCompare<OtpDecoy>(deps, keys.otpDecoy(request.subject, request.channel), decoyAsRecord, attempt, { subject: request.subject, channel: request.channel });
  throw new InvalidCredentialsError(); // unreachable: no passcode hashes to a decoy's hash
}

/**
 * Marks the code `codeId` used with a put on the version read that also gives
 * back the channel attempt `onChannel` (the passcode was right). On a lost
 * race, re-reads: used or replaced meanwhile refuses. Whenever that one write
 * did not give the attempt back (a lost race, a failure), it is given back
 * on its own: the passcode was right, even if a concurrent use of it won.
 */
async function consumeCode(deps: Deps, key: string, codeId: string, read: StoredRecord<OtpRecord>, onChannel: Reservation): Promise<number> {
  let stored: StoredRecord<OtpRecord> | undefined = read;
  // Only the first write carries the give-back: a race means other attempts changed the record.
  let giveBack = onChannel.reserved ? { run: onChannel.run, only: onChannel.count === 1 } : undefined;
  let givenBack = false;
  try {
    for (let tries = 1; ; tries++) {
      const code = stored?.value.code;
      if (!stored || !code || code.id !== codeId || code.used_at !== undefined) throw new InvalidCredentialsError();
      const now = deps.clock.now();
      if (now >= code.expires_at) throw new OtpExpiredError();
      const next: OtpRecord = { ...stored.value, code: { ...code, used_at: now } };
      try {
        const version = await deps.store.put(key, next, { expectVersion: stored.version, expiresAt: otpRecordTtl(next), ...(giveBack && { giveBack }) });
        givenBack = giveBack !== undefined;
        return version;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        if (tries >= MAX_WRITE_ATTEMPTS) throw new InvalidCredentialsError();
      }
      giveBack = undefined;
      stored = await deps.store.get<OtpRecord>(key);
    }
  } finally {
    if (!givenBack) await giveBackAttempt(deps, onChannel);
  }
}

/** Marks the contact verified (modifyUser: conditional put on the user's version, retried on conflict). */
export async function markContactVerified(deps: Deps, userId: string, channel: OtpChannel, destination: string, read?: StoredRecord<UserRecord>): Promise<void> {
  await modifyUser(deps, userId, (user, now) => withContactVerified(user, channel, destination, now) ?? user, undefined, read);
}

// ---- the endpoints ----------------------------------------------------------

export interface OtpSendInput {
  channel: 'email' | 'sms' | 'direct';
  identifier_type: IdentifierType;
  identifier: string;
  expires_in?: number;
  email_content?: EmailContent;
  custom_sms_input?: { custom_message: string };
  client_attributes?: ClientAttributes;
  generate_request_id?: boolean;
}

export interface OtpSendResult {
  message: 'OTP sent';
  request_id?: string;
  code?: string;
}

/**
 * `POST /cis/v1/auth/otp/send`. Known and unknown identifiers are answered
 * alike in every observable way: the 429s depend only on what was submitted
 * (core/rate-limits.ts guardSendRequest), the limits on the real destination
 * drop a send silently, and every answer takes the client's response floor
 * (core/send-pacing.ts).
 */
export async function sendOtp(deps: Deps, client: ClientRecord, input: OtpSendInput): Promise<OtpSendResult> {
  const { channel, direct } = resolveSendChannel(input.channel, input.identifier_type, client);
  const template = input.custom_sms_input?.custom_message;
  // Validate the template up front, so bad input is refused whoever the user is.
  if (template !== undefined) renderSmsText(deps.settings.appName, '0'.repeat(OTP_DIGITS), template);
  refuseSubmittedSmsCountry(deps, client, { channel: input.channel, identifierType: input.identifier_type, phoneNumber: input.identifier });
  const expiresInMinutes = Math.min(input.expires_in ?? DEFAULT_EXPIRY_MINUTES, MAX_EXPIRY_MINUTES);

  return withResponseFloor(deps, client, 'otp/send', async () => {
    // By the channel's own contact, its claim can stand for the user (no user read); by any other name, the user is read.
    const found =
      channelOfIdentifier(input.identifier_type) === channel
        ? await findContactHolder(deps, input.identifier_type as 'email' | 'phone_number', input.identifier)
        : (await findUser(deps, input.identifier_type, input.identifier))?.value;
    const user = reachableOn(found, channel) ? found : undefined;
    if (!user && client.reveal_unknown_users) throw new UserNotFoundError();
    // A stored number the caller did not submit, in a country the client does not allow: dropped silently below.
    const offList = user !== undefined && !direct && !smsAllowedOn(client, channel, user);

    const guard = await guardSendRequest(deps, client, { channel, identifierType: input.identifier_type, identifier: input.identifier }, { delivering: user !== undefined && !direct && !offList }).catch(countLimited(deps, channel));
    const requestId = input.generate_request_id ? randomId() : undefined;
    const result: OtpSendResult = { message: 'OTP sent', ...(requestId !== undefined && { request_id: requestId }) };

    if (!user) {
      // Answer exactly as for a known user, and leave a decoy whose guesses answer as a real code's would.
      // A direct caller gets a code that works nowhere.
      await issueDecoy(deps, unknownSubject(input.identifier_type, input.identifier), channel, {
        client_id: client.client_id,
        ...(requestId !== undefined && { request_id: requestId }),
      }, expiresInMinutes);
      recordSend(deps, { channel, outcome: 'unknown' });
      return direct ? { ...result, code: generateNumericCode(OTP_DIGITS) } : result;
    }
    if (offList) {
      deps.logger.warn('otp send dropped', { user_id: user.user_id, channel, reason: 'sms_country_not_allowed', client_id: client.client_id });
      recordSend(deps, { channel, outcome: 'dropped', destination: user.phone_number });
      return result;
    }
    const request = { client, user, channel, purpose: 'login' as const, expiresInMinutes, ...(requestId !== undefined && { requestId }) };
    // A delivery is judged by the destination's limits in the write that stores its code (issuePacedCode).
    const issued = direct ? await issueCode(deps, request) : await issuePacedCode(deps, request, guard);
    if (issued === 'destination_limit') {
      deps.logger.warn('otp send dropped', { user_id: user.user_id, channel, reason: issued, client_id: client.client_id });
      recordSend(deps, { channel, outcome: 'dropped', destination: contactOf(user, channel) });
      return result;
    }
    deps.logger.info('otp issued', { user_id: user.user_id, channel, direct, client_id: client.client_id });
    if (direct) {
      recordSend(deps, { channel, outcome: 'direct' });
      return { ...result, code: issued.code };
    }
    await deliverOrRevoke(deps, user.user_id, channel, issued.id, () =>
      sendCode(deps, user, channel, issued.code, expiresInMinutes, {
        ...(input.email_content !== undefined && { emailContent: input.email_content }),
        ...(template !== undefined && { smsTemplate: template }),
      }),
    ).catch(countFailed(deps, channel, contactOf(user, channel)));
    recordSend(deps, { channel, outcome: 'delivered', destination: contactOf(user, channel) });
    return result;
  });
}

export interface OtpAuthenticateInput {
  passcode: string;
  identifier_type: IdentifierType;
  identifier: string;
  session_id?: string;
  request_id?: string;
  client_attributes?: ClientAttributes;
  /** OIDC `max_age` in seconds: older authentications are left out of this response's `amr`, `amr_at` and `mfa`. */
  max_age?: number;
  claims?: ClaimsRequest;
}

/**
 * `POST /cis/v1/auth/otp/authenticate`. The session (if any) is checked
 * before anything else is judged: a user the session does not belong to,
 * known or not, is session_user_mismatch alike. An unknown or disabled user,
 * or one with no code to use, then gets auth_invalid_credentials.
 */
export async function authenticateOtp(deps: Deps, client: ClientRecord, input: OtpAuthenticateInput): Promise<TokenResponse> {
  const named = channelOfIdentifier(input.identifier_type);
  const known = { client_id: client.client_id, method: named ? AMR_OF_CHANNEL[named] : null, ip: input.client_attributes?.ip_address ?? null };
  return audited(deps, 'authentication', known, () => checkAndAuthenticateOtp(deps, client, input));
}

async function checkAndAuthenticateOtp(deps: Deps, client: ClientRecord, input: OtpAuthenticateInput): Promise<TokenResponse> {
  // The session a login joins is named up front: read with the identifier's claim, in one request.
  const { user: read, sessionRead } = await findUserJoining(deps, input.identifier_type, input.identifier, input.session_id);
  const found = read?.value;
  const user = found?.status === 'Active' ? found : undefined;
  // Where no user can receive codes on a channel (none named, disabled, or without that contact), sends left a
  // decoy for what was submitted instead: guesses there are judged against it, as a user's against their code.
  const subject = unknownSubject(input.identifier_type, input.identifier);
  const real = (on: OtpChannel) => reachableOn(user, on);
  let channel = channelOfIdentifier(input.identifier_type);
  if (!channel) {
    const read = async (on: OtpChannel): Promise<OtpRecord | undefined> => {
      if (real(on)) return (await deps.store.get<OtpRecord>(keys.otp(user!.user_id, on)))?.value;
      const decoy = await deps.store.get<OtpDecoy>(keys.otpDecoy(subject, on));
      return decoy && decoyAsRecord(decoy.value);
    };
    const [email, sms] = await Promise.all([read('email'), read('sms')]);
    channel = pickChannel({ email, sms }, client.client_id, input.request_id, deps.clock.now());
  }
  const otpChannel = channel;
  return authenticate(
    deps,
    {
      client,
      // An unknown user cannot match any session: with a session_id it is session_user_mismatch, as for any other user.
      userId: found?.user_id ?? '',
      user: found,
      // Without a channel the check below refuses, so the method is never recorded.
      method: AMR_OF_CHANNEL[otpChannel ?? 'email'],
      ...(input.session_id !== undefined && { sessionId: input.session_id, sessionRead }),
      ...(input.client_attributes !== undefined && { clientAttributes: input.client_attributes }),
      maxAge: input.max_age,
      ...(input.claims !== undefined && { claims: input.claims }),
    },
    async () => {
      if (!otpChannel) {
        keyedHash(deps.hashKey, input.passcode); // keep the no-code path about as costly
        throw new InvalidCredentialsError();
      }
      if (!real(otpChannel)) {
        return checkDecoy(deps, {
          client,
          subject,
          channel: otpChannel,
          passcode: input.passcode,
          ...(input.request_id !== undefined && { requestId: input.request_id }),
        });
      }
      return checkCode(deps, {
        client,
        user: user!,
        channel: otpChannel,
        purpose: 'login',
        passcode: input.passcode,
        ...(input.request_id !== undefined && { requestId: input.request_id }),
        read,
      });
    },
  );
}
