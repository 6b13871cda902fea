/**
 * SMS fraud guard: a client may limit SMS to a list of countries
 * (`sms_countries`, ISO 3166 alpha-2 codes; unset = every country), because
 * SMS pumping (traffic to premium or foreign numbers, paid per message) is
 * what makes SMS OTP expensive.
 *
 * What is matched, exactly: the country calling code of the E.164 number
 * (the longest prefix in the table below), and for +1 the area code:
 * - +1 numbers whose area code belongs to a NANP member other than the US and
 *   Canada (the Caribbean countries and the US territories: +1 876 Jamaica,
 *   +1 787 Puerto Rico, ...) are of that country;
 * - every other +1 number is "US or Canada": listing either allows both (US
 *   and Canadian area codes are not told apart).
 * - Other calling codes shared by several countries (+7 Russia and
 *   Kazakhstan, +44 the UK and the Crown Dependencies, ...) are not told
 *   apart either: listing one allows all that share it.
 * A number whose calling code is not in the table is outside every list.
 *
 * Judged only on a number the caller submitted (core/otp.ts, verification):
 * a refusal answers 400 `sms_country_not_allowed` before anything is read,
 * stored or sent, so a registered and an unknown number are refused alike. A
 * stored number the caller did not submit (a send by email, username or
 * user_id on channel sms) is never refused out loud, which would tell its
 * country: the send is dropped (200, nothing sent), like a destination limit.
 */
import { TwofoldError } from '../errors.js';
import { countriesOf } from './calling-codes.js';
import type { Deps } from './deps.js';
import { recordSend } from './metrics.js';
import type { ClientRecord, UserRecord } from './model.js';

export class SmsCountryNotAllowedError extends TwofoldError {
  readonly code = 'sms_country_not_allowed';
  readonly status = 400;
  constructor() {
    super("SMS to this phone number's country is not allowed for this client");
  }
}

/** Whether the client lets an SMS go to `phoneNumber` (no list: every number). */
export function smsAllowedTo(client: Pick<ClientRecord, 'sms_countries'>, phoneNumber: string): boolean {
  const allowed = client.sms_countries;
  if (allowed === undefined) return true;
  return countriesOf(phoneNumber).some((country) => allowed.includes(country));
}

/**
 * The guard on a number the caller submitted for an SMS: throws
 * SmsCountryNotAllowedError (400) when the client does not allow its country.
 * Judged on the submitted text alone, before anything is read or stored.
 */
export function refuseSubmittedSmsCountry(
  deps: Pick<Deps, 'logger' | 'clock' | 'settings'>,
  client: Pick<ClientRecord, 'sms_countries'>,
  submission: { channel: string; identifierType?: string; phoneNumber: string },
): void {
  if (submission.channel !== 'sms' || (submission.identifierType ?? 'phone_number') !== 'phone_number') return;
  if (smsAllowedTo(client, submission.phoneNumber)) return;
  recordSend(deps, { channel: 'sms', outcome: 'refused', destination: submission.phoneNumber });
  throw new SmsCountryNotAllowedError();
}

/** Whether a code on `channel` may go to the user's stored contact (email always; SMS by the client's countries). */
export function smsAllowedOn(client: Pick<ClientRecord, 'sms_countries'>, channel: 'email' | 'sms', user: Pick<UserRecord, 'phone_number'>): boolean {
  return channel !== 'sms' || user.phone_number === undefined || smsAllowedTo(client, user.phone_number);
}
