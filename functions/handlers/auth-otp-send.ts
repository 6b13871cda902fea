import type { z } from 'zod';
import { sendOtp } from '../core/otp.js';
import { endpoint, json } from '../http/endpoint.js';
import type { OtpSendRequest } from '../http/schemas.js';

export const handler = endpoint<z.output<typeof OtpSendRequest>>('auth-otp-send', async ({ deps, client, body }) =>
  json(200, await sendOtp(deps, client, body)),
);
