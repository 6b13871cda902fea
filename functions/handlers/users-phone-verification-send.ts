import { sendContactVerification } from '../core/verification.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, UserIdParams, VerificationSendPhoneRequest } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof VerificationSendPhoneRequest>, Parsed<typeof UserIdParams>>(
  'users-phone-verification-send',
  async ({ deps, client, body, params }) => json(200, await sendContactVerification(deps, client, params.user_id, 'sms', body.phone_number)),
);
