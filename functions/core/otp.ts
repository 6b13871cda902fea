/**
 * One-time passcodes by email and SMS (contract sections 4 and 8): the code
 * records and the pure decisions about them. Sending lives in
 * core/otp-send.ts, checking in core/otp-check.ts; contact verification
 * (core/verification.ts) reuses both.
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
import { ForbiddenError, InvalidCredentialsError, InvalidInputError, LockedError, type TwofoldError } from '../errors.js';
import type { AttemptPolicy, Reservation } from './attempts.js';
import type { AuthMethod, ClientRecord, UserRecord } from './model.js';
import type { IdentifierType } from './users.js';

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

/**
 * The TTL (epoch seconds) a send log written at `now` gives the code record
 * it is kept on: the latest any write to that record at `now` could set (a
 * code of the longest life, sent now, plus a day), so the log write never
 * shortens the record's life (its code, its channel's run of attempts), and
 * the log lives at least its 15-minute window past its latest send.
 */
export function codeRecordLogTtl(now: number): number {
  return Math.ceil((now + MAX_EXPIRY_MINUTES * 60_000) / 1000) + 86_400;
}
