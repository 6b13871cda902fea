import { registerTotp } from '../core/totp.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, TotpRegisterRequest } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof TotpRegisterRequest>>('auth-totp-register', async ({ deps, principal, body }) =>
  json(201, await registerTotp(deps, principal.user.user_id, body)),
);
