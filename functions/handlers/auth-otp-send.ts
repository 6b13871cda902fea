import { sendOtp } from '../core/otp-send.js';
import { endpoint, json } from '../http/endpoint.js';
import { OtpSendRequest } from '../http/schemas.js';

export const handler = endpoint('auth-otp-send', { body: OtpSendRequest }, async ({ deps, client, body }) =>
  json(200, await sendOtp(deps, client, body)),
);
