import { verifyContact } from '../core/verification.js';
import { endpoint, json } from '../http/endpoint.js';
import { UserIdParams, VerificationVerifyEmailRequest } from '../http/schemas.js';

export const handler = endpoint(
  'users-email-verification-verify',
  { body: VerificationVerifyEmailRequest, params: UserIdParams },
  async ({ deps, client, body, params }) => json(200, await verifyContact(deps, client, params.user_id, 'email', body.email, body.passcode)),
);
