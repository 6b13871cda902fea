/**
 * One-time passcodes by email and SMS (contract sections 4 and 8), and the
 * code machinery that contact verification reuses (core/verification.ts).
 *
 * One record per user and channel (`otp#<user_id>#<channel>`) holds the
 * current code (keyed hash, expiry, attempts, used flag, request_id, client,
 * purpose, destination) and, surviving resends, the channel's failure window
 * and lock. Login and verification codes share this record on purpose: a
 * user+channel has one failure budget whichever endpoint is guessed at, and a
 * new send of either kind replaces the previous code.
 *
 * Every change is one conditional put on the version read. A wrong attempt is
 * written before the answer is revealed; a right one is consumed in the
 * CredentialCheck's `commit` with a put on the version read, so of two
 * concurrent right attempts exactly one wins.
 */
import {
  ConflictError,
  ForbiddenError,
  InvalidCredentialsError,
  InvalidInputError,
  LockedError,
  OtpExpiredError,
  RateLimitedError,
  UserNotFoundError,
  type TwofoldError,
} from '../errors.js';
import type { StoredRecord } from '../ports.js';
import { audited, auditLockout } from './audit.js';
import { constantTimeEqual, generateNumericCode, keyedHash, randomId } from './crypto.js';
import type { Deps } from './deps.js';
import { renderEmail, type EmailContent } from './email-template.js';
import { keys, normalizeEmail, type AuthMethod, type ClientRecord, type UserRecord } from './model.js';
import { reserveSend } from './rate-limits.js';
import { authenticate, type ClientAttributes, type CredentialCheck } from './sessions.js';
import type { TokenResponse } from './tokens.js';
import { addFailure, FAILURE_WINDOW_MS, LOCK_MS, lockRemaining, MAX_FAILURES, recentFailures } from './lockout.js';
import { findUser, modifyUser, type IdentifierType } from './users.js';

export const OTP_DIGITS = 6;
export const DEFAULT_EXPIRY_MINUTES = 5;
export const MAX_EXPIRY_MINUTES = 10;
/** Wrong tries that lock one code. */
export const MAX_CODE_ATTEMPTS = 5;
/** Failures per user and channel within the window that lock the channel (core/lockout.ts). */
export const MAX_CHANNEL_FAILURES = MAX_FAILURES;
export const CHANNEL_LOCK_MS = LOCK_MS;
export const SMS_MAX_LENGTH = 140;
/** Conditional-write retries on a contended OTP or user record. */
const MAX_WRITE_ATTEMPTS = 5;

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
  /** Wrong tries on this code. */
  attempts: number;
  used_at?: number;
}

export interface OtpRecord {
  user_id: string;
  channel: OtpChannel;
  /** Absent when no code was sent, or when the last one could not be delivered. */
  code?: OtpCode;
  /** Times (ms) of recent failures on this channel, pruned to the window. */
  failures: number[];
  locked_until?: number;
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

/** The channel lock in force at `now`, if any. */
export function activeLock(record: OtpRecord | undefined, now: number): number | undefined {
  return lockRemaining(record?.locked_until, now) > 0 ? record!.locked_until : undefined;
}

export type NewCode = Pick<OtpCode, 'id' | 'hash' | 'purpose' | 'client_id' | 'destination' | 'request_id'> & { expiresInMinutes: number };

/** The record with `code` replacing any previous one; the failure window and lock carry over. */
export function withNewCode(record: OtpRecord | undefined, userId: string, channel: OtpChannel, code: NewCode, now: number): OtpRecord {
  const next: OtpRecord = {
    user_id: userId,
    channel,
    failures: recentFailures(record?.failures ?? [], now),
    code: {
      id: code.id,
      hash: code.hash,
      purpose: code.purpose,
      client_id: code.client_id,
      destination: code.destination,
      ...(code.request_id !== undefined && { request_id: code.request_id }),
      sent_at: now,
      expires_at: now + code.expiresInMinutes * 60_000,
      attempts: 0,
    },
  };
  const lock = activeLock(record, now);
  if (lock !== undefined) next.locked_until = lock;
  return next;
}

/** The record without the code `codeId` (a failed delivery), or undefined when that code is no longer current. */
export function withoutCode(record: OtpRecord, codeId: string): OtpRecord | undefined {
  if (record.code?.id !== codeId) return undefined;
  const { code: _dropped, ...rest } = record;
  return rest;
}

/** Epoch seconds after which the table may delete the record: a day after nothing in it matters. */
export function otpRecordTtl(record: OtpRecord): number {
  const until = Math.max(record.code?.expires_at ?? 0, record.locked_until ?? 0, ...record.failures.map((t) => t + FAILURE_WINDOW_MS));
  return Math.ceil(until / 1000) + 86_400;
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

export type AttemptDecision =
  /** The channel is locked: 403 with Retry-After, nothing written. */
  | { kind: 'channel_locked'; retryAfterMs: number }
  /** No usable code for this attempt (none, used, undelivered, another client, purpose, destination or request_id): nothing compared or written. */
  | { kind: 'no_code' }
  /** The code took MAX_CODE_ATTEMPTS wrong tries: 403, nothing written. */
  | { kind: 'code_locked' }
  | { kind: 'expired' }
  /** A wrong passcode: `next` must be written before the answer is revealed. */
  | { kind: 'wrong'; next: OtpRecord; locks: 'channel' | 'code' | null }
  /** The right passcode: `next` marks the code used (the commit writes it). */
  | { kind: 'match'; next: OtpRecord };

/** Judges one attempt against the stored record at `now`. */
export function decideAttempt(record: OtpRecord | undefined, attempt: Attempt, now: number): AttemptDecision {
  const lock = activeLock(record, now);
  if (lock !== undefined) return { kind: 'channel_locked', retryAfterMs: lock - now };
  const code = record?.code;
  if (
    !record ||
    !code ||
    code.used_at !== undefined ||
    code.client_id !== attempt.client_id ||
    code.purpose !== attempt.purpose ||
    code.destination !== attempt.destination ||
    (attempt.request_id !== undefined && code.request_id !== attempt.request_id)
  ) {
    return { kind: 'no_code' };
  }
  if (code.attempts >= MAX_CODE_ATTEMPTS) return { kind: 'code_locked' };
  if (now >= code.expires_at) return { kind: 'expired' };

  if (constantTimeEqual(code.hash, attempt.passcodeHash)) {
    return { kind: 'match', next: { ...record, code: { ...code, used_at: now } } };
  }
  const { failures, lockedUntil } = addFailure(record.failures, now);
  const attempts = code.attempts + 1;
  const { locked_until: _expiredLock, ...rest } = record;
  if (lockedUntil !== undefined) {
    return { kind: 'wrong', locks: 'channel', next: { ...rest, failures, locked_until: lockedUntil, code: { ...code, attempts } } };
  }
  return { kind: 'wrong', locks: attempts >= MAX_CODE_ATTEMPTS ? 'code' : null, next: { ...rest, failures, code: { ...code, attempts } } };
}

/** The error a non-matching decision answers with. */
export function errorOf(decision: Exclude<AttemptDecision, { kind: 'match' }>): TwofoldError {
  switch (decision.kind) {
    case 'channel_locked':
      return channelLockedError(decision.retryAfterMs);
    case 'code_locked':
      return codeLockedError();
    case 'expired':
      return new OtpExpiredError();
    case 'no_code':
      return new InvalidCredentialsError();
    case 'wrong':
      if (decision.locks === 'channel') return channelLockedError(CHANNEL_LOCK_MS);
      if (decision.locks === 'code') return codeLockedError();
      return new InvalidCredentialsError();
  }
}

function channelLockedError(retryAfterMs: number): LockedError {
  return new LockedError('Too many failed passcodes for this user; try again later', retryAfterMs / 1000);
}

function codeLockedError(): LockedError {
  return new LockedError('Too many wrong tries on this passcode; request a new one');
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
export function contactOf(user: UserRecord, channel: OtpChannel): string | undefined {
  return channel === 'email' ? user.email : user.phone_number;
}

/** A user that can receive and use codes on `channel`, or undefined. */
export function reachableOn(user: UserRecord | undefined, channel: OtpChannel): user is UserRecord {
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
  user: UserRecord;
  channel: OtpChannel;
  purpose: OtpPurpose;
  expiresInMinutes: number;
  requestId?: string;
}

/**
 * Generates a code and stores its hash for the user+channel, replacing any
 * previous code. Returns the code (to deliver) and its id.
 */
export async function issueCode(deps: Deps, request: IssueRequest): Promise<{ code: string; id: string }> {
  const { user, channel } = request;
  const destination = contactOf(user, channel)!;
  const code = generateNumericCode(OTP_DIGITS);
  const id = randomId();
  const key = keys.otp(user.user_id, channel);
  for (let attempt = 1; ; attempt++) {
    const now = deps.clock.now();
    const stored = await deps.store.get<OtpRecord>(key);
    const next = withNewCode(stored?.value, user.user_id, channel, {
      id,
      hash: keyedHash(deps.hashKey, code),
      purpose: request.purpose,
      client_id: request.client.client_id,
      destination,
      ...(request.requestId !== undefined && { request_id: request.requestId }),
      expiresInMinutes: request.expiresInMinutes,
    }, now);
    try {
      await deps.store.put(key, next, { expectVersion: stored?.version ?? null, expiresAt: otpRecordTtl(next) });
      return { code, id };
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
    }
  }
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
      await deps.store.put(key, next, { expectVersion: stored.version, expiresAt: otpRecordTtl(next) });
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
export async function sendCode(deps: Deps, user: UserRecord, channel: OtpChannel, code: string, expiresInMinutes: number, content: DeliveryContent): Promise<void> {
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
}

/**
 * Checks a passcode. A wrong one is recorded (one conditional put on the
 * version read) before the error is thrown. A right one returns the user as
 * the commit will leave it (contact verified) and a commit that verifies the
 * contact and then consumes the code with a put on the version read; if the
 * code was consumed meanwhile, the commit throws auth_invalid_credentials.
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
  for (let tries = 1; ; tries++) {
    const stored = await deps.store.get<OtpRecord>(key);
    const decision = decideAttempt(stored?.value, attempt, deps.clock.now());
    if (decision.kind === 'match') {
      const now = deps.clock.now();
      const verified = withContactVerified(user, channel, attempt.destination, now);
      return {
        user: verified ?? user,
        commit: async () => {
          await markContactVerified(deps, user.user_id, channel, attempt.destination);
          await consumeCode(deps, key, attempt, stored!);
        },
      };
    }
    if (decision.kind === 'wrong') {
      try {
        await deps.store.put(key, decision.next, { expectVersion: stored!.version, expiresAt: otpRecordTtl(decision.next) });
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        if (tries < MAX_WRITE_ATTEMPTS) continue; // re-read and re-judge
        // The failure could not be recorded, so the outcome must not be revealed.
        throw new RateLimitedError('Too many concurrent attempts; retry', 1);
      }
      deps.logger.info('otp failure', { user_id: user.user_id, channel, locks: decision.locks });
      if (decision.locks) throw await auditLockout(deps, user.user_id, errorOf(decision));
    }
    throw errorOf(decision);
  }
}

/** Marks the code used with a put on the version read; on a lost race, re-reads and re-judges. */
async function consumeCode(deps: Deps, key: string, attempt: Attempt, read: StoredRecord<OtpRecord>): Promise<void> {
  let stored: StoredRecord<OtpRecord> | undefined = read;
  for (let tries = 1; ; tries++) {
    const decision = decideAttempt(stored?.value, attempt, deps.clock.now());
    if (decision.kind !== 'match') {
      // Used by a concurrent call, replaced by a resend, or locked meanwhile: never record a failure here.
      throw decision.kind === 'wrong' ? new InvalidCredentialsError() : errorOf(decision);
    }
    try {
      await deps.store.put(key, decision.next, { expectVersion: stored!.version, expiresAt: otpRecordTtl(decision.next) });
      return;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      if (tries >= MAX_WRITE_ATTEMPTS) throw new InvalidCredentialsError();
    }
    stored = await deps.store.get<OtpRecord>(key);
  }
}

/** Marks the contact verified (modifyUser: conditional put on the user's version, retried on conflict). */
export async function markContactVerified(deps: Deps, userId: string, channel: OtpChannel, destination: string): Promise<void> {
  await modifyUser(deps, userId, (user, now) => withContactVerified(user, channel, destination, now) ?? user);
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

/** A stand-in destination for the rate limit when there is no user to send to. */
function unknownDestination(type: IdentifierType, identifier: string): string {
  if (type === 'email') return normalizeEmail(identifier);
  return `${type}:${identifier.trim()}`;
}

/** `POST /cis/v1/auth/otp/send` */
export async function sendOtp(deps: Deps, client: ClientRecord, input: OtpSendInput): Promise<OtpSendResult> {
  const { channel, direct } = resolveSendChannel(input.channel, input.identifier_type, client);
  const template = input.custom_sms_input?.custom_message;
  // Validate the template up front, so bad input is refused whoever the user is.
  if (template !== undefined) renderSmsText(deps.settings.appName, '0'.repeat(OTP_DIGITS), template);
  const expiresInMinutes = Math.min(input.expires_in ?? DEFAULT_EXPIRY_MINUTES, MAX_EXPIRY_MINUTES);

  const found = (await findUser(deps, input.identifier_type, input.identifier))?.value;
  const user = reachableOn(found, channel) ? found : undefined;
  if (!user && client.reveal_unknown_users) throw new UserNotFoundError();

  await reserveSend(deps, client, user ? contactOf(user, channel)! : unknownDestination(input.identifier_type, input.identifier));
  const requestId = input.generate_request_id ? randomId() : undefined;
  const result: OtpSendResult = { message: 'OTP sent', ...(requestId !== undefined && { request_id: requestId }) };

  if (!user) {
    // Answer exactly as for a known user; a direct caller gets a code that works nowhere.
    return direct ? { ...result, code: generateNumericCode(OTP_DIGITS) } : result;
  }
  const issued = await issueCode(deps, { client, user, channel, purpose: 'login', expiresInMinutes, ...(requestId !== undefined && { requestId }) });
  deps.logger.info('otp issued', { user_id: user.user_id, channel, direct, client_id: client.client_id });
  if (direct) return { ...result, code: issued.code };
  await deliverOrRevoke(deps, user.user_id, channel, issued.id, () =>
    sendCode(deps, user, channel, issued.code, expiresInMinutes, {
      ...(input.email_content !== undefined && { emailContent: input.email_content }),
      ...(template !== undefined && { smsTemplate: template }),
    }),
  );
  return result;
}

export interface OtpAuthenticateInput {
  passcode: string;
  identifier_type: IdentifierType;
  identifier: string;
  session_id?: string;
  request_id?: string;
  client_attributes?: ClientAttributes;
}

/** `POST /cis/v1/auth/otp/authenticate` */
export async function authenticateOtp(deps: Deps, client: ClientRecord, input: OtpAuthenticateInput): Promise<TokenResponse> {
  const named = channelOfIdentifier(input.identifier_type);
  const known = { client_id: client.client_id, method: named ? AMR_OF_CHANNEL[named] : null, ip: input.client_attributes?.ip_address ?? null };
  return audited(deps, 'authentication', known, () => checkAndAuthenticateOtp(deps, client, input));
}

async function checkAndAuthenticateOtp(deps: Deps, client: ClientRecord, input: OtpAuthenticateInput): Promise<TokenResponse> {
  const found = (await findUser(deps, input.identifier_type, input.identifier))?.value;
  const user = found?.status === 'Active' ? found : undefined;
  if (!user) {
    keyedHash(deps.hashKey, input.passcode); // keep the unknown-user path about as costly
    throw new InvalidCredentialsError();
  }
  let channel = channelOfIdentifier(input.identifier_type);
  if (!channel) {
    const [email, sms] = await Promise.all([
      deps.store.get<OtpRecord>(keys.otp(user.user_id, 'email')),
      deps.store.get<OtpRecord>(keys.otp(user.user_id, 'sms')),
    ]);
    channel = pickChannel({ email: email?.value, sms: sms?.value }, client.client_id, input.request_id, deps.clock.now());
    if (!channel) throw new InvalidCredentialsError();
  }
  const otpChannel = channel;
  return authenticate(
    deps,
    {
      client,
      userId: user.user_id,
      method: AMR_OF_CHANNEL[otpChannel],
      ...(input.session_id !== undefined && { sessionId: input.session_id }),
      ...(input.client_attributes !== undefined && { clientAttributes: input.client_attributes }),
    },
    () =>
      checkCode(deps, {
        client,
        user,
        channel: otpChannel,
        purpose: 'login',
        passcode: input.passcode,
        ...(input.request_id !== undefined && { requestId: input.request_id }),
      }),
  );
}
