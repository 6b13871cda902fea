import { authenticateTotp } from '../core/totp.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, TotpAuthenticateRequest } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof TotpAuthenticateRequest>>('auth-totp-authenticate', async ({ deps, client, body }) =>
  json(200, await authenticateTotp(deps, client, body)),
);
