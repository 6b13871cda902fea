import type { z } from 'zod';
import { sendContactVerification } from '../core/verification.js';
import { endpoint, json } from '../http/endpoint.js';
import type { UserIdParams, VerificationSendEmailRequest } from '../http/schemas.js';

export const handler = endpoint<z.output<typeof VerificationSendEmailRequest>, z.output<typeof UserIdParams>>(
  'users-email-verification-send',
  async ({ deps, client, body, params }) => json(200, await sendContactVerification(deps, client, params.user_id, 'email', body.email)),
);
