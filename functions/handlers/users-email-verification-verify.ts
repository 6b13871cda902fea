import { verifyContact } from '../core/verification.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, UserIdParams, VerificationVerifyEmailRequest } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof VerificationVerifyEmailRequest>, Parsed<typeof UserIdParams>>(
  'users-email-verification-verify',
  async ({ deps, client, body, params }) => json(200, await verifyContact(deps, client, params.user_id, 'email', body.email, body.passcode)),
);
