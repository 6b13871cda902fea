import { sendContactVerification } from '../core/verification.js';
import { endpoint, json } from '../http/endpoint.js';
import { UserIdParams, VerificationSendEmailRequest } from '../http/schemas.js';

export const handler = endpoint(
  'users-email-verification-send',
  { body: VerificationSendEmailRequest, params: UserIdParams },
  async ({ deps, client, body, params }) => json(200, await sendContactVerification(deps, client, params.user_id, 'email', body.email)),
);
