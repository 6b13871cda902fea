import { authenticateOtp } from '../core/otp.js';
import { endpoint, json } from '../http/endpoint.js';
import type { OtpAuthenticateRequest, Parsed } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof OtpAuthenticateRequest>>('auth-otp-authenticate', async ({ deps, client, body }) =>
  json(200, await authenticateOtp(deps, client, body)),
);
