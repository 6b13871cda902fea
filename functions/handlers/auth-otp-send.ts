import { sendOtp } from '../core/otp.js';
import { endpoint, json } from '../http/endpoint.js';
import type { OtpSendRequest, Parsed } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof OtpSendRequest>>('auth-otp-send', async ({ deps, client, body }) =>
  json(200, await sendOtp(deps, client, body)),
);
