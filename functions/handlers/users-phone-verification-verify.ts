import { verifyContact } from '../core/verification.js';
import { endpoint, json } from '../http/endpoint.js';
import { UserIdParams, VerificationVerifyPhoneRequest } from '../http/schemas.js';

export const handler = endpoint(
  'users-phone-verification-verify',
  { body: VerificationVerifyPhoneRequest, params: UserIdParams },
  async ({ deps, client, body, params }) =>
    json(200, await verifyContact(deps, client, params.user_id, 'sms', body.phone_number, body.passcode)),
);
