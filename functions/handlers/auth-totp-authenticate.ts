import { authenticateTotp } from '../core/totp.js';
import { endpoint, json } from '../http/endpoint.js';
import { TotpAuthenticateRequest } from '../http/schemas.js';

export const handler = endpoint('auth-totp-authenticate', { body: TotpAuthenticateRequest }, async ({ deps, client, body }) =>
  json(200, await authenticateTotp(deps, client, body)),
);
