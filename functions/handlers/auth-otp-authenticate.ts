import { authenticateOtp } from '../core/otp-check.js';
import { endpoint, json } from '../http/endpoint.js';
import { OtpAuthenticateRequest } from '../http/schemas.js';

export const handler = endpoint('auth-otp-authenticate', { body: OtpAuthenticateRequest }, async ({ deps, client, body }) =>
  json(200, await authenticateOtp(deps, client, body)),
);
