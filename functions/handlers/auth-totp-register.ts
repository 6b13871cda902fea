import { registerTotpForSession } from '../core/totp.js';
import { endpoint, json } from '../http/endpoint.js';
import { TotpRegisterRequest } from '../http/schemas.js';

export const handler = endpoint('auth-totp-register', { body: TotpRegisterRequest }, async ({ deps, principal, body }) =>
  json(201, await registerTotpForSession(deps, principal, body)),
);
