/**
 * Sending one-time passcodes (contract sections 4, 8 and 11): a send stores
 * the code (or, for an identifier naming no reachable user, a decoy) with
 * one write, hands its delivery to the queue (core/delivery.ts) and answers.
 * The delivery sender delivers it, or drops it once expired or replaced.
 *
 * A send to a registered user and a send to nobody make the same requests:
 * the lookup (core/send-lookup.ts), the budget and the submitted
 * identifier's send log (core/rate-limits.ts guardSendRequest), one write of
 * the code or decoy record, one message on the queue (a decoy message for
 * nobody). Nothing waits on SES or SNS, so nothing needs padding.
 *
 * A failed enqueue answers 503 and leaves no usable code: the code just
 * stored is taken off its record (revokeCode) before the error is rethrown.
 */
import { ConflictError, UserNotFoundError } from '../errors.js';
import { unknownSubject } from './attempts.js';
import { generateNumericCode, keyedHash, randomId } from './crypto.js';
import { enqueueDelivery, type Delivery } from './delivery.js';
import type { Deps } from './deps.js';
import { renderEmail, type EmailContent } from './email-template.js';
import { keys, type ClientRecord, type UserRecord } from './model.js';
import {
  channelOfIdentifier,
  contactOf,
  decoyAsRecord,
  DEFAULT_EXPIRY_MINUTES,
  MAX_EXPIRY_MINUTES,
  newDecoy,
  OTP_DIGITS,
  otpRecordTtl,
  reachableOn,
  renderSmsText,
  resolveSendChannel,
  withNewCode,
  withoutCode,
  type OtpChannel,
  type OtpCode,
  type OtpPurpose,
  type OtpRecord,
} from './otp.js';
import { admitDeliveryWith, guardSendRequest, type SendGuard } from './rate-limits.js';
import { countLimited, recordSend } from './metrics.js';
import { findSendTarget } from './send-lookup.js';
import { refuseSubmittedSmsCountry, smsAllowedOn } from './sms-countries.js';
import type { ClientAttributes } from './sessions.js';
import type { IdentifierType } from './users.js';

/** Conditional-write retries on a contended OTP record. */
const MAX_WRITE_ATTEMPTS = 5;

export interface IssueRequest {
  client: ClientRecord;
  user: Pick<UserRecord, 'user_id' | 'email' | 'phone_number'>;
  channel: OtpChannel;
  purpose: OtpPurpose;
  expiresInMinutes: number;
  requestId?: string;
}

export interface IssuedCode {
  code: string;
  id: string;
  /** The code record's key. */
  key: string;
  expiresAt: number;
}

/**
 * Generates a code and stores its hash for the user+channel, replacing any
 * previous code with one unconditional write (a `direct` send: nothing is
 * delivered, so no send limit applies to the destination).
 */
export async function issueCode(deps: Deps, request: IssueRequest): Promise<IssuedCode> {
  const code = newCode(deps, request);
  await deps.store.overwrite(code.key, code.next, { expiresAt: otpRecordTtl(code.next) });
  return code.issued;
}

/**
 * issueCode for a code that will be delivered, under the destination's send
 * limits (core/rate-limits.ts admitDeliveryWith): the user and channel's send
 * log is kept on the code record, and the one write that replaces the code
 * also appends to it, refused when a limit holds. A refusal
 * (`destination_limit`) writes nothing: the previous code stays, nothing is
 * to be sent, the budget unit is given back.
 */
export async function issuePacedCode(deps: Deps, request: IssueRequest, guard: SendGuard): Promise<IssuedCode | 'destination_limit'> {
  const code = newCode(deps, request);
  const verdict = await admitDeliveryWith(
    deps,
    guard,
    (log) => deps.store.overwrite(code.key, code.next, { expiresAt: otpRecordTtl(code.next), log }),
    () => deps.store.getRecordSendLog(code.key),
  );
  return verdict === 'destination_limit' ? verdict : code.issued;
}

function newCode(deps: Deps, request: IssueRequest): { key: string; next: OtpRecord; issued: IssuedCode } {
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
  const key = keys.otp(user.user_id, channel);
  return { key, next, issued: { code, id, key, expiresAt: next.code!.expires_at } };
}

/**
 * Stores a decoy for what a send to no reachable user submitted, replacing
 * the previous one, with one unconditional write and a real code's TTL, as a
 * code is stored.
 */
export async function issueDecoy(deps: Deps, subject: string, channel: OtpChannel, code: Pick<OtpCode, 'client_id' | 'request_id'>, expiresInMinutes: number): Promise<{ expiresAt: number; code: string }> {
  const key = keys.otpDecoy(subject, channel);
  // Drawn and hashed as a real code is (newCode), so a send to nobody does the same work; the hash is not kept.
  const decoyCode = generateNumericCode(OTP_DIGITS);
  const id = randomId();
  keyedHash(deps.hashKey, decoyCode);
  const next = newDecoy(subject, channel, { ...code, id }, expiresInMinutes, deps.clock.now());
  await deps.store.overwrite(key, next, { expiresAt: otpRecordTtl(decoyAsRecord(next)) });
  return { expiresAt: next.code.expires_at, code: decoyCode };
}

/**
 * Takes the code `codeId` off the user's record (one conditional put on the
 * version read), so a code that will never be delivered cannot be used;
 * nothing when it was already replaced or is gone.
 */
export async function revokeCode(deps: Pick<Deps, 'store'>, userId: string, channel: OtpChannel, codeId: string): Promise<void> {
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

/** The message that carries `code` to `to` on `channel`. */
export function codeMessage(deps: Pick<Deps, 'settings'>, channel: OtpChannel, to: string, code: string, expiresInMinutes: number, content: DeliveryContent): Delivery['message'] {
  const appName = deps.settings.appName;
  if (channel === 'email') return { to, ...renderEmail(appName, content.emailContent, { code }, expiresInMinutes), code };
  return { to, text: renderSmsText(appName, code, content.smsTemplate), code };
}

/**
 * Hands the delivery of `issued` to the queue. If the enqueue fails, the
 * code is revoked (nothing undelivered stays usable) and the error rethrown:
 * the caller answers 503 with Retry-After.
 */
export async function enqueueCodeOrRevoke(
  deps: Deps,
  user: Pick<UserRecord, 'user_id' | 'email' | 'phone_number'>,
  channel: OtpChannel,
  issued: IssuedCode,
  expiresInMinutes: number,
  content: DeliveryContent,
): Promise<void> {
  const message = codeMessage(deps, channel, contactOf(user, channel)!, issued.code, expiresInMinutes, content);
  try {
    await enqueueDelivery(deps, { kind: 'otp', record: issued.key, code_id: issued.id, channel, expires_at: issued.expiresAt, message });
  } catch (error) {
    await revokeCode(deps, user.user_id, channel, issued.id).catch((revokeError: unknown) => {
      deps.logger.error('could not revoke an undelivered code', { user_id: user.user_id, channel, error: String(revokeError) });
    });
    throw error;
  }
}

/**
 * Enqueues a decoy: a message of the same shape as a code's (rendered the
 * same way, with a code that exists nowhere), which the sender drops. For a
 * send to nobody, and for a send a destination limit dropped.
 */
export async function enqueueDecoy(deps: Deps, channel: OtpChannel, expiresAt: number, expiresInMinutes: number, content: DeliveryContent, code = generateNumericCode(OTP_DIGITS)): Promise<void> {
  const message = codeMessage(deps, channel, '', code, expiresInMinutes, content);
  await enqueueDelivery(deps, { kind: 'decoy', channel, expires_at: expiresAt, message });
}

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
 * drop a send silently, and both make the same requests, the queue included.
 */
export async function sendOtp(deps: Deps, client: ClientRecord, input: OtpSendInput): Promise<OtpSendResult> {
  const { channel, direct } = resolveSendChannel(input.channel, input.identifier_type, client);
  const template = input.custom_sms_input?.custom_message;
  // Validate the template up front, so bad input is refused whoever the user is.
  if (template !== undefined) renderSmsText(deps.settings.appName, '0'.repeat(OTP_DIGITS), template);
  // A submitted number in a country the client does not allow: 400 before anything is read, stored or sent.
  refuseSubmittedSmsCountry(deps, client, { channel: input.channel, identifierType: input.identifier_type, phoneNumber: input.identifier });
  const expiresInMinutes = Math.min(input.expires_in ?? DEFAULT_EXPIRY_MINUTES, MAX_EXPIRY_MINUTES);
  const content: DeliveryContent = {
    ...(input.email_content !== undefined && { emailContent: input.email_content }),
    ...(template !== undefined && { smsTemplate: template }),
  };

  const found = await findSendTarget(deps, input.identifier_type, input.identifier, channelOfIdentifier(input.identifier_type) === channel);
  const reachable = reachableOn(found, channel) ? found : undefined;
  if (!reachable && client.reveal_unknown_users) throw new UserNotFoundError();
  // A stored number the caller did not submit, in a country the client does not allow: answered as a send to
  // nobody (a decoy, the same requests), so the answer never tells where the user's number is.
  const offList = reachable !== undefined && !direct && !smsAllowedOn(client, channel, reachable);
  const user = offList ? undefined : reachable;

  const guard = await guardSendRequest(deps, client, { channel, identifierType: input.identifier_type, identifier: input.identifier }, { delivering: user !== undefined && !direct }).catch(
    countLimited(deps, channel),
  );
  const requestId = input.generate_request_id ? randomId() : undefined;
  const result: OtpSendResult = { message: 'OTP sent', ...(requestId !== undefined && { request_id: requestId }) };
  // Named for a user too, so a known and an unknown identifier do the same work.
  const subject = unknownSubject(input.identifier_type, input.identifier);

  if (!user) {
    // Answer exactly as for a known user, and leave a decoy whose guesses answer as a real code's would.
    // A direct caller gets a code that works nowhere.
    const decoy = await issueDecoy(deps, subject, channel, {
      client_id: client.client_id,
      ...(requestId !== undefined && { request_id: requestId }),
    }, expiresInMinutes);
    if (direct) return { ...result, code: decoy.code };
    await enqueueDecoy(deps, channel, decoy.expiresAt, expiresInMinutes, content, decoy.code);
    if (offList && reachable) {
      deps.logger.warn('otp send dropped', { user_id: reachable.user_id, channel, reason: 'sms_country_not_allowed', client_id: client.client_id });
      recordSend(deps, { channel, outcome: 'dropped', destination: reachable.phone_number });
    } else recordSend(deps, { channel, outcome: 'unknown' });
    return result;
  }
  const request = { client, user, channel, purpose: 'login' as const, expiresInMinutes, ...(requestId !== undefined && { requestId }) };
  if (direct) {
    const issued = await issueCode(deps, request);
    deps.logger.info('otp issued', { user_id: user.user_id, channel, direct, client_id: client.client_id });
    recordSend(deps, { channel, outcome: 'direct' });
    return { ...result, code: issued.code };
  }
  // A delivery is judged by the destination's limits in the write that stores its code (issuePacedCode).
  const issued = await issuePacedCode(deps, request, guard);
  if (issued === 'destination_limit') {
    deps.logger.warn('otp send dropped', { user_id: user.user_id, channel, reason: issued, client_id: client.client_id });
    await enqueueDecoy(deps, channel, deps.clock.now() + expiresInMinutes * 60_000, expiresInMinutes, content);
    recordSend(deps, { channel, outcome: 'dropped', destination: contactOf(user, channel) });
    return result;
  }
  deps.logger.info('otp issued', { user_id: user.user_id, channel, direct, client_id: client.client_id });
  await enqueueCodeOrRevoke(deps, user, channel, issued, expiresInMinutes, content);
  recordSend(deps, { channel, outcome: 'queued', destination: contactOf(user, channel) });
  return result;
}
