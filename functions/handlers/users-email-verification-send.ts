import { sendContactVerification } from '../core/verification.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, UserIdParams, VerificationSendEmailRequest } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof VerificationSendEmailRequest>, Parsed<typeof UserIdParams>>(
  'users-email-verification-send',
  async ({ deps, client, body, params }) => json(200, await sendContactVerification(deps, client, params.user_id, 'email', body.email)),
);
