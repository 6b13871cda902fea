import { verifyContact } from '../core/verification.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, UserIdParams, VerificationVerifyPhoneRequest } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof VerificationVerifyPhoneRequest>, Parsed<typeof UserIdParams>>(
  'users-phone-verification-verify',
  async ({ deps, client, body, params }) =>
    json(200, await verifyContact(deps, client, params.user_id, 'sms', body.phone_number, body.passcode)),
);
