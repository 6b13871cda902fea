import { sendContactVerification } from '../core/verification.js';
import { endpoint, json } from '../http/endpoint.js';
import { UserIdParams, VerificationSendPhoneRequest } from '../http/schemas.js';

export const handler = endpoint(
  'users-phone-verification-send',
  { body: VerificationSendPhoneRequest, params: UserIdParams },
  async ({ deps, client, body, params }) => json(200, await sendContactVerification(deps, client, params.user_id, 'sms', body.phone_number)),
);
