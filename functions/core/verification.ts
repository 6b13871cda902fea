/**
 * Contact verification (contract section 3): send a code to the user's
 * current email or phone, then check it to mark the contact verified. No
 * session and no tokens.
 *
 * Codes live in the same per-user+channel OTP record as login codes (with
 * purpose `verification`), so both share one failure window and lock, and a
 * new send of either kind replaces the previous code. A verification code
 * never logs in, and a login code never verifies through these endpoints
 * (a successful OTP login verifies the contact by itself).
 */
import { ContactMismatchError, UserNotFoundError } from '../errors.js';
import { audited } from './audit.js';
import type { Deps } from './deps.js';
import { keys, normalizeEmail, type ClientRecord, type UserRecord } from './model.js';
import { contactOf, DEFAULT_EXPIRY_MINUTES, type OtpChannel } from './otp.js';
import { checkCode } from './otp-check.js';
import { enqueueCodeOrRevoke, issuePacedCode } from './otp-send.js';
import { countLimited, recordSend } from './metrics.js';
import { guardSendRequest } from './rate-limits.js';
import { refuseSubmittedSmsCountry } from './sms-countries.js';

const LABEL: Record<OtpChannel, string> = { email: 'email address', sms: 'phone number' };

function normalizeContact(channel: OtpChannel, contact: string): string {
  return channel === 'email' ? normalizeEmail(contact) : contact.trim();
}

/** The active user whose current contact on `channel` is `contact`, or the error saying why not. */
async function loadUserWithContact(deps: Deps, userId: string, channel: OtpChannel, contact: string): Promise<UserRecord> {
  const user = (await deps.store.get<UserRecord>(keys.user(userId)))?.value;
  if (!user || user.status !== 'Active') throw new UserNotFoundError();
  if (contactOf(user, channel) !== normalizeContact(channel, contact)) {
    throw new ContactMismatchError(`The ${LABEL[channel]} is not this user's current ${LABEL[channel]}`);
  }
  return user;
}

/** `POST /cis/v1/users/{user_id}/{email|phone}/verification/send` */
export async function sendContactVerification(deps: Deps, client: ClientRecord, userId: string, channel: OtpChannel, contact: string): Promise<{ result: true }> {
  refuseSubmittedSmsCountry(deps, client, { channel, phoneNumber: contact });
  const user = await loadUserWithContact(deps, userId, channel, contact);
  const destination = contactOf(user, channel)!;
  // 429 only on what was submitted (the contact, by its type); the limit on the real destination drops silently.
  const guard = await guardSendRequest(deps, client, { channel, identifierType: channel === 'email' ? 'email' : 'phone_number', identifier: destination }, { delivering: true }).catch(
    countLimited(deps, channel),
  );
  const issued = await issuePacedCode(deps, { client, user, channel, purpose: 'verification', expiresInMinutes: DEFAULT_EXPIRY_MINUTES }, guard);
  if (issued === 'destination_limit') {
    deps.logger.warn('verification send dropped', { user_id: user.user_id, channel, reason: issued, client_id: client.client_id });
    recordSend(deps, { channel, outcome: 'dropped', destination });
    return { result: true };
  }
  deps.logger.info('verification code issued', { user_id: user.user_id, channel, client_id: client.client_id });
  const emailContent = { subject: `Verify your email address for ${deps.settings.appName}`, headerText: 'Verify your email address', bodyText: 'Enter this code to verify your email address:' };
  await enqueueCodeOrRevoke(deps, user, channel, issued, DEFAULT_EXPIRY_MINUTES, channel === 'email' ? { emailContent } : {});
  recordSend(deps, { channel, outcome: 'queued', destination });
  return { result: true };
}

/** `POST /cis/v1/users/{user_id}/{email|phone}/verification/verify` */
export async function verifyContact(
  deps: Deps,
  client: ClientRecord,
  userId: string,
  channel: OtpChannel,
  contact: string,
  passcode: string,
): Promise<{ result: true }> {
  return audited(deps, 'verification', { client_id: client.client_id, user_id: userId, method: channel }, async () => {
    const user = await loadUserWithContact(deps, userId, channel, contact);
    const check = await checkCode(deps, { client, user, channel, purpose: 'verification', passcode });
    await check.commit();
    return { result: true as const };
  });
}
