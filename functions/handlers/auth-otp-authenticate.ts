import type { z } from 'zod';
import { authenticateOtp } from '../core/otp.js';
import { endpoint, json } from '../http/endpoint.js';
import type { OtpAuthenticateRequest } from '../http/schemas.js';

export const handler = endpoint<z.output<typeof OtpAuthenticateRequest>>('auth-otp-authenticate', async ({ deps, client, body }) =>
  json(200, await authenticateOtp(deps, client, body)),
);
