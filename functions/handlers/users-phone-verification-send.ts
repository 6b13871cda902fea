import type { z } from 'zod';
import { sendContactVerification } from '../core/verification.js';
import { endpoint, json } from '../http/endpoint.js';
import type { UserIdParams, VerificationSendPhoneRequest } from '../http/schemas.js';

export const handler = endpoint<z.output<typeof VerificationSendPhoneRequest>, z.output<typeof UserIdParams>>(
  'users-phone-verification-send',
  async ({ deps, client, body, params }) => json(200, await sendContactVerification(deps, client, params.user_id, 'sms', body.phone_number)),
);
